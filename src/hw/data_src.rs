//! perf 6.1's text for `PERF_SAMPLE_DATA_SRC` (`union perf_mem_data_src`), as
//! `perf script` prints it: `data_src__fprintf` in builtin-script.c over
//! `perf_script__meminfo_scnprintf` and the `perf_mem__*_scnprintf` decoders
//! of util/mem-events.c.
//!
//! perf builds the text in 100-byte buffers: `"%16lx %s"` of the value and its
//! decoding is cut to 99 bytes, then padded to the longest text printed so far
//! in the run (a static in perf). Every cut inside the decoders falls beyond
//! those 99 bytes, so the decoding is built whole here and cut once.
//! Not matched: `mem_hops` values 5..7 index past perf's table (undefined there).

use std::fmt::Write;

const MEM_LVL: [&str; 14] = [
    "N/A",
    "HIT",
    "MISS",
    "L1",
    "LFB/MAB",
    "L2",
    "L3",
    "Local RAM",
    "Remote RAM (1 hop)",
    "Remote RAM (2 hops)",
    "Remote Cache (1 hop)",
    "Remote Cache (2 hops)",
    "I/O",
    "Uncached",
];

/// `mem_lvlnum[]`: the named level numbers; the others print as `L<n>`.
fn lvlnum_name(n: u64) -> Option<&'static str> {
    Some(match n {
        0x09 => "CXL",
        0x0a => "I/O",
        0x0b => "Any cache",
        0x0c => "LFB/MAB",
        0x0d => "RAM",
        0x0e => "PMEM",
        0x0f => "N/A",
        _ => return None,
    })
}

const MEM_HOPS: [&str; 5] = [
    "N/A",
    "core, same node",
    "node, same socket",
    "socket, same board",
    "board",
];
const SNOOP: [&str; 5] = ["N/A", "None", "Hit", "Miss", "HitM"];
const SNOOPX: [&str; 2] = ["Fwd", "Peer"];
const TLB: [&str; 7] = ["N/A", "HIT", "MISS", "L1", "L2", "Walker", "Fault"];

/// The fields of `union perf_mem_data_src` (little-endian bit layout).
struct DataSrc(u64);

impl DataSrc {
    fn bits(&self, shift: u32, width: u32) -> u64 {
        (self.0 >> shift) & ((1 << width) - 1)
    }
    fn op(&self) -> u64 {
        self.bits(0, 5)
    }
    fn lvl(&self) -> u64 {
        self.bits(5, 14)
    }
    fn snoop(&self) -> u64 {
        self.bits(19, 5)
    }
    fn lock(&self) -> u64 {
        self.bits(24, 2)
    }
    fn dtlb(&self) -> u64 {
        self.bits(26, 7)
    }
    fn lvl_num(&self) -> u64 {
        self.bits(33, 4)
    }
    fn remote(&self) -> u64 {
        self.bits(37, 1)
    }
    fn snoopx(&self) -> u64 {
        self.bits(38, 2)
    }
    fn blk(&self) -> u64 {
        self.bits(40, 3)
    }
    fn hops(&self) -> u64 {
        self.bits(43, 3)
    }
}

/// Appends the names of the set bits of `m` (bit i names `table[i]`), joined by " or ".
fn names_of_bits(out: &mut String, mut m: u64, table: &[&str], printed: &mut bool) {
    for name in table {
        if m == 0 {
            break;
        }
        if m & 1 != 0 {
            if *printed {
                out.push_str(" or ");
            }
            out.push_str(name);
            *printed = true;
        }
        m >>= 1;
    }
}

