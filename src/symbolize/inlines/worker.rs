//! Inline lookups on a second thread, for outputs that can wait for them:
//! folded stacks and flame graphs take every answer at the end, the text
//! of `perf script` behind the sink thread takes them as they come
//! (`crate::workers`).
//!
//! Queries are answered in the order they are sent, and each DSO has one
//! resolver, so every resolver sees its addresses in perf's order (its
//! answers can depend on that order, as one addr2line process per DSO does).

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
    answers: Receiver<Answer>,
    /// Queries queued or sent whose answers were not taken yet.
    unanswered: usize,
    handle: Option<JoinHandle<()>>,
}

impl Default for InlineWorker {
    fn default() -> Self {
        Self::start()
    }
}

impl InlineWorker {
    pub fn start() -> InlineWorker {
        let (tx, rx) = channel::<Job>();
        let (answer_tx, answers) = channel::<Answer>();
        let handle = std::thread::Builder::new()
            .name("perfold-inlines".into())
            .spawn(move || {
                let mut resolvers: FxHashMap<u32, Option<InlineResolver>> = FxHashMap::default();
                for job in rx {
                    match job {
                        Job::Open(key, path) => {
                            resolvers.insert(key, InlineResolver::open(&path));
                        }
                        Job::Queries(queries) => {
                            for (key, addr) in queries {
                                let records = match resolvers.get_mut(&key) {
                                    Some(Some(r)) => r.records(addr).into(),
                                    _ => Box::default(),
                                };
                                // The receiver goes only with the worker's owner.
                                let _ = answer_tx.send(records);
                            }
                        }
                    }
                }
            })
            .expect("spawning the inline-lookup thread");
        InlineWorker {
            tx: Some(tx),
            queued: Vec::new(),
            answers,
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

    /// The next answer if it is ready.
    pub fn try_answer(&mut self) -> Option<Answer> {
        let answer = self.answers.try_recv().ok()?;
        self.unanswered -= 1;
        Some(answer)
    }

    /// Waits for the next answer (after sending every query); `None` when
    /// no query is left unanswered and the worker stopped (or it died:
    /// [`Self::finish`] reports that).
    pub fn answer(&mut self) -> Option<Answer> {
        self.flush();
        let answer = self.answers.recv().ok()?;
        self.unanswered -= 1;
        Some(answer)
    }

    /// Waits for the answers of every query not taken yet, in query order.
    ///
    /// A worker that answered everything is not joined: what is left for it
    /// is freeing its resolvers' tables, which it does beside the caller's
    /// last steps instead of before them. A worker that died is joined, and
    /// its panic goes on here.
    pub fn finish(&mut self) -> Vec<Answer> {
        self.flush();
        self.tx = None;
        let answers: Vec<Answer> = self.answers.iter().take(self.unanswered).collect();
        let died = answers.len() < self.unanswered;
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
