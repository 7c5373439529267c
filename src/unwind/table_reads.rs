//! Where perf's libunwind reads a DSO's `.eh_frame_hdr` search table: in
//! the address space, not in the file.
//!
//! perf's `find_proc_info` (util/unwind-libunwind-local.c) hands libunwind
//! the table's address as `base + .eh_frame_hdr address + header size`,
//! where `base` comes from the DSO's lowest map in the thread's maps
//! (`read_unwind_spec_eh_frame`, the same base `mod.rs` registers). The
//! binary search (libunwind's `remote_lookup`) and the FDE it finds are then
//! read word by word through perf's `access_mem`: the stack copy, else the
//! file behind whatever map holds the address. After a fork and an exec the
//! lowest map of a DSO can be one the parent left (a RELRO remap of
//! `ld-linux` far below where the new image maps it): the table's address
//! then lies in no map, the first read fails, `find_proc_info` fails and
//! the walk ends at that frame (perf 6.1 `-v`: "unwind: no map for ...").
//!
//! Unwinding here reads the tables from the file. [`tables_backed`] says,
//! once per registered module, whether perf's reads would find the file's
//! own bytes at the file's own places; where they would not,
//! [`search_reads_succeed`] replays the reads of one search.

use crate::mappings::{DsoId, Maps};

use super::file::UnwindFile;

/// The `.eh_frame_hdr` header perf reads before the table
/// (`unwind_spec_ehframe`): version, three encodings, `eh_frame_ptr` and
/// `fde_count`, each of the two 4 bytes in the encodings linkers write.
const HEADER: u64 = 12;

/// The encodings' low nibble for 4-byte values (`DW_EH_PE_udata4`,
/// `DW_EH_PE_sdata4`).
fn four_bytes(enc: u8) -> bool {
    matches!(enc & 0x0f, 0x03 | 0x0b)
}

/// The table's entry count, for the header layout linkers write (the
/// table then starts [`HEADER`] bytes in); `None` for another layout.
fn table_entries(hdr: &[u8]) -> Option<u64> {
    let [version, ptr_enc, count_enc, _] = *hdr.first_chunk::<4>()?;
    if version != 1 || !four_bytes(ptr_enc) || !four_bytes(count_enc) {
        return None;
    }
    let count = u32::from_le_bytes(hdr.get(8..12)?.try_into().ok()?);
    Some(u64::from(count))
}

/// Whether every address perf reads of `file`'s `.eh_frame_hdr` and
/// `.eh_frame` under `base` lies in a map of `dso` whose file offsets agree
/// with `base` (the reads then give the file's bytes: the search is the
/// file's own). Without those sections perf's lookup fails before reading.
pub(super) fn tables_backed(maps: &Maps, dso: DsoId, base: u64, file: &UnwindFile) -> bool {
    let (Some(hdr), Some(eh)) = (&file.eh_frame_hdr, &file.eh_frame) else {
        return true;
    };
    let agrees = base.wrapping_add(file.elf_base);
    [&hdr.svma, &eh.svma].into_iter().all(|svma| {
        let (mut at, end) = (base.wrapping_add(svma.start), base.wrapping_add(svma.end));
        while at < end {
            match maps.find(at) {
                Some(m) if m.dso == dso && m.start.wrapping_sub(m.pgoff) == agrees => at = m.end,
                _ => return false,
            }
        }
        true
    })
}

/// libunwind's `dwarf_reads32` on a remote address space: the aligned word
/// holding `addr`, read through perf's `access_mem` (`read`).
fn read_s32(read: &impl Fn(u64) -> Option<u64>, addr: u64) -> Option<u64> {
    let aligned = addr & !7;
    let word = read(aligned)?;
    let shift = (addr - aligned) * 8;
    // Sign-extended into an unw_word_t, as libunwind stores it.
    Some((word >> shift) as u32 as i32 as i64 as u64)
}

