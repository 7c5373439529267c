//! Non-sample kernel records that change what perfold knows about processes:
//! MMAP, MMAP2, COMM, FORK and EXIT, parsed into borrowed views.

use super::bytes::Cursor;
use crate::error::Result;

/// `PERF_RECORD_MISC_MMAP_BUILD_ID`: MMAP2 carries a build-id instead of inode data.
pub(crate) const MISC_MMAP_BUILD_ID: u16 = 1 << 14;
/// `PERF_RECORD_MISC_COMM_EXEC`.
pub const MISC_COMM_EXEC: u16 = 1 << 13;
/// `PERF_RECORD_MISC_FORK_EXEC` (perf's internal marker on synthesized forks).
pub const MISC_FORK_EXEC: u16 = 1 << 13;

/// MMAP or MMAP2.
#[derive(Debug, Clone, Copy)]
pub struct MmapRecord<'a> {
    pub cpumode: u8,
    pub pid: i32,
    pub tid: i32,
    pub start: u64,
    pub len: u64,
    pub pgoff: u64,
    /// Device and inode identity (MMAP2 without build-id): maj, min, ino, generation.
    pub inode: Option<(u32, u32, u64, u64)>,
    pub build_id: Option<&'a [u8]>,
    pub prot: u32,
    pub flags: u32,
    pub filename: &'a [u8],
}

impl<'a> MmapRecord<'a> {
    pub fn parse(data: &'a [u8], misc: u16, v2: bool, base: u64) -> Result<MmapRecord<'a>> {
        let mut c = Cursor::new(data, base);
        let pid = c.u32("mmap pid")? as i32;
        let tid = c.u32("mmap tid")? as i32;
        let start = c.u64("mmap start")?;
        let len = c.u64("mmap length")?;
        let pgoff = c.u64("mmap page offset")?;
        let (mut inode, mut build_id, mut prot, mut flags) = (None, None, 5, 2);
        if v2 {
            if misc & MISC_MMAP_BUILD_ID != 0 {
                let size = c.u8("mmap build-id size")? as usize;
                c.skip(3, "mmap reserved")?;
                let id = c.bytes(20, "mmap build-id")?;
                build_id = Some(&id[..size.min(20)]);
            } else {
                let maj = c.u32("mmap major")?;
                let min = c.u32("mmap minor")?;
                let ino = c.u64("mmap inode")?;
                let generation = c.u64("mmap inode generation")?;
                inode = Some((maj, min, ino, generation));
            }
            prot = c.u32("mmap prot")?;
            flags = c.u32("mmap flags")?;
        }
        let filename = c.c_string_rest();
        Ok(MmapRecord {
            cpumode: (misc & 7) as u8,
            pid,
            tid,
            start,
            len,
            pgoff,
            inode,
            build_id,
            prot,
            flags,
            filename,
        })
    }
}

/// COMM: a thread's new name.
#[derive(Debug, Clone, Copy)]
pub struct Comm<'a> {
    pub pid: i32,
    pub tid: i32,
    pub exec: bool,
    pub comm: &'a [u8],
}

impl<'a> Comm<'a> {
    pub fn parse(data: &'a [u8], misc: u16, base: u64) -> Result<Comm<'a>> {
        let mut c = Cursor::new(data, base);
        let pid = c.u32("comm pid")? as i32;
        let tid = c.u32("comm tid")? as i32;
        Ok(Comm {
            pid,
            tid,
            exec: misc & MISC_COMM_EXEC != 0,
            comm: c.c_string_rest(),
        })
    }
}

/// FORK or EXIT.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    pub pid: i32,
    pub ppid: i32,
    pub tid: i32,
    pub ptid: i32,
    pub misc: u16,
}

impl Task {
    pub fn parse(data: &[u8], misc: u16, base: u64) -> Result<Task> {
        let mut c = Cursor::new(data, base);
        Ok(Task {
            pid: c.u32("task pid")? as i32,
            ppid: c.u32("task ppid")? as i32,
            tid: c.u32("task tid")? as i32,
            ptid: c.u32("task ptid")? as i32,
            misc,
        })
    }
}
