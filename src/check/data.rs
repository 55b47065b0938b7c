//! Reference data (LANGUAGE.md §9). In: the `data NAME: TYPE` declarations collected and
//! the data files the driver found (`data/NAME.json` beside the policy, `--data`). Out:
//! each declared name's value, read in rules as a constant of the declared type; or a
//! diagnostic for a declaration without data, a file without a declaration, and each
//! place in a file that does not match its type (with its JSON path).

use super::Checker;
use crate::diagnostics as diag;
use crate::input::{decode_data, DataError, InputError};
use crate::span::{FileId, Span};
use crate::types::Type;
use crate::value::Value;

/// One data file given to the checker: the `data` name it supplies and its text, which the
/// driver added to the source map (so diagnostics can point into it).
#[derive(Clone, Debug)]
pub struct DataSource {
    /// The `data` name it supplies.
    pub name: String,
    /// The file's id in the source map.
    pub file: FileId,
}

/// The data files of a compilation, and where a missing one was looked for.
#[derive(Clone, Debug, Default)]
pub struct DataFiles {
    /// One per `data` name supplied.
    pub files: Vec<DataSource>,
    /// The `data/` folder beside the policy (the first folder given), shown in the error
    /// for a declaration without data; `None` when the policy was not read from a folder.
    pub folder: Option<String>,
}

impl Checker<'_> {
    /// Gives each `data` declaration the value of its file, reporting every mismatch.
    pub(super) fn load_data(&mut self, data: &DataFiles) {
        let decls: Vec<_> = self.data_decls.values().copied().collect();
        for decl in decls {
            let name = decl.name.name.as_str();
            let ty = self.resolve_type(&decl.ty, None);
            let Some(source) = data.files.iter().find(|f| f.name == name) else {
                let looked_for = data.folder.as_ref().map(|folder| format!("{folder}/{name}.json"));
                self.report(diag::data_missing(*decl.name.span, name, looked_for.as_deref()));
                continue;
            };
            let file = self.sources.get(source.file);
            match decode_data(&ty, &file.text) {
                Ok(value) => {
                    self.data_values.insert(name.to_string(), (value, ty));
                }
                Err(DataError::Malformed { message, at }) => {
                    self.report(diag::data_malformed(Span::new(source.file, at, at), &file.name, &message));
                }
                Err(DataError::Mismatch(errors)) => {
                    for e in errors {
                        let d = diag::data_mismatch(Span::new(source.file, 0, 0), &file.name, &e.path, &problem(&e), *decl.ty.span, &ty.to_string());
                        self.report(d);
                    }
                }
            }
        }
        for source in &data.files {
            if !self.data_decls.contains_key(&source.name) {
                let suggestion = diag::did_you_mean(&source.name, self.data_decls.keys().map(String::as_str)).map(str::to_string);
                let file = &self.sources.get(source.file).name;
                let d = diag::data_undeclared(Span::new(source.file, 0, 0), file, &source.name, suggestion.as_deref());
                self.report(d);
            }
        }
    }

    /// The value of data `name`, if it is declared and loaded.
    pub(super) fn data_value(&self, name: &str) -> Option<&(Value, Type)> {
        self.data_values.get(name)
    }
}

/// What is wrong at one place of a data file, after its path: `expected number, found
/// string "10"`.
fn problem(e: &InputError) -> String {
    match e.found.as_str() {
        "nothing" => format!("a required `{}` is missing", e.expected),
        "a duplicate key" => e.message.clone(),
        found => format!("expected {}, found {found}", e.expected),
    }
}
