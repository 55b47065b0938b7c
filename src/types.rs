//! The types of the language (LANGUAGE.md §3), shared by the checker, the IR and the
//! request decoder.

use std::fmt;
use std::sync::Arc;

/// A type of the language.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// Seconds, at run time a number.
    Duration,
    /// Seconds since the Unix epoch (UTC), at run time a number.
    Timestamp,
    /// A string enum: `"low" | "medium" | "high"`. At run time a string.
    Enum(Arc<Vec<String>>),
    /// `list<T>`
    List(Box<Type>),
    /// String keys.
    Map(Box<Type>),
    /// A record: `{ name: T, other?: T }` or a declared record type.
    Record(Arc<RecordType>),
    /// The type of reading an optional field, a map entry or a list index: needs `has`/`??`.
    Optional(Box<Type>),
    /// Element type of `[]`, and the type of an expression that already had an error:
    /// compatible with everything so one mistake reports once.
    Any,
}

/// A record type: declared fields in order. At run time a record is a list of values in
/// this order.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordType {
    /// The declared name (`Recipient`), if the record came from a `type` declaration.
    pub name: Option<String>,
    /// The fields, in declaration order.
    pub fields: Vec<FieldType>,
}

/// A field of a record type, a tool argument or an envelope field.
#[derive(Clone, Debug)]
pub struct FieldType {
    /// The field's name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Declared `name?:`: it may be absent.
    pub optional: bool,
    /// Declared `lenient number`: the request decoder also accepts a numeric string here
    /// and converts it; to the rules the field is a plain `number`.
    pub lenient: bool,
}

/// `lenient` is left out: it is about how a request is read, and to the rules a lenient
/// number is a `number`, so `{ amount: lenient number }` fits `{ amount: number }`.
impl PartialEq for FieldType {
    fn eq(&self, other: &FieldType) -> bool {
        self.name == other.name && self.ty == other.ty && self.optional == other.optional
    }
}

impl RecordType {
    /// The field called `name` and its position.
    pub fn field(&self, name: &str) -> Option<(usize, &FieldType)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
}

impl Type {
    /// Reading it needs `has` or `??`.
    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_))
    }

    /// The type without one level of `Optional`.
    pub fn unwrap_optional(&self) -> &Type {
        match self {
            Type::Optional(t) => t,
            t => t,
        }
    }

    /// The type of reading it where it may be absent (`Optional`, once).
    pub fn optional(self) -> Type {
        match self {
            Type::Optional(_) | Type::Any => self,
            t => Type::Optional(Box::new(t)),
        }
    }

    /// Strings and enums are both strings at run time.
    pub fn is_stringy(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_) | Type::Any)
    }

    /// Whether a value of type `self` can be used where `want` is expected.
    pub fn fits(&self, want: &Type) -> bool {
        match (self, want) {
            (Type::Any, _) | (_, Type::Any) => true,
            (Type::Enum(_), Type::String) => true,
            (Type::Enum(a), Type::Enum(b)) => a.iter().all(|v| b.contains(v)),
            (Type::List(a), Type::List(b)) | (Type::Map(a), Type::Map(b)) => a.fits(b),
            (Type::Optional(a), Type::Optional(b)) => a.fits(b),
            (Type::Record(a), Type::Record(b)) => Arc::ptr_eq(a, b) || a == b,
            (a, b) => a == b,
        }
    }

    /// A type both can be used as (for `if` branches, `??`, list elements), if any.
    pub fn join(&self, other: &Type) -> Option<Type> {
        match (self, other) {
            (Type::Any, t) | (t, Type::Any) => Some(t.clone()),
            (Type::Enum(a), Type::Enum(b)) if a != b => Some(Type::String),
            (Type::Enum(_), Type::String) | (Type::String, Type::Enum(_)) => Some(Type::String),
            (Type::List(a), Type::List(b)) => a.join(b).map(|t| Type::List(Box::new(t))),
            (Type::Optional(a), Type::Optional(b)) => a.join(b).map(Type::optional),
            (a, b) if a.fits(b) => Some(b.clone()),
            (a, b) if b.fits(a) => Some(a.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => write!(f, "bool"),
            Type::Number => write!(f, "number"),
            Type::String => write!(f, "string"),
            Type::Duration => write!(f, "duration"),
            Type::Timestamp => write!(f, "timestamp"),
            Type::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                write!(f, "{}", quoted.join(" | "))
            }
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Map(t) => write!(f, "map<{t}>"),
            Type::Record(r) => match &r.name {
                Some(n) => write!(f, "{n}"),
                None => {
                    let fields: Vec<String> = r.fields.iter().map(|x| format!("{}{}: {}", x.name, if x.optional { "?" } else { "" }, x.ty)).collect();
                    write!(f, "{{ {} }}", fields.join(", "))
                }
            },
            Type::Optional(t) => write!(f, "optional {t}"),
            Type::Any => write!(f, "any"),
        }
    }
}
