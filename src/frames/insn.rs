//! x86 instructions as perf 6.1 measures and classifies them (its copy of
//! the kernel's instruction decoder and the intel-pt branch classes), for
//! `insn`, `insnlen` and `brstackinsn`: lengths from iced-x86.

/// The length of the first instruction of `bytes`, 0 if none decodes.
/// perf's decoder only measures instructions: an undefined opcode extension
/// (`ff /7`, `db ff`) still has a length there. iced-x86 rejects those, so
/// a rejected instruction is measured again with its ModRM reg field set to
/// 0, which does not change the length of the encodings perf measures.
pub fn insn_len(bytes: &[u8], is64: bool) -> usize {
    let len = decoded_len(bytes, is64);
    if len != 0 {
        return len;
    }
    let at = opcode_at(bytes, is64);
    let modrm = match bytes.get(at) {
        Some(0x0f) => match bytes.get(at + 1) {
            Some(0x38 | 0x3a) => at + 3,
            _ => at + 2,
        },
        Some(_) => at + 1,
        None => return 0,
    };
    if modrm >= bytes.len() {
        return 0;
    }
    let mut patched = [0u8; 16];
    let n = bytes.len().min(16);
    patched[..n].copy_from_slice(&bytes[..n]);
    patched[modrm] &= !0x38;
    decoded_len(&patched[..n], is64)
}

fn decoded_len(bytes: &[u8], is64: bool) -> usize {
    if bytes.is_empty() {
        return 0;
    }
    let bitness = if is64 { 64 } else { 32 };
    let mut d = iced_x86::Decoder::new(bitness, bytes, iced_x86::DecoderOptions::NO_INVALID_CHECK);
    let insn = d.decode();
    if insn.is_invalid() || insn.len() > bytes.len() {
        0
    } else {
        insn.len()
    }
}

/// Where the opcode starts after legacy prefixes and a REX prefix.
fn opcode_at(bytes: &[u8], is64: bool) -> usize {
    let mut i = 0;
    while i < bytes.len()
        && matches!(
            bytes[i],
            0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3
        )
    {
        i += 1;
    }
    if is64 && bytes.get(i).is_some_and(|b| b & 0xf0 == 0x40) {
        i += 1;
    }
    i
}

/// perf's `arch_is_branch` (the intel-pt instruction classes): true also
/// when nothing decodes, as perf's -1 is.
pub fn is_branch(bytes: &[u8], is64: bool) -> bool {
    if insn_len(bytes, is64) == 0 {
        return true;
    }
    let i = opcode_at(bytes, is64);
    let at = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
    match at(0) {
        // VEX / EVEX / XOP encoded: perf's insn_is_avx, never a branch.
        0xc4 | 0xc5 | 0x62 if is64 || at(1) >= 0xc0 => false,
        0x0f => matches!(at(1), 0x05 | 0x34 | 0x07 | 0x35 | 0x80..=0x8f)
            || (at(1) == 0x01 && matches!(at(2), 0xc2 | 0xc3)),
        0x70..=0x7f | 0xc2 | 0xc3 | 0xca | 0xcb | 0xcf | 0xcc..=0xce | 0xe8 | 0x9a => true,
        0xe0..=0xe3 | 0xe9 | 0xeb | 0xea => true,
        0xff => matches!((at(1) >> 3) & 7, 2..=5),
        _ => false,
    }
}
