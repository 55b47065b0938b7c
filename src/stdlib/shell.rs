//! Natives of `stdlib/shell.pol`: shell command lines read the way a POSIX shell (and bash)
//! reads them, so that a rule sees what would run rather than the text as written. In: a
//! command line (any bytes, any length) or the words of one command. Out: the words, the
//! simple commands that would run (programs normalized), whether one command's output
//! reaches another, flags, operands and normalized paths.
//!
//! Why not a word-splitting crate alone: `shell-words` and `shlex` split words but do not
//! see operators, so `rm -rf /;echo` is the word `/;echo` and `curl x|sh` one word; and a
//! full bash parser (brush-parser) recurses without bound on nested substitutions, which
//! hostile text could overflow. This scanner is one linear pass per nesting level, with
//! nesting (substitutions, groups, `sh -c` strings) bounded by [`MAX_DEPTH`];
//! its unit tests check the word splitting against `shell-words` as a reference model.
//!
//! Fail safe: text that cannot be split (an unterminated quote, `$(`, `${`, backtick or
//! process substitution, nesting deeper than [`MAX_DEPTH`]) is an
//! `Err`, which the engine turns into a rule error: `deny` and `require approval` rules fire,
//! `allow` rules do not. [`parses`] tells a policy in advance.

use std::collections::VecDeque;

/// How deeply substitutions, groups and re-parsed `sh -c`/`eval` strings may nest.
pub const MAX_DEPTH: usize = 16;

/// Shells whose `-c STRING` is parsed again as a command line.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "fish", "csh", "tcsh"];

/// Everything read from one command line.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The words of the outermost text, quotes removed, operators as words of their own.
    pub words: Vec<String>,
    /// Every simple command that would run, normalized (see [`normalize`]).
    pub commands: Vec<Vec<String>>,
    /// Data-flow graph: node `i` is command `node_cmd[i]` or a junction (`None`).
    node_cmd: Vec<Option<usize>>,
    edges: Vec<Vec<usize>>,
}

impl Parsed {
    fn node(&mut self, cmd: Option<usize>) -> usize {
        self.node_cmd.push(cmd);
        self.edges.push(Vec::new());
        self.node_cmd.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize) {
        self.edges[from].push(to);
    }

    /// A junction fed by every node of `from`.
    fn junction_from(&mut self, from: &[usize]) -> usize {
        let j = self.node(None);
        for &f in from {
            self.edge(f, j);
        }
        j
    }

    /// Whether the output of a command whose program is in `from` reaches a command whose
    /// program is in `to` along at least one edge.
    pub fn pipes_into(&self, from: &[&str], to: &[&str]) -> bool {
        let program = |n: usize| self.node_cmd[n].and_then(|c| self.commands[c].first()).map(String::as_str);
        let mut seen = vec![false; self.node_cmd.len()];
        let mut queue: VecDeque<usize> = (0..self.node_cmd.len()).filter(|&n| program(n).is_some_and(|p| from.contains(&p))).collect();
        while let Some(n) = queue.pop_front() {
            for &m in &self.edges[n] {
                if !seen[m] {
                    seen[m] = true;
                    if program(m).is_some_and(|p| to.contains(&p)) {
                        return true;
                    }
                    queue.push_back(m);
                }
            }
        }
        false
    }
}

/// Why a command line cannot be split.
#[derive(Debug, PartialEq)]
pub enum ParseError {
    Unterminated(&'static str, usize),
    TooDeep,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Unterminated(what, at) => write!(f, "the command cannot be split: unterminated {what} at byte {at}"),
            ParseError::TooDeep => write!(f, "the command cannot be split: nested more than {MAX_DEPTH} levels deep"),
        }
    }
}

type Res<T> = Result<T, ParseError>;

/// Reads a command line.
pub fn parse(cmd: &str) -> Res<Parsed> {
    let mut out = Parsed::default();
    let mut p = Parser { s: cmd.as_bytes(), i: 0, depth: 0, record: true, out: &mut out };
    p.list(End::Eof)?;
    Ok(out)
}

/// Whether `cmd` can be split (see the module header).
pub fn parses(cmd: &str) -> bool {
    parse(cmd).is_ok()
}

/// One word as scanned: its value (quotes removed, substitutions kept as written) and the
/// substitutions inside it.
#[derive(Debug, Default)]
struct Word {
    text: Vec<u8>,
    /// Nodes of `$(...)`, backtick and `<(...)` substitutions: their output flows in.
    subs_in: Vec<Vec<usize>>,
    /// Nodes of `>(...)` substitutions: the command's output flows into them.
    subs_out: Vec<Vec<usize>>,
    quoted: bool,
    has_sub: bool,
    /// `NAME=value` (unquoted name): an assignment before a command.
    assign: bool,
}

