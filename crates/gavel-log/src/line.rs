//! One line of the log. In: a `Record` (to write) or a line's bytes (to read). Out: the line
//! `{…,"crc":"xxxxxxxx"}\n`, or the record a line holds and why it does not.
//!
//! The line is the record's compact JSON with one last member, `"crc"`: eight lowercase hex
//! digits of the CRC-32 (IEEE) of that JSON *without* the member (the bytes up to the `,` and
//! the closing `}`). So every line stays a JSON object `jq` can read, and a torn or damaged
//! line is found without trusting its content. A line without a `crc` member (written by
//! hand, or filtered through another tool that rewrote it) is accepted when it is a record;
//! a line whose `crc` is not the last member, or is wrong, is not.

use crate::Record;

/// `,"crc":"` + 8 hex digits + `"}`.
const SUFFIX_LEN: usize = 8 + 8 + 2;

/// The line for `record`, newline included.
pub fn encode_line(record: &Record) -> Vec<u8> {
    // INVARIANT: a record is strings, numbers, booleans and JSON values: it always serializes.
    let mut line = serde_json::to_vec(record).expect("a record always serializes");
    let crc = crc32fast::hash(&line);
    // The record is a JSON object (an internally tagged enum): it ends with `}`, and has at
    // least its `type`, so a `,` before the new member is right.
    line.pop();
    line.extend_from_slice(format!(",\"crc\":\"{crc:08x}\"}}\n").as_bytes());
    line
}

/// The record on `line` (without its newline), or why it is not one.
pub fn decode_line(line: &[u8]) -> Result<Record, String> {
    if let Some(body) = checked_body(line)? {
        return serde_json::from_slice(&body).map_err(|e| format!("not a log record: {e}"));
    }
    // No checksum: read the object first, so a damaged `crc` member is caught, not ignored.
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("crc").is_some() {
        return Err("the `crc` member is not the line's last, or is not 8 hex digits".to_string());
    }
    let record: Record = serde_json::from_value(value.clone()).map_err(|e| format!("not a log record: {e}"))?;
    // A member the record does not know is refused: it may be a damaged `crc` (`"crb"`), and
    // a line that cannot be checked must at least be exactly a record.
    let known = serde_json::to_value(&record).unwrap_or_default();
    if let Some(key) = value.as_object().and_then(|o| o.keys().find(|k| known.get(k.as_str()).is_none())) {
        return Err(format!("unknown member `{key}`: the line is damaged or was not written as a log record"));
    }
    Ok(record)
}

/// The line's JSON without its `crc` member, checked; `None` when the line has no checksum
/// suffix.
fn checked_body(line: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Some(split) = line.len().checked_sub(SUFFIX_LEN) else { return Ok(None) };
    let (head, suffix) = line.split_at(split);
    let Some(hex) = suffix.strip_prefix(b",\"crc\":\"").and_then(|s| s.strip_suffix(b"\"}")) else { return Ok(None) };
    let Some(want) = std::str::from_utf8(hex).ok().filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).and_then(|h| u32::from_str_radix(h, 16).ok()) else {
        return Err("the `crc` member is not 8 hex digits".to_string());
    };
    let mut body = Vec::with_capacity(head.len() + 1);
    body.extend_from_slice(head);
    body.push(b'}');
    let got = crc32fast::hash(&body);
    if got != want {
        return Err(format!("checksum mismatch (the line says {want:08x}, its content is {got:08x}): the line is damaged"));
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Record, ReloadRecord};

    fn reload() -> Record {
        Record::Reload(ReloadRecord { ok: true, digest: Some("sha256:ab".into()), error: None, time: "2026-01-01T00:00:00Z".into() })
    }

    #[test]
    fn a_line_round_trips_and_is_json_with_a_crc() {
        let line = encode_line(&reload());
        assert_eq!(line.last(), Some(&b'\n'));
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.starts_with("{\"type\":\"reload\",\"ok\":true"), "{text}");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["crc"].as_str().map(str::len), Some(8));
        assert_eq!(decode_line(&line[..line.len() - 1]), Ok(reload()));
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let line = encode_line(&reload());
        let line = &line[..line.len() - 1];
        for i in 0..line.len() {
            let mut bad = line.to_vec();
            bad[i] ^= 0x01;
            assert!(decode_line(&bad).is_err(), "byte {i} flipped: {}", String::from_utf8_lossy(&bad));
        }
    }

    #[test]
    fn every_proper_prefix_is_refused() {
        let line = encode_line(&reload());
        for n in 0..line.len() - 1 {
            assert!(decode_line(&line[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn a_hand_written_line_without_crc_is_read() {
        let line = br#"{"type":"approval","approval_id":"a1","action":"created","time":"2026-01-01T00:00:00Z"}"#;
        let Record::Approval(a) = decode_line(line).unwrap() else { panic!("not an approval") };
        assert_eq!((a.approval_id.as_str(), a.action.as_str(), a.by), ("a1", "created", None));
    }

    #[test]
    fn a_crc_that_is_not_last_is_refused() {
        let line = br#"{"type":"reload","crc":"00000000","ok":true,"time":"t"}"#;
        assert!(decode_line(line).unwrap_err().contains("crc"));
    }
}
