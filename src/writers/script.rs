//! The `perf script` writer: each sample's text ([`super::text`]) goes to
//! the output thread ([`super::output`]).

use std::io::{self, Write};

use super::output::Output;
use super::text::{render_sample, FrameTexts};
use super::{Names, SampleSink, SampleView};

/// Writes what `perf script` (perf 6.1, default fields) prints, sample by
/// sample, from a second thread.
pub struct ScriptWriter {
    out: Output,
    texts: FrameTexts,
}

impl ScriptWriter {
    /// A writer of perf script text to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        ScriptWriter {
            out: Output::new(out),
            texts: FrameTexts::default(),
        }
    }
}

impl SampleSink for ScriptWriter {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        render_sample(&mut self.out.buf, &mut self.texts, s, names);
        self.out.maybe_flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
}