impl Word {
    fn value(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum End {
    Eof,
    Paren,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Root,
    Paren,
    Brace,
    If,
    Loop,
    Case,
}

/// A group being read (the whole text, `( )`, `{ }`, `if ... fi`, loops, `case`).
struct Frame {
    kind: Kind,
    /// Junctions whose data reaches every command of the group (a group after a `|`).
    incoming: Vec<usize>,
    /// The junction of the `|` before the current pipeline stage.
    prev: Option<usize>,
    /// Commands of the current pipeline stage (their output goes to the next `|`).
    stage: Vec<usize>,
    /// Every command of the group.
    all: Vec<usize>,
}

impl Frame {
    fn new(kind: Kind, incoming: Vec<usize>) -> Frame {
        Frame { kind, incoming, prev: None, stage: Vec::new(), all: Vec::new() }
    }
}

/// The command being read: its words, and whether it is a `for`/`case` header.
#[derive(Default)]
struct Cmd {
    words: Vec<Word>,
    redirect_in: Vec<Vec<usize>>,
    redirect_out: Vec<Vec<usize>>,
    header: bool,
}

struct Parser<'s, 'o> {
    s: &'s [u8],
    i: usize,
    depth: usize,
    /// Whether words go to `Parsed::words` (the outermost text only).
    record: bool,
    out: &'o mut Parsed,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn ends_word(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>')
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn deeper(&self) -> Res<usize> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        Ok(self.depth + 1)
    }

    /// Parses `text` as a command line of its own (a backtick body, an `sh -c` string),
    /// one level deeper; returns its commands' nodes.
    fn nested(&mut self, text: &[u8]) -> Res<Vec<usize>> {
        let depth = self.deeper()?;
        let mut p = Parser { s: text, i: 0, depth, record: false, out: &mut *self.out };
        p.list(End::Eof)
    }

    fn record(&mut self, w: &str) {
        if self.record {
            self.out.words.push(w.to_string());
        }
    }

    /// A command list up to the end of the text or (for `End::Paren`) the `)` closing a
    /// substitution; returns the nodes of every command in it.
    fn list(&mut self, end: End) -> Res<Vec<usize>> {
        let start = self.i;
        let mut frames = vec![Frame::new(Kind::Root, Vec::new())];
        let mut cur = Cmd::default();
        loop {
            while let Some(b) = self.peek() {
                if is_blank(b) || b == b'\r' {
                    self.i += 1;
                } else if b == b'\\' && self.peek_at(1) == Some(b'\n') {
                    self.i += 2;
                } else {
                    break;
                }
            }
            let Some(b) = self.peek() else {
                if end == End::Paren {
                    return Err(ParseError::Unterminated("`$(` or process substitution", start.saturating_sub(2)));
                }
                self.finish(&mut frames, &mut cur)?;
                return Ok(close_all(frames));
            };
            match b {
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                b'\n' | b';' => {
                    while self.peek().is_some_and(|c| c == b';' || c == b'&') {
                        self.i += 1;
                    }
                    if b == b'\n' {
                        self.i += 1;
                    }
                    self.record(";");
                    self.separator(&mut frames, &mut cur)?;
                }
                b'&' if self.peek_at(1) == Some(b'>') => self.redirect(&mut cur)?,
                b'&' => {
                    let op = if self.peek_at(1) == Some(b'&') { "&&" } else { "&" };
                    self.i += op.len();
                    self.record(op);
                    self.separator(&mut frames, &mut cur)?;
                }
                b'|' => {
                    let op = match self.peek_at(1) {
                        Some(b'|') => "||",
                        Some(b'&') => "|&",
                        _ => "|",
                    };
                    self.i += op.len();
                    self.record(op);
                    if op == "||" {
                        self.separator(&mut frames, &mut cur)?;
                    } else {
                        self.finish(&mut frames, &mut cur)?;
                        let top = last(&mut frames);
                        let stage = std::mem::take(&mut top.stage);
                        let j = self.out.junction_from(&stage);
                        last(&mut frames).prev = Some(j);
                    }
                }
                b'(' => {
                    self.i += 1;
                    self.record("(");
                    self.finish(&mut frames, &mut cur)?;
                    self.open(&mut frames, Kind::Paren)?;
                }
                b')' => {
                    self.i += 1;
                    let top = last(&mut frames).kind;
                    if top == Kind::Paren {
                        self.record(")");
                        self.finish(&mut frames, &mut cur)?;
                        self.close(&mut frames);
                    } else if top != Kind::Case && end == End::Paren {
                        self.finish(&mut frames, &mut cur)?;
                        return Ok(close_all(frames));
                    } else {
                        // A `case` pattern's `)` (or a stray one): it ends what came before.
                        self.record(")");
                        self.separator(&mut frames, &mut cur)?;
                    }
                }
                b'<' | b'>' if self.peek_at(1) != Some(b'(') => self.redirect(&mut cur)?,
                _ => {
                    let w = self.word()?;
                    self.record(&w.value());
                    if cur.words.is_empty() && !cur.header && !w.quoted && !w.has_sub && self.reserved(&w.text, &mut frames, &mut cur)? {
                        continue;
                    }
                    // An all-digit word right before `<`/`>` is a file descriptor (`2>&1`).
                    let fd = !w.quoted && !w.text.is_empty() && w.text.iter().all(u8::is_ascii_digit) && matches!(self.peek(), Some(b'<' | b'>'));
                    if !fd {
                        cur.words.push(w);
                    }
                }
            }
        }
    }

