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
use crate::script_options::fields::{self, EventInfo, FieldMask, FieldSpec};

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
    /// Every field perf prints for this event (`-F`, see `script_options::fields`).
    pub fields: FieldMask,
    /// The event records callchains (`evsel__has_callchain`).
    pub has_callchain: bool,
    /// The sample address names a symbol (`sample_addr_correlates_sym`:
    /// software page-fault events).
    pub addr_correlates: bool,
    /// The memory-sampling fields printed (raw events only, `hw::memory`).
    pub memory: MemoryFields,
}

/// The formats of all events of a file, plus the event-name column width.
#[derive(Debug, Clone)]
pub struct Formats {
    pub events: Vec<EventLayout>,
    pub name_width: usize,
    /// perf's `symbol_conf.use_callchain` after its checks.
    pub use_callchain: bool,
    /// The `flags` pseudo-field.
    pub print_flags: bool,
    /// Every event prints perf script's default fields.
    pub default_fields: bool,
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
    const TYPE_RAW: u32 = 4;
    let table: &[&str] = match attr.type_ {
        TYPE_HARDWARE => &HW,
        TYPE_SOFTWARE => &SW,
        _ => &[],
    };
    // evsel__hw_name, evsel__sw_name, evsel__raw_name: the name, then the
    // modifiers derived from the attribute (`cycles:ppH`).
    let base = match table.get(attr.config as usize) {
        Some(name) => name.to_string(),
        None if attr.type_ == TYPE_RAW => format!("raw {:#x}", attr.config),
        None => return format!("unknown-{}:{:#x}", attr.type_, attr.config),
    };
    base + &attr.modifiers()
}

impl Formats {
    /// The formats with perf script's default fields.
    pub fn new(attrs: &[Attr]) -> Result<Formats> {
        Self::with_fields(attrs, &FieldSpec::default(), false)
    }

    /// The formats for the fields `spec` asks for (`-F`), after perf's
    /// checks against the file's events (`perf_session__check_output_opt`);
    /// `no_callchain` is `-G`. A failed check is perf's message.
    pub fn with_fields(attrs: &[Attr], spec: &FieldSpec, no_callchain: bool) -> Result<Formats> {
        let infos: Vec<EventInfo> = attrs
            .iter()
            .map(|a| EventInfo {
                name: event_name(a),
                attr_type: a.type_,
                config: a.config,
                sample_type: a.sample_type,
                branch_sample_type: a.branch_sample_type,
            })
            .collect();
        let resolved = fields::resolve(spec, &infos, no_callchain).map_err(Error::Usage)?;
        let default_fields = !spec.set_by_user() && !spec.print_flags && !no_callchain;
        let mut events = Vec::with_capacity(attrs.len());
        for (attr, info) in attrs.iter().zip(infos) {
            let f = resolved.of(attr.type_).fields;
            let has_callchain = attr.has(SAMPLE_CALLCHAIN);
            events.push(EventLayout {
                name: info.name,
                tid: f & fields::TID != 0,
                cpu: f & fields::CPU != 0,
                time: f & fields::TIME != 0,
                period: f & fields::PERIOD != 0,
                ip: f & fields::IP != 0,
                callchain: f & fields::IP != 0 && resolved.use_callchain && has_callchain,
                tracepoint: (attr.type_ == TYPE_TRACEPOINT).then_some(attr.config),
                fields: f,
                has_callchain,
                addr_correlates: attr.type_ == TYPE_SOFTWARE && matches!(attr.config, 2 | 5 | 6),
                // The memory columns of perf's default text (raw events);
                // with `-F` they are fields of their own.
                memory: if default_fields {
                    MemoryFields::for_event(attr, attrs)
                } else {
                    MemoryFields::default()
                },
            });
        }
        let name_width = events.iter().map(|e| e.name.len()).max().unwrap_or(0);
        Ok(Formats {
            events,
            name_width,
            use_callchain: resolved.use_callchain,
            print_flags: resolved.print_flags,
            default_fields,
        })
    }
}

/// perf's `evsel__name`: the stored name, else the generic one.
fn event_name(attr: &Attr) -> String {
    attr.name.clone().unwrap_or_else(|| default_name(attr))
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
        self.tid && self.time && self.reads_as_default_shape()
    }

    /// The default shape but for a missing tid or time: the line the folder
    /// reads as if it had both (see `folded::Folder::render_line`).
    pub fn reads_as_default_shape(&self) -> bool {
        self.tracepoint.is_none() && !self.memory.any() && self.name.matches(':').count() <= 1
    }
}
