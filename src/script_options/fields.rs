//! perf script's `-F/--fields`: the field names, the default set per event
//! kind, the grammar (`a,b`, `+a,-b`, `type:a,b`, `type:` for none), and the
//! checks perf makes against the events of a file.
//!
//! Restates perf 6.1 `builtin-script.c`: `all_output_options[]`, `output[]`
//! (defaults and invalid fields per output type), `parse_output_fields`,
//! `perf_session__check_output_opt` and `evsel__check_attr`, with perf's
//! messages. Each `-F` occurrence is applied in order, as perf's option
//! callback is.

/// One printable field, as the bit perf uses for it.
pub type FieldMask = u64;

pub const COMM: FieldMask = 1 << 0;
pub const TID: FieldMask = 1 << 1;
pub const PID: FieldMask = 1 << 2;
pub const TIME: FieldMask = 1 << 3;
pub const CPU: FieldMask = 1 << 4;
pub const EVNAME: FieldMask = 1 << 5;
pub const TRACE: FieldMask = 1 << 6;
pub const IP: FieldMask = 1 << 7;
pub const SYM: FieldMask = 1 << 8;
pub const DSO: FieldMask = 1 << 9;
pub const ADDR: FieldMask = 1 << 10;
pub const SYMOFFSET: FieldMask = 1 << 11;
pub const SRCLINE: FieldMask = 1 << 12;
pub const PERIOD: FieldMask = 1 << 13;
pub const IREGS: FieldMask = 1 << 14;
pub const BRSTACK: FieldMask = 1 << 15;
pub const BRSTACKSYM: FieldMask = 1 << 16;
pub const DATA_SRC: FieldMask = 1 << 17;
pub const WEIGHT: FieldMask = 1 << 18;
pub const BPF_OUTPUT: FieldMask = 1 << 19;
pub const CALLINDENT: FieldMask = 1 << 20;
pub const INSN: FieldMask = 1 << 21;
pub const INSNLEN: FieldMask = 1 << 22;
pub const BRSTACKINSN: FieldMask = 1 << 23;
pub const BRSTACKOFF: FieldMask = 1 << 24;
pub const SYNTH: FieldMask = 1 << 25;
pub const PHYS_ADDR: FieldMask = 1 << 26;
pub const UREGS: FieldMask = 1 << 27;
pub const METRIC: FieldMask = 1 << 28;
pub const MISC: FieldMask = 1 << 29;
pub const SRCCODE: FieldMask = 1 << 30;
pub const IPC: FieldMask = 1 << 31;
pub const TOD: FieldMask = 1 << 32;
pub const DATA_PAGE_SIZE: FieldMask = 1 << 33;
pub const CODE_PAGE_SIZE: FieldMask = 1 << 34;
pub const INS_LAT: FieldMask = 1 << 35;
pub const BRSTACKINSNLEN: FieldMask = 1 << 36;
pub const MACHINE_PID: FieldMask = 1 << 37;
pub const VCPU: FieldMask = 1 << 38;

/// perf's `all_output_options[]`, in its order (the order matters for
/// `output_field2str`).
pub const FIELD_NAMES: [(&str, FieldMask); 39] = [
    ("comm", COMM),
    ("tid", TID),
    ("pid", PID),
    ("time", TIME),
    ("cpu", CPU),
    ("event", EVNAME),
    ("trace", TRACE),
    ("ip", IP),
    ("sym", SYM),
    ("dso", DSO),
    ("addr", ADDR),
    ("symoff", SYMOFFSET),
    ("srcline", SRCLINE),
    ("period", PERIOD),
    ("iregs", IREGS),
    ("uregs", UREGS),
    ("brstack", BRSTACK),
    ("brstacksym", BRSTACKSYM),
    ("data_src", DATA_SRC),
    ("weight", WEIGHT),
    ("bpf-output", BPF_OUTPUT),
    ("callindent", CALLINDENT),
    ("insn", INSN),
    ("insnlen", INSNLEN),
    ("brstackinsn", BRSTACKINSN),
    ("brstackoff", BRSTACKOFF),
    ("synth", SYNTH),
    ("phys_addr", PHYS_ADDR),
    ("metric", METRIC),
    ("misc", MISC),
    ("srccode", SRCCODE),
    ("ipc", IPC),
    ("tod", TOD),
    ("data_page_size", DATA_PAGE_SIZE),
    ("code_page_size", CODE_PAGE_SIZE),
    ("ins_lat", INS_LAT),
    ("brstackinsnlen", BRSTACKINSNLEN),
    ("machine_pid", MACHINE_PID),
    ("vcpu", VCPU),
];

