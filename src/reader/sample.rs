//! PERF_RECORD_SAMPLE payloads and the sample-id trailer of other records,
//! parsed into borrowed views (no copies on the per-sample path).

use super::attrs::*;
use super::bytes::{le_u64, Cursor};
use crate::error::Result;

/// Callchain context markers (`enum perf_callchain_context`): entries at or
/// above [`PERF_CONTEXT_MAX`] switch the cpumode and are not addresses.
pub const PERF_CONTEXT_HV: u64 = -32i64 as u64;
pub const PERF_CONTEXT_KERNEL: u64 = -128i64 as u64;
pub const PERF_CONTEXT_USER: u64 = -512i64 as u64;
pub const PERF_CONTEXT_MAX: u64 = -4095i64 as u64;

/// A parsed sample; slices borrow the record's bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sample<'a> {
    pub misc: u16,
    pub ip: u64,
    pub pid: i32,
    pub tid: i32,
    pub time: u64,
    pub addr: u64,
    pub id: u64,
    pub cpu: u32,
    pub period: u64,
    /// Raw callchain entries (native-endian u64s), if sampled.
    pub callchain: Option<&'a [u8]>,
    pub raw: Option<&'a [u8]>,
    pub user_regs: Option<Regs<'a>>,
    /// The registers at the interrupt (PERF_SAMPLE_REGS_INTR).
    pub intr_regs: Option<Regs<'a>>,
    /// The user stack copy, cut to its dynamic size.
    pub user_stack: Option<&'a [u8]>,
    /// The branch stack (LBR), if sampled.
    pub branch_stack: Option<BranchStack<'a>>,
    /// The counter values read with the sample (PERF_SAMPLE_READ).
    pub read: Option<ReadValues<'a>>,
    /// PERF_SAMPLE_WEIGHT, or the first 32 bits of PERF_SAMPLE_WEIGHT_STRUCT
    /// (as perf's x86 `arch_perf_parse_sample_weight` reads it).
    pub weight: u64,
    /// Instruction latency: bits 32..48 of PERF_SAMPLE_WEIGHT_STRUCT.
    pub ins_lat: u16,
    /// PERF_SAMPLE_DATA_SRC (`union perf_mem_data_src`).
    pub data_src: u64,
    pub transaction: u64,
    pub phys_addr: u64,
    pub cgroup: u64,
    pub data_page_size: u64,
    pub code_page_size: u64,
}

/// A sampled branch stack: `nr` entries of `from`, `to`, `flags` (u64 each),
/// most recent branch first.
#[derive(Debug, Clone, Copy)]
pub struct BranchStack<'a> {
    /// `hw_idx`, present when the attribute has PERF_SAMPLE_BRANCH_HW_INDEX.
    pub hw_idx: Option<u64>,
    pub entries: &'a [u8],
    /// Offset of the stack's `nr` word in the sample payload.
    pub nr_at: usize,
}

/// The values of PERF_SAMPLE_READ: `values` holds one entry of `stride`
/// bytes per counter (the sampled event alone, or each member of its group
/// with PERF_FORMAT_GROUP), the value first, then its id
/// (`id_at`, when PERF_FORMAT_ID; perf forces it for PERF_SAMPLE_READ).
#[derive(Debug, Clone, Copy)]
pub struct ReadValues<'a> {
    pub values: &'a [u8],
    pub stride: usize,
    pub id_at: Option<usize>,
}

impl<'a> ReadValues<'a> {
    /// (value, id) of each counter, in the recorded order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Option<u64>)> + 'a {
        let id_at = self.id_at;
        self.values
            .chunks_exact(self.stride.max(8))
            .map(move |v| (le_u64(v, 0), id_at.map(|at| le_u64(v, at))))
    }
}

/// One branch stack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    pub from: u64,
    pub to: u64,
    pub flags: u64,
}

impl<'a> BranchStack<'a> {
    pub fn len(&self) -> usize {
        self.entries.len() / 24
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `i` (0 is the most recent branch).
    /// Payload offset of `entries[0].to` as perf addresses it, also for an
    /// empty stack (perf then reads the bytes after the stack: its entries
    /// start at the `hw_idx` slot when the attribute has no hw index).
    pub fn first_to_at(&self) -> usize {
        self.nr_at + if self.hw_idx.is_some() { 24 } else { 16 }
    }

    pub fn get(&self, i: usize) -> Branch {
        let at = i * 24;
        Branch {
            from: le_u64(self.entries, at),
            to: le_u64(self.entries, at + 8),
            flags: le_u64(self.entries, at + 16),
        }
    }
}

/// Sampled registers: `mask` says which perf registers `values` holds, in order.
#[derive(Debug, Clone, Copy)]
pub struct Regs<'a> {
    #[allow(dead_code)] // part of the record; nothing perf prints depends on it
    pub abi: u64,
    pub mask: u64,
    pub values: &'a [u8],
}

