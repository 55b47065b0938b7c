//! Reading reference data (LANGUAGE.md §9). In: the policy paths given (a folder's
//! `data/*.json` supplies the data named by each file's stem), the `(name, file)`
//! replacements of `--data` and the library builder, and the `Limits`. Out: the data files
//! (name, name in diagnostics, text) and where a missing one is looked for, or the file
//! diagnostics naming the path at fault.

use super::files::{read_text_file, TextFile};
use crate::diagnostics::{self as diag, Diagnostic, Diagnostics};
use crate::limits::Limits;
use crate::span::{SourceMap, Span};
use std::path::{Path, PathBuf};

/// One data file: the `data` name it supplies, its name in diagnostics and its text.
pub(crate) struct DataFile {
    pub(crate) name: String,
    pub(crate) shown: String,
    pub(crate) text: String,
}

/// Where a data value comes from when it is not in a folder's `data/`.
pub(crate) enum DataOrigin {
    /// A file (`--data NAME=FILE`).
    File(PathBuf),
    /// Text given to the library builder, shown as `data NAME`.
    Text(String),
}

/// The data of one compilation.
#[derive(Default)]
pub(crate) struct DataSet {
    pub(crate) files: Vec<DataFile>,
    /// The `data/` folder of the first policy folder given, for the error of a
    /// declaration without data.
    pub(crate) folder: Option<String>,
}

/// Reads `data/*.json` directly inside each folder among `paths`, then applies
/// `replacements` by name (a replacement is whole, not merged).
pub(crate) fn read_data<P: AsRef<Path>>(paths: &[P], replacements: &[(String, DataOrigin)], limits: &Limits) -> Result<DataSet, Diagnostics> {
    let mut set = DataSet::default();
    let mut errors = Vec::new();
    for dir in paths.iter().map(AsRef::as_ref).filter(|p| p.is_dir()) {
        let folder = dir.join("data");
        set.folder.get_or_insert_with(|| folder.display().to_string());
        if !folder.is_dir() {
            continue;
        }
        match json_files(&folder) {
            Ok(found) => {
                for path in found {
                    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    add(&mut set, &mut errors, name, &path, limits);
                }
            }
            Err(e) => errors.push((folder.display().to_string(), Problem::Io(e))),
        }
    }
    for (name, origin) in replacements {
        set.files.retain(|f| &f.name != name);
        match origin {
            DataOrigin::File(path) => add(&mut set, &mut errors, name.clone(), path, limits),
            DataOrigin::Text(text) => set.files.push(DataFile { name: name.clone(), shown: format!("data {name}"), text: text.clone() }),
        }
    }
    if errors.is_empty() {
        return Ok(set);
    }
    let mut sources = SourceMap::new();
    let items = errors
        .into_iter()
        .map(|(path, problem)| {
            let span = Span::new(sources.add(path.clone(), ""), 0, 0);
            problem.diagnostic(span, &path, limits)
        })
        .collect();
    Err(Diagnostics { items, sources })
}

/// Why a data file could not be read.
enum Problem {
    Io(String),
    TooLarge(usize),
}

impl Problem {
    fn diagnostic(&self, span: Span, path: &str, limits: &Limits) -> Diagnostic {
        match self {
            Problem::Io(e) => diag::unreadable_data(span, path, e),
            Problem::TooLarge(size) => diag::data_too_large(span, *size, limits.max_data_bytes),
        }
    }
}

fn add(set: &mut DataSet, errors: &mut Vec<(String, Problem)>, name: String, path: &Path, limits: &Limits) {
    let shown = path.display().to_string();
    match read_text_file(path, limits.max_data_bytes) {
        Ok(TextFile::Text(text)) => set.files.push(DataFile { name, shown, text }),
        Ok(TextFile::TooLarge(size)) => errors.push((shown, Problem::TooLarge(size))),
        Ok(TextFile::NotUtf8 { at, .. }) => errors.push((shown, Problem::Io(format!("byte {at} is not UTF-8 (JSON data files are UTF-8)")))),
        Err(e) => errors.push((shown, Problem::Io(e))),
    }
}

/// The `.json` files directly inside `folder`, sorted.
fn json_files(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "json") && !path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
