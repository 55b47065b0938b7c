//! Reading a log back. In: log files (the live one, rotated ones). Out: their records in
//! order, each with its file and line; a damaged line is an error naming both. The writer's
//! open uses the same scan (`scan`), so what it keeps is exactly what a reader accepts.

use crate::line::decode_line;
use crate::{LogError, Record};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Where a scan stopped.
pub(crate) struct Scanned {
    /// Bytes of the whole, good lines (the offset just past the last one's newline).
    pub good_len: u64,
    /// Good records.
    pub entries: u64,
    /// The last line, when it is bad: its number, and why (a torn or damaged tail).
    pub bad_tail: Option<(u64, String)>,
}

/// Reads every line of `reader`, handing each good record to `each`. A bad line followed by
/// more bytes is an error; a bad last line (no newline, or a bad checksum) is reported in
/// `bad_tail` for the caller to repair or refuse. Blank lines are skipped.
pub(crate) fn scan(path: &Path, reader: impl std::io::Read, mut each: impl FnMut(u64, Record)) -> Result<Scanned, LogError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut out = Scanned { good_len: 0, entries: 0, bad_tail: None };
    let mut offset = 0u64;
    let mut pending_bad: Option<(u64, String)> = None;
    for n in 1u64.. {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|e| LogError::io(path, "cannot read it", &e))?;
        if read == 0 {
            break;
        }
        if let Some((at, why)) = pending_bad.take() {
            return Err(damaged(path, at, &why));
        }
        offset += read as u64;
        let complete = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if complete && text.iter().all(u8::is_ascii_whitespace) {
            out.good_len = offset;
            continue;
        }
        if !complete {
            pending_bad = Some((n, "the line is torn (the file ends before its newline)".to_string()));
            continue;
        }
        match decode_line(text) {
            Ok(record) => {
                out.good_len = offset;
                out.entries += 1;
                each(n, record);
            }
            Err(why) => pending_bad = Some((n, why)),
        }
    }
    out.bad_tail = pending_bad;
    Ok(out)
}

fn damaged(path: &Path, line: u64, why: &str) -> LogError {
    LogError {
        message: format!(
            "decision log `{}` line {line}: {why}; lines after it follow, so it is not a torn tail: nothing is dropped silently (move the file aside, or cut the line out by hand)",
            path.display()
        ),
    }
}

/// Reads a log back (for `gavel log` and `gavel replay`): every well-formed record in order,
/// with line numbers; a malformed line is an error naming the file and line (a torn last
/// line too: the writer repairs it when it opens the log, a reader does not change the file).
pub fn read(path: impl AsRef<Path>) -> Result<Vec<(u64, Record)>, LogError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| LogError::io(path, "cannot open it", &e))?;
    let mut records = Vec::new();
    let scanned = scan(path, file, |n, r| records.push((n, r)))?;
    if let Some((n, why)) = scanned.bad_tail {
        return Err(LogError {
            message: format!("decision log `{}` line {n} (the last): {why}; `gavel serve` repairs a torn last line when it opens the log", path.display()),
        });
    }
    Ok(records)
}

/// A record and where it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The file it was read from (the live log or a rotated one).
    pub file: PathBuf,
    /// Its line number in that file, from 1.
    pub line: u64,
    /// The record.
    pub record: Record,
}

/// Reads several logs, in the order given (rotated files first: `rotated_files` lists a
/// log's files in that order), into one sequence.
pub fn read_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<LogEntry>, LogError> {
    let mut out = Vec::new();
    for p in paths {
        let file = p.as_ref().to_path_buf();
        out.extend(read(&file)?.into_iter().map(|(line, record)| LogEntry { file: file.clone(), line, record }));
    }
    Ok(out)
}
