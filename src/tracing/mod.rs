//! Tracepoint payloads as `perf script` prints them: the trace field
//! (`event_format__fprintf` → `tep_print_event(.., "%s", TEP_PRINT_INFO)`)
//! formatted from the event formats stored in the perf.data file.
//!
//! Debian's perf 6.1 builds the libtraceevent of its own source tree
//! (tools/lib/traceevent) into the binary, so that is the code reproduced
//! here. It calls `tep_load_plugins`, but the build defines no system
//! plugin directory: only `$TRACEEVENT_PLUGIN_DIR` and
//! `~/.local/lib/traceevent/plugins/` are searched, and Debian's
//! `/usr/lib/traceevent/plugins` is never loaded. So no plugin output (e.g.
//! plugin_sched_switch's) is reproduced and no print helpers beyond the
//! built-in ones exist; formats using others print as `[FAILED TO PARSE]`
//! followed by the raw fields, as perf does.
//!
//! `perf script` installs `machine__resolve_kernel_addr` as the function
//! resolver when it opens a file, so `%pS`/`%ps` print kernel symbols: pass
//! a [`FuncResolver`] to [`EventFormat::print_with`] for that. In pipe mode
//! (also a pipe-format file) the tracing data only arrives later, in a
//! fresh `tep_handle` without a resolver, so perf prints the addresses:
//! use [`EventFormat::print`] there.
//!
//! Where perf's output is not reproducible, or perf crashes, this module
//! picks something safe: bytes past the end of a record read as zero (perf
//! reads whatever memory follows); a division by zero gives 0 (SIGFPE); a
//! negative `*` width or precision, which makes libtraceevent call printf
//! without that argument, prints with 0; `__get_dynamic_array(f)` used as a
//! number yields the data's offset (perf: an address in its own memory); a
//! record whose `common_type` names no event prints as the event it was
//! given (perf dereferences NULL). Plugins named by `$TRACEEVENT_PLUGIN_DIR`
//! or found in `~/.local` are not emulated, nor is ftrace's `bprint` event,
//! which perf cannot record.
//!
//! Layout: `read` (the container), `format` (format files),
//! `lexer`, `printargs` and `helpers` (print-fmt arguments), `printfmt` (the format
//! string's conversions), `eval` (argument values), `print` and
//! `pointers` (output), `clib` (strtoull and glibc printf).

mod clib;
mod eval;
mod format;
mod helpers;
mod lexer;
mod pointers;
mod print;
mod printargs;
mod printfmt;
mod read;

use std::collections::HashMap;

pub use format::EventFormat;

/// Kernel symbol lookup for `%pS`-style conversions: perf's
/// `machine__resolve_kernel_addr`, which perf script installs.
pub trait FuncResolver {
    /// The name and start address of the kernel symbol containing `addr`.
    fn resolve(&mut self, addr: u64) -> Option<(&str, u64)>;
}

impl FuncResolver for crate::symbolize::Symbolizer {
    fn resolve(&mut self, addr: u64) -> Option<(&str, u64)> {
        self.lookup_kernel(addr).map(|s| (&*s.name, s.start))
    }
}

/// The parsed tracing data of one perf.data file (libtraceevent's `tep_handle`).
#[derive(Debug)]
pub struct TracingData {
    pub(crate) big_endian: bool,
    /// The kernel's `long` size: the header page's `commit` field size.
    pub(crate) long_size: u32,
    pub(crate) page_size: u32,
    pub(crate) version: String,
    /// Sorted by id, as `add_event` keeps them.
    pub(crate) events: Vec<EventFormat>,
    pub(crate) printk: HashMap<u64, Vec<u8>>,
    /// `common_type` of the lowest-id event: how a record names its event.
    pub(crate) common_type: Option<(i32, i32)>,
    consumed: u64,
}

impl TracingData {
    /// Parses the HEADER_TRACING_DATA feature section (file mode) or the
    /// payload that follows a PERF_RECORD_HEADER_TRACING_DATA record (pipe
    /// mode). `base` is the file offset of `bytes[0]`, for errors.
    pub fn parse(bytes: &[u8], base: u64) -> Result<TracingData, crate::error::Error> {
        read::parse(bytes, base)
    }

    /// How many bytes perf's `trace_report` counts as read: in pipe mode
    /// perf requires this, padded to 8, to equal the record's size.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The tracing data's version string (`0.6` for current perf).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many event formats the tracing data holds.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// All event formats, by id.
    pub fn events(&self) -> impl Iterator<Item = &EventFormat> {
        self.events.iter()
    }

    /// The page size the recording machine had.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The event with this tracepoint id (`perf_event_attr.config`, which
    /// perf passes to `tep_find_event` as an `int`).
    pub fn event(&self, id: u64) -> Option<&EventFormat> {
        self.find(id as i32)
    }

    /// `tep_find_event`: glibc's `bsearch` over the id-sorted events.
    fn find(&self, id: i32) -> Option<&EventFormat> {
        let (mut lo, mut hi) = (0, self.events.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match id.cmp(&self.events[mid].id) {
                std::cmp::Ordering::Less => hi = mid,
                std::cmp::Ordering::Greater => lo = mid + 1,
                std::cmp::Ordering::Equal => return Some(&self.events[mid]),
            }
        }
        None
    }

    /// `tep_find_event_by_record`: the event a record's `common_type` names.
    fn event_of_record(&self, raw: &[u8]) -> Option<&EventFormat> {
        let (off, size) = self.common_type?;
        let ev = self.events.first()?;
        let ctx = eval::Ctx {
            data: raw,
            ev,
            tep: self,
            resolver: None,
        };
        self.find(ctx.read_number(i64::from(off), i64::from(size)) as i32)
    }
}

impl EventFormat {
    /// The event's system (`sched` of `sched:sched_switch`).
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The event's name (`sched_switch`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tracepoint id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Appends what perf 6.1 prints as the trace field of a sample whose
    /// PERF_SAMPLE_RAW bytes are `raw`, with no kernel symbol resolution
    /// (`%pS` prints the address).
    pub fn print(&self, tracing: &TracingData, cpu: u32, raw: &[u8], out: &mut Vec<u8>) {
        self.print_with(tracing, cpu, raw, None, out);
    }

    /// [`Self::print`] with perf script's kernel symbol resolver.
    ///
    /// Like libtraceevent, the event actually printed is the one the
    /// record's `common_type` names; when the tracing data has no such
    /// event (perf would crash), `self` is used.
    pub fn print_with(
        &self,
        tracing: &TracingData,
        _cpu: u32,
        raw: &[u8],
        resolver: Option<&mut dyn FuncResolver>,
        out: &mut Vec<u8>,
    ) {
        let ev = tracing.event_of_record(raw).unwrap_or(self);
        let mut ctx = eval::Ctx {
            data: raw,
            ev,
            tep: tracing,
            resolver,
        };
        print::print_info(&mut ctx, out);
    }
}

#[cfg(test)]
mod tests;
