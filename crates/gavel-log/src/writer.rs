//! The writer. In: records (or batches of encoded lines) to append, from many threads. Out:
//! whole lines in the file before `append`/`append_lines` returns; fdatasync by a group-commit thread (`LogSync::Group`) or before returning
//! (`LogSync::Always`); a torn tail cut away on open (`Repair`); rotation past `max_bytes`.
//!
//! The file only ever holds whole lines: the length of its good prefix (`State::len`) is
//! known, and a failed write is cut back to it (`set_len`) before anything else is written,
//! so a disk that fills up mid-line leaves no damaged line in the middle once writes work
//! again.

use crate::line::encode_line;
use crate::read::scan;
use crate::{LogError, LogOptions, LogSync, Record};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long the group-commit thread gathers writes before one fdatasync covers them.
const GROUP_INTERVAL: Duration = Duration::from_millis(2);

/// What `open` cut away: a torn or damaged last line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// The line's number (1-based).
    pub line: u64,
    /// The bytes removed.
    pub bytes: u64,
    /// Why the line was bad.
    pub reason: String,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cut the last line ({}, {} bytes) away: {}", self.line, self.bytes, self.reason)
    }
}

/// An append-only decision log; `Send + Sync`, share it in an `Arc`.
pub struct DecisionLog {
    shared: Arc<Shared>,
    syncer: Option<std::thread::JoinHandle<()>>,
    repaired: Option<Repair>,
}

struct Shared {
    path: PathBuf,
    options: LogOptions,
    state: Mutex<State>,
    /// Wakes the group-commit thread: there were writes, or it should stop.
    wake: Condvar,
}

struct State {
    /// The live file; `None` after a rotation renamed it and the new one could not be
    /// created yet (the next append tries again).
    file: Option<Arc<File>>,
    /// Bytes of whole lines in the live file.
    len: u64,
    /// Records in the live file.
    entries: u64,
    /// Bytes past `len` may be in the file (a write failed and could not be cut back).
    torn: bool,
    /// Lines were written since the last fdatasync began.
    dirty: bool,
    /// The last fdatasync failed: lines answered before may not be durable. Cleared by the
    /// next one that succeeds; until then every append fails.
    sync_failed: Option<String>,
    stop: bool,
    /// Test only: make this many writes fail halfway through the line.
    #[cfg(test)]
    fail_writes: u32,
}

impl DecisionLog {
    /// Opens (creating) the log; repairs a torn last line; counts entries. A damaged line
    /// before the last is an error naming the file and line: it is never dropped silently.
    pub fn open(path: impl AsRef<Path>, options: LogOptions) -> Result<Self, LogError> {
        let path = path.as_ref().to_path_buf();
        let file = open_append(&path)?;
        let (len, entries, repaired) = check(&path, &file)?;
        let shared = Arc::new(Shared {
            path,
            options,
            state: Mutex::new(State {
                file: Some(Arc::new(file)),
                len,
                entries,
                torn: false,
                dirty: false,
                sync_failed: None,
                stop: false,
                #[cfg(test)]
                fail_writes: 0,
            }),
            wake: Condvar::new(),
        });
        let syncer = match options.sync {
            LogSync::Always => None,
            LogSync::Group => {
                let s = Arc::clone(&shared);
                let spawned = std::thread::Builder::new().name("gavel-log-sync".into()).spawn(move || group_commit(&s));
                Some(spawned.map_err(|e| LogError::io(&shared.path, "cannot start its fsync thread", &e))?)
            }
        };
        Ok(DecisionLog { shared, syncer, repaired })
    }

    /// Appends one line. Returns once the line is written to the file (Group: fsync happens
    /// in the background every few ms; Always: fdatasync'd before returning). An error means
    /// the line is NOT durable: the service must answer 503. Later appends try again (a full
    /// disk that has room again, a rotation that could not create the new file).
    pub fn append(&self, record: &Record) -> Result<(), LogError> {
        self.append_lines(&encode_line(record), 1)
    }

