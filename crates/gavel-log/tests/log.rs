//! The decision log as a file: what `open` keeps after a tear, damage in the middle, rotation,
//! I/O errors and recovery, and a writer killed with SIGKILL.

use gavel_log::{read, read_files, rotated_files, ApprovalRecord, DecisionLog, DecisionRecord, LogOptions, LogSync, Record, ReloadRecord};
use proptest::prelude::*;
use serde_json::json;
use std::io::BufRead;
use std::path::Path;

fn decision(i: u64, memo: &str) -> Record {
    Record::Decision(DecisionRecord {
        decision_id: format!("0190-{i:06}"),
        time: "2026-11-02T14:03:07.123456Z".into(),
        policy: json!({"name": "payments", "version": "1", "digest": "sha256:00"}),
        request: json!({"tool": "payments.transfer", "args": {"amount": i, "memo": memo}, "agent": {"id": "bot"}}),
        decision: if i.is_multiple_of(3) { "deny" } else { "allow" }.into(),
        decided_by: vec![],
        fired: vec!["r1".into()],
        approval_id: None,
        latency_us: i,
    })
}

fn records(path: &Path) -> Vec<Record> {
    read(path).unwrap().into_iter().map(|(_, r)| r).collect()
}

#[test]
fn appended_records_read_back_in_order_and_are_counted_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let all = vec![
        decision(1, "a"),
        Record::Approval(ApprovalRecord { approval_id: "ap1".into(), action: "created".into(), by: None, comment: None, time: "2026-11-02T14:03:08Z".into() }),
        Record::Reload(ReloadRecord { ok: false, digest: None, error: Some("E0201 at a.pol:3".into()), time: "2026-11-02T14:03:09Z".into() }),
    ];
    {
        let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        for r in &all {
            log.append(r).unwrap();
        }
        assert_eq!(log.entries(), 3);
        assert_eq!(log.path(), path);
        log.flush().unwrap();
    }
    let log = DecisionLog::open(&path, LogOptions { sync: LogSync::Always, ..LogOptions::default() }).unwrap();
    assert_eq!((log.entries(), log.repaired()), (3, None));
    log.append(&decision(4, "b")).unwrap();
    drop(log);
    let got = read(&path).unwrap();
    assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(got.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), [all, vec![decision(4, "b")]].concat());
}

#[test]
fn a_torn_last_line_is_cut_away_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    {
        let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        log.append(&decision(1, "a")).unwrap();
        log.append(&decision(2, "b")).unwrap();
    }
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 10]).unwrap();
    // A reader refuses it (it does not change the file), naming the line.
    let err = read(&path).unwrap_err().message;
    assert!(err.contains("line 2 (the last)") && err.contains("torn"), "{err}");
    let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    let repair = log.repaired().expect("a repair").clone();
    assert_eq!((repair.line, log.entries()), (2, 1));
    assert_eq!(repair.bytes, (whole.len() - 10 - whole.iter().position(|b| *b == b'\n').unwrap() - 1) as u64);
    log.append(&decision(3, "c")).unwrap();
    drop(log);
    assert_eq!(records(&path), vec![decision(1, "a"), decision(3, "c")]);
}

#[test]
fn a_damaged_last_line_with_its_newline_is_cut_away_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    drop_after(&path, &[decision(1, "a"), decision(2, "bbbb")]);
    let text = std::fs::read_to_string(&path).unwrap().replace("bbbb", "bbbc");
    std::fs::write(&path, text).unwrap();
    let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    assert!(log.repaired().unwrap().reason.contains("checksum mismatch"), "{:?}", log.repaired());
    assert_eq!(log.entries(), 1);
}

#[test]
fn a_damaged_line_in_the_middle_is_an_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    drop_after(&path, &[decision(1, "a"), decision(2, "bbbb"), decision(3, "c")]);
    let before = std::fs::read_to_string(&path).unwrap().replace("bbbb", "bbbc");
    std::fs::write(&path, &before).unwrap();
    let err = DecisionLog::open(&path, LogOptions::default()).err().expect("an error").message;
    assert!(err.contains(&format!("`{}` line 2", path.display())) && err.contains("checksum"), "{err}");
    assert!(read(&path).unwrap_err().message.contains("line 2"));
    // Nothing was cut.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

fn drop_after(path: &Path, all: &[Record]) {
    let log = DecisionLog::open(path, LogOptions::default()).unwrap();
    for r in all {
        log.append(r).unwrap();
    }
}

#[test]
fn past_max_bytes_the_file_is_rotated_and_the_files_read_back_as_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gavel-decisions.jsonl");
    let line_len = gavel_log::encode_line(&decision(10, "x")).len() as u64;
    let log = DecisionLog::open(&path, LogOptions { sync: LogSync::Group, max_bytes: 2 * line_len + 5 }).unwrap();
    let all: Vec<Record> = (10..17).map(|i| decision(i, "x")).collect();
    for r in &all {
        log.append(r).unwrap();
    }
    // Two lines per file: 7 lines are three rotated files and one live line.
    assert_eq!(log.entries(), 1);
    drop(log);
    let rotated = rotated_files(&path).unwrap();
    let names: Vec<String> = rotated.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["gavel-decisions.000001.jsonl", "gavel-decisions.000002.jsonl", "gavel-decisions.000003.jsonl"]);
    let files = [rotated, vec![path.clone()]].concat();
    let entries = read_files(&files).unwrap();
    assert_eq!(entries.iter().map(|e| e.record.clone()).collect::<Vec<_>>(), all);
    assert_eq!((entries[2].file.clone(), entries[2].line), (files[1].clone(), 1));
    // Reopened, the live file keeps rotating after the last rotated number.
    let log = DecisionLog::open(&path, LogOptions { sync: LogSync::Always, max_bytes: 2 * line_len + 5 }).unwrap();
    log.append(&decision(17, "x")).unwrap();
    log.append(&decision(18, "x")).unwrap();
    assert_eq!(rotated_files(&path).unwrap().len(), 4);
}