    /// A reserved word at the start of a command: opens or closes a group, or is skipped.
    /// Returns whether `w` was one.
    fn reserved(&mut self, w: &[u8], frames: &mut Vec<Frame>, cur: &mut Cmd) -> Res<bool> {
        let kind = match w {
            b"{" => Kind::Brace,
            b"if" => Kind::If,
            b"while" | b"until" | b"for" | b"select" => Kind::Loop,
            b"case" => Kind::Case,
            b"}" | b"fi" | b"done" | b"esac" => {
                let want = match w {
                    b"}" => Kind::Brace,
                    b"fi" => Kind::If,
                    b"done" => Kind::Loop,
                    _ => Kind::Case,
                };
                if last(frames).kind == want {
                    self.close(frames);
                }
                return Ok(true);
            }
            b"then" | b"else" | b"elif" | b"do" | b"!" | b"time" | b"function" | b"coproc" => return Ok(true),
            _ => return Ok(false),
        };
        self.open(frames, kind)?;
        // `for x in a b`, `select ...`, `case WORD in`: the words up to the next separator
        // are not a command.
        cur.header = matches!(w, b"for" | b"select" | b"case");
        Ok(true)
    }

    fn open(&mut self, frames: &mut Vec<Frame>, kind: Kind) -> Res<()> {
        if frames.len() + self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        let top = last(frames);
        let mut incoming = top.incoming.clone();
        incoming.extend(top.prev);
        frames.push(Frame::new(kind, incoming));
        Ok(())
    }

    fn close(&mut self, frames: &mut Vec<Frame>) {
        if frames.len() > 1 {
            if let Some(child) = frames.pop() {
                let top = last(frames);
                top.stage.extend(&child.all);
                top.all.extend(child.all);
            }
        }
    }

    fn separator(&mut self, frames: &mut [Frame], cur: &mut Cmd) -> Res<()> {
        self.finish(frames, cur)?;
        let top = last(frames);
        top.prev = None;
        top.stage.clear();
        Ok(())
    }

    /// Ends the command being read: normalizes it, adds its node wired to the pipeline
    /// and its substitutions, and parses its `sh -c`/`eval` strings.
    fn finish(&mut self, frames: &mut [Frame], cur: &mut Cmd) -> Res<()> {
        let cmd = std::mem::take(cur);
        if cmd.header || cmd.words.is_empty() {
            return Ok(());
        }
        let mut subs_in = cmd.redirect_in;
        let mut subs_out = cmd.redirect_out;
        for w in &cmd.words {
            subs_in.extend(w.subs_in.iter().cloned());
            subs_out.extend(w.subs_out.iter().cloned());
        }
        let (words, nested) = normalize(&cmd.words);
        if words.is_empty() {
            return Ok(());
        }
        let c = self.out.commands.len();
        self.out.commands.push(words);
        let n = self.out.node(Some(c));
        self.wire(frames, n);
        for sub in subs_in {
            let j = self.out.junction_from(&sub);
            self.out.edge(j, n);
        }
        for sub in subs_out {
            let j = self.out.junction_from(&[n]);
            for s in sub {
                self.out.edge(j, s);
            }
        }
        for text in nested {
            let inner = self.nested(text.as_bytes())?;
            // What the shell reads reaches the commands it runs; their output is its own.
            let j = self.out.junction_from(&[n]);
            for m in inner {
                self.out.edge(j, m);
                let top = last(frames);
                top.stage.push(m);
                top.all.push(m);
            }
        }
        Ok(())
    }

