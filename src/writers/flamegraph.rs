//! The flame graph: folded stacks drawn by the `inferno` crate with
//! `inferno-flamegraph`'s default options.
//!
//! inferno's colour generator is thread-local and never reset, so the SVG
//! is drawn on a fresh thread: every run gets the colours the
//! `inferno-flamegraph` command gets in a fresh process.

use std::io::{self, Write};

use super::folded::Folder;
use super::{Names, SampleSink, SampleView};

/// Draws the folded stacks of `folder` as an SVG into `out`.
pub fn draw(folder: Folder, out: &mut (dyn Write + Send)) -> io::Result<()> {
    let lines: Vec<String> = folder
        .into_lines()
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

/// A folder that draws its stacks when the input ends.
pub struct FlamegraphWriter<W: Write + Send> {
    folder: Option<Folder>,
    out: W,
}

impl<W: Write + Send> FlamegraphWriter<W> {
    pub fn new(folder: Folder, out: W) -> Self {
        FlamegraphWriter {
            folder: Some(folder),
            out,
        }
    }
}

impl<W: Write + Send> SampleSink for FlamegraphWriter<W> {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        if let Some(f) = &mut self.folder {
            f.add(s, names);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.folder.take() {
            Some(f) => draw(f, &mut self.out),
            None => Ok(()),
        }
    }
}
