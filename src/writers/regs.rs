//! The `iregs` / `uregs` fields: perf's `perf_sample__fprintf_regs` with
//! the register names of `perf_reg_name` (util/perf_regs.c, perf 6.1) for
//! x86_64 and arm64.

use std::io::Write;

/// perf's name of register `id` for the recording's architecture (`x86`
/// or `arm64` after perf's `normalize_arch`).
pub fn reg_name(arm64: bool, id: u32) -> String {
    if arm64 {
        return match id {
            0..=29 => format!("x{id}"),
            30 => "lr".into(),
            31 => "sp".into(),
            32 => "pc".into(),
            46 => "vg".into(),
            _ => "unknown".into(),
        };
    }
    const NAMES: [&str; 24] = [
        "AX", "BX", "CX", "DX", "SI", "DI", "BP", "SP", "IP", "FLAGS", "CS", "SS", "DS", "ES",
        "FS", "GS", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
    ];
    match id {
        0..=23 => NAMES[id as usize].into(),
        // PERF_REG_X86_XMM0 = 32, two ids per XMM register.
        32..=63 => format!("XMM{}", (id - 32) / 2),
        _ => "unknown".into(),
    }
}

/// Appends ` ABI:<abi> ` and `%5s:0x%lx ` per register of `mask`, with the
/// values (little-endian u64s as in the sample) in mask order.
pub fn fprintf_regs(out: &mut Vec<u8>, arm64: bool, abi: u64, mask: u64, values: &[u8]) {
    let _ = write!(out, " ABI:{abi} ");
    let mut vals = values
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()));
    for r in 0..64 {
        if mask & (1 << r) == 0 {
            continue;
        }
        let v = vals.next().unwrap_or(0);
        let _ = write!(out, "{:>5}:{v:#x} ", reg_name(arm64, r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_layout() {
        assert_eq!(reg_name(false, 9), "FLAGS");
        assert_eq!(reg_name(false, 35), "XMM1");
        assert_eq!(reg_name(false, 24), "unknown");
        assert_eq!(reg_name(true, 30), "lr");
        let mut out = Vec::new();
        let vals: Vec<u8> = [2u64, 0, 0x246]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        fprintf_regs(&mut out, false, 2, 0b11 | 1 << 9, &vals);
        assert_eq!(out, b" ABI:2    AX:0x2    BX:0x0 FLAGS:0x246 ");
    }
}