/// perf's `output_field2str`.
pub fn field_name(field: FieldMask) -> &'static str {
    FIELD_NAMES
        .iter()
        .find(|(_, f)| *f == field)
        .map(|(n, _)| *n)
        .unwrap_or("")
}

/// Output types (perf's index into `output[]`).
pub const TYPE_HARDWARE: usize = 0;
pub const TYPE_SOFTWARE: usize = 1;
pub const TYPE_TRACEPOINT: usize = 2;
pub const TYPE_HW_CACHE: usize = 3;
pub const TYPE_RAW: usize = 4;
pub const TYPE_BREAKPOINT: usize = 5;
pub const TYPE_SYNTH: usize = 6;
pub const TYPE_OTHER: usize = 7;
pub const OUTPUT_TYPES: usize = 8;

/// `PERF_TYPE_SYNTH` of perf_event_attr.type.
const PERF_TYPE_SYNTH: u32 = 0x8000_0000;

/// perf's `output_type`: the `output[]` slot of an attr type.
pub fn output_type(attr_type: u32) -> usize {
    if attr_type == PERF_TYPE_SYNTH {
        TYPE_SYNTH
    } else if attr_type < 6 {
        attr_type as usize
    } else {
        TYPE_OTHER
    }
}

/// perf's `event_type` (used in messages).
pub fn event_type_name(t: usize) -> &'static str {
    match t {
        TYPE_HARDWARE => "hardware",
        TYPE_SOFTWARE => "software",
        TYPE_TRACEPOINT => "tracepoint",
        TYPE_HW_CACHE => "hardware-cache",
        _ => "unknown",
    }
}

/// One slot of perf's `output[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeFields {
    pub user_set: bool,
    pub wildcard_set: bool,
    pub fields: FieldMask,
    pub invalid_fields: FieldMask,
    pub user_set_fields: FieldMask,
    pub user_unset_fields: FieldMask,
}

impl TypeFields {
    const fn new(fields: FieldMask, invalid_fields: FieldMask) -> TypeFields {
        TypeFields {
            user_set: false,
            wildcard_set: false,
            fields,
            invalid_fields,
            user_set_fields: 0,
            user_unset_fields: 0,
        }
    }

    pub fn has(&self, f: FieldMask) -> bool {
        self.fields & f != 0
    }
}

const BASE: FieldMask = COMM | TID | CPU | TIME | EVNAME | IP | SYM | SYMOFFSET | DSO;

/// The requested fields of every output type, perf's `output[]` plus
/// `print_flags` (the `flags` pseudo-field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub types: [TypeFields; OUTPUT_TYPES],
    pub print_flags: bool,
}

