//! Reading policy files. In: the paths given to the compiler and the `Limits`. Out: the
//! sources (`SourceFile`: name, text, path) of every `.pol` file found, or the file
//! diagnostics (E04xx, E0501) naming the path at fault; and the policy set's digest.

use super::SourceFile;
use crate::diagnostics::{self as diag, Diagnostics};
use crate::limits::Limits;
use crate::span::{SourceMap, Span};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Reads every path (a `.pol` file, or a folder read recursively) into sources, or gives
/// every file error: unreadable paths (at the deepest path at fault), folder loops, files
/// over `max_source_bytes`, no policy files at all.
pub(crate) fn read_paths<P: AsRef<Path>>(paths: &[P], limits: &Limits) -> Result<Vec<SourceFile>, Diagnostics> {
    let mut files: Vec<SourceFile> = Vec::new();
    let mut too_large: Vec<TooLarge> = Vec::new();
    let mut not_utf8: Vec<NotUtf8> = Vec::new();
    let mut errors = SourceMap::new();
    let mut diags = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let mut found = Found { files: &mut files, too_large: &mut too_large, not_utf8: &mut not_utf8 };
        if let Err(e) = read_path(p, limits, &mut found) {
            let id = errors.add(e.path.display().to_string(), "");
            diags.push(e.diagnostic(Span::new(id, 0, 0)));
        }
    }
    for t in too_large {
        let id = errors.add(t.path.display().to_string(), "");
        diags.push(diag::source_too_large(Span::new(id, 0, 0), t.size, limits.max_source_bytes));
    }
    for n in not_utf8 {
        // The text up to the bad byte is the file's own, so the snippet and the line and
        // column shown are exact; what follows is shown with U+FFFD for each bad sequence.
        let id = errors.add_file(crate::span::SourceFile::shown_as(n.name, n.shown, n.text));
        diags.push(diag::source_not_utf8(Span::new(id, n.at, n.at + '\u{FFFD}'.len_utf8()), n.byte));
    }
    if files.is_empty() && diags.is_empty() {
        let id = errors.add(paths.first().map_or(String::from("."), |p| p.as_ref().display().to_string()), "");
        diags.push(diag::no_policy_files(Span::new(id, 0, 0)));
    }
    if !diags.is_empty() {
        return Err(Diagnostics { items: diags, sources: errors });
    }
    Ok(files)
}

/// Where `read_path` puts what it finds.
struct Found<'a> {
    files: &'a mut Vec<SourceFile>,
    too_large: &'a mut Vec<TooLarge>,
    not_utf8: &'a mut Vec<NotUtf8>,
}

impl Found<'_> {
    /// Files `read_text_file` read, by how they ended.
    fn add(&mut self, path: &Path, name: String, file: TextFile) {
        match file {
            TextFile::Text(text) => self.files.push(SourceFile { name, text, path: Some(path.to_path_buf()) }),
            TextFile::TooLarge(size) => self.too_large.push(TooLarge { path: path.to_path_buf(), size }),
            TextFile::NotUtf8 { lossy, at, byte } => self.not_utf8.push(NotUtf8 { name, shown: path.display().to_string(), text: lossy, at, byte }),
        }
    }
}

/// A policy file whose bytes are not UTF-8: a policy error at the first bad byte (not an
/// unreadable file: the file was read, its text is wrong).
struct NotUtf8 {
    /// Named and shown as its diagnostics would name it had it been UTF-8.
    name: String,
    shown: String,
    /// The text with each bad sequence as U+FFFD.
    text: String,
    /// The offset of the first bad byte (the same in `text`: everything before it is valid).
    at: usize,
    byte: u8,
}

/// A policy file refused by `max_source_bytes` before (or while) reading it.
struct TooLarge {
    path: PathBuf,
    /// Its size in bytes, as far as known (at least the limit plus one).
    size: usize,
}

/// Why a path given to the compiler could not be read: the deepest path at fault (a file
/// or folder inside the one given, when that is where the problem is) and what went wrong.
struct Unreadable {
    path: PathBuf,
    problem: PathProblem,
}

enum PathProblem {
    Io(String),
    /// A symbolic link inside a folder leads back to that folder or one around it.
    Loop {
        target: PathBuf,
    },
}

impl Unreadable {
    fn io(path: &Path, e: impl std::fmt::Display) -> Unreadable {
        Unreadable { path: path.to_path_buf(), problem: PathProblem::Io(e.to_string()) }
    }

