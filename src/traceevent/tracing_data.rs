//! The parsed tracing data of one perf.data file: the container's header
//! values, the events sorted by id and the printk formats, with the event
//! lookups. [`super::read`] fills it in.

use std::collections::HashMap;

use super::event::Tracepoint;

/// The parsed tracing data of one perf.data file (libtraceevent's `tep_handle`).
#[derive(Debug)]
pub struct TracingData {
    pub(crate) big_endian: bool,
    /// The kernel's `long` size: the header page's `commit` field size.
    pub(crate) long_size: u32,
    #[allow(dead_code)] // read by the tests and the fuzz target
    pub(crate) page_size: u32,
    #[allow(dead_code)]
    pub(crate) version: String,
    /// Sorted by id, as `add_event` keeps them.
    pub(crate) events: Vec<Tracepoint>,
    pub(crate) printk: HashMap<u64, Vec<u8>>,
    /// `common_type` of the lowest-id event: how a record names its event.
    pub(crate) common_type: Option<(i32, i32)>,
    /// See [`TracingData::consumed`].
    #[allow(dead_code)]
    pub(crate) consumed: u64,
}

impl TracingData {
    /// How many bytes perf's `trace_report` counts as read: in pipe mode
    /// perf requires this, padded to 8, to equal the record's size.
    #[cfg(feature = "fuzzing")]
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The tracing data's version string (`0.6` for current perf).
    #[cfg(feature = "fuzzing")]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many event formats the tracing data holds.
    #[cfg(feature = "fuzzing")]
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// All event formats, by id.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn events(&self) -> impl Iterator<Item = &Tracepoint> {
        self.events.iter()
    }

    /// The page size the recording machine had.
    #[cfg(feature = "fuzzing")]
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The event with this tracepoint id (`perf_event_attr.config`, which
    /// perf passes to `tep_find_event` as an `int`).
    pub fn event(&self, id: u64) -> Option<&Tracepoint> {
        self.find(id as i32)
    }

    /// `tep_find_event`: glibc's `bsearch` over the id-sorted events.
    pub(crate) fn find(&self, id: i32) -> Option<&Tracepoint> {
        let (mut lo, mut hi) = (0, self.events.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match id.cmp(&self.events[mid].id) {
                std::cmp::Ordering::Less => hi = mid,
                std::cmp::Ordering::Greater => lo = mid + 1,
                std::cmp::Ordering::Equal => return Some(&self.events[mid]),
            }
        }
        None
    }
}
