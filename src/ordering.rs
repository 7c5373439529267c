//! Time ordering of records, as perf's ordered-events queue delivers them.
//!
//! perf 6.1 (`util/ordered-events.c`, `util/session.c`) queues every kernel
//! record that has a timestamp and delivers records at once when they have
//! none (timestamp 0 or all ones: `-ETIME`). The queue is a list kept sorted
//! by timestamp, stable by arrival. At each FINISHED_ROUND it delivers the
//! queued records whose timestamp is at most `next_flush`, and then sets
//! `next_flush` to the largest timestamp queued so far; a round that finds
//! the queue empty changes nothing. At the end everything left is delivered.
//! So a record waits until the round after the one in which a later record
//! arrived, which is what makes the output order exactly perf's.

use std::collections::VecDeque;

/// How many deliveries ahead the flushes show an item to their `coming`
/// callback (which prefetches its bytes while earlier items are worked on).
const COMING_AHEAD: usize = 2;

struct Entry<T> {
    time: u64,
    item: T,
}

/// perf's ordered-events queue.
///
/// Records arrive nearly sorted, so instead of a heap the queue keeps the
/// records of earlier rounds sorted in `sorted` and appends new arrivals to
/// `pending`; a flush sorts `pending` (a stable, run-adaptive sort) and merges
/// it behind equal timestamps already queued, which keeps arrival order for
/// ties exactly as perf's list insertion does.
pub struct OrderedQueue<T> {
    sorted: VecDeque<Entry<T>>,
    pending: Vec<Entry<T>>,
    next_flush: u64,
    max_timestamp: u64,
}

impl<T> Default for OrderedQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> OrderedQueue<T> {
    pub fn new() -> Self {
        OrderedQueue {
            sorted: VecDeque::new(),
            pending: Vec::new(),
            next_flush: 0,
            max_timestamp: 0,
        }
    }

    /// True if a record with this timestamp is queued rather than delivered at once.
    pub fn is_queued_time(time: u64) -> bool {
        time != 0 && time != u64::MAX
    }

    /// Queues `item`; `time` must satisfy [`Self::is_queued_time`].
    pub fn push(&mut self, time: u64, item: T) {
        // perf moves max_timestamp when the record lands at the tail of the
        // list, or into an empty list.
        if self.is_empty() || time >= self.max_timestamp {
            self.max_timestamp = time;
        }
        self.pending.push(Entry { time, item });
    }

    /// FINISHED_ROUND: deliver what is due, then move the limit. Before
    /// each delivery, `coming` is shown the item queued [`COMING_AHEAD`]
    /// places behind it, due or not (a look ahead that changes nothing).
    pub fn flush_round<E>(
        &mut self,
        deliver: impl FnMut(T) -> Result<(), E>,
        coming: impl FnMut(&T),
    ) -> Result<(), E> {
        if self.is_empty() {
            return Ok(());
        }
        let limit = self.next_flush;
        self.drain_up_to(limit, deliver, coming)?;
        self.next_flush = self.max_timestamp;
        Ok(())
    }

    /// End of input: deliver everything, in order (`coming` as in
    /// [`Self::flush_round`]).
    pub fn flush_all<E>(
        &mut self,
        deliver: impl FnMut(T) -> Result<(), E>,
        coming: impl FnMut(&T),
    ) -> Result<(), E> {
        self.drain_up_to(u64::MAX, deliver, coming)
    }

