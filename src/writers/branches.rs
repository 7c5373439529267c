//! The `brstack`, `brstacksym` and `brstackoff` fields of `-F`: perf 6.1's
//! `perf_sample__fprintf_brstack`, `_brstacksym` and `_brstackoff` with
//! `print_bstack_flags` (builtin-script.c) and `get_branch_type`
//! (util/branch.c), over the entries `frames::branches` looked up.

use super::{fmt, Names};
use crate::frames::{BranchFrames, Frame};
use crate::script_options::fields::*;

/// `PERF_BR_*` names (`branch_type_name`); 0 (unknown) prints nothing.
const TYPE_NAMES: [&str; 16] = [
    "", "COND", "UNCOND", "IND", "CALL", "IND_CALL", "RET", "SYSCALL", "SYSRET", "COND_CALL",
    "COND_RET", "ERET", "IRQ", "SERROR", "NO_TX", "",
];

/// `PERF_BR_NEW_*` names of an x86 build (`branch_new_type_name`); perf
/// reads past its table for 8..15, perfold prints `(null)` there.
const NEW_TYPE_NAMES: [&str; 8] = [
    "FAULT_ALGN",
    "FAULT_DATA",
    "FAULT_INST",
    "ARCH_1",
    "ARCH_2",
    "ARCH_3",
    "ARCH_4",
    "ARCH_5",
];

/// `/M/X/A/cycles/type ` of one entry (`struct branch_flags`: mispred:1,
/// predicted:1, in_tx:1, abort:1, cycles:16, type:4, spec:2, new_type:4).
fn flags(out: &mut Vec<u8>, flags: u64) {
    let bit = |n: u32| flags >> n & 1 != 0;
    out.push(b'/');
    out.push(if bit(1) {
        b'P'
    } else if bit(0) {
        b'M'
    } else {
        b'-'
    });
    out.extend_from_slice(if bit(2) { b"/X/" } else { b"/-/" });
    out.push(if bit(3) { b'A' } else { b'-' });
    out.push(b'/');
    fmt::dec_padded(out, (flags >> 4) & 0xffff, 0, b' ');
    out.push(b'/');
    let type_ = (flags >> 20 & 0xf) as usize;
    let name = if type_ == 15 {
        NEW_TYPE_NAMES
            .get((flags >> 26 & 0xf) as usize)
            .copied()
            .unwrap_or("(null)")
    } else {
        TYPE_NAMES[type_]
    };
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
}

/// `(dso)` as `map__fprintf_dsoname` prints it.
fn dso(out: &mut Vec<u8>, f: &Frame, names: &Names) {
    out.push(b'(');
    match f.dso {
        Some(d) => out.extend_from_slice(&names.machine.dsos.get(d).name),
        None => out.extend_from_slice(b"[unknown]"),
    }
    out.push(b')');
}

/// `sym+0xoff` (`symbol__fprintf_symname_offs`) or `[unknown]`.
fn symbol(out: &mut Vec<u8>, f: &Frame, names: &Names) {
    match f.sym {
        Some(id) => {
            let sym = names.symbols.get(id);
            out.extend_from_slice(sym.name.as_bytes());
            out.extend_from_slice(b"+0x");
            fmt::hex(out, super::text::symbol_offset(f, sym.start, sym.end));
        }
        None => out.extend_from_slice(b"[unknown]"),
    }
}

/// Appends the branch-stack field the event prints (one of the three).
pub fn branch_stack(out: &mut Vec<u8>, fields: FieldMask, entries: &[BranchFrames], names: &Names) {
    let with_dso = fields & DSO != 0;
    let sym = fields & BRSTACK == 0 && fields & BRSTACKSYM != 0;
    let off = fields & (BRSTACK | BRSTACKSYM) == 0 && fields & BRSTACKOFF != 0;
    if fields & (BRSTACK | BRSTACKSYM | BRSTACKOFF) == 0 {
        return;
    }
    for e in entries {
        for (i, (f, raw)) in [(&e.from, e.from_raw), (&e.to, e.to_raw)]
            .into_iter()
            .enumerate()
        {
            if sym {
                if i == 1 {
                    out.push(b'/');
                }
                symbol(out, f, names);
            } else {
                out.extend_from_slice(if i == 0 { b" 0x" } else { b"/0x" });
                let addr = if off && f.dso.is_some() && !raw {
                    f.addr
                } else {
                    f.ip
                };
                fmt::hex(out, addr);
            }
            if with_dso {
                dso(out, f, names);
            }
        }
        flags(out, e.flags);
    }
}