    /// Appends `count` whole lines at once (`encode_line`s one after another): one `write`
    /// and, with `LogSync::Always`, one fdatasync for all of them — how a service commits a
    /// group of requests together. All of them are written or (with an error) none: a write
    /// that failed halfway is cut back, so every line in the batch must be answered 503.
    pub fn append_lines(&self, lines: &[u8], count: u64) -> Result<(), LogError> {
        if lines.is_empty() {
            return Ok(());
        }
        let path = &self.shared.path;
        let mut state = self.shared.lock();
        if state.sync_failed.is_some() {
            // Lines before this one may not have reached the disk: sync them now, or refuse.
            let file = state.file.clone();
            if let Some(file) = file {
                file.sync_data().map_err(|e| LogError::io(path, "cannot fsync it", &e))?;
            }
            state.sync_failed = None;
        }
        if state.torn {
            let file = state.live(path)?;
            file.set_len(state.len).map_err(|e| LogError::io(path, "cannot cut a failed write back", &e))?;
            state.torn = false;
        }
        if state.len > 0 && state.len + lines.len() as u64 > self.shared.options.max_bytes {
            self.rotate(&mut state)?;
        }
        let file = state.live(path)?;
        if let Err(e) = state.write(&file, lines) {
            // Part of the lines may be in the file: cut them back now, or before the next write.
            state.torn = file.set_len(state.len).is_err();
            return Err(LogError::io(path, "cannot write a line", &e));
        }
        state.len += lines.len() as u64;
        state.entries += count;
        match self.shared.options.sync {
            LogSync::Group => {
                state.dirty = true;
                drop(state);
                self.shared.wake.notify_one();
            }
            LogSync::Always => {
                // Outside the lock, so appends from other threads are written meanwhile and
                // the kernel can cover several with one flush.
                drop(state);
                if let Err(e) = file.sync_data() {
                    self.shared.lock().sync_failed = Some(e.to_string());
                    return Err(LogError::io(path, "cannot fsync it", &e));
                }
            }
        }
        Ok(())
    }

    /// fsyncs now (graceful shutdown).
    pub fn flush(&self) -> Result<(), LogError> {
        let file = {
            let mut state = self.shared.lock();
            state.dirty = false;
            state.file.clone()
        };
        if let Some(file) = file {
            if let Err(e) = file.sync_data() {
                self.shared.lock().sync_failed = Some(e.to_string());
                return Err(LogError::io(&self.shared.path, "cannot fsync it", &e));
            }
        }
        self.shared.lock().sync_failed = None;
        Ok(())
    }

    /// Records in the live file (rotated files not counted).
    pub fn entries(&self) -> u64 {
        self.shared.lock().entries
    }

    /// The live log file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The torn last line `open` cut away, if it did.
    pub fn repaired(&self) -> Option<&Repair> {
        self.repaired.as_ref()
    }

    /// Renames the full live file to the next rotated name and starts a new one.
    fn rotate(&self, state: &mut State) -> Result<(), LogError> {
        let path = &self.shared.path;
        if let Some(file) = &state.file {
            file.sync_data().map_err(|e| LogError::io(path, "cannot fsync it before rotating", &e))?;
            let next = next_rotated(path).map_err(|e| LogError::io(path, "cannot list its directory to rotate", &e))?;
            match std::fs::rename(path, &next) {
                Ok(()) => {}
                // Someone moved the live file away already (by hand, or logrotate): what
                // was written went with it, and a new file starts at `path`.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, &format!("cannot rotate it to `{}`", next.display()), &e)),
            }
            // From here the old handle is the rotated file: never write to it again.
            state.file = None;
        }
        let file = open_append(path)?;
        sync_dir(path);
        state.len = 0;
        state.entries = 0;
        state.file = Some(Arc::new(file));
        Ok(())
    }

    #[cfg(test)]
    fn fail_next_writes(&self, n: u32) {
        self.shared.lock().fail_writes = n;
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.syncer.take() {
            let _ = t.join();
        }
        let _ = self.flush();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked holding the lock left the state as consistent as any
        // failed write does: go on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The live file, created again if a rotation could not create it.
    fn live(&mut self, path: &Path) -> Result<Arc<File>, LogError> {
        if let Some(f) = &self.file {
            return Ok(Arc::clone(f));
        }
        let file = Arc::new(open_append(path)?);
        sync_dir(path);
        self.len = 0;
        self.entries = 0;
        self.file = Some(Arc::clone(&file));
        Ok(file)
    }

    /// One `write_all` of the whole line (one `write` call for any line that fits the
    /// kernel's limit, so a reader never sees two appends interleaved).
    fn write(&mut self, mut file: &File, line: &[u8]) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_writes > 0 {
            self.fail_writes -= 1;
            file.write_all(&line[..line.len() / 2])?;
            return Err(std::io::Error::other("injected failure"));
        }
        file.write_all(line)
    }
}

/// The group-commit thread: after writes, waits `GROUP_INTERVAL` for more, then one
/// fdatasync covers them all; a failure is kept for the next append to report.
fn group_commit(shared: &Shared) {
    loop {
        let file = {
            let mut state = shared.lock();
            while !state.dirty && !state.stop {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if !state.dirty {
                return; // stopping, nothing left to sync
            }
            let stop = state.stop;
            drop(state);
            if !stop {
                std::thread::sleep(GROUP_INTERVAL);
            }
            let mut state = shared.lock();
            state.dirty = false;
            state.file.clone()
        };
        if let Some(file) = file {
            if let Err(e) = file.sync_data() {
                shared.lock().sync_failed = Some(e.to_string());
            }
        }
    }
}

fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new().read(true).append(true).create(true).open(path).map_err(|e| LogError::io(path, "cannot open it", &e))
}

