//! Symbol-name demangling as perf prints it (libiberty-compatible C++ and
//! Rust, perf's Rust pass, OCaml, Java) on arbitrary names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfold::symbolize::{cplus_demangle, demangle_sym};

fuzz_target!(|data: &[u8]| {
    let _ = cplus_demangle(data);
    let _ = demangle_sym(data);
});
