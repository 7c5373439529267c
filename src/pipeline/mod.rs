//! The one place that wires the stages: read → order → apply mappings →
//! resolve frames → symbolize → write.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::frames::{self, Frame, FrameKey, InlineFrames, SampleExtras, SymbolTable};
use crate::hw::memory::MemoryValues;
use crate::mappings::{Machine, Thread, CPUMODE_USER};
use crate::ordering::OrderedQueue;
use crate::progress::Progress;
use crate::reader::records::{Comm, MmapRecord, Task};
use crate::reader::sample::{self, parse_sample, Sample};
use crate::reader::{self, Attr, PerfData, Record};
use crate::report::SymbolReport;
use crate::writers::side_band as side;
use crate::script_options::fields;
use crate::script_options::filters::SampleFilters;
use crate::writers::line_start::StartValues;
use crate::script_options::time_ranges::TimeRanges;
use crate::script_options::ScriptOptions;
use crate::symbolize::{SymbolizeOptions, Symbolizer};
use crate::traceevent::{FuncResolver, TracingData};
use crate::unwind::{Arch, Unwinding};
use crate::workers::Share;
use crate::writers::{Formats, Header, Names, SampleSink, SampleView, SideBand};

mod adapters;
mod options;
mod split;

pub use options::Options;
pub use split::{splits, SplitOutput};
use split::Part;

/// Reads the whole input and feeds every sample, in perf's order, to `sink`
/// (on a second thread with `opts.jobs` of 2 or more).
pub fn run(opts: &Options, sink: &mut (dyn SampleSink + Send)) -> Result<()> {
    if opts.jobs > 1 {
        return crate::workers::with_sink_thread(sink, |s| run_on(opts, None, s));
    }
    run_on(opts, None, sink)
}

/// [`run`] with `sink` on the pipeline's own thread at any `-j` (folding,
/// where handing samples to a second thread costs more than it saves).
pub fn run_in_place(opts: &Options, sink: &mut dyn SampleSink) -> Result<()> {
    run_on(opts, None, sink)
}

/// One of several pipelines reading the same file (`-j N` when
/// [`splits`]): everything is read and applied, only `share`'s samples are
/// resolved and given to `sink` (`crate::workers::replicas`).
pub fn run_share(opts: &Options, share: Share, sink: &mut dyn SampleSink) -> Result<()> {
    run_on(opts, Some(share), sink)
}

