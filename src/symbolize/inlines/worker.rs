//! Inline lookups on a second thread, for outputs that can wait for them:
//! folded stacks and flame graphs take every answer at the end, the text
//! of `perf script` behind the sink thread takes them as they come
//! (`crate::workers`).
//!
//! Each DSO has one resolver, and every resolver sees its addresses in
//! perf's order (its answers can depend on that order, as one addr2line
//! process per DSO does). A resolver is opened and its DWARF state read on
//! a thread of its own ([`InlineResolver::prepare`]: for a debug file seen
//! for the first time, inflating its sections and reading its unit list),
//! and the queries of that DSO wait for it while the worker answers the
//! other DSOs'. Answers can therefore leave the worker out of query order:
//! each carries its query's number, and [`InlineWorker`] hands them out in
//! query order.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

use rustc_hash::FxHashMap;

use super::{InlineRecord, InlineResolver};

enum Job {
    /// Opens the file of resolver `key` (once per DSO).
    Open(u32, PathBuf),
    /// The records of addresses in resolver files: (key, address) each.
    Queries(Vec<(u32, u64)>),
    /// Resolver `key`, opened and prepared on its thread (`Ok(None)`: not a
    /// readable ELF file; `Err`: the thread panicked).
    Ready(u32, std::thread::Result<Option<Box<InlineResolver>>>),
    /// No more opens or queries: the worker ends once the resolvers being
    /// prepared are in and their queries answered.
    End,
}

/// Queries sent together: a send may wake the worker (a system call), so
/// they go in groups (see [`InlineWorker::flush`]).
const QUERIES_PER_SEND: usize = 64;

type Answer = Box<[InlineRecord]>;

/// The worker thread, the queue feeding it and the answers coming back.
pub struct InlineWorker {
    tx: Option<Sender<Job>>,
    /// Queries not sent yet.
    queued: Vec<(u32, u64)>,
    answers: Receiver<(u64, Answer)>,
    /// Answers received ahead of their turn: `held[i]` answers query
    /// `next + i`.
    held: VecDeque<Option<Answer>>,
    /// The number of the next answer to hand out.
    next: u64,
    /// Queries queued or sent whose answers were not taken yet.
    unanswered: usize,
    handle: Option<JoinHandle<()>>,
}

impl Default for InlineWorker {
    fn default() -> Self {
        Self::start()
    }
}

/// A resolver of the worker: being prepared (with the queries that wait
/// for it: number and address), or ready (`None`: the file could not be
/// read).
enum Slot {
    Preparing(Vec<(u64, u64)>),
    Ready(Option<Box<InlineResolver>>),
}

fn records(r: &mut Option<Box<InlineResolver>>, addr: u64) -> Answer {
    match r {
        Some(r) => r.records(addr).into(),
        None => Box::default(),
    }
}

/// Opens and prepares resolver `key` on a thread of its own, which sends it
/// back as a job. `false` if no thread could be started.
fn prepare_on_thread(key: u32, path: &std::path::Path, jobs: Sender<Job>) -> bool {
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("perfold-dwarf".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| {
                InlineResolver::open(&path).map(|mut r| {
                    r.prepare();
                    Box::new(r)
                })
            });
            // The worker keeps its receiver until every preparing thread
            // has sent.
            let _ = jobs.send(Job::Ready(key, r));
        })
        .is_ok()
}

/// Resolvers prepared at once (each may inflate a debug file's sections on
/// threads of its own); later opens wait their turn, in order.
const PREPARING_AT_ONCE: usize = 2;

/// The resolvers waiting for a preparing thread, and the threads running.
struct Preparing {
    /// Sends to the worker's own queue, for the threads; dropped once the
    /// owner has ended and nothing is left to start, so that the queue
    /// closes when the last thread has sent its resolver.
    own_tx: Option<Sender<Job>>,
    running: usize,
    waiting: VecDeque<(u32, PathBuf)>,
    ended: bool,
}

impl Preparing {
    /// The next open that may start now.
    fn next(&mut self) -> Option<(u32, PathBuf)> {
        if self.running >= PREPARING_AT_ONCE {
            return None;
        }
        self.waiting.pop_front()
    }

    /// Starts a thread preparing `key`; `false` if none could be started.
    fn start(&mut self, key: u32, path: &std::path::Path) -> bool {
        let started = self
            .own_tx
            .as_ref()
            .is_some_and(|tx| prepare_on_thread(key, path, tx.clone()));
        self.running += usize::from(started);
        started
    }
}

/// Installs resolver `key` and answers the queries that waited for it.
fn install(
    slots: &mut FxHashMap<u32, Slot>,
    key: u32,
    mut r: Option<Box<InlineResolver>>,
    answers: &Sender<(u64, Answer)>,
) {
    if let Some(Slot::Preparing(waiting)) = slots.remove(&key) {
        for (n, addr) in waiting {
            let _ = answers.send((n, records(&mut r, addr)));
        }
    }
    slots.insert(key, Slot::Ready(r));
}

