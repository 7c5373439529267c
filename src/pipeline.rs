//! The one place that wires the stages: read → order → apply mappings →
//! resolve frames → symbolize → write.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::frames::{self, Frame, SymbolTable};
use crate::mappings::{DsoId, Machine, Thread, CPUMODE_USER};
use crate::ordering::OrderedQueue;
use crate::progress::Progress;
use crate::reader::records::{Comm, MmapRecord, Task};
use crate::reader::sample::{self, parse_sample};
use crate::reader::{self, Attr, PerfData, Record};
use crate::report::SymbolReport;
use crate::symbolize::{SymbolizeOptions, Symbolizer};
use crate::traceevent::{FuncResolver, TracingData};
use crate::unwind::{Arch, FileLocator, UnwindSources, Unwinding};
use crate::writers::{Formats, Header, Names, SampleSink, SampleView};

/// What a run reads and how it symbolizes; the same for every output.
#[derive(Debug, Clone)]
pub struct Options {
    /// The perf.data file, or `-` for standard input.
    pub input: PathBuf,
    /// perf's `--symfs`.
    pub symfs: Option<PathBuf>,
    /// perf's `--kallsyms`.
    pub kallsyms: Option<PathBuf>,
    /// perf's `--no-inline` (inline frames only exist on DWARF-unwound chains).
    pub no_inline: bool,
    /// Most callchain entries used per sample (perf script's `--max-stack`).
    pub max_stack: usize,
    /// The build-id cache (`~/.debug`, or `<symfs>/.debug` with `--symfs`).
    pub buildid_dir: PathBuf,
    /// Print the symbol report on stderr at the end (`--verbose`).
    pub verbose: bool,
    /// No progress line on stderr even when it is a terminal (`-q`).
    pub quiet: bool,
}

impl Options {
    /// Options for `input` with perf's environment-derived defaults.
    pub fn new(input: PathBuf) -> Options {
        // perf 6.1's set_buildid_dir: $HOME/.debug (it does not read
        // PERF_BUILDID_DIR, it only exports it to the programs it starts).
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
        let buildid_dir = PathBuf::from(home).join(".debug");
        Options {
            input,
            symfs: None,
            kallsyms: None,
            no_inline: false,
            // perf script's `scripting_max_stack` default: PERF_MAX_STACK_DEPTH.
            max_stack: 127,
            buildid_dir,
            verbose: false,
            quiet: false,
        }
    }
}

