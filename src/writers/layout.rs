//! Which fields perf script prints for each event's samples ([`EventLayout`]),
//! and whether that layout is the default shape inferno's reading of which
//! depends only on a sample's comm, tid and event ([`EventLayout::has_default_shape`]).
//! The text itself is rendered in [`super::text`].
//!
//! perf 6.1 `builtin-script.c`: the default field set per event type
//! (`output[]`) and fields dropped when the sample lacks them
//! (`evsel__check_attr`, decided on the first event of each type).

use crate::error::{Error, Result};
use crate::hw::memory::MemoryFields;
use crate::reader::attrs::*;

/// Which fields one event's samples print (perf script's per-event output
/// fields; not to be confused with a tracepoint's format from the tracing data).
#[derive(Debug, Clone)]
pub struct EventLayout {
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
    /// The memory-sampling fields printed (raw events only, `hw::memory`).
    pub memory: MemoryFields,
}

/// The formats of all events of a file, plus the event-name column width.
#[derive(Debug, Clone)]
pub struct Formats {
    pub events: Vec<EventLayout>,
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
                events.push(EventLayout {
                    name: attr.name.clone().unwrap_or_else(|| default_name(attr)),
                    tid: first.has(SAMPLE_TID),
                    cpu: first.has(SAMPLE_CPU),
                    time: first.has(SAMPLE_TIME),
                    period: false,
                    ip: tp_callchain,
                    callchain: tp_callchain && attr.has(SAMPLE_CALLCHAIN),
                    tracepoint: Some(attr.config),
                    memory: MemoryFields::default(),
                });
                continue;
            }
            if !first.has(SAMPLE_IP) && !first.has(SAMPLE_ADDR) {
                return Err(Error::Usage(
                    "the samples have neither IP nor address: there is nothing to symbolize".into(),
                ));
            }
            events.push(EventLayout {
                name: attr.name.clone().unwrap_or_else(|| default_name(attr)),
                tid: first.has(SAMPLE_TID),
                cpu: first.has(SAMPLE_CPU),
                time: first.has(SAMPLE_TIME),
                period: true,
                ip: first.has(SAMPLE_IP),
                callchain: use_callchain && attr.has(SAMPLE_CALLCHAIN),
                tracepoint: None,
                memory: MemoryFields::for_event(attr, attrs),
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

impl EventLayout {
    /// Whether this event's samples print perf's default line shape
    /// (`comm tid [cpu] time: period event:`, an event name with at most one
    /// `:`, no tracepoint fields), on which inferno's reading of the event line
    /// depends only on the comm, tid and event, and frames are read one per
    /// line. The one test of that shape: the pipeline defers inline frames
    /// only when every event has it, and the folder folds from fields (not
    /// text) only the samples of such events.
    ///
    /// Without SAMPLE_TID (no tid printed) inferno takes the period for the
    /// tid and the time becomes part of the comm: not the default shape.
    /// Memory-sampling fields (raw events) follow the event name: not either.
    pub fn has_default_shape(&self) -> bool {
        self.tid
            && self.time
            && self.tracepoint.is_none()
            && !self.memory.any()
            && self.name.matches(':').count() <= 1
    }
}