/// The worker thread's loop. `own_tx` sends to `jobs`, for the preparing
/// threads; the loop ends after [`Job::End`] once every resolver is in.
fn serve(jobs: Receiver<Job>, own_tx: Sender<Job>, answers: Sender<(u64, Answer)>) {
    let mut preparing = Preparing {
        own_tx: Some(own_tx),
        running: 0,
        waiting: VecDeque::new(),
        ended: false,
    };
    let mut slots: FxHashMap<u32, Slot> = FxHashMap::default();
    let mut seq = 0u64;
    // The receiver goes only with the worker's owner: sends are not checked.
    for job in jobs.iter() {
        match job {
            Job::Open(key, path) => {
                slots.insert(key, Slot::Preparing(Vec::new()));
                preparing.waiting.push_back((key, path));
            }
            Job::Queries(queries) => {
                for (key, addr) in queries {
                    let n = seq;
                    seq += 1;
                    match slots.get_mut(&key) {
                        Some(Slot::Ready(r)) => {
                            let _ = answers.send((n, records(r, addr)));
                        }
                        Some(Slot::Preparing(waiting)) => waiting.push((n, addr)),
                        None => {
                            let _ = answers.send((n, Box::default()));
                        }
                    }
                }
            }
            Job::Ready(key, prepared) => {
                preparing.running -= 1;
                let r = prepared.unwrap_or_else(|e| std::panic::resume_unwind(e));
                install(&mut slots, key, r, &answers);
            }
            Job::End => preparing.ended = true,
        }
        while let Some((key, path)) = preparing.next() {
            // Without a thread the resolver is prepared here.
            if !preparing.start(key, &path) {
                let r = InlineResolver::open(&path).map(Box::new);
                install(&mut slots, key, r, &answers);
            }
        }
        if preparing.ended && preparing.waiting.is_empty() {
            preparing.own_tx = None;
        }
    }
}

impl InlineWorker {
    pub fn start() -> InlineWorker {
        let (tx, rx) = channel::<Job>();
        let (answer_tx, answers) = channel::<(u64, Answer)>();
        let jobs_tx = tx.clone();
        let handle = std::thread::Builder::new()
            .name("perfold-inlines".into())
            .spawn(move || serve(rx, jobs_tx, answer_tx))
            .expect("spawning the inline-lookup thread");
        InlineWorker {
            tx: Some(tx),
            queued: Vec::new(),
            answers,
            held: VecDeque::new(),
            next: 0,
            unanswered: 0,
            handle: Some(handle),
        }
    }

    /// Opens `path` as resolver `key`; later queries of `key` use it.
    pub fn open(&mut self, key: u32, path: PathBuf) {
        self.flush();
        if let Some(tx) = &self.tx {
            // A send fails only if the worker died; `finish` reports that.
            let _ = tx.send(Job::Open(key, path));
        }
    }

    /// Queues a query; its answer comes after those of the queries before.
    pub fn query(&mut self, key: u32, addr: u64) {
        self.queued.push((key, addr));
        self.unanswered += 1;
        if self.queued.len() >= QUERIES_PER_SEND {
            self.flush();
        }
    }

    /// Sends the queries not sent yet.
    pub fn flush(&mut self) {
        if self.queued.is_empty() {
            return;
        }
        let queries = std::mem::take(&mut self.queued);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Queries(queries));
        }
    }

    /// Files an answer that came in; `false` if it is out of range (a
    /// worker bug: it then counts as dead).
    fn hold(&mut self, (n, answer): (u64, Answer)) -> bool {
        let Some(i) = n.checked_sub(self.next).and_then(|i| usize::try_from(i).ok()) else {
            return false;
        };
        if i >= self.held.len() {
            self.held.resize_with(i + 1, || None);
        }
        self.held[i] = Some(answer);
        true
    }

    /// The answer whose turn it is, if it came in.
    fn take_next(&mut self) -> Option<Answer> {
        let answer = self.held.front_mut()?.take()?;
        self.held.pop_front();
        self.next += 1;
        self.unanswered -= 1;
        Some(answer)
    }

    /// The answer whose turn it is, taking what `receive` gives until it
    /// comes; `None` when `receive` gives nothing (or a wrong number: the
    /// worker then counts as dead).
    fn next_answer(
        &mut self,
        receive: impl Fn(&Receiver<(u64, Answer)>) -> Option<(u64, Answer)>,
    ) -> Option<Answer> {
        loop {
            if let Some(a) = self.take_next() {
                return Some(a);
            }
            let got = receive(&self.answers)?;
            if !self.hold(got) {
                return None;
            }
        }
    }

    /// The next answer if it is ready.
    pub fn try_answer(&mut self) -> Option<Answer> {
        self.next_answer(|rx| rx.try_recv().ok())
    }

    /// Waits for the next answer (after sending every query); `None` when
    /// no query is left unanswered and the worker stopped (or it died:
    /// [`Self::finish`] reports that).
    pub fn answer(&mut self) -> Option<Answer> {
        self.flush();
        self.next_answer(|rx| rx.recv().ok())
    }

    /// Waits for the answers of every query not taken yet, in query order.
    ///
    /// A worker that answered everything is not joined: what is left for it
    /// is freeing its resolvers' tables, which it does beside the caller's
    /// last steps instead of before them. A worker that died is joined, and
    /// its panic goes on here.
    pub fn finish(&mut self) -> Vec<Answer> {
        self.flush();
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Job::End);
        }
        let mut answers = Vec::with_capacity(self.unanswered);
        while self.unanswered > 0 {
            match self.answer() {
                Some(a) => answers.push(a),
                None => break,
            }
        }
        let died = self.unanswered > 0;
        self.unanswered = 0;
        if let Some(h) = self.handle.take() {
            // Dropping the handle of a worker that answered everything
            // leaves it to end on its own.
            if died {
                if let Err(e) = h.join() {
                    std::panic::resume_unwind(e);
                }
            }
        }
        answers
    }
}

