//! Inline lookups on a second thread, for outputs that can wait for them
//! (folded stacks and flame graphs are written only at the end).
//!
//! Queries are answered in the order they are sent, and each DSO has one
//! resolver, so every resolver sees its addresses in perf's order (its
//! answers can depend on that order, as one addr2line process per DSO does).

use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;

use rustc_hash::FxHashMap;

use super::{InlineRecord, InlineResolver};

enum Job {
    /// Opens the file of resolver `key` (once per DSO).
    Open(u32, PathBuf),
    /// The records of an address in resolver `key`'s file.
    Query(u32, u64),
}

/// The worker thread and the queue feeding it.
pub struct InlineWorker {
    tx: Option<Sender<Job>>,
    handle: Option<JoinHandle<Vec<Box<[InlineRecord]>>>>,
}

impl Default for InlineWorker {
    fn default() -> Self {
        Self::start()
    }
}

impl InlineWorker {
    pub fn start() -> InlineWorker {
        let (tx, rx) = channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("perfold-inlines".into())
            .spawn(move || {
                let mut resolvers: FxHashMap<u32, Option<InlineResolver>> = FxHashMap::default();
                let mut results: Vec<Box<[InlineRecord]>> = Vec::new();
                for job in rx {
                    match job {
                        Job::Open(key, path) => {
                            resolvers.insert(key, InlineResolver::open(&path));
                        }
                        Job::Query(key, addr) => {
                            let records = match resolvers.get_mut(&key) {
                                Some(Some(r)) => r.records(addr).into(),
                                _ => Box::default(),
                            };
                            results.push(records);
                        }
                    }
                }
                results
            })
            .expect("spawning the inline-lookup thread");
        InlineWorker {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Opens `path` as resolver `key`; later queries of `key` use it.
    pub fn open(&self, key: u32, path: PathBuf) {
        if let Some(tx) = &self.tx {
            // A send fails only if the worker died; `finish` reports that.
            let _ = tx.send(Job::Open(key, path));
        }
    }

    /// Queues a query; its answer is the next entry of [`Self::finish`]'s list.
    pub fn query(&self, key: u32, addr: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Query(key, addr));
        }
    }

    /// Waits for the answers of every query, in query order.
    pub fn finish(&mut self) -> Vec<Box<[InlineRecord]>> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => Vec::new(),
        }
    }
}
