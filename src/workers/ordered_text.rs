//! perf script text rendered by several replicas ([`super::replicas`]) and
//! written in record order.
//!
//! Each replica renders the samples it owns with the default writer's code
//! ([`crate::writers::text::render_sample`]) into chunks, marking where each
//! record's text ends; a chunk also says up to which record the replica has
//! rendered everything. The writing thread takes the text of the lowest
//! record any replica has ready once every other replica has gone past it,
//! so the bytes are those of one pipeline.

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use super::replicas::{records_per_turn, run_split, Share};
use crate::error::{Error, Result};
use crate::writers::text::{render_sample, FrameTexts};
use crate::writers::{Names, SampleSink, SampleView};

/// Text per chunk before it is sent (a chunk also ends with its replica's
/// turn of records, so that most chunks are written whole).
const CHUNK_BYTES: usize = 1 << 20;
/// The output's buffer: shorter pieces of text are gathered in it, longer
/// ones written as they are (`BufWriter`).
const OUT_BUFFER: usize = 1 << 18;
/// Records a replica delivers before it sends what it has, even little:
/// the writer waits for every replica to pass a record.
const CHUNK_RECORDS: u64 = 4096;
/// Chunks in flight per replica.
const DEPTH: usize = 4;

/// Renders perf script's default text of `count` replicas of `run` and
/// writes it to `out` in record order.
pub fn write_split(
    count: usize,
    out: Box<dyn Write + Send>,
    run: impl Fn(Share, &mut dyn SampleSink) -> Result<()> + Sync,
) -> Result<()> {
    let mut lanes = Vec::with_capacity(count);
    let mut shards = Vec::with_capacity(count);
    for _ in 0..count {
        let (tx, rx) = sync_channel::<Chunk>(DEPTH);
        let (spare_tx, spare_rx) = channel::<Chunk>();
        lanes.push(Lane::new(rx, spare_tx));
        shards.push(TextShard::new(tx, spare_rx));
    }
    std::thread::scope(|scope| {
        let replicas = scope.spawn(|| run_split(shards, &run).1);
        let mut out = BufWriter::with_capacity(OUT_BUFFER, out);
        let written = write_in_order(&mut lanes, &mut out).and_then(|_| out.flush());
        // A failed write leaves the replicas blocked on full channels.
        drop(lanes);
        let replicas = replicas
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written.map_err(Error::Output)?;
        replicas
    })
}

/// A part of one replica's text.
#[derive(Default)]
struct Chunk {
    text: Vec<u8>,
    /// The record of each rendered sample and where its text ends.
    marks: Vec<(u64, usize)>,
    /// Every record numbered below this is rendered.
    covered: u64,
}

/// The sink of one replica: its samples' text, in chunks.
struct TextShard {
    tx: Option<SyncSender<Chunk>>,
    spare: Receiver<Chunk>,
    chunk: Chunk,
    texts: FrameTexts,
    /// The number of the record being delivered.
    record: u64,
    /// The record the current chunk started at.
    chunk_start: u64,
    /// Records per replica turn (a chunk ends with a turn).
    turn: u64,
}

impl TextShard {
    fn new(tx: SyncSender<Chunk>, spare: Receiver<Chunk>) -> TextShard {
        TextShard {
            tx: Some(tx),
            spare,
            chunk: Chunk::default(),
            texts: FrameTexts::default(),
            record: 0,
            chunk_start: 0,
            turn: records_per_turn(),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let next = self.spare.try_recv().unwrap_or_default();
        let mut full = std::mem::replace(&mut self.chunk, next);
        full.covered = self.record;
        self.chunk_start = self.record;
        if self.tx.as_ref().is_none_or(|tx| tx.send(full).is_err()) {
            self.tx = None;
            return Err(io::Error::other("the output stopped"));
        }
        Ok(())
    }
}

impl SampleSink for TextShard {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        render_sample(&mut self.chunk.text, &mut self.texts, s, names);
        let end = self.chunk.text.len();
        self.chunk.marks.push((self.record, end));
        if end >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(())
    }

    fn record_done(&mut self) -> io::Result<()> {
        self.record += 1;
        let turn_ends = self.record % self.turn == 0 && !self.chunk.marks.is_empty();
        if turn_ends || self.record - self.chunk_start >= CHUNK_RECORDS {
            self.send()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.tx.is_none() {
            return Ok(());
        }
        self.record = u64::MAX;
        let sent = self.send();
        self.tx = None;
        sent
    }
}

/// The writer's view of one replica.
struct Lane {
    rx: Receiver<Chunk>,
    spare: Sender<Chunk>,
    queue: VecDeque<Chunk>,
    /// The next mark of the front chunk.
    next: usize,
    /// Every record numbered below this has been received.
    covered: u64,
}

impl Lane {
    fn new(rx: Receiver<Chunk>, spare: Sender<Chunk>) -> Lane {
        Lane {
            rx,
            spare,
            queue: VecDeque::new(),
            next: 0,
            covered: 0,
        }
    }

    /// Waits for the replica's next chunk (none: it has ended).
    fn receive(&mut self) {
        match self.rx.recv() {
            Ok(chunk) => {
                self.covered = chunk.covered;
                self.queue.push_back(chunk);
            }
            Err(_) => self.covered = u64::MAX,
        }
    }

    /// The record of the next text this replica has ready.
    fn head(&mut self) -> Option<u64> {
        loop {
            let chunk = self.queue.front()?;
            if let Some(&(record, _)) = chunk.marks.get(self.next) {
                return Some(record);
            }
            let mut done = self.queue.pop_front().expect("a front chunk");
            done.text.clear();
            done.marks.clear();
            let _ = self.spare.send(done);
            self.next = 0;
        }
    }

    /// Writes the texts of the front chunk's records below `bound`.
    fn write_below(&mut self, bound: u64, out: &mut dyn Write) -> io::Result<()> {
        let chunk = self.queue.front().expect("a front chunk");
        let start = match self.next {
            0 => 0,
            n => chunk.marks[n - 1].1,
        };
        let mut end = start;
        while let Some(&(record, at)) = chunk.marks.get(self.next) {
            if record >= bound {
                break;
            }
            end = at;
            self.next += 1;
        }
        out.write_all(&chunk.text[start..end])
    }
}

/// Writes every replica's text in record order.
fn write_in_order(lanes: &mut [Lane], out: &mut dyn Write) -> io::Result<()> {
    loop {
        // The replica with the lowest record ready.
        let mut best: Option<(u64, usize)> = None;
        for (i, lane) in lanes.iter_mut().enumerate() {
            if let Some(record) = lane.head() {
                if best.is_none_or(|(r, _)| record < r) {
                    best = Some((record, i));
                }
            }
        }
        let Some((record, b)) = best else {
            // Nothing ready: wait for the replica that is furthest behind.
            match lanes
                .iter_mut()
                .filter(|l| l.covered != u64::MAX)
                .min_by_key(|l| l.covered)
            {
                Some(lane) => lane.receive(),
                None => return Ok(()),
            }
            continue;
        };
        // Another replica that has not gone past it may still send a lower
        // record; else write up to the next record another one has.
        let mut bound = u64::MAX;
        let mut behind = None;
        for (i, lane) in lanes.iter_mut().enumerate() {
            if i == b {
                continue;
            }
            if lane.covered <= record {
                behind = Some(i);
                break;
            }
            bound = bound.min(lane.covered);
            if let Some(r) = lane.head() {
                bound = bound.min(r);
            }
        }
        match behind {
            Some(i) => lanes[i].receive(),
            None => lanes[b].write_below(bound, out)?,
        }
    }
}