/// Reads the whole input and feeds every sample, in perf's order, to `sink`.
pub fn run(opts: &Options, sink: &mut dyn SampleSink) -> Result<()> {
    let data = PerfData::open(&opts.input)?;
    let mut symbolizer = Symbolizer::new(SymbolizeOptions {
        symfs: opts.symfs.clone(),
        kallsyms: opts.kallsyms.clone(),
        buildid_dir: opts.buildid_dir.clone(),
    });
    symbolizer.set_header_build_ids(
        data.build_ids
            .iter()
            .map(|e| (e.filename.clone(), e.build_id.clone()))
            .collect(),
    );
    let mut state = State {
        machine: Machine::new(),
        symbols: SymbolTable::new(symbolizer),
        formats: None,
        by_id: FxHashMap::default(),
        frames: Vec::new(),
        unwinding: None,
        user_ips: Vec::new(),
        no_inline: opts.no_inline,
        tracing: None,
        trace: Vec::new(),
        pipe_mode: data.pipe_mode,
        report: opts.verbose.then(SymbolReport::default),
        max_stack: opts.max_stack,
        sink,
    };
    let mut data = data;
    let mut queue: OrderedQueue<Record> = OrderedQueue::new();
    // A pipe has no total to show progress against.
    let total = (opts.input.as_os_str() != "-")
        .then(|| std::fs::metadata(&opts.input).map(|m| m.len()).ok())
        .flatten();
    let progress = Progress::new(total.unwrap_or(0), opts.quiet || total.is_none());
    let result = read_all(&mut data, &mut queue, &mut state, &progress);
    progress.finish();
    // Deliver what was read before any error, so the output stays valid.
    let flushed = queue.flush_all(|r| state.deliver(&data, r));
    state.symbols.resolve_deferred();
    if let Some(formats) = &state.formats {
        let names = Names {
            formats,
            machine: &state.machine,
            symbols: &state.symbols,
        };
        state.sink.resolve_deferred(&names);
    }
    // Whatever was rendered is written out even when the input is damaged.
    let finished = state.sink.finish().map_err(Error::Output);
    if let Some(report) = &state.report {
        eprint!("{}", report.render(&state.machine, &state.symbols));
    }
    result?;
    flushed?;
    finished
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
                queue.flush_round(|r| state.deliver(data, r))?;
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
    formats: Option<Formats>,
    by_id: FxHashMap<u64, usize>,
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
        let Some(arch) = Arch::from_uname(data.arch.as_deref()) else {
            return Err(Error::Usage(format!(
                "recordings made on {} are not supported (x86_64 and aarch64 only)",
                data.arch.as_deref().unwrap_or("?")
            )));
        };
        self.unwinding = Some(Unwinding::new(arch));
        let formats = Formats::new(&data.attrs)?;
        // Inline lookups run on a second thread when the sink can wait for
        // them: DWARF samples, inline frames on, every event of the shape
        // the sink folds without rendering text.
        let dwarf = data
            .attrs
            .iter()
            .any(|a| a.has(reader::attrs::SAMPLE_STACK_USER));
        let default_shape = formats.events.iter().all(|e| e.has_default_shape());
        if dwarf && !self.no_inline && default_shape && self.sink.takes_pending_frames() {
            self.symbols.defer_inlines();
        }
        self.formats = Some(formats);
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
        let bytes = data.payload(&rec.payload);
        let base = rec.offset + 8;
        match rec.type_ {
            reader::RECORD_SAMPLE => self.sample(data, &rec, bytes)?,
            reader::RECORD_MMAP | reader::RECORD_MMAP2 => {
                let m =
                    MmapRecord::parse(bytes, rec.misc, rec.type_ == reader::RECORD_MMAP2, base)?;
                self.machine.mmap(&m);
                for short in self.machine.new_modules.drain(..) {
                    let short = String::from_utf8_lossy(&short);
                    self.symbols.symbolizer.add_kernel_module(&short);
                }
                if let Some((name, addr)) = &self.machine.kernel_ref_reloc {
                    self.symbols.symbolizer.set_kernel_ref_reloc(name, *addr);
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
            }
            reader::RECORD_FORK => self.machine.fork(&Task::parse(bytes, rec.misc, base)?),
            reader::RECORD_EXIT => self.machine.exit(&Task::parse(bytes, rec.misc, base)?),
            _ => {}
        }
        Ok(())
    }

    fn sample(&mut self, data: &PerfData, rec: &Record, bytes: &[u8]) -> Result<()> {
        let event = self.attr_index(&data.attrs, rec, bytes);
        let attr = &data.attrs[event];
        let s = parse_sample(attr, rec.misc, bytes, rec.offset + 8)?;
        let thread = *self.machine.findnew_thread(s.pid, s.tid);
        let ev = &self
            .formats
            .as_ref()
            .expect("prepared before the first record")
            .events[event];
        let (wants_ip, callchain, tracepoint) = (ev.ip, ev.callchain, ev.tracepoint);
        let ip_frame = if wants_ip && !callchain {
            frames::resolve_ip(
                &mut self.machine,
                &mut self.symbols,
                &thread,
                s.cpumode(),
                s.ip,
                true,
            )
        } else {
            Frame::unmapped(s.ip)
        };
        if callchain {
            self.callchain_frames(attr, &thread, &s);
        }
        let trace = self.format_tracepoint(tracepoint, &s);
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
                tid: s.tid,
                cpu: s.cpu,
                time: s.time,
                period: s.period,
            },
            ip_frame,
            frames: if callchain { &self.frames } else { &[] },
            trace: trace.then_some(self.trace.as_slice()),
        };
        let names = Names {
            formats: self.formats.as_ref().expect("prepared"),
            machine: &self.machine,
            symbols: &self.symbols,
        };
        self.sink.sample(&view, &names).map_err(Error::Output)
    }

    /// The frames of a sample's callchain in `self.frames`: the recorded
    /// chain, then arm64's leaf caller (`-g`) or the DWARF-unwound user
    /// frames (`--call-graph dwarf`).
    fn callchain_frames(&mut self, attr: &Attr, thread: &Thread, s: &sample::Sample) {
        frames::resolve_callchain(
            &mut self.machine,
            &mut self.symbols,
            thread,
            s,
            self.max_stack,
            &mut self.frames,
        );
        if !attr.has(reader::attrs::SAMPLE_REGS_USER) {
            return;
        }
        let unwinding = self.unwinding.as_mut().expect("prepared");
        if !attr.has(reader::attrs::SAMPLE_STACK_USER) {
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
            thread,
            &self.user_ips,
            !self.no_inline,
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

/// The symbolizer locates the files unwinding reads (perf opens the same
/// data file and symbol source for both).
impl FileLocator for SymbolTable {
    fn unwind_sources(&mut self, machine: &Machine, dso: DsoId) -> Option<UnwindSources> {
        let id = self.dso_id(machine, dso);
        let data = self.symbolizer.data_file(id)?;
        let symsrc = self.symbolizer.symsrc_file(id).map(Path::to_path_buf);
        Some(UnwindSources { data, symsrc })
    }
}

/// perf script's `machine__resolve_kernel_addr`, handed to the trace
/// formatter for `%pS`-style conversions (traceevent stays a leaf module).
impl FuncResolver for Symbolizer {
    fn resolve(&mut self, addr: u64) -> Option<(&str, u64)> {
        self.lookup_kernel(addr).map(|s| (&*s.name, s.start))
    }
}