/// Makes a new or renamed directory entry durable (best effort: not every file system lets a
/// directory be opened).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Scans the file: whole-line length, entries, and the torn tail cut away if there is one.
fn check(path: &Path, file: &File) -> Result<(u64, u64, Option<Repair>), LogError> {
    let meta = file.metadata().map_err(|e| LogError::io(path, "cannot read its metadata", &e))?;
    if !meta.is_file() {
        // A device or pipe (`/dev/null`, `/dev/full`): nothing to scan or repair.
        return Ok((0, 0, None));
    }
    let scanned = scan(path, file, |_, _| {})?;
    let Some((line, reason)) = scanned.bad_tail else { return Ok((scanned.good_len, scanned.entries, None)) };
    file.set_len(scanned.good_len).map_err(|e| LogError::io(path, "cannot cut its torn last line away", &e))?;
    file.sync_data().map_err(|e| LogError::io(path, "cannot fsync it", &e))?;
    let repair = Repair { line, bytes: meta.len().saturating_sub(scanned.good_len), reason };
    Ok((scanned.good_len, scanned.entries, Some(repair)))
}

/// `dir/name.jsonl` → (`dir`, `name.`, `.jsonl`): rotated files are `name.000001.jsonl`, so
/// a shell glob `name*.jsonl` lists them oldest first and the live file last. A name
/// without an extension rotates to `name.000001`.
fn rotation_parts(path: &Path) -> (PathBuf, String, String) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (dir, format!("{stem}."), format!(".{ext}")),
        _ => (dir, format!("{name}."), String::new()),
    }
}

/// The rotated files of the log at `path`, oldest first (not the live file).
pub fn rotated_files(path: impl AsRef<Path>) -> std::io::Result<Vec<PathBuf>> {
    let (dir, prefix, suffix) = rotation_parts(path.as_ref());
    let listing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(listing)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let seq = name.strip_prefix(prefix.as_str()).and_then(|r| r.strip_suffix(suffix.as_str()));
        if let Some(n) = seq.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).and_then(|s| s.parse::<u64>().ok()) {
            found.push((n, dir.join(&name)));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

fn next_rotated(path: &Path) -> std::io::Result<PathBuf> {
    let (dir, prefix, suffix) = rotation_parts(path);
    let last = rotated_files(path)?
        .last()
        .and_then(|p| p.file_name()?.to_str()?.strip_prefix(prefix.as_str())?.strip_suffix(suffix.as_str())?.parse::<u64>().ok())
        .unwrap_or(0);
    Ok(dir.join(format!("{prefix}{:06}{suffix}", last + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read, ReloadRecord};

    fn rec(i: u64) -> Record {
        Record::Reload(ReloadRecord { ok: true, digest: Some(format!("sha256:{i}")), error: None, time: "2026-01-01T00:00:00Z".into() })
    }

    #[test]
    fn a_failed_write_is_an_error_and_the_next_one_leaves_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        log.append(&rec(1)).unwrap();
        log.fail_next_writes(1);
        assert!(log.append(&rec(2)).is_err());
        log.append(&rec(3)).unwrap();
        assert_eq!(log.entries(), 2);
        drop(log);
        let got: Vec<Record> = read(&path).unwrap().into_iter().map(|(_, r)| r).collect();
        assert_eq!(got, vec![rec(1), rec(3)]);
    }

    #[test]
    fn a_batch_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        let batch = |a: u64, b: u64| [encode_line(&rec(a)), encode_line(&rec(b))].concat();
        log.append_lines(&batch(1, 2), 2).unwrap();
        log.fail_next_writes(1);
        assert!(log.append_lines(&batch(3, 4), 2).is_err());
        log.append_lines(&batch(5, 6), 2).unwrap();
        assert_eq!(log.entries(), 4);
        drop(log);
        let got: Vec<Record> = read(&path).unwrap().into_iter().map(|(_, r)| r).collect();
        assert_eq!(got, vec![rec(1), rec(2), rec(5), rec(6)]);
    }

    #[test]
    fn rotated_names_sort_oldest_first_and_live_last() {
        assert_eq!(rotation_parts(Path::new("d/gavel-decisions.jsonl")), (PathBuf::from("d"), "gavel-decisions.".into(), ".jsonl".into()));
        assert_eq!(rotation_parts(Path::new("log")), (PathBuf::new(), "log.".into(), String::new()));
        let mut names = ["gavel-decisions.jsonl", "gavel-decisions.000002.jsonl", "gavel-decisions.000001.jsonl"];
        names.sort();
        assert_eq!(names, ["gavel-decisions.000001.jsonl", "gavel-decisions.000002.jsonl", "gavel-decisions.jsonl"]);
    }
}
