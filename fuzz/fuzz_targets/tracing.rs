//! Tracepoint data (perf's HEADER_TRACING_DATA: header page, event format
//! files, printk formats) parsed by `TracingData::parse`, then every event's
//! print format evaluated over an arbitrary PERF_SAMPLE_RAW payload
//! (`Tracepoint::print`, perf script's trace field).
//!
//! Input layout: `u32 len` (LE), `len` bytes of tracing data (clamped to
//! what is there), then the raw payload. `fuzz/scripts/make_seeds.py`
//! writes seeds in this layout from `corpus/read_records/tracepoints.data`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfold::traceevent::TracingData;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let len = u32::from_le_bytes(data[..4].try_into().unwrap()) as usize;
    let rest = &data[4..];
    let (tracing, raw) = rest.split_at(len.min(rest.len()));
    let Ok(t) = TracingData::parse(tracing, 4) else {
        return;
    };
    let _ = (t.version(), t.page_size(), t.consumed(), t.event_count());
    let mut out = Vec::new();
    for ev in t.events().take(16) {
        let _ = (ev.system(), ev.name());
        out.clear();
        ev.print(&t, 0, raw, &mut out);
        assert!(t.event(ev.id() as u64).is_some());
    }
});
