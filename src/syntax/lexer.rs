//! The lexer. In: a slice of one file's text (and where the slice starts in the file).
//! Out: tokens with absolute byte offsets, for the LALRPOP parser, plus lexical errors
//! (invalid characters, unterminated strings and comments, numbers beyond the largest
//! double; `&&`, `||`, `!` and `'single quoted'` strings, which `syntax` reports once and
//! hands on as `and`, `or`, `not` and a string) as `LexError`s with their spans. Numbers are correctly rounded (std's parser).
//!
//! Strings are unescaped here: `\" \\ \n \t \r \u{...}` are escapes; any other backslash
//! sequence is kept verbatim so regexes read naturally (`"\d{3}"`).

use logos::{FilterResult, Logos};
use std::fmt;
use std::ops::Range;

/// A lexical error. `Default` is what logos produces for a character no rule matches.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LexError {
    #[default]
    InvalidChar,
    UnterminatedString,
    UnterminatedComment,
    /// Digits followed by letters that do not make a duration (`5min`, `10k`).
    BadNumber,
    /// `\u{...}` that is not a valid Unicode scalar value; the string is still read.
    BadUnicodeEscape,
    /// A number or duration literal beyond the largest double (`1e400`).
    NumberOutOfRange,
    /// `&&`, `||` or `!` (not `!=`): an operator from other languages, read as the
    /// keyword it stands for (`and`, `or`, `not`) so the parse goes on.
    ForeignOperator,
    /// `'text'` on one line: a string in single quotes, read as the string it stands for.
    SingleQuoted,
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Token<'src> {
    // ---- keywords ----
    #[token("policy")]
    Policy,
    #[token("version")]
    Version,
    #[token("default")]
    Default,
    #[token("on")]
    On,
    #[token("error")]
    Error,
    #[token("type")]
    Type,
    #[token("tool")]
    Tool,
    #[token("request")]
    Request,
    #[token("let")]
    Let,
    #[token("fn")]
    Fn,
    #[token("builtin")]
    Builtin,
    #[token("rule")]
    Rule,
    #[token("when")]
    When,
    #[token("because")]
    Because,
    #[token("deny")]
    Deny,
    #[token("allow")]
    Allow,
    #[token("warn")]
    Warn,
    #[token("require")]
    Require,
    #[token("approval")]
    Approval,
    #[token("from")]
    From,
    #[token("redact")]
    Redact,
    #[token("set")]
    Set,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("else")]
    Else,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("in")]
    In,
    #[token("has")]
    Has,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("fixture")]
    Fixture,
    #[token("test")]
    Test,
    #[token("expect")]
    Expect,
    #[token("by")]
    By,
    #[token("with")]
    With,
    #[token("matching")]
    Matching,
    #[token("data")]
    Data,
    #[token("window")]
    Window,
    #[token("over")]
    Over,
    #[token("windows")]
    Windows,
    #[token("null")]
    Null,

    // ---- punctuation ----
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    /// `...` ending a tool's parameter list: the tool is open (takes undeclared arguments).
    #[token("...")]
    Ellipsis,
    #[token("?")]
    Question,
    #[token("??")]
    QuestionQuestion,
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("=>")]
    FatArrow,
    #[token("->")]
    Arrow,
    #[token("@")]
    At,
    #[token("|")]
    Pipe,

    // ---- literals and names ----
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9][0-9_]*)?", lex_number)]
    Num(f64),
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9][0-9_]*)?[smhd]", lex_duration)]
    Dur(f64),
    /// Never emitted: a number run into letters (`5min`, `10k`) is one bad token rather than
    /// a number followed by a name. Lowest priority, so `30s` and `1e6` still win ties.
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9][0-9_]*)?[A-Za-z_][A-Za-z0-9_]*", priority = 0, callback = bad_number)]
    BadNumber,
    #[token("\"", lex_string)]
    Str(String),
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident(&'src str),

    /// Never emitted: `&&`, `||`, `!` are `LexError::ForeignOperator` (`!=` is longer and
    /// wins over `!`; `|` alone is the enum separator).
    #[token("&&", foreign)]
    #[token("||", foreign)]
    #[token("!", foreign)]
    ForeignOperator,
    /// Never emitted: `'text'` is `LexError::SingleQuoted`.
    #[regex(r"'[^'\n]*'", single_quoted)]
    SingleQuoted,

    /// Never emitted: `/* ... */` is skipped by its callback.
    #[token("/*", skip_block_comment)]
    BlockComment,
}

/// The digits of a number literal without `_` separators, as an `f64`: std's parser, which
/// is correctly rounded (as requests are, docs/security.md "Numbers"). Beyond the largest
/// double is an error, not infinity, as `1e400` in a request is.
fn number_value(text: &str) -> Result<f64, LexError> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    // The regex only admits valid float syntax once `_` is removed; 0 is unreachable.
    let n: f64 = digits.parse().unwrap_or(0.0);
    if n.is_finite() {
        Ok(n)
    } else {
        Err(LexError::NumberOutOfRange)
    }
}