/// One pipeline; with a `share`, one of several reading the same file
/// (`crate::workers::replicas`), rendering only the samples it owns.
fn run_on(opts: &Options, share: Option<Share>, sink: &mut dyn SampleSink) -> Result<()> {
    let mut data = PerfData::open(&opts.input)?;
    // A pipe has no total to show progress against.
    let total = (opts.input.as_os_str() != "-")
        .then(|| std::fs::metadata(&opts.input).map(|m| m.len()).ok())
        .flatten();
    if keeps_pages(opts, share, total) {
        data.keep_pages();
    }
    let mut symbolizer = Symbolizer::new(SymbolizeOptions {
        symfs: opts.symfs.clone(),
        kallsyms: opts.kallsyms.clone(),
        buildid_dir: opts.buildid_dir.clone(),
    });
    symbolizer.set_demangle(opts.demangle);
    let mut machine = Machine::new();
    // Kernel-space rows of the build-id table (perf: cpumode kernel).
    machine.use_build_id_table(
        data.build_ids
            .iter()
            .filter(|e| e.cpumode == crate::mappings::CPUMODE_KERNEL)
            .map(|e| e.filename.as_slice()),
    );
    let kernel_name = machine.dsos.get(machine.kernel_dso).name.to_vec();
    symbolizer.set_header_build_ids(
        data.build_ids
            .iter()
            .map(|e| (e.filename.clone(), e.build_id.clone()))
            .collect(),
        &kernel_name,
    );
    let mut state = State {
        machine,
        symbols: SymbolTable::new(symbolizer),
        inlines: InlineFrames::default(),
        formats: None,
        by_id: FxHashMap::default(),
        read_values: FxHashMap::default(),
        frames: Vec::new(),
        unwinding: None,
        user_ips: Vec::new(),
        no_inline: opts.no_inline,
        tracing: None,
        trace: Vec::new(),
        pipe_mode: data.pipe_mode,
        report: opts.verbose.then(SymbolReport::default),
        max_stack: opts.max_stack,
        script: &opts.script,
        filters: SampleFilters::default(),
        time_ranges: None,
        side_text: Vec::new(),
        srclines: Vec::new(),
        extras: SampleExtras::new(data.arch.as_deref(), data.pipe_mode, opts.script.max_blocks),
        share,
        record: 0,
        sink,
    };
    // One of several replicas: the first speaks for all on stderr.
    let speaks = share.is_none_or(|s| s.index == 0);
    let mut queue: OrderedQueue<Record> = OrderedQueue::new();
    let progress = Progress::new(total.unwrap_or(0), opts.quiet || total.is_none() || !speaks);
    let result = read_all(&mut data, &mut queue, &mut state, &progress);
    progress.finish();
    // Deliver what was read before any error, so the output stays valid.
    let flushed = queue.flush_all(|r| state.deliver(&data, r), |r| data.prefetch(&r.payload));
    state.inlines.resolve_deferred(&mut state.symbols);
    if let Some(formats) = &state.formats {
        let names = Names {
            formats,
            machine: &state.machine,
            symbols: &state.symbols,
            inlines: &state.inlines,
        };
        state.sink.resolve_deferred(&names);
    }
    // Whatever was rendered is written out even when the input is damaged.
    let finished = state.sink.finish().map_err(Error::Output);
    if let Some(report) = &state.report {
        eprint!("{}", report.render(&state.machine, &state.symbols));
    }
    // perf decodes AUX area traces by default; perfold skips them and says so.
    if let Some(message) = data.aux.message().filter(|_| speaks) {
        eprintln!("perfold: {}: {message}", opts.input.display());
    }
    result?;
    flushed?;
    finished
}

/// Whether a second thread faults in and drops the file's pages for this
/// pipeline (`reader::pages`): with `-j` above 1, for a file large enough
/// to gain from it (`file_len`), and not in replicas, which already keep
/// every core busy.
fn keeps_pages(opts: &Options, share: Option<Share>, file_len: Option<u64>) -> bool {
    share.is_none() && opts.jobs > 1 && file_len.is_some_and(crate::workers::worth_splitting)
}

/// How far reading advances between two progress updates.
const PROGRESS_EVERY: u64 = 1 << 20;

/// How far reading advances between two releases of delivered pages.
const RELEASE_EVERY: u64 = 8 << 20;

fn read_all(
    data: &mut PerfData,
    queue: &mut OrderedQueue<Record>,
    state: &mut State,
    progress: &Progress,
) -> Result<()> {
    let mut next_release = RELEASE_EVERY;
    let mut next_progress = PROGRESS_EVERY;
    let mut samples = 0u64;
    while let Some(rec) = data.next_record()? {
        samples += u64::from(rec.type_ == reader::RECORD_SAMPLE);
        if rec.offset >= next_progress {
            progress.update(rec.offset, samples);
            next_progress = rec.offset + PROGRESS_EVERY;
        }
        if rec.offset >= next_release {
            let oldest = queue.items().map(|r| r.offset).min().unwrap_or(rec.offset);
            data.release_before(oldest.min(rec.offset));
            next_release = rec.offset + RELEASE_EVERY;
        }
        if rec.type_ >= reader::RECORD_HEADER_MAX {
            return Err(Error::data(
                rec.offset,
                format!("unknown record type {}", rec.type_),
            ));
        }
        if rec.type_ >= reader::RECORD_USER_TYPE_START {
            if rec.type_ == reader::RECORD_FINISHED_ROUND {
                queue.flush_round(|r| state.deliver(data, r), |r| data.prefetch(&r.payload))?;
            }
            continue;
        }
        state.prepare(data)?;
        let time = state.timestamp(data, &rec);
        if OrderedQueue::<Record>::is_queued_time(time) {
            queue.push(time, rec);
        } else {
            state.deliver(data, rec)?;
        }
    }
    Ok(())
}

