//! A thread that keeps the mapped file's pages for the reader: it faults
//! them in a little ahead of the record being read, and hands the pages of
//! delivered records back to the kernel behind it.
//!
//! Reading a large recording through the map costs the kernel a page fault
//! per 64 KiB (the fault-around block) and, to keep the resident set small,
//! an unmapping of what was read (`PerfData::release_before`). With DWARF
//! call graphs (8 KiB of stack per sample) that is about a fifth of the
//! pipeline thread's time; on this thread it runs beside it. Touching or
//! dropping pages of a private read-only file map changes no byte anyone
//! reads: a dropped page refaults from the file.
//!
//! The thread never touches pages below the reader's position nor drops
//! pages at or above the offset the reader says it still needs, so the
//! resident file pages stay within what is queued plus [`AHEAD`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use memmap2::Mmap;

/// How far ahead of the reader pages are faulted in.
const AHEAD: usize = 8 << 20;
/// Pages touched between two looks at the reader's position.
const STRIDE: usize = 1 << 20;
/// How far the reader advances between two words to the thread.
const MARK_EVERY: usize = 1 << 20;
const PAGE: usize = 4096;
/// Bytes between two touches: the kernel's default fault-around block
/// (`fault_around_bytes`, 64 KiB). A fault on one page maps every page of
/// its block the page cache holds, so touching the other fifteen only costs
/// a TLB and a cache miss each; a page the block left out (not in the page
/// cache) is faulted by the reader itself, as without this thread.
const TOUCH_STEP: usize = 64 << 10;

/// What the reader tells the thread.
#[derive(Default)]
struct Marks {
    /// The reader's position: touch pages from here to `AHEAD` past it.
    reading: AtomicUsize,
    /// Pages below this offset may go.
    release_below: AtomicUsize,
    stop: AtomicBool,
}

/// The keeper thread of one mapped file; stopped and joined on drop.
pub struct PageKeeper {
    marks: Arc<Marks>,
    thread: Option<JoinHandle<()>>,
    /// Where the thread hears of the reader next.
    next_mark: usize,
}

impl PageKeeper {
    /// Starts the thread for `map`, the reader being at `reading`.
    pub fn start(map: Arc<Mmap>, reading: usize) -> Option<PageKeeper> {
        let marks = Arc::new(Marks::default());
        marks.reading.store(reading, Ordering::Relaxed);
        let theirs = Arc::clone(&marks);
        let thread = std::thread::Builder::new()
            .name("perfold-pages".into())
            .spawn(move || keep(&map, &theirs))
            .ok()?;
        Some(PageKeeper {
            marks,
            thread: Some(thread),
            next_mark: reading.saturating_add(MARK_EVERY),
        })
    }

    /// The reader is at `offset` (the thread hears of it every
    /// [`MARK_EVERY`] bytes).
    pub fn reading(&mut self, offset: usize) {
        if offset < self.next_mark {
            return;
        }
        self.next_mark = offset.saturating_add(MARK_EVERY);
        self.marks.reading.store(offset, Ordering::Relaxed);
        self.wake();
    }

    /// The reader needs no page below `offset` any more.
    pub fn release_below(&self, offset: usize) {
        self.marks.release_below.fetch_max(offset, Ordering::Relaxed);
        self.wake();
    }

    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for PageKeeper {
    fn drop(&mut self) {
        self.marks.stop.store(true, Ordering::Relaxed);
        self.wake();
        if let Some(t) = self.thread.take() {
            // The thread only touches and drops pages: nothing to report.
            let _ = t.join();
        }
    }
}

/// The thread: drop what may go, touch what comes next, sleep when neither.
fn keep(map: &Mmap, marks: &Marks) {
    let (mut touched, mut released) = (0usize, 0usize);
    let mut sum = 0u8;
    while !marks.stop.load(Ordering::Relaxed) {
        let below = marks.release_below.load(Ordering::Relaxed).min(map.len()) / PAGE * PAGE;
        if below > released {
            // SAFETY: the range is page-aligned inside the map and the
            // reader reads nothing below `below` again (the lowest offset it
            // still needs); a dropped page of this private read-only file
            // map refaults from the file if it ever were read.
            let advised = unsafe {
                map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    released,
                    below - released,
                )
            };
            if advised.is_ok() {
                released = below;
            }
        }
        let reading = marks.reading.load(Ordering::Relaxed);
        // Never behind the reader (it faulted those itself) nor below
        // what was dropped.
        touched = touched.max(reading / PAGE * PAGE).max(released);
        let until = reading.saturating_add(AHEAD).min(map.len());
        if touched >= until {
            std::thread::park();
            continue;
        }
        let stop = until.min(touched + STRIDE);
        while touched < stop {
            // A read of one byte faults the page and its fault-around
            // block in.
            sum = sum.wrapping_add(map[touched]);
            touched = (touched / TOUCH_STEP + 1) * TOUCH_STEP;
        }
    }
    std::hint::black_box(sum);
}