#[test]
fn a_line_larger_than_max_bytes_goes_in_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let log = DecisionLog::open(&path, LogOptions { sync: LogSync::Group, max_bytes: 10 }).unwrap();
    log.append(&decision(1, "a")).unwrap();
    log.append(&decision(2, "b")).unwrap();
    drop(log);
    assert_eq!(rotated_files(&path).unwrap(), vec![dir.path().join("log.000001")]);
    assert_eq!(records(&path), vec![decision(2, "b")]);
}

#[test]
fn a_full_disk_is_an_error_not_a_lost_line() {
    let log = DecisionLog::open("/dev/full", LogOptions { sync: LogSync::Always, ..LogOptions::default() }).unwrap();
    let err = log.append(&decision(1, "a")).unwrap_err().message;
    assert!(err.contains("`/dev/full`") && err.contains("cannot write"), "{err}");
    assert_eq!(log.entries(), 0);
}

#[test]
fn a_rotation_that_cannot_create_the_new_file_fails_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let path = logs.join("log.jsonl");
    let log = DecisionLog::open(&path, LogOptions { sync: LogSync::Group, max_bytes: 1 }).unwrap();
    log.append(&decision(1, "a")).unwrap();
    // The directory goes away (as root, a read-only directory would not stop the writer).
    let moved = dir.path().join("moved");
    std::fs::rename(&logs, &moved).unwrap();
    assert!(log.append(&decision(2, "b")).is_err());
    assert!(log.append(&decision(3, "c")).is_err());
    std::fs::create_dir(&logs).unwrap();
    log.append(&decision(4, "d")).unwrap();
    drop(log);
    assert_eq!(records(&path), vec![decision(4, "d")]);
    assert_eq!(records(&moved.join("log.jsonl")), vec![decision(1, "a")]);
}

/// Records shaped like the service's, with text that JSON must escape.
fn any_record() -> impl Strategy<Value = Record> {
    let text = "[a-z \"\\\\\n\u{e9}\u{2028}😀]{0,40}";
    prop_oneof![
        (any::<u64>(), text).prop_map(|(i, memo)| decision(i, &memo)),
        (text, proptest::option::of(text)).prop_map(|(id, by)| Record::Approval(ApprovalRecord {
            approval_id: id,
            action: "approved".into(),
            by,
            comment: None,
            time: "2026-11-02T14:03:07Z".into()
        })),
        any::<bool>().prop_map(|ok| Record::Reload(ReloadRecord { ok, digest: None, error: None, time: "t".into() })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the point a crash tore the file at, and whatever garbage it left after it,
    /// reopening keeps exactly the lines written whole, and nothing else.
    #[test]
    fn reopen_after_a_tear_keeps_exactly_the_whole_lines(
        all in proptest::collection::vec(any_record(), 1..12),
        cut in any::<proptest::sample::Index>(),
        garbage in proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..30),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        drop_after(&path, &all);
        let mut bytes = std::fs::read(&path).unwrap();
        let cut = cut.index(bytes.len() + 1);
        bytes.truncate(cut);
        bytes.extend_from_slice(&garbage);
        std::fs::write(&path, &bytes).unwrap();
        // The reference model: the lines whose newline is before the cut.
        let whole = bytes[..cut].iter().filter(|b| **b == b'\n').count();
        let torn = cut < bytes.len() || bytes[..cut].last().is_some_and(|b| *b != b'\n');
        let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
        prop_assert_eq!(log.entries(), whole as u64);
        prop_assert_eq!(log.repaired().is_some(), torn);
        drop(log);
        prop_assert_eq!(records(&path), all[..whole].to_vec());
    }
}

/// The child of `a_killed_writer_loses_no_returned_append`: appends until killed, printing
/// each number once its `append` returned. Does nothing when run as a test on its own.
#[test]
fn killed_writer_child() {
    let Ok(path) = std::env::var("GAVEL_LOG_KILL_CHILD") else { return };
    let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    let stdout = std::io::stdout();
    for i in 0u64.. {
        log.append(&decision(i, "kill")).unwrap();
        use std::io::Write;
        let mut out = stdout.lock();
        writeln!(out, "appended {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_killed_writer_loses_no_returned_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "killed_writer_child", "--nocapture", "--test-threads", "1"])
        .env("GAVEL_LOG_KILL_CHILD", &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = Vec::new();
    for line in lines.by_ref() {
        if let Some(n) = line.unwrap().strip_prefix("appended ") {
            acknowledged.push(n.parse::<u64>().unwrap());
            if acknowledged.len() == 2000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Whatever it printed before it died was appended too.
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("appended ") {
            acknowledged.push(n.parse().unwrap());
        }
    }
    let log = DecisionLog::open(&path, LogOptions::default()).unwrap();
    let kept = log.entries();
    drop(log);
    let got = records(&path);
    assert!(kept >= acknowledged.len() as u64, "kept {kept}, acknowledged {}", acknowledged.len());
    assert_eq!(got, (0..kept).map(|i| decision(i, "kill")).collect::<Vec<_>>());
}