struct State<'s> {
    machine: Machine,
    symbols: SymbolTable,
    /// DWARF inline frames (see `frames::inline`).
    inlines: InlineFrames,
    formats: Option<Formats>,
    by_id: FxHashMap<u64, usize>,
    /// The last PERF_SAMPLE_READ value of each event id (perf's `sid->period`).
    read_values: FxHashMap<u64, u64>,
    frames: Vec<Frame>,
    /// DWARF unwinding (set up with the attributes) and its scratch list.
    unwinding: Option<Unwinding>,
    user_ips: Vec<u64>,
    no_inline: bool,
    /// Tracepoint formats from the file's tracing data.
    tracing: Option<TracingData>,
    /// The current sample's formatted tracepoint fields.
    trace: Vec<u8>,
    /// The input is a pipe-mode stream (perf formats tracepoints without symbols).
    pipe_mode: bool,
    report: Option<SymbolReport>,
    max_stack: usize,
    script: &'s ScriptOptions,
    filters: SampleFilters,
    time_ranges: Option<TimeRanges>,
    /// The current side-band record's text (`--show-*-events`).
    side_text: Vec<u8>,
    /// The current sample's source lines (`-F srcline`), one per frame.
    srclines: Vec<Option<Vec<u8>>>,
    /// The current sample's lookups for the other `-F` fields.
    extras: SampleExtras,
    /// With `-j` on a file: this pipeline's share of the samples.
    share: Option<Share>,
    /// Records delivered so far (the owner of a record is decided by it).
    record: u64,
    sink: &'s mut dyn SampleSink,
}