impl Drop for InlineWorker {
    /// An owner that stops early lets the worker end (it would otherwise
    /// wait for jobs, its own sender keeping the queue open).
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Job::End);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(n: u32) -> Answer {
        vec![InlineRecord {
            function: Some(n.to_string().into()),
            file: None,
            line: n,
            discriminator: 0,
        }]
        .into()
    }

    /// A worker handle fed by the test instead of a worker thread.
    fn fed(unanswered: usize) -> (InlineWorker, Sender<(u64, Answer)>) {
        let (tx, answers) = channel();
        let w = InlineWorker {
            tx: None,
            queued: Vec::new(),
            answers,
            held: VecDeque::new(),
            next: 0,
            unanswered,
            handle: None,
        };
        (w, tx)
    }

    #[test]
    fn answers_come_out_in_query_order() {
        let (mut w, tx) = fed(4);
        tx.send((2, answer(2))).unwrap();
        tx.send((1, answer(1))).unwrap();
        // Query 0 is not answered yet: nothing is handed out.
        assert!(w.try_answer().is_none());
        tx.send((0, answer(0))).unwrap();
        assert_eq!(w.try_answer(), Some(answer(0)));
        assert_eq!(w.answer(), Some(answer(1)));
        tx.send((3, answer(3))).unwrap();
        drop(tx);
        assert_eq!(w.finish(), vec![answer(2), answer(3)]);
    }

    #[test]
    fn a_worker_gone_early_leaves_the_rest_unanswered() {
        let (mut w, tx) = fed(3);
        tx.send((1, answer(1))).unwrap();
        tx.send((0, answer(0))).unwrap();
        drop(tx);
        assert_eq!(w.finish(), vec![answer(0), answer(1)]);
    }

    #[test]
    fn the_thread_answers_as_one_resolver_per_file_in_query_order() {
        // More files than are prepared at once, queries interleaved, one key
        // never opened and one file that is not ELF: each key's answers must
        // be those of a resolver of its own asked in the same order.
        let exe = std::env::current_exe().unwrap();
        let mut files = vec![exe.clone(), exe.clone(), PathBuf::from("/nonexistent/x")];
        let libc = PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6");
        if libc.exists() {
            files.extend([libc.clone(), libc]);
        }
        let text = |p: &PathBuf| {
            let o = super::super::object::ObjFile::open(p)?;
            let i = o.section_index(b".text")?;
            Some((o.sections[i].hdr.addr, o.sections[i].hdr.size.max(1)))
        };
        let queries: Vec<(u32, u64)> = (0..400u64)
            .map(|i| {
                let key = (i % (files.len() as u64 + 1)) as u32;
                let (start, size) = files.get(key as usize).and_then(text).unwrap_or((0, 1));
                (key, start + (i * 7919) % size)
            })
            .collect();
        let mut w = InlineWorker::start();
        for (key, path) in files.iter().enumerate() {
            w.open(key as u32, path.clone());
        }
        for &(key, addr) in &queries {
            w.query(key, addr);
        }
        let got = w.finish();
        let mut alone: Vec<Option<InlineResolver>> =
            files.iter().map(|p| InlineResolver::open(p)).collect();
        let want: Vec<Answer> = queries
            .iter()
            .map(|&(key, addr)| match alone.get_mut(key as usize) {
                Some(Some(r)) => r.records(addr).into(),
                _ => Box::default(),
            })
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the worker's answers differ from one resolver per file");
        assert!(want.iter().any(|a| !a.is_empty()), "no query found anything");
    }
}
