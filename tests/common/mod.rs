//! Helpers shared by the integration tests.

/// A little-endian u64 of a perf.data header.
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// (offset, size) of every record in a file-mode perf.data's data section,
/// read independently of perfold's reader.
pub fn record_offsets(data: &[u8]) -> Vec<(usize, usize)> {
    let (off, size) = (u64_at(data, 40) as usize, u64_at(data, 48) as usize);
    let mut at = off;
    let mut out = Vec::new();
    while at < off + size {
        let len = u16::from_le_bytes([data[at + 6], data[at + 7]]) as usize;
        out.push((at, len));
        at += len;
    }
    out
}
