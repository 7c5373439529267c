//! Big-endian perf.data files (recorded on ppc64, s390x, ...): every field
//! perfold reads is turned into little-endian order, so the rest of perfold
//! reads them as it reads any other file.
//!
//! perf does the same when `needs_swap` is set (perf 6.1 `perf_event__swap_ops`
//! in util/session.c, `perf_event__attr_swap`, and the field-wise undo of
//! `evsel__parse_sample` for the u32 pairs of a sample). Unlike perf, which
//! swaps a sample as u64 words and fixes the u32 pairs while parsing it,
//! perfold swaps each field at its own width once, so the result is the
//! record a little-endian machine would have written. As in perf, the raw
//! data of a tracepoint sample and the bytes of a user stack copy keep the
//! byte order of the recording machine.

use super::attrs::*;

fn swap16(b: &mut [u8], at: usize) {
    if at + 2 <= b.len() {
        b[at..at + 2].reverse();
    }
}

fn swap32(b: &mut [u8], at: usize) {
    if at + 4 <= b.len() {
        b[at..at + 4].reverse();
    }
}

fn swap64(b: &mut [u8], at: usize) {
    if at + 8 <= b.len() {
        b[at..at + 8].reverse();
    }
}

/// Swaps every whole u64 word of `b` from `from` to its end.
fn swap64_all(b: &mut [u8], from: usize) {
    let mut at = from;
    while at + 8 <= b.len() {
        swap64(b, at);
        at += 8;
    }
}

/// A big-endian u64 at `at` (0 when out of range).
fn be_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map_or(0, |w| u64::from_be_bytes(w.try_into().unwrap()))
}

/// A record header (type u32, misc u16, size u16) in place.
pub fn header(b: &mut [u8]) {
    swap32(b, 0);
    swap16(b, 4);
    swap16(b, 6);
}

/// `struct perf_event_attr` of `b.len()` bytes, in place, as
/// `perf_event__attr_swap` does: each field at its width, and the bitfield
/// word after `read_format` bit-reversed in each byte (bitfields of a
/// big-endian machine start at the most significant bit).
pub fn attr(b: &mut [u8]) {
    swap32(b, 0); // type
    swap32(b, 4); // size
    for at in [8, 16, 24, 32] {
        swap64(b, at); // config, sample_period, sample_type, read_format
    }
    if b.len() >= 48 {
        for byte in &mut b[40..48] {
            *byte = byte.reverse_bits();
        }
    }
    swap32(b, 48); // wakeup_events
    swap32(b, 52); // bp_type
    for at in [56, 64, 72, 80] {
        swap64(b, at); // config1, config2, branch_sample_type, sample_regs_user
    }
    swap32(b, 88); // sample_stack_user
    swap32(b, 92); // clockid
    swap64(b, 96); // sample_regs_intr
    swap32(b, 104); // aux_watermark
    swap16(b, 108); // sample_max_stack
    swap32(b, 112); // aux_sample_size
    swap64(b, 120); // sig_data
    swap64(b, 128); // config3
}

