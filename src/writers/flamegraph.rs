//! The flame graph: folded stacks drawn by the `inferno` crate with
//! `inferno-flamegraph`'s default options.
//!
//! inferno's colour generator is thread-local and never reset, so the SVG
//! is drawn on a fresh thread: every run gets the colours the
//! `inferno-flamegraph` command gets in a fresh process.

use std::io::{self, Write};

/// Draws folded stacks (`stack`, count), sorted by stack, as an SVG into `out`.
pub fn draw(stacks: Vec<(String, u64)>, out: &mut (dyn Write + Send)) -> io::Result<()> {
    let lines: Vec<String> = stacks
        .into_iter()
        .map(|(stack, count)| format!("{stack} {count}"))
        .collect();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut options = inferno::flamegraph::Options::default();
                let mut w = io::BufWriter::with_capacity(1 << 16, &mut *out);
                inferno::flamegraph::from_lines(
                    &mut options,
                    lines.iter().map(|s| s.as_str()),
                    &mut w,
                )?;
                w.flush()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the flame graph renderer panicked")))
    })
}