fn lex_number<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Result<f64, LexError> {
    number_value(lex.slice())
}

fn lex_duration<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Result<f64, LexError> {
    let text = lex.slice();
    let (digits, unit) = text.split_at(text.len() - 1);
    let seconds_per_unit = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => 86400.0,
    };
    let seconds = number_value(digits)? * seconds_per_unit;
    if seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(LexError::NumberOutOfRange)
    }
}

fn bad_number<'src>(_: &mut logos::Lexer<'src, Token<'src>>) -> Result<(), LexError> {
    Err(LexError::BadNumber)
}

fn foreign<'src>(_: &mut logos::Lexer<'src, Token<'src>>) -> Result<(), LexError> {
    Err(LexError::ForeignOperator)
}

fn single_quoted<'src>(_: &mut logos::Lexer<'src, Token<'src>>) -> Result<(), LexError> {
    Err(LexError::SingleQuoted)
}

fn skip_block_comment<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> FilterResult<(), LexError> {
    match lex.remainder().find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

/// Reads a string after its opening quote. An unterminated string consumes the rest of its
/// line so lexing resumes on the next one.
fn lex_string<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Result<String, LexError> {
    let rest = lex.remainder();
    match closing_quote(rest) {
        Some(end) => {
            lex.bump(end + 1);
            unescape(&rest[..end]).ok_or(LexError::BadUnicodeEscape)
        }
        None => {
            lex.bump(rest.find('\n').unwrap_or(rest.len()));
            Err(LexError::UnterminatedString)
        }
    }
}

/// Byte index of the unescaped `"` that closes a string whose body starts `body`.
pub fn closing_quote(body: &str) -> Option<usize> {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i),
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    None
}

/// Unescapes a string body. `None` when a `\u{...}` escape is not a valid character.
pub fn unescape(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    let mut ok = true;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') if chars.peek() == Some(&'{') => {
                chars.next();
                let hex: String = chars.by_ref().take_while(|&h| h != '}').collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => ok = false,
                }
            }
            // Any other sequence is kept as written, so `\d` stays `\d` for regexes.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    ok.then_some(out)
}

/// One lexed item with absolute offsets: a token or a lexical error.
pub type Spanned<'src> = Result<(usize, Token<'src>, usize), (LexError, Range<usize>)>;

/// Lexes `src[range]`, reporting offsets relative to the whole of `src`.
pub fn lex(src: &str, range: Range<usize>) -> impl Iterator<Item = Spanned<'_>> {
    let base = range.start;
    let text = src.get(range).unwrap_or("");
    Token::lexer(text).spanned().map(move |(tok, span)| {
        let abs = span.start + base..span.end + base;
        match tok {
            Ok(t) => Ok((abs.start, t, abs.end)),
            Err(e) => Err((e, abs)),
        }
    })
}

impl Token<'_> {
    /// The keyword's text, if this token is a keyword.
    pub fn keyword(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            Policy => "policy",
            Version => "version",
            Default => "default",
            On => "on",
            Error => "error",
            Type => "type",
            Tool => "tool",
            Request => "request",
            Let => "let",
            Data => "data",
            Window => "window",
            Over => "over",
            Windows => "windows",
            Fn => "fn",
            Builtin => "builtin",
            Rule => "rule",
            When => "when",
            Because => "because",
            Deny => "deny",
            Allow => "allow",
            Warn => "warn",
            Require => "require",
            Approval => "approval",
            From => "from",
            Redact => "redact",
            Set => "set",
            If => "if",
            Then => "then",
            Else => "else",
            And => "and",
            Or => "or",
            Not => "not",
            In => "in",
            Has => "has",
            True => "true",
            False => "false",
            Fixture => "fixture",
            Test => "test",
            Expect => "expect",
            By => "by",
            With => "with",
            Matching => "matching",
            Null => "null",
            _ => return None,
        })
    }

    /// The punctuation's text, if this token is punctuation.
    pub fn punct(&self) -> Option<&'static str> {
        use Token::*;
        Some(match self {
            LParen => "(",
            RParen => ")",
            LBrace => "{",
            RBrace => "}",
            LBracket => "[",
            RBracket => "]",
            Comma => ",",
            Colon => ":",
            Dot => ".",
            Ellipsis => "...",
            Question => "?",
            QuestionQuestion => "??",
            Assign => "=",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            FatArrow => "=>",
            Arrow => "->",
            At => "@",
            Pipe => "|",
            _ => return None,
        })
    }
}

