//! AUX area trace data (Intel PT, BTS, CoreSight, SPE ...): what perfold skips
//! and counts, never decodes.
//!
//! `PERF_RECORD_AUXTRACE` (user type 71) is followed by `size` bytes of trace
//! data that its header's size does not cover (perf's `perf_session__process_user_event`
//! skips them by that field). `PERF_RECORD_AUXTRACE_INFO` (70) names the kind of trace.

use super::bytes::Cursor;
use crate::error::Result;

pub const RECORD_AUXTRACE_INFO: u32 = 70;
pub const RECORD_AUXTRACE: u32 = 71;

/// What the reader skipped of the file's AUX trace data.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuxSkipped {
    /// `auxtrace_info.type` of the first AUXTRACE_INFO record (perf's `enum auxtrace_type`).
    pub kind: Option<u32>,
    /// AUXTRACE records seen.
    pub records: u64,
    /// Trace bytes skipped after them.
    pub bytes: u64,
}

impl AuxSkipped {
    /// Notes an AUXTRACE_INFO record's payload.
    pub fn note_info(&mut self, payload: &[u8]) {
        if self.kind.is_none() && payload.len() >= 4 {
            self.kind = Some(u32::from_le_bytes(payload[..4].try_into().unwrap()));
        }
    }

    /// The number of trace bytes that follow an AUXTRACE record (`base` is
    /// the payload's file offset), counted as skipped.
    pub fn note_trace(&mut self, payload: &[u8], base: u64) -> Result<u64> {
        let size = Cursor::new(payload, base).u64("auxtrace size")?;
        self.records += 1;
        self.bytes = self.bytes.saturating_add(size);
        Ok(size)
    }

    /// perf's name for the trace kind (`auxtrace_type` in util/auxtrace.h).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Some(1) => "Intel PT",
            Some(2) => "Intel BTS",
            Some(3) => "CoreSight ETM",
            Some(4) => "Arm SPE",
            Some(5) => "s390 CPU-MF",
            Some(6) => "HiSilicon PTT",
            _ => "AUX area",
        }
    }

    /// The one stderr line perfold prints when it skipped trace data, or `None`.
    pub fn message(&self) -> Option<String> {
        (self.records > 0).then(|| {
            format!(
                "{} trace data not decoded ({} AUXTRACE records, {} bytes skipped); the other samples are printed as `perf script --no-itrace` prints them",
                self.kind_name(),
                self.records,
                self.bytes
            )
        })
    }
}