impl Default for FieldSpec {
    /// perf 6.1's defaults ("to maintain compatibility with current format").
    fn default() -> FieldSpec {
        let no_trace = TRACE | BPF_OUTPUT;
        FieldSpec {
            types: [
                TypeFields::new(BASE | PERIOD, no_trace),
                TypeFields::new(BASE | PERIOD | BPF_OUTPUT, TRACE),
                TypeFields::new(COMM | TID | CPU | TIME | EVNAME | TRACE, 0),
                TypeFields::new(BASE | PERIOD, no_trace),
                TypeFields::new(
                    BASE | PERIOD
                        | ADDR
                        | DATA_SRC
                        | WEIGHT
                        | PHYS_ADDR
                        | DATA_PAGE_SIZE
                        | CODE_PAGE_SIZE
                        | INS_LAT,
                    no_trace,
                ),
                TypeFields::new(BASE | PERIOD, no_trace),
                TypeFields::new(BASE | SYNTH, no_trace),
                TypeFields::new(BASE | PERIOD, no_trace),
            ],
            print_flags: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Default,
    Set,
    Add,
    Remove,
}

impl FieldSpec {
    /// Whether any `-F` set fields (perf's `output_set_by_user`).
    pub fn set_by_user(&self) -> bool {
        self.types.iter().any(|t| t.user_set)
    }

    /// Applies one `-F` argument as perf's `parse_output_fields` does.
    /// Warnings perf prints and goes on after are pushed to `warnings`; the
    /// error is the message perf prints before giving up.
    pub fn parse(&mut self, arg: &str, warnings: &mut Vec<String>) -> Result<(), String> {
        let mut type_ = None;
        let list: &str;
        if let Some((kind, rest)) = arg.split_once(':') {
            let t = match kind {
                "hw" => TYPE_HARDWARE,
                "sw" => TYPE_SOFTWARE,
                "trace" => TYPE_TRACEPOINT,
                "raw" => TYPE_RAW,
                "break" => TYPE_BREAKPOINT,
                "synth" => TYPE_SYNTH,
                _ => return Err("Invalid event type in field string.".into()),
            };
            if self.types[t].user_set {
                warnings.push(format!(
                    "Overriding previous field request for {} events.",
                    event_type_name(t)
                ));
            }
            type_ = Some(t);
            list = rest;
            // "Don't override defaults for +-"
            if !rest.contains(['+', '-']) {
                let o = &mut self.types[t];
                o.fields = 0;
                o.user_set = true;
                o.wildcard_set = false;
            }
        } else {
            if arg.is_empty() {
                return Err("Cannot set fields to 'none' for all event types.".into());
            }
            list = arg;
            if !arg.contains(['+', '-']) {
                if self.set_by_user() {
                    warnings.push("Overriding previous field request for all events.".into());
                }
                for o in &mut self.types {
                    o.fields = 0;
                    o.user_set = true;
                    o.wildcard_set = true;
                }
            }
        }
        let mut change = Change::Default;
        // strtok_r: empty tokens are skipped.
        for tok in list.split(',').filter(|t| !t.is_empty()) {
            let name = if let Some(rest) = tok.strip_prefix('+') {
                if change == Change::Set {
                    return Err(BADMIX.into());
                }
                change = Change::Add;
                rest
            } else if let Some(rest) = tok.strip_prefix('-') {
                if change == Change::Set {
                    return Err(BADMIX.into());
                }
                change = Change::Remove;
                rest
            } else {
                if change != Change::Set && change != Change::Default {
                    return Err(BADMIX.into());
                }
                change = Change::Set;
                tok
            };
            let Some(&(_, field)) = FIELD_NAMES.iter().find(|(n, _)| *n == name) else {
                if name == "flags" {
                    self.print_flags = change != Change::Remove;
                    continue;
                }
                return Err("Invalid field requested.".into());
            };
            match type_ {
                None => {
                    for (j, o) in self.types.iter_mut().enumerate() {
                        if o.invalid_fields & field != 0 {
                            warnings.push(format!(
                                "'{name}' not valid for {} events. Ignoring.",
                                event_type_name(j)
                            ));
                            continue;
                        }
                        if change == Change::Remove {
                            o.fields &= !field;
                            o.user_set_fields &= !field;
                            o.user_unset_fields |= field;
                        } else {
                            o.fields |= field;
                            o.user_set_fields |= field;
                            o.user_unset_fields &= !field;
                        }
                        o.user_set = true;
                        o.wildcard_set = true;
                    }
                }
                Some(t) => {
                    let o = &mut self.types[t];
                    if o.invalid_fields & field != 0 {
                        return Err(format!(
                            "'{name}' not valid for {} events.",
                            event_type_name(t)
                        ));
                    }
                    if change == Change::Remove {
                        o.fields &= !field;
                    } else {
                        o.fields |= field;
                    }
                    o.user_set = true;
                    o.wildcard_set = true;
                }
            }
        }
        Ok(())
    }
}

const BADMIX: &str = "Cannot mix +-field with overridden fields";

/// What the checks need to know of one event of the file.
#[derive(Debug, Clone)]
pub struct EventInfo {
    pub name: String,
    /// perf_event_attr.type and .config.
    pub attr_type: u32,
    pub config: u64,
    pub sample_type: u64,
    /// perf_event_attr.branch_sample_type.
    pub branch_sample_type: u64,
}

const SAMPLE_IP: u64 = 1 << 0;
const SAMPLE_TID: u64 = 1 << 1;
const SAMPLE_TIME: u64 = 1 << 2;
const SAMPLE_ADDR: u64 = 1 << 3;
const SAMPLE_CALLCHAIN: u64 = 1 << 5;
const SAMPLE_CPU: u64 = 1 << 7;
const SAMPLE_REGS_USER: u64 = 1 << 12;
const SAMPLE_WEIGHT: u64 = 1 << 14;
const SAMPLE_DATA_SRC: u64 = 1 << 15;
const SAMPLE_REGS_INTR: u64 = 1 << 18;
const SAMPLE_PHYS_ADDR: u64 = 1 << 19;
const SAMPLE_DATA_PAGE_SIZE: u64 = 1 << 22;
const SAMPLE_CODE_PAGE_SIZE: u64 = 1 << 23;
const SAMPLE_WEIGHT_STRUCT: u64 = 1 << 24;

impl EventInfo {
    fn is_dummy(&self) -> bool {
        self.attr_type == 1 && self.config == 9
    }

    pub fn has_callchain(&self) -> bool {
        self.sample_type & SAMPLE_CALLCHAIN != 0
    }
}

/// The fields each event prints once the file is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFields {
    pub types: [TypeFields; OUTPUT_TYPES],
    pub print_flags: bool,
    /// perf's `symbol_conf.use_callchain` after the checks.
    pub use_callchain: bool,
    /// Debug-level notes perf gives for fields it dropped silently.
    pub dropped: Vec<String>,
}

impl ResolvedFields {
    /// The fields of events of this attr type.
    pub fn of(&self, attr_type: u32) -> &TypeFields {
        &self.types[output_type(attr_type)]
    }
}

/// perf's `perf_session__check_output_opt` (with `evsel__check_attr`):
/// fields the samples cannot have are dropped unless the user asked for
/// them, in which case this is an error with perf's message.
/// `no_callchain` is `-G`.
pub fn resolve(
    spec: &FieldSpec,
    events: &[EventInfo],
    no_callchain: bool,
) -> Result<ResolvedFields, String> {
    let mut out = spec.types;
    let mut dropped = Vec::new();
    // evlist__combined_branch_type has PERF_SAMPLE_BRANCH_ANY.
    let any_branch = events.iter().any(|e| e.branch_sample_type & (1 << 3) != 0);
    for (j, o) in out.iter_mut().enumerate() {
        let first = events
            .iter()
            .find(|e| !e.is_dummy() && output_type(e.attr_type) == j);
        if first.is_none() && o.user_set && !o.wildcard_set && j != TYPE_SYNTH {
            return Err(format!(
                "{} events do not exist. Remove corresponding -F option to proceed.",
                event_type_name(j)
            ));
        }
        if let Some(ev) = first {
            if o.fields != 0 {
                check_attr(o, ev, any_branch, &mut dropped)?;
            }
        }
    }
    let mut use_callchain = !no_callchain;
    if !no_callchain && !events.is_empty() && !events.iter().any(|e| e.has_callchain()) {
        use_callchain = false;
    }
    // Tracepoints print symbols by default only when callchains exist.
    if use_callchain
        && !out[TYPE_TRACEPOINT].user_set
        && events.iter().any(|e| e.attr_type == 2 && e.has_callchain())
    {
        out[TYPE_TRACEPOINT].fields |= IP | SYM | SYMOFFSET | DSO;
    }
    if out.iter().any(|o| o.fields & TOD != 0) {
        // perfold reads no clock data (HEADER_CLOCK_DATA): perf's error for
        // files recorded without -k.
        return Err("Can't provide 'tod' time, missing clock data. \
             Please record with -k/--clockid option."
            .into());
    }
    Ok(ResolvedFields {
        types: out,
        print_flags: spec.print_flags,
        use_callchain,
        dropped,
    })
}

/// perf's `evsel__check_attr` for the first event of one output type.
fn check_attr(
    o: &mut TypeFields,
    ev: &EventInfo,
    any_branch: bool,
    dropped: &mut Vec<String>,
) -> Result<(), String> {
    let st = ev.sample_type;
    // evsel__do_check_stype (allow_user_set is false: no AUXTRACE).
    let mut check = |o: &mut TypeFields, bits: u64, msg: &str, field: FieldMask| {
        if o.fields & field == 0 || st & bits != 0 {
            return Ok(());
        }
        if o.user_set_fields & field != 0 {
            return Err(format!(
                "Samples for '{}' event do not have {msg} attribute set. Cannot print '{}' field.",
                ev.name,
                field_name(field)
            ));
        }
        o.fields &= !field;
        dropped.push(format!(
            "Samples for '{}' event do not have {msg} attribute set. Skipping '{}' field.",
            ev.name,
            field_name(field)
        ));
        Ok(())
    };
    check(o, SAMPLE_IP, "IP", IP)?;
    check(o, SAMPLE_ADDR, "ADDR", ADDR)?;
    check(o, SAMPLE_DATA_SRC, "DATA_SRC", DATA_SRC)?;
    // PERF_SAMPLE_WEIGHT_TYPE = WEIGHT | WEIGHT_STRUCT
    check(o, SAMPLE_WEIGHT | SAMPLE_WEIGHT_STRUCT, "WEIGHT", WEIGHT)?;
    if o.has(SYM) && st & (SAMPLE_IP | SAMPLE_ADDR) == 0 {
        return Err(
            "Display of symbols requested but neither sample IP nor sample address\n\
             available. Hence, no addresses to convert to symbols."
                .into(),
        );
    }
    if o.has(SYMOFFSET) && !o.has(SYM) {
        return Err("Display of offsets requested but symbol is notselected.".into());
    }
    if o.has(DSO) && st & (SAMPLE_IP | SAMPLE_ADDR) == 0 {
        return Err("Display of DSO requested but no address to convert.".into());
    }
    if (o.has(SRCLINE) || o.has(SRCCODE)) && !o.has(IP) {
        return Err(
            "Display of source line number requested but sample IP is not\n\
             selected. Hence, no address to lookup the source line number."
                .into(),
        );
    }
    if (o.has(BRSTACKINSN) || o.has(BRSTACKINSNLEN)) && !any_branch {
        return Err(
            "Display of branch stack assembler requested, but non all-branch filter set\n\
             Hint: run 'perf record -b ...'"
                .into(),
        );
    }
    if o.has(PID) || o.has(TID) {
        check(o, SAMPLE_TID, "TID", TID | PID)?;
    }
    check(o, SAMPLE_TIME, "TIME", TIME)?;
    check(o, SAMPLE_CPU, "CPU", CPU)?;
    check(o, SAMPLE_REGS_INTR, "IREGS", IREGS)?;
    check(o, SAMPLE_REGS_USER, "UREGS", UREGS)?;
    check(o, SAMPLE_PHYS_ADDR, "PHYS_ADDR", PHYS_ADDR)?;
    check(o, SAMPLE_DATA_PAGE_SIZE, "DATA_PAGE_SIZE", DATA_PAGE_SIZE)?;
    check(o, SAMPLE_CODE_PAGE_SIZE, "CODE_PAGE_SIZE", CODE_PAGE_SIZE)?;
    check(o, SAMPLE_WEIGHT_STRUCT, "WEIGHT_STRUCT", INS_LAT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<(FieldSpec, Vec<String>), String> {
        let mut spec = FieldSpec::default();
        let mut w = Vec::new();
        for a in args {
            spec.parse(a, &mut w)?;
        }
        Ok((spec, w))
    }

    #[test]
    fn a_plain_list_replaces_every_type() {
        let (s, w) = parse(&["comm,tid,trace"]).unwrap();
        assert_eq!(s.types[TYPE_SOFTWARE].fields, COMM | TID);
        assert_eq!(s.types[TYPE_TRACEPOINT].fields, COMM | TID | TRACE);
        assert!(s.types.iter().all(|t| t.user_set && t.wildcard_set));
        // trace is invalid for every type but tracepoints.
        assert_eq!(w.len(), 7);
        assert_eq!(w[0], "'trace' not valid for hardware events. Ignoring.");
        assert_eq!(w[1], "'trace' not valid for software events. Ignoring.");
    }

    #[test]
    fn plus_and_minus_keep_the_defaults() {
        let (s, w) = parse(&["+pid,-cpu,-period"]).unwrap();
        let sw = s.types[TYPE_SOFTWARE];
        assert_eq!(
            sw.fields,
            (BASE | PERIOD | BPF_OUTPUT | PID) & !CPU & !PERIOD
        );
        assert_eq!(sw.user_set_fields, PID);
        assert_eq!(sw.user_unset_fields, CPU | PERIOD);
        assert!(w.is_empty());
        // A later '+' after '-' is fine; a plain name after either is not.
        assert!(parse(&["-cpu,+pid"]).is_ok());
        assert_eq!(parse(&["+pid,cpu"]).unwrap_err(), BADMIX);
        assert_eq!(parse(&["cpu,+pid"]).unwrap_err(), BADMIX);
    }

    #[test]
    fn a_type_prefix_touches_only_that_type() {
        let (s, _) = parse(&["sw:comm,ip"]).unwrap();
        assert_eq!(s.types[TYPE_SOFTWARE].fields, COMM | IP);
        assert!(s.types[TYPE_SOFTWARE].user_set && s.types[TYPE_SOFTWARE].wildcard_set);
        assert_eq!(
            s.types[TYPE_HARDWARE],
            FieldSpec::default().types[TYPE_HARDWARE]
        );
        // "trace:" alone: no fields, user_set but not wildcard.
        let (s, _) = parse(&["trace:"]).unwrap();
        assert_eq!(s.types[TYPE_TRACEPOINT].fields, 0);
        assert!(s.types[TYPE_TRACEPOINT].user_set && !s.types[TYPE_TRACEPOINT].wildcard_set);
        assert_eq!(
            parse(&["sw:trace"]).unwrap_err(),
            "'trace' not valid for software events."
        );
        assert_eq!(
            parse(&["cpu:comm"]).unwrap_err(),
            "Invalid event type in field string."
        );
    }

    #[test]
    fn errors_and_overrides_use_perfs_words() {
        assert_eq!(
            parse(&[""]).unwrap_err(),
            "Cannot set fields to 'none' for all event types."
        );
        assert_eq!(
            parse(&["comm,bogus"]).unwrap_err(),
            "Invalid field requested."
        );
        let (_, w) = parse(&["comm", "tid"]).unwrap();
        assert_eq!(w, ["Overriding previous field request for all events."]);
        let (_, w) = parse(&["sw:comm", "sw:tid"]).unwrap();
        assert_eq!(
            w,
            ["Overriding previous field request for software events."]
        );
        let (s, _) = parse(&["+flags"]).unwrap();
        assert!(s.print_flags);
        let (s, _) = parse(&["+flags", "-flags"]).unwrap();
        assert!(!s.print_flags);
        // A '-' anywhere (even inside a name) means "keep the defaults".
        let (s, _) = parse(&["sw:bpf-output"]).unwrap();
        assert_eq!(
            s.types[TYPE_SOFTWARE].fields,
            FieldSpec::default().types[1].fields
        );
    }

    fn sw(sample_type: u64) -> EventInfo {
        EventInfo {
            name: "cpu-clock".into(),
            attr_type: 1,
            config: 0,
            sample_type,
            branch_sample_type: 0,
        }
    }

    #[test]
    fn fields_the_samples_lack_are_dropped_unless_asked_for() {
        let ev = [sw(SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_CALLCHAIN)];
        let r = resolve(&FieldSpec::default(), &ev, false).unwrap();
        assert!(!r.types[TYPE_SOFTWARE].has(CPU));
        assert!(r.use_callchain);
        let (s, _) = parse(&["+cpu"]).unwrap();
        assert_eq!(
            resolve(&s, &ev, false).unwrap_err(),
            "Samples for 'cpu-clock' event do not have CPU attribute set. Cannot print 'cpu' field."
        );
        let (s, _) = parse(&["-sym"]).unwrap();
        assert_eq!(
            resolve(&s, &ev, false).unwrap_err(),
            "Display of offsets requested but symbol is notselected."
        );
        // "hw:" names no field: the type must exist. "hw:comm" sets
        // wildcard_set and is ignored without hardware events.
        let (s, _) = parse(&["hw:"]).unwrap();
        assert_eq!(
            resolve(&s, &ev, false).unwrap_err(),
            "hardware events do not exist. Remove corresponding -F option to proceed."
        );
        let (s, _) = parse(&["hw:comm"]).unwrap();
        assert!(resolve(&s, &ev, false).is_ok());
        let r = resolve(&FieldSpec::default(), &ev, true).unwrap();
        assert!(!r.use_callchain);
    }

    #[test]
    fn tracepoints_get_symbols_only_with_callchains_and_default_fields() {
        let tp = EventInfo {
            name: "sched:sched_switch".into(),
            attr_type: 2,
            config: 1,
            sample_type: SAMPLE_IP | SAMPLE_TID | SAMPLE_CALLCHAIN,
            branch_sample_type: 0,
        };
        let r = resolve(&FieldSpec::default(), std::slice::from_ref(&tp), false).unwrap();
        assert!(r.types[TYPE_TRACEPOINT].has(IP | SYM));
        let (s, _) = parse(&["+pid"]).unwrap();
        let r = resolve(&s, std::slice::from_ref(&tp), false).unwrap();
        assert!(!r.types[TYPE_TRACEPOINT].has(IP));
    }
}
