//! The bytes of events and key snapshots inside the redb file (little-endian, a tag byte per
//! variant, lengths as `u32`). In: [`Event`]s and [`KeySnapshot`]s; out: their bytes, and
//! back. Decoding damaged bytes is a `Corrupt` [`StoreError`], never a panic.

use gavel::store::{Event, EventValue, KeySnapshot, SnapshotData, StoreError};

pub fn put_event(out: &mut Vec<u8>, e: &Event) {
    out.extend_from_slice(&e.window.to_le_bytes());
    out.extend_from_slice(&e.key.to_le_bytes());
    out.extend_from_slice(&e.at.to_le_bytes());
    match &e.value {
        EventValue::None => out.push(0),
        EventValue::Number(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        EventValue::Hash(h) => {
            out.push(2);
            out.extend_from_slice(&h.to_le_bytes());
        }
        EventValue::Text(t) => {
            out.push(3);
            put_text(out, t);
        }
    }
}

fn put_text(out: &mut Vec<u8>, t: &str) {
    // Request strings are bounded far below 4 GiB by `Limits`; a longer one is cut, not wrapped.
    let len = u32::try_from(t.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&t.as_bytes()[..len as usize]);
}

pub fn events(bytes: &[u8]) -> Result<Vec<Event>, StoreError> {
    let mut r = Reader { bytes, what: "a logged batch of events" };
    let mut events = Vec::new();
    while !r.bytes.is_empty() {
        let (window, key, at) = (r.u64()?, r.u128()?, r.i64()?);
        let value = match r.u8()? {
            0 => EventValue::None,
            1 => EventValue::Number(f64::from_bits(r.u64()?)),
            2 => EventValue::Hash(r.u128()?),
            3 => EventValue::Text(r.text()?),
            _ => return Err(r.damaged()),
        };
        events.push(Event { window, key, at, value });
    }
    Ok(events)
}

pub fn put_snapshot(out: &mut Vec<u8>, s: &KeySnapshot) {
    out.extend_from_slice(&s.newest.to_le_bytes());
    match s.overflow {
        None => out.push(0),
        Some(o) => {
            out.push(1);
            out.extend_from_slice(&o.to_le_bytes());
        }
    }
    let count = |n: usize| (n as u32).to_le_bytes();
    match &s.data {
        SnapshotData::Numbers(b) => {
            out.push(0);
            out.extend_from_slice(&count(b.len()));
            for (t, n) in b {
                out.extend_from_slice(&t.to_le_bytes());
                out.extend_from_slice(&n.to_bits().to_le_bytes());
            }
        }
        SnapshotData::Hashes(e) => {
            out.push(1);
            out.extend_from_slice(&count(e.len()));
            for (t, h) in e {
                out.extend_from_slice(&t.to_le_bytes());
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
        SnapshotData::Texts(e) => {
            out.push(2);
            out.extend_from_slice(&count(e.len()));
            for (t, v) in e {
                out.extend_from_slice(&t.to_le_bytes());
                put_text(out, v);
            }
        }
    }
}

pub fn snapshot(window: u64, key: u128, bytes: &[u8]) -> Result<KeySnapshot, StoreError> {
    let mut r = Reader { bytes, what: "a saved window state" };
    let newest = r.i64()?;
    let overflow = match r.u8()? {
        0 => None,
        1 => Some(r.i64()?),
        _ => return Err(r.damaged()),
    };
    let tag = r.u8()?;
    let n = r.u32()? as usize;
    // Never trust a length for an allocation: each item takes at least 8 bytes.
    if n > r.bytes.len() / 8 {
        return Err(r.damaged());
    }
    let data = match tag {
        0 => SnapshotData::Numbers((0..n).map(|_| Ok((r.i64()?, f64::from_bits(r.u64()?)))).collect::<Result<_, _>>()?),
        1 => SnapshotData::Hashes((0..n).map(|_| Ok((r.i64()?, r.u128()?))).collect::<Result<_, _>>()?),
        2 => SnapshotData::Texts((0..n).map(|_| Ok((r.i64()?, r.text()?))).collect::<Result<_, _>>()?),
        _ => return Err(r.damaged()),
    };
    if !r.bytes.is_empty() {
        return Err(r.damaged());
    }
    Ok(KeySnapshot { window, key, newest, overflow, data })
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl Reader<'_> {
    fn damaged(&self) -> StoreError {
        StoreError::corrupt(format!("{} in the window store is damaged; remove the state directory to start afresh", self.what))
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<N>() else { return Err(self.damaged()) };
        self.bytes = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn u128(&mut self) -> Result<u128, StoreError> {
        Ok(u128::from_le_bytes(self.take()?))
    }

    fn text(&mut self) -> Result<String, StoreError> {
        let len = self.u32()? as usize;
        if len > self.bytes.len() {
            return Err(self.damaged());
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|_| self.damaged())
    }
}