/// One record's payload (after its header), in place. `attrs` are the
/// events known so far (already little-endian): they give a sample's layout
/// and the sample-id trailer of other records.
pub fn record(type_: u32, misc: u16, b: &mut [u8], attrs: &[Attr]) {
    use super::*;
    match type_ {
        RECORD_SAMPLE => {
            if let Some(a) = sample_attr(attrs, b) {
                sample(a, b);
            }
            return;
        }
        RECORD_HEADER_ATTR => {
            let size = u32::from_be_bytes(b.get(4..8).map_or([0; 4], |s| s.try_into().unwrap()));
            let size = (size as usize).clamp(64.min(b.len()), b.len());
            attr(&mut b[..size]);
            swap64_all(b, size);
            return;
        }
        RECORD_HEADER_TRACING_DATA => return swap32(b, 0),
        RECORD_HEADER_FEATURE => {
            // u64 feature id; the only feature perfold reads here is EVENT_DESC.
            swap64(b, 0);
            if le_u64(b, 0) == u64::from(features::FEAT_EVENT_DESC) {
                event_desc(&mut b[8..]);
            }
            return;
        }
        RECORD_COMPRESSED2 => return swap64(b, 0),
        t if t >= RECORD_USER_TYPE_START => return,
        _ => {}
    }
    // Kernel records: the fixed part, then the sample-id trailer.
    let body_end = match attrs.first() {
        Some(a) if a.sample_id_all() => {
            let end = b.len().saturating_sub(a.id_trailer_size());
            sample_id_trailer(trailer_attr(attrs, b, a), &mut b[end..]);
            end
        }
        _ => b.len(),
    };
    let body = &mut b[..body_end];
    match type_ {
        RECORD_MMAP | RECORD_MMAP2 => {
            swap32(body, 0);
            swap32(body, 4);
            for at in [8, 16, 24] {
                swap64(body, at);
            }
            if type_ == RECORD_MMAP2 {
                if misc & records::MISC_MMAP_BUILD_ID == 0 {
                    swap32(body, 32);
                    swap32(body, 36);
                    swap64(body, 40);
                    swap64(body, 48);
                }
                swap32(body, 56); // prot
                swap32(body, 60); // flags
            }
        }
        RECORD_COMM => {
            swap32(body, 0);
            swap32(body, 4);
        }
        RECORD_FORK | RECORD_EXIT => {
            for at in [0, 4, 8, 12] {
                swap32(body, at);
            }
            swap64(body, 16);
        }
        // ITRACE_START, SWITCH_CPU_WIDE: pid/tid pairs.
        12 | 15 => {
            swap32(body, 0);
            swap32(body, 4);
        }
        // NAMESPACES: pid, tid, then u64s.
        16 => {
            swap32(body, 0);
            swap32(body, 4);
            swap64_all(body, 8);
        }
        // KSYMBOL: addr u64, len u32, type u16, flags u16, name.
        17 => {
            swap64(body, 0);
            swap32(body, 8);
            swap16(body, 12);
            swap16(body, 14);
        }
        // BPF_EVENT: type u16, flags u16, id u32, tag bytes.
        18 => {
            swap16(body, 0);
            swap16(body, 2);
            swap32(body, 4);
        }
        // CGROUP: id u64, path.
        19 => swap64(body, 0),
        // TEXT_POKE: addr u64, old_len u16, new_len u16, bytes.
        20 => {
            swap64(body, 0);
            swap16(body, 8);
            swap16(body, 10);
        }
        // READ: pid, tid, then u64 values.
        8 => {
            swap32(body, 0);
            swap32(body, 4);
            swap64_all(body, 8);
        }
        // LOST, THROTTLE, UNTHROTTLE, AUX, LOST_SAMPLES, AUX_OUTPUT_HW_ID: u64s.
        _ => swap64_all(body, 0),
    }
}

/// The attribute of a big-endian sample: the only one, or the one whose ids
/// hold the sample's id (read where the first attribute's layout puts it, as
/// perf's `evlist->id_pos` does).
fn sample_attr<'a>(attrs: &'a [Attr], b: &[u8]) -> Option<&'a Attr> {
    let first = attrs.first()?;
    if attrs.len() == 1 {
        return Some(first);
    }
    let at = if first.has(SAMPLE_IDENTIFIER) {
        0
    } else if first.has(SAMPLE_ID) {
        [SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_ADDR]
            .iter()
            .filter(|&&bit| first.has(bit))
            .count()
            * 8
    } else {
        return Some(first);
    };
    let id = be_u64(b, at);
    Some(attrs.iter().find(|a| a.ids.contains(&id)).unwrap_or(first))
}

/// The attribute of a non-sample record, from the IDENTIFIER word ending its
/// trailer (or the ID word inside it).
fn trailer_attr<'a>(attrs: &'a [Attr], b: &[u8], first: &'a Attr) -> &'a Attr {
    if attrs.len() == 1 {
        return first;
    }
    let id = if first.has(SAMPLE_IDENTIFIER) {
        be_u64(b, b.len().saturating_sub(8))
    } else if first.has(SAMPLE_ID) {
        let before = [SAMPLE_TID, SAMPLE_TIME]
            .iter()
            .filter(|&&bit| first.has(bit))
            .count()
            * 8;
        be_u64(b, b.len().saturating_sub(first.id_trailer_size()) + before)
    } else {
        return first;
    };
    attrs.iter().find(|a| a.ids.contains(&id)).unwrap_or(first)
}

/// The sample-id trailer: tid (u32 pair), time, id, stream id, cpu (u32
/// pair), identifier.
fn sample_id_trailer(a: &Attr, t: &mut [u8]) {
    let mut at = 0;
    for bit in [
        SAMPLE_TID,
        SAMPLE_TIME,
        SAMPLE_ID,
        SAMPLE_STREAM_ID,
        SAMPLE_CPU,
        SAMPLE_IDENTIFIER,
    ] {
        if !a.has(bit) {
            continue;
        }
        if bit == SAMPLE_TID || bit == SAMPLE_CPU {
            swap32(t, at);
            swap32(t, at + 4);
        } else {
            swap64(t, at);
        }
        at += 8;
    }
}