    fn wire(&mut self, frames: &mut [Frame], n: usize) {
        let top = last(frames);
        let from: Vec<usize> = top.incoming.iter().copied().chain(top.prev).collect();
        top.stage.push(n);
        top.all.push(n);
        for j in from {
            self.out.edge(j, n);
        }
    }

    /// A redirection (`<`, `>`, `>>`, `<<`, `<<<`, `<>`, `>&`, `&>`, `>|`, ...) and its
    /// target word; a substitution in the target feeds the command.
    fn redirect(&mut self, cur: &mut Cmd) -> Res<()> {
        let start = self.i;
        while self.peek().is_some_and(|b| matches!(b, b'<' | b'>' | b'&' | b'|' | b'-')) {
            if self.i > start && self.peek() == Some(b'|') && self.s[self.i - 1] != b'>' {
                break;
            }
            self.i += 1;
        }
        let op = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.record(&op);
        while self.peek().is_some_and(is_blank) {
            self.i += 1;
        }
        if self.peek().is_some_and(|b| !ends_word(b) || (matches!(b, b'<' | b'>') && self.peek_at(1) == Some(b'('))) {
            let w = self.word()?;
            self.record(&w.value());
            cur.redirect_in.extend(w.subs_in);
            cur.redirect_out.extend(w.subs_out);
        }
        Ok(())
    }

