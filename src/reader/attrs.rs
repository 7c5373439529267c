//! Event attributes (`struct perf_event_attr`) and the sample layout they imply.

use super::bytes::{le_u32, le_u64};

pub const SAMPLE_IP: u64 = 1 << 0;
pub const SAMPLE_TID: u64 = 1 << 1;
pub const SAMPLE_TIME: u64 = 1 << 2;
pub const SAMPLE_ADDR: u64 = 1 << 3;
pub const SAMPLE_READ: u64 = 1 << 4;
pub const SAMPLE_CALLCHAIN: u64 = 1 << 5;
pub const SAMPLE_ID: u64 = 1 << 6;
pub const SAMPLE_CPU: u64 = 1 << 7;
pub const SAMPLE_PERIOD: u64 = 1 << 8;
pub const SAMPLE_STREAM_ID: u64 = 1 << 9;
pub const SAMPLE_RAW: u64 = 1 << 10;
pub const SAMPLE_BRANCH_STACK: u64 = 1 << 11;
pub const SAMPLE_REGS_USER: u64 = 1 << 12;
pub const SAMPLE_STACK_USER: u64 = 1 << 13;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_WEIGHT: u64 = 1 << 14;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_DATA_SRC: u64 = 1 << 15;
pub const SAMPLE_IDENTIFIER: u64 = 1 << 16;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_TRANSACTION: u64 = 1 << 17;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_REGS_INTR: u64 = 1 << 18;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_PHYS_ADDR: u64 = 1 << 19;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_AUX: u64 = 1 << 20;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_CGROUP: u64 = 1 << 21;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_DATA_PAGE_SIZE: u64 = 1 << 22;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_CODE_PAGE_SIZE: u64 = 1 << 23;
#[allow(dead_code)] // the PERF_SAMPLE_* table is kept whole
pub const SAMPLE_WEIGHT_STRUCT: u64 = 1 << 24;

pub const READ_FORMAT_TOTAL_TIME_ENABLED: u64 = 1 << 0;
pub const READ_FORMAT_TOTAL_TIME_RUNNING: u64 = 1 << 1;
pub const READ_FORMAT_ID: u64 = 1 << 2;
pub const READ_FORMAT_GROUP: u64 = 1 << 3;
pub const READ_FORMAT_LOST: u64 = 1 << 4;

pub const BRANCH_HW_INDEX: u64 = 1 << 17;

pub const TYPE_HARDWARE: u32 = 0;
pub const TYPE_SOFTWARE: u32 = 1;
pub const TYPE_TRACEPOINT: u32 = 2;

/// The fields of `perf_event_attr` that decide how records are laid out and printed.
#[derive(Debug, Clone, Default)]
pub struct Attr {
    pub type_: u32,
    pub config: u64,
    pub sample_period: u64,
    pub sample_type: u64,
    pub read_format: u64,
    pub flags: u64,
    pub branch_sample_type: u64,
    pub sample_regs_user: u64,
    pub sample_stack_user: u32,
    pub sample_regs_intr: u64,
    /// Sample ids that belong to this attribute.
    pub ids: Vec<u64>,
    /// The event's name (from HEADER_EVENT_DESC), if the file has one.
    pub name: Option<String>,
}

impl Attr {
    /// Parses an attribute of any size; fields beyond `raw`'s end stay zero,
    /// as perf reads older, shorter attributes.
    pub fn parse(raw: &[u8]) -> Attr {
        let mut buf = [0u8; 136];
        let n = raw.len().min(buf.len());
        buf[..n].copy_from_slice(&raw[..n]);
        Attr {
            type_: le_u32(&buf, 0),
            config: le_u64(&buf, 8),
            sample_period: le_u64(&buf, 16),
            sample_type: le_u64(&buf, 24),
            read_format: le_u64(&buf, 32),
            flags: le_u64(&buf, 40),
            branch_sample_type: le_u64(&buf, 72),
            sample_regs_user: le_u64(&buf, 80),
            sample_stack_user: le_u32(&buf, 88),
            sample_regs_intr: le_u64(&buf, 96),
            ids: Vec::new(),
            name: None,
        }
    }

    pub fn has(&self, bit: u64) -> bool {
        self.sample_type & bit != 0
    }

    /// `attr.sample_id_all`: non-sample records carry a sample-id trailer.
    pub fn sample_id_all(&self) -> bool {
        self.flags & (1 << 18) != 0
    }

    /// `attr.freq`: the period in samples varies.
    pub fn freq(&self) -> bool {
        self.flags & (1 << 10) != 0
    }

    /// `attr.precise_ip` (0..=3).
    pub fn precise_ip(&self) -> u64 {
        (self.flags >> 15) & 3
    }

    /// Size in bytes of the sample-id trailer of non-sample records.
    pub fn id_trailer_size(&self) -> usize {
        let mut n = 0;
        for bit in [
            SAMPLE_TID,
            SAMPLE_TIME,
            SAMPLE_ID,
            SAMPLE_STREAM_ID,
            SAMPLE_CPU,
            SAMPLE_IDENTIFIER,
        ] {
            if self.has(bit) {
                n += 8;
            }
        }
        n
    }
}