impl State<'_> {
    /// Builds the per-event tables once the attributes are known.
    fn prepare(&mut self, data: &PerfData) -> Result<()> {
        if self.formats.is_some() {
            return Ok(());
        }
        if data.attrs.is_empty() {
            return Err(Error::Usage("the input has no event attributes".into()));
        }
        // Recordings of any machine are read; DWARF unwinding is x86_64 and aarch64 only.
        self.unwinding = Some(Unwinding::new(Arch::from_uname(data.arch.as_deref())));
        // perf's order: the lists (symbol__init), the CPU list, the fields
        // (perf_session__check_output_opt), then the time ranges.
        let script = self.script;
        self.filters = SampleFilters::parse(&script.filters).map_err(Error::Usage)?;
        if let Some(cpus) = &script.cpu_list {
            // perf_session__cpu_bitmap: the first event of every perf type.
            let have_cpu = (0..6).all(|t| {
                data.attrs
                    .iter()
                    .find(|a| a.type_ == t)
                    .is_none_or(|a| a.has(reader::attrs::SAMPLE_CPU))
            });
            let nr = data.nr_cpus_avail.unwrap_or(u32::MAX);
            self.filters
                .set_cpus(cpus, have_cpu, nr)
                .map_err(Error::Usage)?;
        }
        let has_tracepoints = data
            .attrs
            .iter()
            .any(|a| a.type_ == reader::attrs::TYPE_TRACEPOINT);
        if has_tracepoints {
            let Some((offset, bytes)) = &data.tracing_data else {
                return Err(Error::Usage(
                    "the file has tracepoint events but no tracing data to format them".into(),
                ));
            };
            self.tracing = Some(TracingData::parse(bytes, *offset)?);
        }
        // perf names a tracepoint event without a stored name (pipe mode
        // without HEADER_EVENT_DESC) `system:name` from the tracing data
        // (`evlist__prepare_tracepoint_events`).
        let mut attrs = data.attrs.clone();
        if let Some(tracing) = &self.tracing {
            for a in attrs.iter_mut() {
                if a.type_ != reader::attrs::TYPE_TRACEPOINT || a.name.is_some() {
                    continue;
                }
                if let Some(tp) = tracing.event(a.config) {
                    a.name = Some(format!("{}:{}", tp.system(), tp.name()));
                }
            }
        }
        let formats = Formats::with_fields(&attrs, &script.fields, script.hide_call_graph)?;
        if let Some(t) = &script.time {
            self.time_ranges =
                Some(TimeRanges::parse(t, data.sample_time, script.reltime).map_err(Error::Usage)?);
        }
        // Inline lookups run on a second thread when the sink can wait for
        // them: DWARF samples, inline frames on, every event of the shape
        // the sink folds without rendering text.
        let dwarf = data
            .attrs
            .iter()
            .any(|a| a.has(reader::attrs::SAMPLE_STACK_USER));
        let default_shape =
            formats.default_fields && formats.events.iter().all(|e| e.has_default_shape());
        if dwarf && !self.no_inline && default_shape && self.sink.takes_pending_frames() {
            self.inlines.defer();
        }
        self.formats = Some(formats);
        for (i, a) in data.attrs.iter().enumerate() {
            for &id in &a.ids {
                self.by_id.entry(id).or_insert(i);
            }
        }
        Ok(())
    }

    /// The attribute describing a record (perf's `evlist__event2evsel`).
    fn attr_index(&self, attrs: &[Attr], rec: &Record, bytes: &[u8]) -> usize {
        if attrs.len() == 1 {
            return 0;
        }
        let id = if rec.type_ == reader::RECORD_SAMPLE {
            sample::sample_id_of(&attrs[0], bytes)
        } else {
            sample::trailer_id_of(&attrs[0], bytes)
        };
        id.and_then(|id| self.by_id.get(&id).copied()).unwrap_or(0)
    }

    /// The record's timestamp, or 0 when it has none (delivered at once).
    fn timestamp(&self, data: &PerfData, rec: &Record) -> u64 {
        let bytes = data.payload(&rec.payload);
        let attr = &data.attrs[self.attr_index(&data.attrs, rec, bytes)];
        if rec.type_ == reader::RECORD_SAMPLE {
            return sample::sample_time_of(attr, bytes).unwrap_or(0);
        }
        sample::parse_sample_id(attr, bytes)
            .time
            .unwrap_or(u64::MAX)
    }

    fn deliver(&mut self, data: &PerfData, rec: Record) -> Result<()> {
        self.deliver_record(data, rec)?;
        if self.share.is_some() {
            self.record += 1;
            self.sink.record_done().map_err(Error::Output)?;
        }
        Ok(())
    }

    fn deliver_record(&mut self, data: &PerfData, rec: Record) -> Result<()> {
        let bytes = data.payload(&rec.payload);
        let base = rec.offset + 8;
        let show = self.script;
        match rec.type_ {
            reader::RECORD_SAMPLE => self.sample(data, &rec, bytes)?,
            reader::RECORD_MMAP | reader::RECORD_MMAP2 => {
                let v2 = rec.type_ == reader::RECORD_MMAP2;
                let m = MmapRecord::parse(bytes, rec.misc, v2, base)?;
                self.machine.mmap(&m);
                for short in self.machine.new_modules.drain(..) {
                    let short = String::from_utf8_lossy(&short);
                    self.symbols.symbolizer.add_kernel_module(&short);
                }
                if let Some((name, addr)) = &self.machine.kernel_ref_reloc {
                    self.symbols.symbolizer.set_kernel_ref_reloc(name, *addr);
                }
                if show.show_mmap_events {
                    self.side_text.clear();
                    side::mmap(&mut self.side_text, v2, rec.misc, &m);
                    self.show_side_band(data, &rec, bytes, m.pid, m.tid, 0)?;
                }
            }
            reader::RECORD_COMM => {
                let comm = Comm::parse(bytes, rec.misc, base)?;
                self.machine.comm(&comm);
                // perf's thread__set_comm on exec: unwind__flush_access.
                if comm.exec {
                    if let (Some(th), Some(u)) =
                        (self.machine.thread(comm.tid), self.unwinding.as_mut())
                    {
                        u.flush(th.maps);
                    }
                }
                if show.show_task_events {
                    self.side_text.clear();
                    side::comm(&mut self.side_text, rec.misc, comm.comm, comm.pid, comm.tid);
                    self.show_side_band(data, &rec, bytes, comm.pid, comm.tid, 0)?;
                }
            }
            reader::RECORD_FORK | reader::RECORD_EXIT => {
                let t = Task::parse(bytes, rec.misc, base)?;
                let exit = rec.type_ == reader::RECORD_EXIT;
                let time = bytes
                    .get(16..24)
                    .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
                if show.show_task_events {
                    self.side_text.clear();
                    side::task(&mut self.side_text, exit, t.pid, t.tid, t.ppid, t.ptid);
                }
                // perf prints an EXIT before applying it, a FORK after.
                if exit {
                    if show.show_task_events {
                        self.show_side_band(data, &rec, bytes, t.pid, t.tid, time)?;
                    }
                    self.machine.exit(&t);
                } else {
                    self.machine.fork(&t);
                    if show.show_task_events {
                        self.show_side_band(data, &rec, bytes, t.pid, t.tid, time)?;
                    }
                }
            }
            side::RECORD_SWITCH | side::RECORD_SWITCH_CPU_WIDE if show.show_switch_events => {
                self.side_text.clear();
                let other = (rec.type_ == side::RECORD_SWITCH_CPU_WIDE)
                    .then(|| side::switch_other(bytes))
                    .flatten();
                side::switch(&mut self.side_text, rec.type_, rec.misc, other);
                self.show_side_band_of_sample(data, &rec, bytes)?;
            }
            reader::RECORD_LOST if show.show_lost_events => {
                self.side_text.clear();
                side::lost(&mut self.side_text, side::lost_count(bytes).unwrap_or(0));
                self.show_side_band_of_sample(data, &rec, bytes)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A side-band record printed with its sample id's pid and tid.
    fn show_side_band_of_sample(
        &mut self,
        data: &PerfData,
        rec: &Record,
        bytes: &[u8],
    ) -> Result<()> {
        let attr = &data.attrs[self.attr_index(&data.attrs, rec, bytes)];
        let (pid, tid) = sample::parse_sample_id(attr, bytes)
            .pid_tid
            .unwrap_or((-1, -1));
        self.show_side_band(data, rec, bytes, pid, tid, 0)
    }

    /// perf script's `print_event_with_time`: the line start of the
    /// record's event, then `self.side_text`.
    fn show_side_band(
        &mut self,
        data: &PerfData,
        rec: &Record,
        bytes: &[u8],
        pid: i32,
        tid: i32,
        timestamp: u64,
    ) -> Result<()> {
        let event = self.attr_index(&data.attrs, rec, bytes);
        let attr = &data.attrs[event];
        let id = sample::parse_sample_id(attr, bytes);
        let (mut spid, mut stid) = id.pid_tid.unwrap_or((-1, -1));
        let (mut cpu, mut time) = (id.cpu.unwrap_or(u32::MAX), id.time.unwrap_or(0));
        if !attr.sample_id_all() {
            (cpu, time, spid, stid) = (0, timestamp, pid, tid);
        }
        if self.filters.skips_cpu(cpu) {
            return Ok(());
        }
        let comm_id = (tid != -1).then(|| self.machine.findnew_thread(pid, tid).comm);
        let Some(formats) = &self.formats else {
            return Ok(());
        };
        let sb = SideBand {
            event: Some(event),
            start: StartValues {
                comm: comm_id.map_or(&b":-1"[..], |c| self.machine.comms.get(c)),
                pid: spid,
                tid: stid,
                cpu,
                time,
                misc: rec.misc,
                record_type: rec.type_,
            },
            text: &self.side_text,
        };
        if self.share.is_some_and(|s| !s.owns_record(self.record)) {
            return Ok(());
        }
        let names = Names {
            formats,
            machine: &self.machine,
            symbols: &self.symbols,
            inlines: &self.inlines,
        };
        self.sink.side_band(&sb, &names).map_err(Error::Output)
    }

    fn sample(&mut self, data: &PerfData, rec: &Record, bytes: &[u8]) -> Result<()> {
        let event = self.attr_index(&data.attrs, rec, bytes);
        let s = parse_sample(&data.attrs[event], rec.misc, bytes, rec.offset + 8)?;
        let Some(read) = s.read else {
            return self.sample_of(data, rec, event, s);
        };
        // perf's evlist__deliver_sample with PERF_SAMPLE_READ: one sample per
        // value read (each group member with PERF_FORMAT_GROUP), of the event
        // owning the value's id, its period the increase since that id's last
        // value; none for an unknown id or a period of 0.
        for (value, id) in read.iter() {
            let Some(id) = id else { continue };
            let Some(&member) = self.by_id.get(&id) else {
                continue;
            };
            let last = self.read_values.entry(id).or_insert(0);
            let period = value.wrapping_sub(*last);
            *last = value;
            if period != 0 {
                self.sample_of(data, rec, member, Sample { period, id, ..s })?;
            }
        }
        Ok(())
    }

    /// Delivers one sample of `event` (perf script's `process_sample_event`).
    fn sample_of(&mut self, data: &PerfData, rec: &Record, event: usize, s: Sample) -> Result<()> {
        let attr = &data.attrs[event];
        // perf script's process_sample_event: --time and -C before the
        // thread is looked up, the other filters after (machine__resolve).
        if self.time_ranges.as_ref().is_some_and(|t| t.skips(s.time))
            || self.filters.skips_cpu(s.cpu)
        {
            return Ok(());
        }
        let thread = self.machine.findnew_thread(s.pid, s.tid);
        if self
            .filters
            .skips_thread(self.machine.comms.get(thread.comm), thread.pid, thread.tid)
        {
            return Ok(());
        }
        let part = self.part_in(attr, &thread, &s);
        if part == Part::Skip {
            return Ok(());
        }
        let ev = &self
            .formats
            .as_ref()
            .expect("prepared before the first record")
            .events[event];
        let (wants_ip, callchain) = (ev.ip, ev.callchain);
        let (ev_fields, addr_correlates) = (ev.fields, ev.addr_correlates);
        // perf prints (and formats) a tracepoint's fields only with `trace`.
        let tracepoint = ev.tracepoint.filter(|_| ev_fields & fields::TRACE != 0);
        let locate = self.filters.needs_sample_location();
        // perf's machine__resolve: the sample ip is looked up only in the
        // maps of the sample's cpumode (`thread__find_map`, no fallback), so
        // a user-mode sample at a kernel address (skid of `:pp` events)
        // prints `[unknown] ([unknown])`.
        let ip_frame = if (wants_ip && !callchain) || locate {
            frames::resolve_ip(
                &mut self.machine,
                &mut self.symbols,
                &thread,
                s.cpumode(),
                s.ip,
                false,
            )
        } else {
            Frame::unmapped(s.ip)
        };
        if locate && self.location_filtered(&ip_frame) {
            return Ok(());
        }
        let addr = if ev_fields & fields::ADDR != 0
            && addr_correlates
            && ev_fields & (fields::SYM | fields::DSO) != 0
        {
            // perf_sample__fprintf_addr: thread__resolve of the address
            // (thread__find_map_fb: the kernel's maps, then the user's).
            frames::resolve_ip(
                &mut self.machine,
                &mut self.symbols,
                &thread,
                s.cpumode(),
                s.addr,
                true,
            )
        } else {
            Frame::unmapped(s.addr)
        };
        if callchain {
            self.callchain_frames(data, rec, attr, &thread, &s);
        }
        let trace = self.format_tracepoint(tracepoint, &s);
        self.srclines.clear();
        if ev_fields & fields::SRCLINE != 0 && wants_ip {
            self.fill_srclines(callchain, &ip_frame, attr);
        }
        let (machine, symbols, inlines) = (&mut self.machine, &mut self.symbols, &mut self.inlines);
        if self.extras.fills(machine, &s, ev_fields) {
            self.extras
                .fill(machine, symbols, inlines, &thread, &s, &ip_frame, ev_fields);
        }
        if part == Part::Shadow {
            return Ok(());
        }
        if let Some(report) = &mut self.report {
            report.add(if callchain {
                &self.frames
            } else {
                std::slice::from_ref(&ip_frame)
            });
        }
        let view = SampleView {
            event,
            header: Header {
                comm: self.machine.comms.get(thread.comm),
                comm_id: thread.comm.0,
                pid: s.pid,
                tid: s.tid,
                misc: rec.misc,
                cpu: s.cpu,
                time: s.time,
                period: s.period,
            },
            ip_frame,
            frames: if callchain { &self.frames } else { &[] },
            trace: trace.then_some(self.trace.as_slice()),
            addr,
            user_regs: s.user_regs,
            intr_regs: s.intr_regs,
            srclines: &self.srclines,
            memory: MemoryValues::of(&s),
            extras: &self.extras.fields,
        };
        let names = Names {
            formats: self.formats.as_ref().expect("prepared"),
            machine: &self.machine,
            symbols: &self.symbols,
            inlines: &self.inlines,
        };
        self.sink.sample(&view, &names).map_err(Error::Output)?;
        if let Some(upto) = self.sink.inline_answers_needed() {
            self.inlines.wait_for(&mut self.symbols, upto);
            self.inlines.poll(&mut self.symbols);
        }
        Ok(())
    }

    /// What this pipeline does with a sample (see [`Part`]).
    fn part_in(&self, attr: &Attr, thread: &Thread, s: &Sample) -> Part {
        let may_load_kernel = || {
            !self.machine.kernel_loaded
                && (self.extras.loads_kernel_first()
                    || frames::may_touch_kernel(s, self.machine.kernel_start))
        };
        let by_space = attr.has(reader::attrs::SAMPLE_REGS_USER);
        Part::of(self.share, by_space, thread.maps.0, self.record, may_load_kernel)
    }

    /// The frames of a sample's callchain in `self.frames`: the recorded
    /// chain (its user part from the LBR call stack with `--call-graph lbr`),
    /// then arm64's leaf caller (`-g`) or the DWARF-unwound user frames
    /// (`--call-graph dwarf`).
    fn callchain_frames(
        &mut self,
        data: &PerfData,
        rec: &Record,
        attr: &Attr,
        thread: &Thread,
        s: &sample::Sample,
    ) {
        // perf's evsel__has_branch_callstack: resolve_lbr_callchain_sample.
        let lbr = attr.branch_sample_type & reader::attrs::BRANCH_CALL_STACK != 0 && {
            let empty_to = s
                .branch_stack
                .filter(|b| b.is_empty())
                .and_then(|b| data.payload_word(&rec.payload, b.first_to_at()));
            frames::resolve_lbr_callchain(
                &mut self.machine,
                &mut self.symbols,
                thread,
                s,
                empty_to,
                self.max_stack,
                &mut self.frames,
            )
        };
        if !lbr {
            frames::resolve_callchain(
                &mut self.machine,
                &mut self.symbols,
                thread,
                s,
                self.max_stack,
                &mut self.frames,
            );
        }
        if !attr.has(reader::attrs::SAMPLE_REGS_USER) {
            return;
        }
        let unwinding = self.unwinding.as_mut().expect("prepared");
        if !attr.has(reader::attrs::SAMPLE_STACK_USER) {
            if lbr {
                // The leaf caller is added by perf's plain-chain walk only.
                return;
            }
            // arm64 `-g` (user regs without a stack copy): perf inserts the
            // leaf function's caller, unwound from the sampled LR.
            if let Some(leaf) = unwinding.leaf_caller_insertion(
                &self.machine,
                &mut self.symbols,
                thread,
                s,
                self.max_stack,
                self.frames.len(),
            ) {
                let f = frames::resolve_ip(
                    &mut self.machine,
                    &mut self.symbols,
                    thread,
                    CPUMODE_USER,
                    leaf.ip,
                    false,
                );
                self.frames.insert(leaf.at, f);
            }
            return;
        }
        // perf's thread__resolve_callchain_unwind: DWARF user frames
        // after the kernel part (callee-first order).
        unwinding.unwind(
            &self.machine,
            &mut self.symbols,
            thread,
            s,
            self.max_stack,
            &mut self.user_ips,
        );
        frames::append_user_frames(
            &mut self.machine,
            &mut self.symbols,
            (!self.no_inline).then_some(&mut self.inlines),
            thread,
            &self.user_ips,
            &mut self.frames,
        );
    }

    /// A tracepoint's fields in `self.trace`, formatted here where kernel
    /// symbols can be looked up for %pS (perf:
    /// machine__resolve_kernel_addr); whether the sample has them.
    fn format_tracepoint(&mut self, tracepoint: Option<u64>, s: &sample::Sample) -> bool {
        let (Some(id), Some(raw), Some(tracing)) = (tracepoint, s.raw, &self.tracing) else {
            return false;
        };
        self.trace.clear();
        if let Some(event) = tracing.event(id) {
            // perf has no kernel address resolver when it reads a
            // pipe-mode stream: %pS then prints the raw address.
            let resolver: Option<&mut dyn FuncResolver> = if self.pipe_mode {
                None
            } else {
                Some(&mut self.symbols.symbolizer)
            };
            event.print_with(tracing, s.cpu, raw, resolver, &mut self.trace);
        }
        true
    }
}

impl State<'_> {
    /// `-F srcline` of the printed frames into `self.srclines`: an inline
    /// expansion's frames get their records' lines, other frames perf's
    /// `map__srcline`.
    fn fill_srclines(&mut self, callchain: bool, ip_frame: &Frame, attr: &Attr) {
        let full = self.script.full_source_path;
        self.srclines.clear();
        if !callchain {
            let line = self.inlines
                .srcline(&mut self.symbols, &self.machine, ip_frame, full);
            self.srclines.push(line);
            return;
        }
        let expanded = !self.no_inline && attr.has(reader::attrs::SAMPLE_STACK_USER);
        let mut i = 0;
        while i < self.frames.len() {
            let f = self.frames[i];
            if expanded && !matches!(f.key, FrameKey::Pending(_)) {
                if let Some(lines) = self.inlines
                    .inline_srclines(&mut self.symbols, &self.machine, &f, full) {
                    let n = lines.len().max(1);
                    self.srclines.extend(lines.into_iter().map(Some));
                    i += n;
                    continue;
                }
            }
            let line = self.inlines
                .srcline(&mut self.symbols, &self.machine, &f, full);
            self.srclines.push(line);
            i += 1;
        }
    }

    /// The `--dsos` and `-S` tests of perf's `machine__resolve` on the
    /// sample's own address.
    fn location_filtered(&self, f: &Frame) -> bool {
        let dso = f.dso.map(|d| {
            let name: &[u8] = &self.machine.dsos.get(d).name;
            // dso->short_name: the base name of a path.
            let short = match name.first() {
                Some(b'/') => name.rsplit(|&c| c == b'/').next().unwrap_or(name),
                _ => name,
            };
            (short, name)
        });
        if self.filters.skips_dso(dso) {
            return true;
        }
        let sym = f.sym.map(|id| {
            let sym = self.symbols.get(id);
            // map->unmap_ip(sym->start): the sample's ip moved back by its
            // offset into the symbol.
            (
                sym.name.as_bytes(),
                f.ip.wrapping_sub(f.addr.wrapping_sub(sym.start)),
            )
        });
        self.filters.skips_symbol(sym, f.dso.map(|_| f.ip))
    }
}
