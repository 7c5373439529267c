//! Which fields perf script prints for each event, and how the sample's
//! header line looks. Shared by the script writer and the folder (which
//! reads that line exactly as inferno-collapse-perf does).
//!
//! perf 6.1 `builtin-script.c`: the default field set per event type
//! (`output[]`), fields dropped when the sample lacks them
//! (`evsel__check_attr`, decided on the first event of each type), and
//! `perf_sample__fprintf_start` / `process_event` for the layout.

use super::fmt;
use crate::error::{Error, Result};
use crate::reader::attrs::*;

/// What one event's samples print.
#[derive(Debug, Clone)]
pub struct EventFormat {
    pub name: String,
    pub tid: bool,
    pub cpu: bool,
    pub time: bool,
    pub period: bool,
    pub ip: bool,
    /// The sample has a callchain and perf prints it (one frame per line).
    pub callchain: bool,
    /// A tracepoint: its raw fields are printed, formatted from the file's
    /// tracing data (perf's TRACE field); the value is the tracepoint id.
    pub tracepoint: Option<u64>,
}

/// The formats of all events of a file, plus the event-name column width.
#[derive(Debug, Clone)]
pub struct Formats {
    pub events: Vec<EventFormat>,
    pub name_width: usize,
}

/// perf's `evsel__name` for events without a stored name.
fn default_name(attr: &Attr) -> String {
    const HW: [&str; 10] = [
        "cycles",
        "instructions",
        "cache-references",
        "cache-misses",
        "branches",
        "branch-misses",
        "bus-cycles",
        "stalled-cycles-frontend",
        "stalled-cycles-backend",
        "ref-cycles",
    ];
    const SW: [&str; 12] = [
        "cpu-clock",
        "task-clock",
        "page-faults",
        "context-switches",
        "cpu-migrations",
        "minor-faults",
        "major-faults",
        "alignment-faults",
        "emulation-faults",
        "dummy",
        "bpf-output",
        "cgroup-switches",
    ];
    let table: &[&str] = match attr.type_ {
        TYPE_HARDWARE => &HW,
        TYPE_SOFTWARE => &SW,
        _ => &[],
    };
    table
        .get(attr.config as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("unknown-{}:{:#x}", attr.type_, attr.config))
}

impl Formats {
    /// Decides the fields of every event. `use_callchain` is perf's
    /// `symbol_conf.use_callchain` after `perf_session__check_output_opt`:
    /// true when any event has callchains.
    pub fn new(attrs: &[Attr]) -> Result<Formats> {
        let use_callchain = attrs.iter().any(|a| a.has(SAMPLE_CALLCHAIN));
        // Field removal is decided on the first event of each output type and
        // applies to every event of that type.
        let mut events = Vec::with_capacity(attrs.len());
        for attr in attrs {
            let first = attrs
                .iter()
                .find(|a| output_type(a.type_) == output_type(attr.type_))
                .unwrap();
            if attr.type_ == TYPE_TRACEPOINT {
                // perf's defaults for tracepoints: comm, tid, cpu, time, event
                // and the fields; ip, sym and dso only when some tracepoint
                // event has callchains (perf_session__check_output_opt).
                let tp_callchain = use_callchain
                    && attrs
                        .iter()
                        .any(|a| a.type_ == TYPE_TRACEPOINT && a.has(SAMPLE_CALLCHAIN));
                events.push(EventFormat {
                    name: attr.name.clone().unwrap_or_else(|| default_name(attr)),
                    tid: first.has(SAMPLE_TID),
                    cpu: first.has(SAMPLE_CPU),
                    time: first.has(SAMPLE_TIME),
                    period: false,
                    ip: tp_callchain,
                    callchain: tp_callchain && attr.has(SAMPLE_CALLCHAIN),
                    tracepoint: Some(attr.config),
                });
                continue;
            }
            if !first.has(SAMPLE_IP) && !first.has(SAMPLE_ADDR) {
                return Err(Error::Usage(
                    "the samples have neither IP nor address: there is nothing to symbolize".into(),
                ));
            }
            events.push(EventFormat {
                name: attr.name.clone().unwrap_or_else(|| default_name(attr)),
                tid: first.has(SAMPLE_TID),
                cpu: first.has(SAMPLE_CPU),
                time: first.has(SAMPLE_TIME),
                period: true,
                ip: first.has(SAMPLE_IP),
                callchain: use_callchain && attr.has(SAMPLE_CALLCHAIN),
                tracepoint: None,
            });
        }
        let name_width = events.iter().map(|e| e.name.len()).max().unwrap_or(0);
        Ok(Formats { events, name_width })
    }
}

/// perf's `output_type`: dynamic PMU types share one slot.
fn output_type(t: u32) -> u32 {
    if t < 6 {
        t
    } else {
        u32::MAX
    }
}

/// The values of one sample's header line.
pub struct Header<'a> {
    pub comm: &'a [u8],
    /// The interned comm, for per-comm caches.
    pub comm_id: u32,
    pub tid: i32,
    pub cpu: u32,
    pub time: u64,
    pub period: u64,
}

/// Appends the sample's first line up to and including `<event>: ` (and,
/// for callchains, the newline); frames follow.
pub fn header_line(out: &mut Vec<u8>, ev: &EventFormat, name_width: usize, h: &Header) {
    // "%s " when the sample prints a callchain, "%16s " otherwise.
    if ev.ip && ev.callchain {
        out.extend_from_slice(h.comm);
        out.push(b' ');
    } else {
        fmt::str_padded(out, h.comm, 16);
        out.push(b' ');
    }
    if ev.tid {
        fmt::signed_padded(out, h.tid as i64, 5);
        out.push(b' ');
    }
    if ev.cpu {
        out.push(b'[');
        fmt::dec_padded(out, h.cpu as u64, 3, b'0');
        out.extend_from_slice(b"] ");
    }
    if ev.time {
        let secs = h.time / 1_000_000_000;
        let usecs = (h.time % 1_000_000_000) / 1_000;
        // "%12s" of "<secs>.<usecs>": pad by the width the digits take.
        let secs_digits = secs.checked_ilog10().unwrap_or(0) as usize + 1;
        for _ in (secs_digits + 7)..12 {
            out.push(b' ');
        }
        fmt::dec_padded(out, secs, 0, b' ');
        out.push(b'.');
        fmt::dec_padded(out, usecs, 6, b'0');
        out.extend_from_slice(b": ");
    }
    if ev.period {
        fmt::dec_padded(out, h.period, 10, b' ');
        out.push(b' ');
    }
    fmt::str_padded(out, ev.name.as_bytes(), name_width);
    out.extend_from_slice(b": ");
}