    fn diagnostic(&self, span: Span) -> crate::diagnostics::Diagnostic {
        let path = self.path.display().to_string();
        match &self.problem {
            PathProblem::Io(msg) => diag::unreadable_path(span, &path, msg),
            PathProblem::Loop { target } => diag::folder_loop(span, &path, &target.display().to_string()),
        }
    }
}

/// Adds `path` (a `.pol` file, or a directory read recursively) to `found`: its text, or,
/// for a file over `limits.max_source_bytes`, its size (without reading it), or for a file
/// that is not UTF-8, where it stops being so.
fn read_path(path: &Path, limits: &Limits, found: &mut Found) -> Result<(), Unreadable> {
    let meta = std::fs::metadata(path).map_err(|e| Unreadable::io(path, e))?;
    if meta.is_dir() {
        let mut inside = Vec::new();
        collect_dir(path, &mut Vec::new(), &mut inside)?;
        inside.sort();
        for f in inside {
            let name = f.strip_prefix(path).unwrap_or(&f).display().to_string();
            let file = read_text_file(&f, limits.max_source_bytes).map_err(|e| Unreadable::io(&f, e))?;
            found.add(&f, name, file);
        }
    } else {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let file = read_text_file(path, limits.max_source_bytes).map_err(|e| Unreadable::io(path, e))?;
        found.add(path, name, file);
    }
    Ok(())
}

/// One policy or data file: its text, or its size when that is over the limit.
pub(super) enum TextFile {
    Text(String),
    TooLarge(usize),
    /// Bytes that are not UTF-8: the text with U+FFFD for each bad sequence, and the offset
    /// and value of the first bad byte.
    NotUtf8 {
        lossy: String,
        at: usize,
        byte: u8,
    },
}

/// Reads a policy or data file of at most `max_bytes`. The size comes from the file's metadata
/// first, so a huge file is refused without reading it; the read itself stops one byte past
/// the limit too, as the file may grow in between (or, like a device, report no size).
pub(super) fn read_text_file(path: &Path, max_bytes: usize) -> Result<TextFile, String> {
    use std::io::Read;
    let declared = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let over = |size: u64| size > u64::try_from(max_bytes).unwrap_or(u64::MAX);
    if over(declared) {
        return Ok(TextFile::TooLarge(usize::try_from(declared).unwrap_or(usize::MAX)));
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let bound = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    file.take(bound).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if over(bytes.len() as u64) {
        return Ok(TextFile::TooLarge(bytes.len()));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => TextFile::Text(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // INVARIANT: `valid_up_to` is the offset of a byte that exists (the error).
            let byte = bytes[at];
            TextFile::NotUtf8 { lossy: String::from_utf8_lossy(&bytes).into_owned(), at, byte }
        }
    })
}

/// The `.pol` files under `dir`, recursively, following symbolic links. `ancestors` holds
/// the canonical paths of the folders being read around `dir`: a link back to one of them
/// is a loop, reported at the link rather than read again and again.
fn collect_dir(dir: &Path, ancestors: &mut Vec<PathBuf>, out: &mut Vec<PathBuf>) -> Result<(), Unreadable> {
    let canonical = std::fs::canonicalize(dir).map_err(|e| Unreadable::io(dir, e))?;
    if ancestors.contains(&canonical) {
        return Err(Unreadable { path: dir.to_path_buf(), problem: PathProblem::Loop { target: canonical } });
    }
    ancestors.push(canonical);
    for entry in std::fs::read_dir(dir).map_err(|e| Unreadable::io(dir, e))? {
        let p = entry.map_err(|e| Unreadable::io(dir, e))?.path();
        if p.is_dir() {
            collect_dir(&p, ancestors, out)?;
        } else if p.extension().is_some_and(|e| e == "pol") {
            out.push(p);
        }
    }
    ancestors.pop();
    Ok(())
}

/// SHA-256 over the policy files' names and contents (those the caller keeps: not the
/// files holding only tests), sorted by name, then the data's (`data NAME` and the text),
/// sorted by name: replacing data changes the digest.
pub(super) fn digest(files: &[(&str, &str)], data: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(&str, &str)> = files.to_vec();
    sorted.sort();
    let mut data: Vec<(String, &str)> = data.iter().map(|(name, text)| (format!("data {name}"), *text)).collect();
    data.sort();
    let mut h = Sha256::new();
    for (name, text) in sorted.into_iter().chain(data.iter().map(|(n, t)| (n.as_str(), *t))) {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    format!("sha256:{:x}", h.finalize())
}
