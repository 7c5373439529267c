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

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<T> {
    time: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// perf's ordered-events queue.
pub struct OrderedQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
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
            heap: BinaryHeap::new(),
            seq: 0,
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
        if self.heap.is_empty() || time >= self.max_timestamp {
            self.max_timestamp = time;
        }
        self.heap.push(Entry {
            time,
            seq: self.seq,
            item,
        });
        self.seq += 1;
    }

    /// FINISHED_ROUND: deliver what is due, then move the limit.
    pub fn flush_round<E>(&mut self, deliver: impl FnMut(T) -> Result<(), E>) -> Result<(), E> {
        if self.heap.is_empty() {
            return Ok(());
        }
        let limit = self.next_flush;
        self.drain_up_to(limit, deliver)?;
        self.next_flush = self.max_timestamp;
        Ok(())
    }

    /// End of input: deliver everything, in order.
    pub fn flush_all<E>(&mut self, deliver: impl FnMut(T) -> Result<(), E>) -> Result<(), E> {
        self.drain_up_to(u64::MAX, deliver)
    }

    fn drain_up_to<E>(
        &mut self,
        limit: u64,
        mut deliver: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        if limit == 0 {
            return Ok(());
        }
        while self.heap.peek().is_some_and(|e| e.time <= limit) {
            let e = self.heap.pop().unwrap();
            deliver(e.item)?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
            q.flush_round(f).unwrap();
        } else {
            q.flush_all(f).unwrap();
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
}