impl<'a> Regs<'a> {
    /// The value of perf register `reg`, if it was captured.
    pub fn get(&self, reg: u32) -> Option<u64> {
        if reg >= 64 || self.mask & (1 << reg) == 0 {
            return None;
        }
        let index = (self.mask & ((1u64 << reg) - 1)).count_ones() as usize;
        (index * 8 + 8 <= self.values.len()).then(|| le_u64(self.values, index * 8))
    }

    /// [`Regs::get`] of registers `0..N` at once, in one pass over the mask
    /// (an unwinder wants all of them, for every sample).
    pub fn first<const N: usize>(&self) -> [Option<u64>; N] {
        let mut out = [None; N];
        let mut mask = self.mask;
        let mut index = 0;
        while mask != 0 {
            let reg = mask.trailing_zeros() as usize;
            if reg >= N {
                break;
            }
            if index * 8 + 8 <= self.values.len() {
                out[reg] = Some(le_u64(self.values, index * 8));
            }
            index += 1;
            mask &= mask - 1;
        }
        out
    }
}

impl<'a> Sample<'a> {
    /// Callchain entries, callee first, as recorded.
    pub fn callchain_ips(&self) -> impl ExactSizeIterator<Item = u64> + Clone + 'a {
        self.callchain
            .unwrap_or(&[])
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
    }

    /// The cpumode bits of the record header (`PERF_RECORD_MISC_CPUMODE_MASK`).
    pub fn cpumode(&self) -> u8 {
        (self.misc & 7) as u8
    }
}

/// Parses a sample payload (after the 8-byte record header) laid out by `attr`.
/// `base` is the payload's file offset, for errors.
#[inline]
pub fn parse_sample<'a>(attr: &Attr, misc: u16, data: &'a [u8], base: u64) -> Result<Sample<'a>> {
    let mut c = Cursor::new(data, base);
    let mut s = Sample {
        misc,
        pid: -1,
        tid: -1,
        cpu: u32::MAX,
        period: attr.sample_period,
        ..Default::default()
    };
    if attr.has(SAMPLE_IDENTIFIER) {
        s.id = c.u64("sample id")?;
    }
    if attr.has(SAMPLE_IP) {
        s.ip = c.u64("sample ip")?;
    }
    if attr.has(SAMPLE_TID) {
        s.pid = c.u32("sample pid")? as i32;
        s.tid = c.u32("sample tid")? as i32;
    }
    if attr.has(SAMPLE_TIME) {
        s.time = c.u64("sample time")?;
    }
    if attr.has(SAMPLE_ADDR) {
        s.addr = c.u64("sample addr")?;
    }
    if attr.has(SAMPLE_ID) {
        s.id = c.u64("sample id")?;
    }
    if attr.has(SAMPLE_STREAM_ID) {
        c.u64("sample stream id")?;
    }
    if attr.has(SAMPLE_CPU) {
        s.cpu = c.u32("sample cpu")?;
        c.u32("sample cpu reserved")?;
    }
    if attr.has(SAMPLE_PERIOD) {
        s.period = c.u64("sample period")?;
    }
    if attr.has(SAMPLE_READ) {
        s.read = Some(read_values(&mut c, attr.read_format)?);
    }
    if attr.has(SAMPLE_CALLCHAIN) {
        let nr = c.u64("callchain length")?;
        s.callchain = Some(c.array(nr, 8, "callchain")?);
    }
    if attr.has(SAMPLE_RAW) {
        let size = c.u32("raw data size")?;
        s.raw = Some(c.bytes(size as usize, "raw data")?);
    }
    if attr.has(SAMPLE_BRANCH_STACK) {
        let nr_at = (c.offset() - base) as usize;
        let nr = c.u64("branch stack length")?;
        let hw_idx = if attr.branch_sample_type & BRANCH_HW_INDEX != 0 {
            Some(c.u64("branch stack hw index")?)
        } else {
            None
        };
        let entries = c.array(nr, 24, "branch stack")?;
        s.branch_stack = Some(BranchStack {
            hw_idx,
            entries,
            nr_at,
        });
    }
    if attr.has(SAMPLE_REGS_USER) {
        let abi = c.u64("user regs abi")?;
        if abi != 0 {
            let mask = attr.sample_regs_user;
            let values = c.array(mask.count_ones() as u64, 8, "user regs")?;
            s.user_regs = Some(Regs { abi, mask, values });
        }
    }
    if attr.has(SAMPLE_STACK_USER) {
        let size = c.u64("user stack size")?;
        if size != 0 {
            let stack = c.array(size, 1, "user stack")?;
            let dyn_size = c.u64("user stack dynamic size")?;
            s.user_stack = Some(&stack[..(dyn_size.min(size)) as usize]);
        }
    }
    if attr.sample_type & (SAMPLE_WEIGHT | SAMPLE_WEIGHT_STRUCT) != 0 {
        let weight = c.u64("sample weight")?;
        if attr.has(SAMPLE_WEIGHT) {
            s.weight = weight;
        } else {
            s.weight = weight & 0xffff_ffff;
            s.ins_lat = (weight >> 32) as u16;
        }
    }
    if attr.has(SAMPLE_DATA_SRC) {
        s.data_src = c.u64("sample data source")?;
    }
    if attr.has(SAMPLE_TRANSACTION) {
        s.transaction = c.u64("sample transaction")?;
    }
    if attr.has(SAMPLE_REGS_INTR) {
        let abi = c.u64("interrupt regs abi")?;
        if abi != 0 {
            let mask = attr.sample_regs_intr;
            let values = c.array(mask.count_ones() as u64, 8, "interrupt regs")?;
            s.intr_regs = Some(Regs { abi, mask, values });
        }
    }
    // perf reads these last words without a bounds check: a sample cut
    // short there is not an error, its missing words read as 0 here.
    for (bit, field) in [
        (SAMPLE_PHYS_ADDR, &mut s.phys_addr),
        (SAMPLE_CGROUP, &mut s.cgroup),
        (SAMPLE_DATA_PAGE_SIZE, &mut s.data_page_size),
        (SAMPLE_CODE_PAGE_SIZE, &mut s.code_page_size),
    ] {
        if attr.has(bit) && c.remaining() >= 8 {
            *field = c.u64("sample field")?;
        }
    }
    Ok(s)
}