    /// Moves the pending records into `sorted`, keeping the order stable.
    fn merge_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_by_key(|e| e.time);
        let tail_time = self.sorted.back().map_or(0, |e| e.time);
        if self.pending[0].time >= tail_time {
            self.sorted.extend(self.pending.drain(..));
            return;
        }
        let old = std::mem::take(&mut self.sorted);
        let mut merged = VecDeque::with_capacity(old.len() + self.pending.len());
        let mut a = old.into_iter().peekable();
        let mut b = self.pending.drain(..).peekable();
        loop {
            // Ties go to the earlier arrival, which is always in `a`.
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.time <= y.time,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            merged.push_back(if take_a { a.next() } else { b.next() }.unwrap());
        }
        self.sorted = merged;
    }

    fn drain_up_to<E>(
        &mut self,
        limit: u64,
        mut deliver: impl FnMut(T) -> Result<(), E>,
        mut coming: impl FnMut(&T),
    ) -> Result<(), E> {
        if limit == 0 {
            return Ok(());
        }
        self.merge_pending();
        while self.sorted.front().is_some_and(|e| e.time <= limit) {
            let e = self.sorted.pop_front().unwrap();
            if let Some(next) = self.sorted.get(COMING_AHEAD - 1) {
                coming(&next.item);
            }
            deliver(e.item)?;
        }
        Ok(())
    }

    /// Every queued item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.sorted
            .iter()
            .chain(self.pending.iter())
            .map(|e| &e.item)
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty() && self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut OrderedQueue<&'static str>, round: bool) -> Vec<&'static str> {
        let mut out = Vec::new();
        let f = |x| -> Result<(), ()> {
            out.push(x);
            Ok(())
        };
        if round {
            q.flush_round(f, |_| {}).unwrap();
        } else {
            q.flush_all(f, |_| {}).unwrap();
        }
        out
    }

    #[test]
    fn first_round_delivers_nothing_second_delivers_up_to_previous_max() {
        let mut q = OrderedQueue::new();
        q.push(10, "a");
        q.push(5, "b");
        assert!(drain(&mut q, true).is_empty());
        q.push(7, "c");
        q.push(20, "d");
        assert_eq!(drain(&mut q, true), vec!["b", "c", "a"]);
        assert_eq!(drain(&mut q, false), vec!["d"]);
    }

    #[test]
    fn coming_sees_each_item_two_deliveries_ahead_due_or_not() {
        let mut q = OrderedQueue::new();
        for (t, x) in [(4, "d"), (1, "a"), (3, "c"), (2, "b"), (9, "e")] {
            q.push(t, x);
        }
        assert!(drain(&mut q, true).is_empty());
        q.push(10, "f");
        // Log of (delivered, shown) in call order.
        let log = std::cell::RefCell::new(Vec::new());
        q.flush_round(
            |x| -> Result<(), ()> {
                log.borrow_mut().push(format!("deliver {x}"));
                Ok(())
            },
            |x| log.borrow_mut().push(format!("coming {x}")),
        )
        .unwrap();
        assert_eq!(
            log.into_inner(),
            [
                "coming c", "deliver a", "coming d", "deliver b", "coming e", "deliver c",
                "coming f", "deliver d", "deliver e",
            ]
        );
    }

    #[test]
    fn equal_timestamps_keep_arrival_order() {
        let mut q = OrderedQueue::new();
        q.push(3, "x");
        q.push(3, "y");
        q.push(1, "z");
        q.push(3, "w");
        assert_eq!(drain(&mut q, false), vec!["z", "x", "y", "w"]);
    }

    #[test]
    fn empty_round_does_not_move_the_limit() {
        let mut q = OrderedQueue::new();
        q.push(10, "a");
        assert!(drain(&mut q, true).is_empty()); // limit becomes 10
        assert_eq!(drain(&mut q, true), vec!["a"]); // limit stays 10
        assert!(drain(&mut q, true).is_empty()); // empty: limit untouched
        q.push(30, "b");
        q.push(12, "c");
        // limit is still 10: nothing due.
        assert!(drain(&mut q, true).is_empty());
        assert_eq!(drain(&mut q, true), vec!["c", "b"]);
    }

    /// perf's list model, restated naively: insert after every queued record
    /// with a timestamp <= the new one; flush from the front.
    struct Naive {
        list: Vec<(u64, u32)>,
        next_flush: u64,
        max: u64,
    }

    impl Naive {
        fn push(&mut self, t: u64, id: u32) {
            if self.list.is_empty() || t >= self.max {
                self.max = t;
            }
            let at = self
                .list
                .iter()
                .rposition(|e| e.0 <= t)
                .map_or(0, |i| i + 1);
            self.list.insert(at, (t, id));
        }
        fn flush(&mut self, limit: u64, out: &mut Vec<u32>) {
            if limit == 0 {
                return;
            }
            while !self.list.is_empty() && self.list[0].0 <= limit {
                out.push(self.list.remove(0).1);
            }
        }
    }

    #[test]
    fn matches_a_naive_model_on_random_rounds() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let mut q = OrderedQueue::new();
            let mut naive = Naive {
                list: Vec::new(),
                next_flush: 0,
                max: 0,
            };
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let mut clock = 1;
            for id in 0..300u32 {
                if rand(10) == 0 {
                    q.flush_round(
                        |x| -> Result<(), ()> {
                            got.push(x);
                            Ok(())
                        },
                        |_| {},
                    )
                    .unwrap();
                    if !naive.list.is_empty() {
                        let limit = naive.next_flush;
                        naive.flush(limit, &mut want);
                        naive.next_flush = naive.max;
                    }
                }
                clock += rand(3);
                let t = clock.saturating_sub(rand(20)).max(1);
                q.push(t, id);
                naive.push(t, id);
            }
            q.flush_all(
                |x| -> Result<(), ()> {
                    got.push(x);
                    Ok(())
                },
                |_| {},
            )
            .unwrap();
            naive.flush(u64::MAX, &mut want);
            assert_eq!(got, want);
        }
    }
}