/// `perf_script__meminfo_scnprintf`: `|OP ...|LVL ...|SNP ...|TLB ...|LCK ...|BLK ...`.
pub fn decode(value: u64) -> String {
    let d = DataSrc(value);
    let mut out = String::with_capacity(96);
    out.push_str("|OP ");
    let op = d.op();
    out.push_str(if op & 0x1 != 0 {
        "N/A"
    } else if op & 0x2 != 0 {
        "LOAD"
    } else if op & 0x4 != 0 {
        "STORE"
    } else if op & 0x8 != 0 {
        "PFETCH"
    } else if op & 0x10 != 0 {
        "EXEC"
    } else {
        "No"
    });

    out.push_str("|LVL ");
    let start = out.len();
    let lvl = d.lvl();
    let mut printed = false;
    if d.remote() != 0 {
        out.push_str("Remote ");
    }
    if d.hops() != 0 {
        let name = MEM_HOPS.get(d.hops() as usize).unwrap_or(&"N/A");
        let _ = write!(out, "{name} ");
    } else {
        names_of_bits(&mut out, lvl & !0x6, &MEM_LVL, &mut printed);
    }
    if d.lvl_num() != 0 {
        if printed {
            out.push_str(" or ");
        }
        match lvlnum_name(d.lvl_num()) {
            Some(name) => out.push_str(name),
            None => {
                let _ = write!(out, "L{}", d.lvl_num());
            }
        }
    }
    if out.len() == start {
        out.push_str("N/A");
    }
    if lvl & 0x2 != 0 {
        out.push_str(" hit");
    }
    if lvl & 0x4 != 0 {
        out.push_str(" miss");
    }

    out.push_str("|SNP ");
    let start = out.len();
    let mut printed = false;
    names_of_bits(&mut out, d.snoop(), &SNOOP, &mut printed);
    names_of_bits(&mut out, d.snoopx(), &SNOOPX, &mut printed);
    if out.len() == start {
        out.push_str("N/A");
    }

    out.push_str("|TLB ");
    let start = out.len();
    let tlb = d.dtlb();
    let mut printed = false;
    names_of_bits(&mut out, tlb & !0x6, &TLB, &mut printed);
    if out.len() == start {
        out.push_str("N/A");
    }
    if tlb & 0x2 != 0 {
        out.push_str(" hit");
    }
    if tlb & 0x4 != 0 {
        out.push_str(" miss");
    }

    out.push_str("|LCK ");
    let lock = d.lock();
    out.push_str(if lock & 0x1 != 0 {
        "N/A"
    } else if lock & 0x2 != 0 {
        "Yes"
    } else {
        "No"
    });

    out.push_str("|BLK ");
    let blk = d.blk();
    if blk == 0 || blk & 0x1 != 0 {
        out.push_str(" N/A");
    } else {
        if blk & 0x2 != 0 {
            out.push_str(" Data");
        }
        if blk & 0x4 != 0 {
            out.push_str(" Addr");
        }
    }
    out
}

/// `data_src__fprintf`: the field as printed, padded to the longest so far.
#[derive(Debug, Default)]
pub struct DataSrcColumn {
    max_len: usize,
}

impl DataSrcColumn {
    pub fn append(&mut self, out: &mut Vec<u8>, value: u64) {
        let mut text = format!("{value:16x} {}", decode(value));
        // scnprintf into char[100]: at most 99 bytes (all ASCII).
        text.truncate(99);
        self.max_len = self.max_len.max(text.len());
        out.extend_from_slice(text.as_bytes());
        out.resize(out.len() + self.max_len - text.len(), b' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts perf 6.1 printed for these values (tests/fixtures/hw/pdc-weight-struct
    /// and syn-mem-raw expected.script).
    #[test]
    fn decodes_like_perf() {
        assert_eq!(
            decode(0x11868100242),
            "|OP LOAD|LVL LFB/MAB or LFB/MAB hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A"
        );
        assert_eq!(decode(0), "|OP No|LVL N/A|SNP N/A|TLB N/A|LCK No|BLK  N/A");
        assert_eq!(
            decode(0x107a00000042),
            "|OP LOAD|LVL Remote node, same socket RAM hit|SNP Fwd|TLB N/A|LCK No|BLK  N/A"
        );
        assert_eq!(
            decode(0x60100801048),
            "|OP PFETCH|LVL Local RAM hit|SNP HitM|TLB Fault|LCK No|BLK  Data Addr"
        );
    }

    #[test]
    fn column_is_cut_at_99_bytes_and_padded_to_the_longest() {
        let mut col = DataSrcColumn::default();
        let mut out = Vec::new();
        col.append(&mut out, 0x1400000442);
        let short = out.len();
        out.clear();
        col.append(&mut out, 0x6ebfef81f86);
        assert_eq!(out.len(), 99);
        assert!(out.ends_with(b"|SNP N/A or N"));
        out.clear();
        col.append(&mut out, 0x1400000442);
        assert_eq!((short < 99, out.len()), (true, 99));
    }
}
