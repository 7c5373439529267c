//! The flame graph: folded stacks drawn by the `inferno` crate, with
//! `inferno-flamegraph`'s default options or the ones its flags give.
//!
//! inferno's colour generator is thread-local and never reset, so the SVG
//! is drawn on a fresh thread: every run gets the colours the
//! `inferno-flamegraph` command gets in a fresh process.

use std::io::{self, Write};

/// Draws folded stacks (`stack`, count), sorted by stack, as an SVG into
/// `out`, with inferno-flamegraph's default options.
pub fn draw(stacks: Vec<(String, u64)>, out: &mut (dyn Write + Send)) -> io::Result<()> {
    let lines: Vec<String> = stacks
        .into_iter()
        .map(|(stack, count)| format!("{stack} {count}"))
        .collect();
    draw_lines(&mut inferno::flamegraph::Options::default(), &lines, out)
}

/// Draws `lines` (folded `stack count` lines, or the `stack before after`
/// lines of a differential graph) as inferno-flamegraph does with `options`.
pub fn draw_lines(
    options: &mut inferno::flamegraph::Options<'_>,
    lines: &[String],
    out: &mut (dyn Write + Send),
) -> io::Result<()> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut w = io::BufWriter::with_capacity(1 << 16, &mut *out);
                inferno::flamegraph::from_lines(options, lines.iter().map(|s| s.as_str()), &mut w)?;
                w.flush()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the flame graph renderer panicked")))
    })
}