/// A sample laid out by `a`, field by field (the order of `parse_sample`).
fn sample(a: &Attr, b: &mut [u8]) {
    let mut at = 0;
    let word = |b: &mut [u8], at: &mut usize| {
        swap64(b, *at);
        *at += 8;
    };
    if a.has(SAMPLE_IDENTIFIER) {
        word(b, &mut at);
    }
    if a.has(SAMPLE_IP) {
        word(b, &mut at);
    }
    if a.has(SAMPLE_TID) {
        swap32(b, at);
        swap32(b, at + 4);
        at += 8;
    }
    for bit in [SAMPLE_TIME, SAMPLE_ADDR, SAMPLE_ID, SAMPLE_STREAM_ID] {
        if a.has(bit) {
            word(b, &mut at);
        }
    }
    if a.has(SAMPLE_CPU) {
        swap32(b, at);
        swap32(b, at + 4);
        at += 8;
    }
    if a.has(SAMPLE_PERIOD) {
        word(b, &mut at);
    }
    if a.has(SAMPLE_READ) {
        let words = read_words(a.read_format, be_u64(b, at));
        for _ in 0..words {
            word(b, &mut at);
        }
    }
    if a.has(SAMPLE_CALLCHAIN) {
        let nr = be_u64(b, at);
        word(b, &mut at);
        for _ in 0..nr.min(b.len() as u64 / 8) {
            word(b, &mut at);
        }
    }
    if a.has(SAMPLE_RAW) {
        // u32 size, then the data in the recording machine's order; the
        // whole is padded to a u64 boundary.
        let size = b
            .get(at..at + 4)
            .map_or(0, |s| u32::from_be_bytes(s.try_into().unwrap()));
        swap32(b, at);
        at += (4 + size as usize).next_multiple_of(8);
    }
    if a.has(SAMPLE_BRANCH_STACK) {
        let nr = be_u64(b, at);
        word(b, &mut at);
        if a.branch_sample_type & BRANCH_HW_INDEX != 0 {
            word(b, &mut at);
        }
        for _ in 0..nr.min(b.len() as u64 / 24).saturating_mul(3) {
            word(b, &mut at);
        }
    }
    if a.has(SAMPLE_REGS_USER) {
        let abi = be_u64(b, at);
        word(b, &mut at);
        if abi != 0 {
            for _ in 0..a.sample_regs_user.count_ones() {
                word(b, &mut at);
            }
        }
    }
    if a.has(SAMPLE_STACK_USER) {
        let size = be_u64(b, at);
        word(b, &mut at);
        if size != 0 {
            at = at.saturating_add(size.min(b.len() as u64) as usize);
            word(b, &mut at); // dynamic size
        }
    }
    // WEIGHT, DATA_SRC, TRANSACTION, REGS_INTR, PHYS_ADDR, ...: u64 words.
    if at < b.len() {
        swap64_all(b, at);
    }
}

/// How many u64 words a big-endian `read_format` value takes, given its first word.
fn read_words(read_format: u64, first: u64) -> u64 {
    let per_value = 1
        + u64::from(read_format & READ_FORMAT_ID != 0)
        + u64::from(read_format & READ_FORMAT_LOST != 0);
    let times = u64::from(read_format & READ_FORMAT_TOTAL_TIME_ENABLED != 0)
        + u64::from(read_format & READ_FORMAT_TOTAL_TIME_RUNNING != 0);
    if read_format & READ_FORMAT_GROUP != 0 {
        1 + times + first.min(1 << 16).saturating_mul(per_value)
    } else {
        times + per_value
    }
}

/// HEADER_EVENT_DESC: u32 count, u32 attr size, then per event the attr,
/// u32 id count, u32 name length, the name, u64 ids.
pub fn event_desc(b: &mut [u8]) {
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map_or(0, |s| u32::from_be_bytes(s.try_into().unwrap())) as usize
    };
    let nr = be32(b, 0);
    let attr_size = be32(b, 4);
    swap32(b, 0);
    swap32(b, 4);
    let mut at = 8;
    for _ in 0..nr {
        if at + attr_size > b.len() {
            return;
        }
        attr(&mut b[at..at + attr_size]);
        at += attr_size;
        let (ids, len) = (be32(b, at), be32(b, at + 4));
        swap32(b, at);
        swap32(b, at + 4);
        at += 8 + len;
        for _ in 0..ids.min(b.len() / 8) {
            swap64(b, at);
            at += 8;
        }
    }
}

/// HEADER_BUILD_ID: per entry a record header, u32 pid, the build-id bytes
/// and a file name.
pub fn build_ids(b: &mut [u8]) {
    let mut at = 0;
    while at + 8 <= b.len() {
        header(&mut b[at..at + 8]);
        let size = u16::from_le_bytes([b[at + 6], b[at + 7]]) as usize;
        swap32(b, at + 8);
        if size < 8 {
            return;
        }
        at += size;
    }
}

/// A header string: u32 length, then bytes.
pub fn string(b: &mut [u8]) {
    swap32(b, 0);
}
