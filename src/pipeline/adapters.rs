//! The symbolizer in the roles other stages ask of it: the file locator of
//! unwinding and the kernel-address resolver of the tracepoint formatter
//! (so that unwind and traceevent do not depend on symbolize).

use std::path::Path;

use crate::frames::SymbolTable;
use crate::mappings::{DsoId, Machine};
use crate::symbolize::Symbolizer;
use crate::traceevent::FuncResolver;
use crate::unwind::{FileLocator, UnwindSources};

/// The symbolizer locates the files unwinding reads (perf opens the same
/// data file and symbol source for both).
impl FileLocator for SymbolTable {
    fn unwind_sources(&mut self, machine: &Machine, dso: DsoId) -> Option<UnwindSources> {
        let id = self.dso_id(machine, dso);
        let data = self.symbolizer.data_file(id)?;
        let symsrc = self.symbolizer.symsrc_file(id).map(Path::to_path_buf);
        Some(UnwindSources { data, symsrc })
    }

    fn own_vdso_readable(&self) -> bool {
        self.symbolizer.own_vdso_readable()
    }
}

/// perf script's `machine__resolve_kernel_addr`, handed to the trace
/// formatter for `%pS`-style conversions (traceevent stays a leaf module).
impl FuncResolver for Symbolizer {
    fn resolve(&mut self, addr: u64) -> Option<(&str, u64)> {
        self.lookup_kernel(addr).map(|s| (&*s.name, s.start))
    }
}
