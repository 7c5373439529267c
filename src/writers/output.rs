//! Output written by a second thread: the pipeline renders into one buffer
//! while the previous buffer is being written, so the cost of the write
//! system calls overlaps the rendering. Buffers go out in order, so the bytes
//! are the same as a single-threaded write.

use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Size at which a buffer is handed to the writer thread.
pub const FLUSH_AT: usize = 1 << 18;

pub struct Output {
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    writer: Option<JoinHandle<io::Result<()>>>,
    /// The buffer being filled.
    pub buf: Vec<u8>,
}

impl Output {
    pub fn new(mut out: Box<dyn Write + Send>) -> Output {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty_rx) = channel::<Vec<u8>>();
        let writer = std::thread::Builder::new()
            .name("perfold-writer".into())
            .spawn(move || -> io::Result<()> {
                for mut buf in full_rx {
                    out.write_all(&buf)?;
                    buf.clear();
                    // The pipeline may have finished; a lost spare buffer is fine.
                    let _ = empty_tx.send(buf);
                }
                out.flush()
            })
            .expect("spawn the output thread");
        Output {
            full: Some(full_tx),
            empty: empty_rx,
            writer: Some(writer),
            buf: Vec::with_capacity(FLUSH_AT + (1 << 16)),
        }
    }

    /// Hands the buffer to the writer once it is large enough.
    pub fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let spare = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(FLUSH_AT + (1 << 16)));
        let full = std::mem::replace(&mut self.buf, spare);
        let sent = self.full.as_ref().map(|tx| tx.send(full).is_ok());
        if sent != Some(true) {
            // The writer stopped: its error is the one to report.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| io::ErrorKind::BrokenPipe.into()));
        }
        Ok(())
    }

    fn join(&mut self) -> io::Result<()> {
        self.full = None;
        match self.writer.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the output thread panicked"))),
            None => Ok(()),
        }
    }

    /// Writes what is left and waits for the writer.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() && self.writer.is_some() {
            self.send()?;
        }
        self.join()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.join();
    }
}
