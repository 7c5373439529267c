//! PERF_RECORD_SAMPLE parsing with an arbitrary attribute, plus the
//! sample-id helpers the pipeline uses to order and dispatch records and
//! the parsers of the other kernel records (MMAP/MMAP2, COMM, FORK/EXIT).
//!
//! Input layout: `u8 attr_len` (the attribute is `attr_len` bytes, at most
//! 136 are read, fewer leave zeroes), `u16 misc` (LE), then the payload
//! (what follows the 8-byte record header). `fuzz/scripts/make_seeds.py`
//! writes seeds in this layout from the fixture recordings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfold::reader::records::{Comm, MmapRecord, Task};
use perfold::reader::sample::{
    parse_sample, parse_sample_id, sample_id_of, sample_time_of, trailer_id_of,
};
use perfold::reader::Attr;

fuzz_target!(|data: &[u8]| {
    let Some((&attr_len, rest)) = data.split_first() else {
        return;
    };
    let attr_len = usize::from(attr_len).min(rest.len());
    let (raw_attr, rest) = rest.split_at(attr_len);
    if rest.len() < 2 {
        return;
    }
    let misc = u16::from_le_bytes([rest[0], rest[1]]);
    let payload = &rest[2..];
    let attr = Attr::parse(raw_attr);
    let base = 1 << 20;

    let _ = sample_id_of(&attr, payload);
    let time = sample_time_of(&attr, payload);
    let _ = trailer_id_of(&attr, payload);
    let _ = parse_sample_id(&attr, payload);

    if let Ok(s) = parse_sample(&attr, misc, payload, base) {
        // The shortcut readers agree with the full parse.
        if attr.has(perfold::reader::attrs::SAMPLE_TIME) {
            assert_eq!(time, Some(s.time));
        }
        let n = s.callchain_ips().len();
        assert_eq!(s.callchain_ips().count(), n);
        assert!(n * 8 <= payload.len());
        if let Some(regs) = s.user_regs {
            for reg in 0..70 {
                let _ = regs.get(reg);
            }
        }
        if let Some(stack) = s.user_stack {
            assert!(stack.len() <= payload.len());
        }
        let _ = s.cpumode();
    }

    let _ = MmapRecord::parse(payload, misc, false, base);
    let _ = MmapRecord::parse(payload, misc, true, base);
    let _ = Comm::parse(payload, misc, base);
    let _ = Task::parse(payload, misc, base);
});