impl fmt::Display for Token<'_> {
    /// How a token is named in a diagnostic: "keyword `when`", "`}`", "name `amont`".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = self.keyword() {
            return write!(f, "keyword `{k}`");
        }
        if let Some(p) = self.punct() {
            return write!(f, "`{p}`");
        }
        match self {
            Token::Num(n) => write!(f, "number `{n}`"),
            Token::Dur(d) => write!(f, "duration of {d} seconds"),
            Token::Str(s) => write!(f, "string `{:?}`", s),
            Token::Ident(name) => write!(f, "name `{name}`"),
            _ => f.write_str("comment"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Token<'_>> {
        lex(src, 0..src.len()).filter_map(Result::ok).map(|(_, t, _)| t).collect()
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(tokens("10_000 2.5 1e6"), vec![Token::Num(10000.0), Token::Num(2.5), Token::Num(1e6)]);
        assert_eq!(tokens("30s 15m 24h 7d"), vec![Token::Dur(30.0), Token::Dur(900.0), Token::Dur(86400.0), Token::Dur(604800.0)]);
    }

    #[test]
    fn numbers_run_into_letters_are_one_error() {
        let items: Vec<_> = lex("5min 1e6 30s", 0..12).collect();
        assert_eq!(items[0], Err((LexError::BadNumber, 0..4)));
        assert_eq!(items[1], Ok((5, Token::Num(1e6), 8)));
        assert_eq!(items[2], Ok((9, Token::Dur(30.0), 12)));
    }

    #[test]
    fn number_literals_are_correctly_rounded() {
        // The issue's reproductions (10000 + half an ulp + 10^-50; 2^53 + 1, a tie that goes
        // to the even 2^53) and separators, which do not change the value.
        let above = "10000.00000000000090949470177292823791503906250001";
        assert_eq!(tokens(above), vec![Token::Num(10000f64.next_up())]);
        assert_eq!(tokens("9007199254740993 9_007_199_254_740_993.0"), vec![Token::Num(9007199254740992.0); 2]);
        assert_eq!(tokens("2.4703282292062328e-324"), vec![Token::Num(5e-324)]);
    }

    #[test]
    fn number_literals_beyond_the_largest_double_are_errors() {
        for src in ["1e400", "1.7976931348623159e308", "1_000e306", "1e306d"] {
            let items: Vec<_> = lex(src, 0..src.len()).collect();
            assert_eq!(items, vec![Err((LexError::NumberOutOfRange, 0..src.len()))], "{src}");
        }
        assert_eq!(tokens("1.7976931348623157e308 1e-400"), vec![Token::Num(f64::MAX), Token::Num(0.0)]);
    }

    proptest::proptest! {
        #[test]
        fn number_literals_are_what_std_parses(
            int in "[1-9][0-9_]{0,30}",
            frac in proptest::option::of("[0-9][0-9_]{0,40}"),
            exp in proptest::option::of((proptest::bool::ANY, 0u32..330)),
        ) {
            let mut src = int;
            if let Some(f) = frac {
                src.push('.');
                src.push_str(&f);
            }
            if let Some((neg, e)) = exp {
                src.push_str(if neg { "e-" } else { "e" });
                src.push_str(&e.to_string());
            }
            let want: f64 = src.replace('_', "").parse().expect("a number");
            let got: Vec<_> = lex(&src, 0..src.len()).map(|t| t.map(|(_, t, _)| t)).collect();
            if want.is_finite() {
                proptest::prop_assert_eq!(got, vec![Ok(Token::Num(want))], "{}", src);
            } else {
                proptest::prop_assert_eq!(got, vec![Err((LexError::NumberOutOfRange, 0..src.len()))], "{}", src);
            }
        }
    }

    #[test]
    fn keywords_and_names() {
        assert_eq!(tokens("when whenever _x"), vec![Token::When, Token::Ident("whenever"), Token::Ident("_x")]);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(tokens(r#""a\"b\\c\n\t\r\u{1F600}\d{3}""#), vec![Token::Str("a\"b\\c\n\t\r\u{1F600}\\d{3}".into())]);
    }

    #[test]
    fn operators_and_quotes_from_other_languages_are_one_error_each() {
        let src = "a && !b || c != 'd e'";
        let items: Vec<_> = lex(src, 0..src.len()).collect();
        assert_eq!(items[1], Err((LexError::ForeignOperator, 2..4)));
        assert_eq!(items[2], Err((LexError::ForeignOperator, 5..6)));
        assert_eq!(items[4], Err((LexError::ForeignOperator, 8..10)));
        assert_eq!(items[6], Ok((13, Token::NotEq, 15)));
        assert_eq!(items[7], Err((LexError::SingleQuoted, 16..21)));
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(tokens("a // b\n/* c\n d */ e"), vec![Token::Ident("a"), Token::Ident("e")]);
    }

    #[test]
    fn errors_carry_absolute_spans() {
        let src = "xx a # b";
        let errs: Vec<_> = lex(src, 3..src.len()).filter_map(Result::err).collect();
        assert_eq!(errs, vec![(LexError::InvalidChar, 5..6)]);
        let src = "a \"open\nb";
        let items: Vec<_> = lex(src, 0..src.len()).collect();
        assert_eq!(items[1], Err((LexError::UnterminatedString, 2..7)));
        assert_eq!(items[2], Ok((8, Token::Ident("b"), 9)));
    }
}