    /// One word, up to an unquoted blank or operator.
    fn word(&mut self) -> Res<Word> {
        let mut w = Word { assign: self.assignment_here(), ..Word::default() };
        while let Some(b) = self.peek() {
            match b {
                b'<' | b'>' if self.peek_at(1) == Some(b'(') => {
                    let start = self.i;
                    self.i += 2;
                    let nodes = self.substitution()?;
                    w.text.extend_from_slice(&self.s[start..self.i]);
                    w.has_sub = true;
                    if b == b'<' {
                        w.subs_in.push(nodes);
                    } else {
                        w.subs_out.push(nodes);
                    }
                }
                _ if ends_word(b) => break,
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.i += 2,
                    Some(_) => {
                        self.i += 1;
                        self.push_char(&mut w);
                        w.quoted = true;
                    }
                    // A backslash ending the text stays a backslash (as in `bash -c`).
                    None => {
                        w.text.push(b'\\');
                        self.i += 1;
                    }
                },
                b'\'' => {
                    let start = self.i;
                    self.i += 1;
                    let Some(len) = self.s[self.i..].iter().position(|&c| c == b'\'') else {
                        return Err(ParseError::Unterminated("single quote", start));
                    };
                    w.text.extend_from_slice(&self.s[self.i..self.i + len]);
                    self.i += len + 1;
                    w.quoted = true;
                }
                b'"' => self.double_quoted(&mut w)?,
                b'`' => self.backtick(&mut w)?,
                b'$' => match self.ifs_here() {
                    // Unquoted `$IFS` splits words (`rm${IFS}-rf${IFS}/` is `rm -rf /`).
                    Some(n) => {
                        self.i += n;
                        if !w.text.is_empty() || w.quoted {
                            break;
                        }
                    }
                    None => self.dollar(&mut w, false)?,
                },
                _ => self.push_char(&mut w),
            }
        }
        Ok(w)
    }

    /// The length of `$IFS` or `${IFS...}` at the cursor.
    fn ifs_here(&self) -> Option<usize> {
        let rest = &self.s[self.i..];
        if rest.starts_with(b"$IFS") && !rest.get(4).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return Some(4);
        }
        if rest.starts_with(b"${IFS") && matches!(rest.get(5), Some(b'}' | b':' | b'%' | b'#' | b'/' | b'-' | b'+' | b'=' | b'?')) {
            return rest.iter().position(|&b| b == b'}').map(|end| end + 1);
        }
        None
    }

    /// Copies one character (all its UTF-8 bytes) into the word.
    fn push_char(&mut self, w: &mut Word) {
        let len = match self.peek() {
            Some(b) if b >= 0xF0 => 4,
            Some(b) if b >= 0xE0 => 3,
            Some(b) if b >= 0xC0 => 2,
            Some(_) => 1,
            None => return,
        };
        let end = (self.i + len).min(self.s.len());
        w.text.extend_from_slice(&self.s[self.i..end]);
        self.i = end;
    }

    /// `NAME=` or `NAME+=` at the cursor.
    fn assignment_here(&self) -> bool {
        let rest = &self.s[self.i..];
        let name = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        name > 0 && !rest[0].is_ascii_digit() && (rest.get(name) == Some(&b'=') || (rest.get(name) == Some(&b'+') && rest.get(name + 1) == Some(&b'=')))
    }

    fn double_quoted(&mut self, w: &mut Word) -> Res<()> {
        let start = self.i;
        self.i += 1;
        w.quoted = true;
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("double quote", start)),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => match self.peek_at(1) {
                    Some(b'\n') => self.i += 2,
                    Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                        w.text.push(c);
                        self.i += 2;
                    }
                    _ => {
                        w.text.push(b'\\');
                        self.i += 1;
                    }
                },
                Some(b'`') => self.backtick(w)?,
                Some(b'$') => self.dollar(w, true)?,
                Some(_) => self.push_char(w),
            }
        }
    }

    /// `$(...)`, `$((...))`, `${...}`, `$'...'`, `$"..."` or a plain `$`.
    fn dollar(&mut self, w: &mut Word, in_quotes: bool) -> Res<()> {
        let start = self.i;
        match self.peek_at(1) {
            Some(b'(') => {
                self.i += 2;
                let nodes = self.substitution()?;
                w.text.extend_from_slice(&self.s[start..self.i]);
                w.subs_in.push(nodes);
                w.has_sub = true;
            }
            Some(b'{') => {
                self.i += 2;
                self.braced(w, start)?;
                w.text.extend_from_slice(&self.s[start..self.i]);
            }
            Some(b'\'') if !in_quotes => {
                self.i += 2;
                self.ansi_c(w, start)?;
            }
            Some(b'"') if !in_quotes => {
                self.i += 1;
                self.double_quoted(w)?;
            }
            _ => {
                w.text.push(b'$');
                self.i += 1;
            }
        }
        Ok(())
    }

    /// The body of `$(`, `<(` or `>(` (the cursor after the `(`), up to its `)`.
    fn substitution(&mut self) -> Res<Vec<usize>> {
        let depth = self.deeper()?;
        let (saved_depth, saved_record) = (self.depth, self.record);
        self.depth = depth;
        self.record = false;
        let nodes = self.list(End::Paren);
        self.depth = saved_depth;
        self.record = saved_record;
        nodes
    }

    /// `${...}` after the `${`: up to the matching `}`, through quotes and substitutions
    /// (`${x:-$(curl x)}` runs `curl`). The text is kept as written by the caller.
    fn braced(&mut self, w: &mut Word, start: usize) -> Res<()> {
        // Quotes and substitutions inside recurse back here: bound the nesting.
        self.depth = self.deeper()?;
        let r = self.braced_body(w, start);
        self.depth -= 1;
        r
    }

    fn braced_body(&mut self, w: &mut Word, start: usize) -> Res<()> {
        let mut open = 1usize;
        let mut scratch = Word::default();
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("`${`", start)),
                Some(b'}') => {
                    self.i += 1;
                    open -= 1;
                    if open == 0 {
                        break;
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    open += 1;
                }
                Some(b'\\') => self.i = (self.i + 2).min(self.s.len()),
                Some(b'\'') => {
                    let q = self.i;
                    self.i += 1;
                    let Some(len) = self.s[self.i..].iter().position(|&c| c == b'\'') else {
                        return Err(ParseError::Unterminated("single quote", q));
                    };
                    self.i += len + 1;
                }
                Some(b'"') => self.double_quoted(&mut scratch)?,
                Some(b'`') => self.backtick(&mut scratch)?,
                Some(b'$') => self.dollar(&mut scratch, true)?,
                Some(_) => self.i += 1,
            }
        }
        w.subs_in.append(&mut scratch.subs_in);
        w.has_sub |= scratch.has_sub;
        Ok(())
    }

    /// A backtick substitution: its body, with `` \` ``, `\\` and `\$` unescaped, is parsed
    /// as a command line of its own.
    fn backtick(&mut self, w: &mut Word) -> Res<()> {
        let start = self.i;
        self.i += 1;
        let mut body = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("backtick", start)),
                Some(b'`') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') if matches!(self.peek_at(1), Some(b'`' | b'\\' | b'$')) => {
                    body.push(self.s[self.i + 1]);
                    self.i += 2;
                }
                Some(c) => {
                    body.push(c);
                    self.i += 1;
                }
            }
        }
        let nodes = self.nested(&body)?;
        w.text.extend_from_slice(&self.s[start..self.i]);
        w.subs_in.push(nodes);
        w.has_sub = true;
        Ok(())
    }

    /// `$'...'` after the `$'`: bash's ANSI-C quoting (`$'\x2f'` is `/`).
    fn ansi_c(&mut self, w: &mut Word, start: usize) -> Res<()> {
        w.quoted = true;
        loop {
            let Some(b) = self.peek() else {
                return Err(ParseError::Unterminated("`$'`", start));
            };
            self.i += 1;
            match b {
                b'\'' => return Ok(()),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(ParseError::Unterminated("`$'`", start));
                    };
                    self.i += 1;
                    match e {
                        b'n' => w.text.push(b'\n'),
                        b't' => w.text.push(b'\t'),
                        b'r' => w.text.push(b'\r'),
                        b'a' => w.text.push(7),
                        b'b' => w.text.push(8),
                        b'e' | b'E' => w.text.push(27),
                        b'f' => w.text.push(12),
                        b'v' => w.text.push(11),
                        b'x' => {
                            let v = self.radix_digits(16, 2);
                            w.text.push(v as u8);
                        }
                        b'u' | b'U' => {
                            let v = self.radix_digits(16, if e == b'u' { 4 } else { 8 });
                            let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                            w.text.extend_from_slice(c.to_string().as_bytes());
                        }
                        b'0'..=b'7' => {
                            self.i -= 1;
                            let v = self.radix_digits(8, 3);
                            w.text.push(v as u8);
                        }
                        b'c' => {
                            if let Some(c) = self.peek() {
                                self.i += 1;
                                w.text.push(c & 0x1f);
                            }
                        }
                        other => w.text.push(other),
                    }
                }
                _ => w.text.push(b),
            }
        }
    }

    /// Up to `max` digits of `radix` at the cursor, as a number.
    fn radix_digits(&mut self, radix: u32, max: usize) -> u32 {
        let mut v = 0u32;
        for _ in 0..max {
            match self.peek().and_then(|b| (b as char).to_digit(radix)) {
                Some(d) => {
                    v = v.wrapping_mul(radix).wrapping_add(d);
                    self.i += 1;
                }
                None => break,
            }
        }
        v
    }
}

