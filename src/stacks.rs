//! Folded stacks of a recording, with the options of
//! `inferno-collapse-perf`.
//!
//! Two ways to fold:
//!
//! - [`Collapse::Fast`]: perfold's own folder ([`crate::writers::folded`]),
//!   which restates inferno's default rules and only knows `--event-filter`;
//! - [`Collapse::Inferno`]: the samples rendered as `perf script` text and
//!   folded by inferno's own collapser (`inferno::collapse::perf::Folder`)
//!   with the flags asked for (`--pid`, `--tid`, `--addrs`, `--jit`,
//!   `--kernel`, `--skip-after`), so those flags change the output exactly as
//!   they change `perf script | inferno-collapse-perf FLAGS`. The text goes to
//!   the collapser through a channel, a chunk at a time, never whole.
//!
//! Drawing is [`crate::writers::flamegraph::draw_lines`].

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use inferno::collapse::Collapse as _;

use crate::error::Error;
use crate::pipeline::{self, Options};
use crate::writers::folded::{merge_sorted, write_lines, Folder};
use crate::writers::script::ScriptWriter;
use crate::writers::{Names, SampleSink, SampleView};

/// How the samples are folded.
#[derive(Debug, Clone)]
pub enum Collapse {
    /// perfold's folder: inferno's default rules, with this event filter.
    Fast { event_filter: Option<String> },
    /// inferno's collapser, on perf script text, with these options.
    Inferno(inferno::collapse::perf::Options),
}

/// Folds every sample of `opts.input` and writes the folded lines
/// (`stack count\n`, sorted) to `out`.
pub fn fold_to(opts: &Options, collapse: &Collapse, out: &mut dyn Write) -> Result<(), Error> {
    match collapse {
        Collapse::Fast { event_filter } => {
            let lines = fold_fast(opts, event_filter.clone())?;
            write_lines(&lines, out).map_err(Error::Output)
        }
        Collapse::Inferno(options) => fold_with_inferno(opts, options, out),
    }
}

/// The folded lines (`stack count`) of `opts.input`, sorted by stack.
pub fn folded_lines(opts: &Options, collapse: &Collapse) -> Result<Vec<String>, Error> {
    match collapse {
        Collapse::Fast { event_filter } => Ok(fold_fast(opts, event_filter.clone())?
            .into_iter()
            .map(|(stack, count)| format!("{stack} {count}"))
            .collect()),
        Collapse::Inferno(options) => {
            let mut bytes = Vec::new();
            fold_with_inferno(opts, options, &mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect())
        }
    }
}

/// A sink that only collects samples in a [`Folder`]; at the end, its
/// sorted lines.
struct Collect {
    folder: Option<Folder>,
    lines: Vec<(String, u64)>,
}

impl Collect {
    fn new(event_filter: Option<String>) -> Collect {
        Collect {
            folder: Some(Folder::new(event_filter)),
            lines: Vec::new(),
        }
    }
}

impl SampleSink for Collect {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        if let Some(f) = &mut self.folder {
            f.add(s, names);
        }
        Ok(())
    }

    fn takes_pending_frames(&self) -> bool {
        true
    }

    fn resolve_deferred(&mut self, names: &Names) {
        if let Some(f) = &mut self.folder {
            f.resolve_deferred(names);
        }
    }

    /// Sorts the lines here, on the pipeline's thread (a replica's own
    /// with `-j`).
    fn finish(&mut self) -> io::Result<()> {
        if let Some(f) = self.folder.take() {
            self.lines = f.into_lines();
        }
        Ok(())
    }
}

/// The sorted folded lines of `opts.input`.
fn fold_fast(opts: &Options, event_filter: Option<String>) -> Result<Vec<(String, u64)>, Error> {
    let split = pipeline::SplitOutput::Folded {
        event_filter: event_filter.is_some(),
    };
    if opts.jobs > 1 && pipeline::splits(opts, split) {
        // Each replica folds its share; inferno counts each sample on its
        // own, so the shares add up to the whole.
        let sinks = (0..opts.jobs)
            .map(|_| Collect::new(event_filter.clone()))
            .collect();
        let (parts, result) = crate::workers::run_split(sinks, |share, sink| {
            pipeline::run_share(opts, share, sink)
        });
        result?;
        return Ok(merge_sorted(parts.into_iter().map(|c| c.lines).collect()));
    }
    // One pipeline folds on its own thread: moving the folding to a second
    // thread cost more than it saved (docs/performance.md).
    let mut sink = Collect::new(event_filter);
    pipeline::run_in_place(opts, &mut sink)?;
    Ok(sink.lines)
}

/// perf script text of `opts.input`, folded by inferno's collapser into `out`.
fn fold_with_inferno(
    opts: &Options,
    options: &inferno::collapse::perf::Options,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (tx, rx) = sync_channel::<Vec<u8>>(4);
    let mut options = options.clone();
    options.nthreads = 1;
    std::thread::scope(|scope| {
        let collapser = scope.spawn(move || -> io::Result<Vec<u8>> {
            let mut folded = Vec::new();
            let mut folder = inferno::collapse::perf::Folder::from(options);
            folder.collapse(ChannelReader::new(rx), &mut folded)?;
            Ok(folded)
        });
        let mut script = ScriptWriter::new(Box::new(ChannelWriter { tx: Some(tx) }));
        let ran = pipeline::run(opts, &mut script);
        drop(script);
        let folded = collapser
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("inferno's collapser panicked")));
        // A collapser that failed closed the channel: its error comes first.
        let folded = folded.map_err(Error::Output)?;
        ran?;
        out.write_all(&folded)
            .and_then(|_| out.flush())
            .map_err(Error::Output)
    })
}

/// The writing end of the text channel.
struct ChannelWriter {
    tx: Option<SyncSender<Vec<u8>>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let tx = self.tx.as_ref().ok_or(io::ErrorKind::BrokenPipe)?;
        tx.send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: the chunks in order, then end of file.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                // Every writer is gone: end of the text.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, amt: usize) {
        self.at += amt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_carries_chunks_in_order_then_ends() {
        let (tx, rx) = sync_channel(1);
        let writer = std::thread::spawn(move || {
            let mut w = ChannelWriter { tx: Some(tx) };
            w.write_all(b"a b\nc").unwrap();
            w.write_all(b" d\n").unwrap();
        });
        let mut text = String::new();
        ChannelReader::new(rx).read_to_string(&mut text).unwrap();
        writer.join().unwrap();
        assert_eq!(text, "a b\nc d\n");
    }
}