/// perf `evsel__parse_sample`'s PERF_SAMPLE_READ: a group's `nr`, the
/// enabled/running times, then the values (one without PERF_FORMAT_GROUP,
/// whose times sit between its value and its id).
fn read_values<'a>(c: &mut Cursor<'a>, read_format: u64) -> Result<ReadValues<'a>> {
    let has_id = read_format & READ_FORMAT_ID != 0;
    let per_value = 1 + usize::from(has_id) + usize::from(read_format & READ_FORMAT_LOST != 0);
    let times = usize::from(read_format & READ_FORMAT_TOTAL_TIME_ENABLED != 0)
        + usize::from(read_format & READ_FORMAT_TOTAL_TIME_RUNNING != 0);
    if read_format & READ_FORMAT_GROUP != 0 {
        let nr = c.u64("read group size")?;
        c.array(times as u64, 8, "read times")?;
        let values = c.array(nr, 8 * per_value, "read values")?;
        Ok(ReadValues {
            values,
            stride: 8 * per_value,
            id_at: has_id.then_some(8),
        })
    } else {
        let values = c.array((times + per_value) as u64, 8, "read value")?;
        Ok(ReadValues {
            values,
            stride: values.len(),
            id_at: has_id.then_some(8 * (1 + times)),
        })
    }
}

/// The sample-id trailer of a non-sample record: only what perf uses from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SampleId {
    pub time: Option<u64>,
    pub cpu: Option<u32>,
    /// The pid and tid (`--show-*-events` print them).
    pub pid_tid: Option<(i32, i32)>,
}

/// Reads the trailer at the end of `data` laid out by `attr` (if `sample_id_all`).
pub fn parse_sample_id(attr: &Attr, data: &[u8]) -> SampleId {
    let mut id = SampleId::default();
    if !attr.sample_id_all() {
        return id;
    }
    let size = attr.id_trailer_size();
    if size > data.len() {
        return id;
    }
    let mut at = data.len() - size;
    if attr.has(SAMPLE_TID) {
        id.pid_tid = Some((
            le_u64(data, at) as u32 as i32,
            (le_u64(data, at) >> 32) as u32 as i32,
        ));
        at += 8;
    }
    if attr.has(SAMPLE_TIME) {
        id.time = Some(le_u64(data, at));
        at += 8;
    }
    if attr.has(SAMPLE_ID) {
        at += 8;
    }
    if attr.has(SAMPLE_STREAM_ID) {
        at += 8;
    }
    if attr.has(SAMPLE_CPU) {
        id.cpu = Some(le_u64(data, at) as u32);
    }
    id
}

