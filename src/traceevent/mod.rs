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
//! a [`FuncResolver`] to [`Tracepoint::print_with`] for that. In pipe mode
//! (also a pipe-format file) the tracing data only arrives later, in a
//! fresh `tep_handle` without a resolver, so perf prints the addresses:
//! use [`Tracepoint::print`] there.
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
//! The module is a leaf: it needs nothing from the rest of the crate but
//! its error type, and the pipeline implements [`FuncResolver`] for the
//! symbolizer.
//!
//! Layout, with no circle between files (an arrow points at what a file
//! uses): `read` (the container) → `format` (format files) → `printargs`
//! (print-fmt arguments, with its `helpers`) and `printfmt` (the format
//! string's conversions); `print` (the trace field) → `pointers` (`%p`
//! extensions) → `eval` (argument values) → `tracing_data` (the parsed
//! `tep_handle`) → `event` (the parsed event: fields, argument tree,
//! conversions), which they all read; `clib` (strtoull and glibc printf)
//! and `lexer` are used below all of them.

mod clib;
mod eval;
mod event;
mod format;
mod lexer;
mod pointers;
mod print;
mod printargs;
mod printfmt;
mod read;
mod tracing_data;

pub use eval::FuncResolver;
pub use event::Tracepoint;
pub use tracing_data::TracingData;

impl TracingData {
    /// Parses the HEADER_TRACING_DATA feature section (file mode) or the
    /// payload that follows a PERF_RECORD_HEADER_TRACING_DATA record (pipe
    /// mode). `base` is the file offset of `bytes[0]`, for errors.
    pub fn parse(bytes: &[u8], base: u64) -> Result<TracingData, crate::error::Error> {
        read::parse(bytes, base)
    }

    /// `tep_find_event_by_record`: the event a record's `common_type` names.
    fn event_of_record(&self, raw: &[u8]) -> Option<&Tracepoint> {
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

impl Tracepoint {
    /// The event's system (`sched` of `sched:sched_switch`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The event's name (`sched_switch`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tracepoint id.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Appends what perf 6.1 prints as the trace field of a sample whose
    /// PERF_SAMPLE_RAW bytes are `raw`, with no kernel symbol resolution
    /// (`%pS` prints the address).
    #[cfg(any(test, feature = "fuzzing"))]
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