/// INVARIANT: the frame stack always holds the root frame, and only `close` pops, never
/// the last frame; so `last` cannot fail. Written without `unwrap` all the same.
fn last(frames: &mut [Frame]) -> &mut Frame {
    let n = frames.len().saturating_sub(1);
    &mut frames[n]
}

/// Closes every open group (an unclosed `{` or `if` is read as if closed at the end) and
/// returns the commands of the whole list.
fn close_all(mut frames: Vec<Frame>) -> Vec<usize> {
    while frames.len() > 1 {
        if let Some(child) = frames.pop() {
            let top = last(&mut frames);
            top.all.extend(child.all);
        }
    }
    frames.pop().map(|f| f.all).unwrap_or_default()
}

/// The file name of a program path: `/usr/bin/sh` is `sh`.
fn basename(p: &str) -> &str {
    let trimmed = p.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// How a wrapper command reads its options before the command it runs: the short option
/// letters and long options that take a value, and how many operands come before the
/// command (`timeout 5 cmd`, `chroot /srv cmd`).
struct Wrapper {
    name: &'static str,
    short_args: &'static str,
    long_args: &'static [&'static str],
    operands: usize,
}

#[rustfmt::skip]
const WRAPPERS: &[Wrapper] = &[
    Wrapper { name: "sudo", short_args: "ugCDhprtUT", long_args: &["--user", "--group", "--close-from", "--chdir", "--host", "--prompt", "--role", "--type", "--other-user", "--command-timeout"], operands: 0 },
    Wrapper { name: "doas", short_args: "uC", long_args: &[], operands: 0 },
    Wrapper { name: "env", short_args: "uC", long_args: &["--unset", "--chdir"], operands: 0 },
    Wrapper { name: "command", short_args: "", long_args: &[], operands: 0 },
    Wrapper { name: "builtin", short_args: "", long_args: &[], operands: 0 },
    Wrapper { name: "exec", short_args: "a", long_args: &[], operands: 0 },
    Wrapper { name: "nohup", short_args: "", long_args: &[], operands: 0 },
    Wrapper { name: "setsid", short_args: "", long_args: &[], operands: 0 },
    Wrapper { name: "time", short_args: "fo", long_args: &["--format", "--output"], operands: 0 },
    Wrapper { name: "nice", short_args: "n", long_args: &["--adjustment"], operands: 0 },
    Wrapper { name: "ionice", short_args: "cnpPu", long_args: &["--class", "--classdata", "--pid", "--pgid", "--uid"], operands: 0 },
    Wrapper { name: "timeout", short_args: "sk", long_args: &["--signal", "--kill-after"], operands: 1 },
    Wrapper { name: "stdbuf", short_args: "ioe", long_args: &["--input", "--output", "--error"], operands: 0 },
    Wrapper { name: "chroot", short_args: "", long_args: &["--userspec", "--groups"], operands: 1 },
    Wrapper { name: "xargs", short_args: "adEILnPs", long_args: &["--arg-file", "--delimiter", "--eof", "--replace", "--max-lines", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"], operands: 0 },
    Wrapper { name: "watch", short_args: "n", long_args: &["--interval"], operands: 0 },
    Wrapper { name: "busybox", short_args: "", long_args: &[], operands: 0 },
    Wrapper { name: "unbuffer", short_args: "", long_args: &[], operands: 0 },
];

/// The index of the first word after a wrapper's options and operands, and the flags seen.
fn skip_wrapper(words: &[String], w: &Wrapper) -> (usize, Vec<String>) {
    let mut flags = Vec::new();
    let mut i = 1;
    while let Some(t) = words.get(i) {
        if t == "--" {
            i += 1;
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            flags.push(format!("--{}", long.split('=').next().unwrap_or_default()));
            i += if !t.contains('=') && w.long_args.contains(&t.as_str()) { 2 } else { 1 };
        } else if t.len() > 1 && t.starts_with('-') {
            let letters = &t[1..];
            i += 1;
            for (k, c) in letters.char_indices() {
                flags.push(format!("-{c}"));
                if w.short_args.contains(c) {
                    if k + c.len_utf8() == letters.len() {
                        i += 1;
                    }
                    break;
                }
            }
        } else if w.name == "env" && t.contains('=') {
            i += 1;
        } else {
            break;
        }
    }
    (i + w.operands, flags)
}

/// The words of a command as a rule should see them, and the command strings it runs
/// (`sh -c STRING`, `eval ARGS`, `su -c STRING`): leading assignments (`A=1 cmd`) and
/// wrappers (`sudo`, `env`, `command`, `exec`, `nohup`, `nice`, `timeout`, `xargs`, ...,
/// with their options) removed; the program reduced to its file name (`/bin/sh` is `sh`);
/// a program computed by a substitution (`$(curl x)`) reported as `eval`, and `$SHELL`
/// or `$BASH` as `sh`; `sudo -s`/`sudo -i` without a command as `sh`.
fn normalize(scanned: &[Word]) -> (Vec<String>, Vec<String>) {
    let first = scanned.iter().position(|w| !w.assign).unwrap_or(scanned.len());
    let mut subs: Vec<bool> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for w in &scanned[first..] {
        let value = w.value();
        let parts = if w.quoted || w.has_sub { vec![value] } else { brace_expand(&value) };
        subs.extend(parts.iter().map(|_| w.has_sub));
        words.extend(parts);
    }
    let mut offset = 0;
    while let Some(program) = words.first() {
        let name = basename(program).to_string();
        let Some(w) = WRAPPERS.iter().find(|w| w.name == name) else {
            break;
        };
        if name == "env" {
            split_env_string(&mut words, &mut subs);
        }
        let (skip, flags) = skip_wrapper(&words, w);
        let skip = skip.min(words.len());
        let shell = matches!(name.as_str(), "sudo" | "doas") && ["-s", "-i", "--shell", "--login"].iter().any(|f| flags.iter().any(|g| g == f));
        words.drain(..skip);
        offset += skip;
        if words.is_empty() && shell {
            words.push("sh".to_string());
        }
    }
    let Some(program) = words.first_mut() else {
        return (words, Vec::new());
    };
    *program = if subs.get(offset).copied().unwrap_or(false) {
        "eval".to_string()
    } else if matches!(program.as_str(), "$SHELL" | "${SHELL}" | "$BASH" | "${BASH}") {
        "sh".to_string()
    } else {
        basename(program).to_string()
    };
    let nested = command_strings(&words);
    (words, nested)
}

/// Bash's brace expansion of one unquoted word, for its first `{a,b}` group without
/// nesting: `{rm,-rf,/}` is `rm -rf /`, `/{bin,etc}` is `/bin /etc`. Other words are kept.
fn brace_expand(word: &str) -> Vec<String> {
    let Some(open) = word.find('{') else {
        return vec![word.to_string()];
    };
    let Some(len) = word[open + 1..].find('}') else {
        return vec![word.to_string()];
    };
    let inner = &word[open + 1..open + 1 + len];
    if !inner.contains(',') || inner.contains('{') || word[..open].ends_with('$') {
        return vec![word.to_string()];
    }
    let (pre, post) = (&word[..open], &word[open + len + 2..]);
    inner.split(',').map(|part| format!("{pre}{part}{post}")).filter(|w| !w.is_empty()).collect()
}

/// `env -S STRING` (`--split-string`): the string is split at white space into the words of
/// the command env runs, in place of the option.
fn split_env_string(words: &mut Vec<String>, subs: &mut Vec<bool>) {
    let mut i = 1;
    while let Some(w) = words.get(i) {
        let (value, used) = if w == "-S" || w == "--split-string" {
            (words.get(i + 1).cloned().unwrap_or_default(), 2)
        } else if let Some(v) = w.strip_prefix("--split-string=") {
            (v.to_string(), 1)
        } else if let Some(v) = w.strip_prefix("-S") {
            (v.to_string(), 1)
        } else if w == "--" || !w.starts_with('-') {
            return;
        } else {
            i += 1;
            continue;
        };
        let pieces: Vec<String> = value.split_whitespace().map(str::to_string).collect();
        let end = (i + used).min(words.len());
        subs.splice(i..end, pieces.iter().map(|_| false));
        words.splice(i..end, pieces);
        return;
    }
}

/// The strings a command runs as shell code: `sh -c STRING` (options may be clustered,
/// `bash -lc`), `su -c STRING`, and the arguments of `eval` joined by spaces.
fn command_strings(words: &[String]) -> Vec<String> {
    let Some(program) = words.first() else {
        return Vec::new();
    };
    if program == "eval" && words.len() > 1 {
        return vec![words[1..].join(" ")];
    }
    if program == "su" {
        return words
            .windows(2)
            .filter(|p| p[0] == "-c" || p[0] == "--command")
            .map(|p| p[1].clone())
            .chain(words.iter().filter_map(|w| w.strip_prefix("--command=").map(str::to_string)))
            .collect();
    }
    if !SHELLS.contains(&program.as_str()) {
        return Vec::new();
    }
    let mut c = false;
    let mut i = 1;
    while let Some(t) = words.get(i) {
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if matches!(t.as_str(), "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            i += 2;
        } else if t.starts_with("--") {
            i += 1;
        } else if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            c |= t.starts_with('-') && t.contains('c');
            i += 1;
        } else {
            break;
        }
    }
    match words.get(i) {
        Some(s) if c => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The flags of one command's words (program first): short flags one by one (`-rf` is
/// `-r`, `-f`), long flags without their value (`--force=yes` is `--force`), up to `--`.
/// Words after the program only; flags after operands count too (GNU tools read them).
pub fn flags(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words.iter().skip(1) {
        if *w == "--" {
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            out.push(format!("--{}", long.split('=').next().unwrap_or_default()));
        } else if let Some(short) = w.strip_prefix('-') {
            out.extend(short.chars().map(|c| format!("-{c}")));
        }
    }
    out
}

/// The operands of one command's words (program first): the words after the program
/// that are not flags, and every word after `--`. `-` alone is an operand (standard input).
/// A flag's separate value (`-n 10`) cannot be told from an operand and is listed.
pub fn operands(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = words.iter().skip(1);
    for w in rest.by_ref() {
        if *w == "--" {
            break;
        }
        if !(w.len() > 1 && w.starts_with('-')) {
            out.push((*w).to_string());
        }
    }
    out.extend(rest.map(|w| (*w).to_string()));
    out
}

/// A path as the file system would resolve it, lexically: `//`, `/./` and trailing `/`
/// collapsed, `..` resolved against the segment before it (`/bin/..` is `/`, `/..` is `/`),
/// and a home directory written `~`, `~/`, `$HOME` or `${HOME}` as `~` (`~user` stays
/// `~user`); `..` right after a home stays (`~/..`: the home's parent is unknown). A
/// relative path stays relative (`./build/` is `build`, `.` and `a/..` are `.`); `""` stays `""`.
pub fn normalize_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let (prefix, rest): (String, &str) =
        if let Some(r) = p.strip_prefix("${HOME}").or_else(|| p.strip_prefix("$HOME")).filter(|r| r.is_empty() || r.starts_with('/')) {
            ("~".to_string(), r)
        } else if let Some(r) = p.strip_prefix('~') {
            let end = r.find('/').unwrap_or(r.len());
            (format!("~{}", &r[..end]), &r[end..])
        } else if p.starts_with('/') {
            ("/".to_string(), p)
        } else {
            (String::new(), p)
        };
    let mut stack: Vec<&str> = Vec::new();
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => match stack.last() {
                Some(&s) if s != ".." => {
                    stack.pop();
                }
                _ if prefix == "/" => {}
                _ => stack.push(".."),
            },
            s => stack.push(s),
        }
    }
    let joined = stack.join("/");
    match prefix.as_str() {
        "/" => format!("/{joined}"),
        "" if joined.is_empty() => ".".to_string(),
        "" => joined,
        home if joined.is_empty() => home.to_string(),
        home => format!("{home}/{joined}"),
    }
}

#[cfg(test)]
mod tests;
