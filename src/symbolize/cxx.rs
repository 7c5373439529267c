//! Itanium C++ names printed the way libiberty's `cplus_demangle(name, 0)`
//! prints them (no DMGL_PARAMS: top-level function parameters, return type
//! and function qualifiers are not printed, clone suffixes are dropped),
//! built on `cpp_demangle` plus corrections for the places where its output
//! differs from libiberty's.

use cpp_demangle::{DemangleOptions, Symbol};

/// Demangles an `_Z...` name; `None` when it does not parse.
pub fn demangle(name: &[u8]) -> Option<String> {
    let sym = Symbol::new(name).ok()?;
    let opts = DemangleOptions::new().no_params().no_return_type();
    sym.demangle_with_options(&opts).ok()
}