/// Whether the reads of perf's table search for `ip` in the module at
/// `base` succeed (`remote_lookup`, then the first word of the FDE it
/// finds), each made by `read` (perf's `access_mem`: `None` is a failed
/// read). A failed read fails `find_proc_info`: the walk ends.
pub(super) fn search_reads_succeed(
    read: impl Fn(u64) -> Option<u64>,
    file: &UnwindFile,
    base: u64,
    ip: u64,
) -> bool {
    let Some(hdr) = &file.eh_frame_hdr else {
        return true;
    };
    let Some(count) = table_entries(&hdr.bytes) else {
        return true;
    };
    let segbase = base.wrapping_add(hdr.svma.start);
    let table = segbase.wrapping_add(HEADER);
    // `int32_t rel_ip`, compared with the sign-extended words as unsigned.
    let rel_ip = ip.wrapping_sub(segbase) as i32 as i64 as u64;
    let (mut lo, mut hi) = (0u64, count);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let Some(start) = read_s32(&read, table.wrapping_add(mid * 8)) else {
            return false;
        };
        if rel_ip < start {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if hi == 0 {
        // No entry: -UNW_ENOINFO, not a failed read.
        return true;
    }
    let entry = table.wrapping_add((hi - 1) * 8);
    let (Some(_), Some(fde)) = (read_s32(&read, entry), read_s32(&read, entry + 4)) else {
        return false;
    };
    read(segbase.wrapping_add(fde) & !7).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mappings::Map;
    use std::sync::Arc;

    const LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";

    fn map(start: u64, len: u64, pgoff: u64) -> Map {
        Map {
            start,
            end: start + len,
            pgoff,
            dso: DsoId(7),
            identity: false,
        }
    }

    /// perf's `access_mem` outside the stack copy, for a space whose maps
    /// are all of `file`: the word behind the map holding `addr`.
    fn reader<'a>(maps: &'a Maps, file: &'a UnwindFile) -> impl Fn(u64) -> Option<u64> + 'a {
        move |addr| {
            let m = maps.find(addr)?;
            let off = m.map_ip(addr) as usize;
            let word = file.data.get(off..off + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
            Some(word.unwrap_or(0))
        }
    }

    /// After a fork and an exec, the only map the parent left of ld.so is its
    /// RELRO remap, below the new image: perf's base comes from it, the
    /// table's address lies in no map, and the search's first read fails.
    /// At the image's own base the reads give the file's table.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_table_the_lowest_map_puts_in_no_map_fails_the_search() {
        let file = UnwindFile::load(std::path::Path::new(LD_SO), &[])
            .map(Arc::new)
            .expect("the dynamic loader's unwind tables");
        let (Some(hdr), Some(text)) = (&file.eh_frame_hdr, &file.text) else {
            panic!("{LD_SO} has no .eh_frame_hdr or .text");
        };
        assert!(table_entries(&hdr.bytes).is_some_and(|n| n > 10));
        let image = 0x7fb2_2095_c000u64;
        let size = (file.data.len() as u64).next_multiple_of(4096);
        let ip = image + text.start + 0x100 - file.elf_base;

        let mut maps = Maps::default();
        maps.insert(map(image, size, 0));
        let base = image - file.elf_base;
        assert!(tables_backed(&maps, DsoId(7), base, &file));
        assert!(search_reads_succeed(reader(&maps, &file), &file, base, ip));
        let segbase = base + hdr.svma.start;
        let first = read_s32(&reader(&maps, &file), segbase + HEADER).unwrap();
        let want = i32::from_le_bytes(hdr.bytes[12..16].try_into().unwrap());
        assert_eq!(first, want as i64 as u64, "a read gives the file's bytes");

        // The parent's RELRO remap, alone below the image.
        let relro = 0x7f0e_3546_2000u64;
        maps.insert(map(relro, 0x2000, 0x31000));
        let stale = relro - 0x31000 - file.elf_base;
        assert!(!tables_backed(&maps, DsoId(7), stale, &file));
        assert!(!search_reads_succeed(reader(&maps, &file), &file, stale, ip));
    }
}