/// Sample id of a sample payload, found where `attr`'s layout puts it.
pub fn sample_id_of(attr: &Attr, data: &[u8]) -> Option<u64> {
    if attr.has(SAMPLE_IDENTIFIER) {
        return (data.len() >= 8).then(|| le_u64(data, 0));
    }
    if !attr.has(SAMPLE_ID) {
        return None;
    }
    let at = [SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_ADDR]
        .iter()
        .filter(|&&b| attr.has(b))
        .count()
        * 8;
    (data.len() >= at + 8).then(|| le_u64(data, at))
}

/// The timestamp of a sample payload, read where `attr`'s layout puts it
/// (IDENTIFIER, IP and TID come before TIME), without parsing the rest.
pub fn sample_time_of(attr: &Attr, data: &[u8]) -> Option<u64> {
    if !attr.has(SAMPLE_TIME) {
        return None;
    }
    let at = [SAMPLE_IDENTIFIER, SAMPLE_IP, SAMPLE_TID]
        .iter()
        .filter(|&&b| attr.has(b))
        .count()
        * 8;
    (data.len() >= at + 8).then(|| le_u64(data, at))
}

/// Sample id in a non-sample record's trailer (IDENTIFIER is its last word).
pub fn trailer_id_of(attr: &Attr, data: &[u8]) -> Option<u64> {
    if attr.sample_id_all() && attr.has(SAMPLE_IDENTIFIER) && data.len() >= 8 {
        return Some(le_u64(data, data.len() - 8));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u64]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn attr(sample_type: u64, branch_sample_type: u64) -> Attr {
        Attr {
            sample_type,
            branch_sample_type,
            ..Default::default()
        }
    }

    #[test]
    fn branch_stack_with_and_without_hw_index() {
        let a = attr(SAMPLE_IP | SAMPLE_BRANCH_STACK | SAMPLE_WEIGHT, 0);
        let data = words(&[0x10, 2, 1, 2, 3, 4, 5, 6, 77]);
        let s = parse_sample(&a, 0, &data, 0).unwrap();
        let b = s.branch_stack.unwrap();
        assert_eq!(
            (b.hw_idx, b.len(), b.nr_at, b.first_to_at()),
            (None, 2, 8, 24)
        );
        assert_eq!(
            b.get(1),
            Branch {
                from: 4,
                to: 5,
                flags: 6
            }
        );
        assert_eq!(s.weight, 77);

        let a = attr(SAMPLE_IP | SAMPLE_BRANCH_STACK, BRANCH_HW_INDEX);
        let data = words(&[0x10, 1, 9, 1, 2, 3]);
        let b = parse_sample(&a, 0, &data, 0).unwrap().branch_stack.unwrap();
        assert_eq!((b.hw_idx, b.get(0).to, b.first_to_at()), (Some(9), 2, 32));
    }

    #[test]
    fn memory_fields_in_perf_order() {
        let a = attr(
            SAMPLE_IP
                | SAMPLE_ADDR
                | SAMPLE_WEIGHT_STRUCT
                | SAMPLE_DATA_SRC
                | SAMPLE_PHYS_ADDR
                | SAMPLE_DATA_PAGE_SIZE,
            0,
        );
        let weight = 225 | (31 << 32) | (5 << 48);
        let data = words(&[0x10, 0xdead, weight, 0x11868100242, 0x1234, 4096]);
        let s = parse_sample(&a, 0, &data, 0).unwrap();
        assert_eq!((s.addr, s.weight, s.ins_lat), (0xdead, 225, 31));
        assert_eq!(
            (s.data_src, s.phys_addr, s.data_page_size),
            (0x11868100242, 0x1234, 4096)
        );
        // perf reads the trailing words unchecked: a short sample is not an error.
        let s = parse_sample(&a, 0, &data[..32], 0).unwrap();
        assert_eq!((s.data_src, s.phys_addr), (0x11868100242, 0));
    }

    #[test]
    fn first_registers_are_what_get_reads() {
        let bytes: Vec<u8> = (0..40u8).flat_map(|i| [i; 8]).collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..500usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Fewer values than the mask names, now and then.
            let values = &bytes[..(i % 41) * 8];
            let regs = Regs {
                abi: 2,
                mask: x,
                values,
            };
            let first: [Option<u64>; 24] = regs.first();
            for (r, v) in first.iter().enumerate() {
                assert_eq!(*v, regs.get(r as u32), "mask {x:#x}, register {r}");
            }
        }
    }
}
