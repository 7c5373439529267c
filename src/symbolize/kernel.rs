//! Kernel symbols for perf's `[kernel.kallsyms]` map: which kallsyms file
//! perf 6.1 uses (`dso__load_kernel_sym` / `dso__find_kallsyms`), how it
//! parses it (`kallsyms__parse`, `map__process_kallsym_symbol`), and what it
//! does afterwards (`__dso__load_kallsyms`: `kallsyms__delta`,
//! `symbols__fixup_end(.., true)`, `symbols__fixup_duplicate`,
//! `maps__split_kallsyms`, then `map__fixup_start/end`).
//!
//! Not reproduced: vmlinux files (`dso__load_vmlinux*`: build-id cache
//! `elf`, `vmlinux_path`), kcore (`dso__load_kcore`, `[kernel.kcore]` cache
//! dirs) and x86 entry-trampoline extra maps.

use super::rbtree::SymTree;
use super::symtab::to_name;
use crate::objfile::build_id::{build_id_equal, build_id_hex, read_sysfs_build_id};
use crate::objfile::elf::{STB_GLOBAL, STB_LOCAL, STB_WEAK};
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// perf `kallsyms__parse` over the file contents, byte for byte like its
/// `struct io` reader: `<hex> <type> <name up to 513 bytes>`; bytes >= 0x80
/// read as negative `char`s, which end a field the way EOF does.
/// `f` sees each entry (name, type, address) and says whether to go on.
pub fn parse_kallsyms(data: &[u8], mut f: impl FnMut(&[u8], u8, u64) -> ControlFlow<()>) {
    parse_kallsyms_at(data, |_, name, ty, start| f(name, ty, start));
}

/// [`parse_kallsyms`], also giving where each name starts in `data` (a
/// name's bytes are the file's bytes: the reader copies them one by one).
pub fn parse_kallsyms_at(data: &[u8], f: impl FnMut(usize, &[u8], u8, u64) -> ControlFlow<()>) {
    parse_lines(data, true, f);
}

/// Hex digit values by byte (`0xff`: not a digit), as `io__get_hex` reads them.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// A name of at most this many bytes before its newline is read whole by
/// perf's reader (its loop takes 513 characters: a 513-byte name leaves the
/// newline for the next line's address).
const WHOLE_NAME: usize = 512;

/// The common line, `<16 hex digits> <type> <name>\n` with an ASCII name of
/// at most [`WHOLE_NAME`] bytes, read in bulk: (address, type, name start,
/// newline). What the byte reader gives for it; any other line goes to it.
fn common_line(data: &[u8], pos: usize) -> Option<(u64, u8, usize, usize)> {
    let head = data.get(pos..pos.checked_add(19)?)?;
    if head[16] != b' ' || head[18] != b' ' {
        return None;
    }
    let mut start = 0u64;
    for &c in &head[..16] {
        let v = HEX[c as usize];
        if v > 15 {
            return None;
        }
        start = (start << 4) | u64::from(v);
    }
    let name_start = pos + 19;
    let window = data.get(name_start..(name_start + WHOLE_NAME + 1).min(data.len()))?;
    let len = memchr::memchr(b'\n', window)?;
    // Bytes >= 0x80 end a name in perf's reader (negative chars).
    window[..len].is_ascii().then_some((start, head[17], name_start, name_start + len))
}

/// The reader; `bulk`: common lines read by [`common_line`] (off only in
/// the test that checks the two readings agree).
fn parse_lines(
    data: &[u8],
    bulk: bool,
    mut f: impl FnMut(usize, &[u8], u8, u64) -> ControlFlow<()>,
) {
    let mut pos = 0usize;
    let mut eof = false;
    // io__get_char: -1 at EOF (sticky), otherwise the byte as signed char.
    let mut getc = |pos: &mut usize, eof: &mut bool| -> i32 {
        if *eof {
            return -1;
        }
        match data.get(*pos) {
            Some(&b) => {
                *pos += 1;
                i32::from(b as i8)
            }
            None => {
                *eof = true;
                -1
            }
        }
    };
    while !eof {
        if let Some((start, ty, name_start, newline)) = common_line(data, pos).filter(|_| bulk) {
            pos = newline + 1;
            if f(name_start, &data[name_start..newline], ty, start).is_break() {
                break;
            }
            continue;
        }
        // io__get_hex
        let mut start: u64 = 0;
        let mut first = true;
        let sep = loop {
            let ch = getc(&mut pos, &mut eof);
            let v = match u8::try_from(ch).map(|b| HEX[usize::from(b)]) {
                Ok(v) if v <= 15 => v,
                _ if ch < 0 => break ch,
                _ if first => break -2,
                _ => break ch,
            };
            start = (start << 4) | u64::from(v);
            first = false;
        };
        let read_to_eol =
            |pos: &mut usize,
             eof: &mut bool,
             getc: &mut dyn FnMut(&mut usize, &mut bool) -> i32| loop {
                let ch = getc(pos, eof);
                if ch < 0 || ch == 0x0a {
                    break;
                }
            };
        if sep != 0x20 {
            read_to_eol(&mut pos, &mut eof, &mut getc);
            continue;
        }
        let ty = getc(&mut pos, &mut eof);
        if getc(&mut pos, &mut eof) != 0x20 {
            read_to_eol(&mut pos, &mut eof, &mut getc);
            continue;
        }
        let name_start = pos;
        let mut name_len = 0;
        for _ in 0..513 {
            let ch = getc(&mut pos, &mut eof);
            if ch < 0 || ch == 0x0a {
                break;
            }
            name_len += 1;
        }
        let name = &data[name_start..name_start + name_len];
        if f(name_start, name, ty as u8, start).is_break() {
            break;
        }
    }
}

/// perf `kallsyms__get_function_start`: first `T/t/W/w/A` symbol named `name`.
pub fn function_start(data: &[u8], want: &[u8]) -> Option<u64> {
    let mut found = None;
    parse_kallsyms(data, |name, ty, start| {
        let is_fn = matches!(ty.to_ascii_uppercase(), b'T' | b'W') || ty == b'A';
        if is_fn && name == want {
            found = Some(start);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

/// `kallsyms2elf_binding`.
pub(super) fn binding(ty: u8) -> u8 {
    if ty == b'W' {
        STB_WEAK
    } else if ty.is_ascii_uppercase() {
        STB_GLOBAL
    } else {
        STB_LOCAL
    }
}

/// The loaded `[kernel.kallsyms]` DSO and its map range after
/// `map__fixup_start`/`map__fixup_end`.
/// (The lookups use `kernel_table::KernelTable`; this tree answers the
/// ambiguous ones, and its range and modules pin perf's rules in tests.)
pub struct Kernel {
    pub tree: SymTree,
    #[cfg_attr(not(test), allow(dead_code))]
    pub range: Option<(u64, u64)>,
    /// Symbols `maps__split_kallsyms` moved to module maps, by the module's
    /// short name (`[ext4]`), at their kallsyms addresses.
    #[cfg_attr(not(test), allow(dead_code))]
    pub modules: std::collections::HashMap<String, SymTree>,
}

/// Inputs of `__dso__load_kallsyms` beyond the file itself.
pub struct KernelCtx<'a> {
    /// `kmap->ref_reloc_sym` (name, recorded address).
    pub ref_reloc: Option<(&'a str, u64)>,
    /// Short names (`[mod]`) of module maps perf created from the recording.
    pub modules: &'a HashSet<String>,
    /// Modules whose DSO perf loaded (found no `.ko` for) before the kernel:
    /// their kallsyms symbols are discarded.
    pub loaded_modules: &'a HashSet<String>,
}

/// perf `__dso__load_kallsyms` (no kcore) for the host kernel map.
pub fn load_kallsyms(data: &[u8], ctx: &KernelCtx) -> Option<Kernel> {
    let mut tree = SymTree::new();
    parse_kallsyms(data, |name, ty, start| {
        // symbol_type__filter and "Ignore local symbols for ARM modules".
        if matches!(ty.to_ascii_uppercase(), b'T' | b'W' | b'D' | b'B')
            && name.first() != Some(&b'$')
        {
            tree.insert(start, 0, binding(ty), to_name(name));
        }
        ControlFlow::Continue(())
    });
    let delta = match ctx.ref_reloc {
        Some((name, addr)) => function_start(data, name.as_bytes())?.wrapping_sub(addr),
        None => 0,
    };
    tree.fixup_end(true);
    tree.fixup_duplicate();
    let modules = split_kallsyms(&mut tree, delta, ctx.modules, ctx.loaded_modules);
    let range = match (tree.first(), tree.last()) {
        (Some(f), Some(l)) => Some((tree.node(f).sym.start, tree.node(l).sym.end)),
        _ => None,
    };
    Some(Kernel {
        tree,
        range,
        modules,
    })
}

/// perf `maps__split_kallsyms`, keeping only what stays in the initial
/// kernel map: module symbols leave (to their module map, or are discarded
/// when perf has none), kernel symbols that follow a module symbol while a
/// module map is current go to a new `[kernel].N` map, the x86_64 entry
/// trampoline symbol is dropped, and the relocation delta is applied.
///
/// The module symbols that move are returned per module (names without the
/// `\t[module]` suffix, ends from the fix-up over the whole file). perf
/// stores them relative to the module map and looks them up with `map_ip`;
/// module maps are identity-mapped here, so they keep their addresses.
/// `modules` holds the module maps whose DSO was not loaded yet (perf
/// discards the symbols of a module whose DSO was loaded before the kernel).
fn split_kallsyms(
    tree: &mut SymTree,
    delta: u64,
    modules: &HashSet<String>,
    loaded: &HashSet<String>,
) -> std::collections::HashMap<String, SymTree> {
    let mut moved: std::collections::HashMap<String, SymTree> = Default::default();
    // `curr_map`: the initial map (None, false), a module map (Some, false)
    // or one of the "[kernel].N" maps (None, true).
    let mut in_module: Option<String> = None;
    let mut moved_away = false;
    let mut count = 0usize;
    for n in tree.in_order() {
        let name = tree.node(n).sym.name.clone();
        if let Some(tab) = name.find('\t') {
            let module = &name[tab + 1..];
            if moved_away || in_module.as_deref() != Some(module) {
                moved_away = false;
                in_module = modules.contains(module).then(|| module.to_string());
            }
            if let Some(m) = in_module.as_ref().filter(|m| !loaded.contains(*m)) {
                let node = tree.node(n);
                let (start, end, binding) = (node.sym.start, node.sym.end, node.binding);
                moved.entry(m.clone()).or_default().insert(
                    start,
                    end.wrapping_sub(start),
                    binding,
                    name[..tab].into(),
                );
            }
            tree.erase(n);
            continue;
        }
        if name.as_ref() == "__entry_SYSCALL_64_trampoline" {
            tree.erase(n);
            continue;
        }
        let node = tree.node_mut(n);
        node.sym.start = node.sym.start.wrapping_sub(delta);
        node.sym.end = node.sym.end.wrapping_sub(delta);
        if in_module.is_some() || moved_away {
            if count == 0 {
                in_module = None;
                moved_away = false;
                count += 1;
                continue;
            }
            // A new "[kernel].N" map takes this symbol.
            moved_away = true;
            in_module = None;
            tree.erase(n);
            continue;
        }
        count += 1;
    }
    moved
}

/// perf `symbol__read_kptr_restrict` → `symbol__restricted_filename`.
pub(super) fn kallsyms_restricted(path: &Path) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    if real != Path::new("/proc/kallsyms") {
        return false;
    }
    let rd = |p: &str| std::fs::read_to_string(p).ok();
    let cap_syslog = rd("/proc/self/status")
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(l[7..].trim(), 16).ok()
        })
        .is_some_and(|caps| caps & (1 << 34) != 0);
    let kptr: i64 = rd("/proc/sys/kernel/kptr_restrict")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let mut restricted = if cap_syslog { kptr >= 2 } else { kptr != 0 };
    let paranoid: i64 = rd("/proc/sys/kernel/perf_event_paranoid")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(2);
    if paranoid > 1 && !cap_syslog {
        restricted = true;
    }
    restricted
}

/// perf `dso__load_kernel_sym` file choice (kallsyms only).
pub fn choose_kallsyms(
    kallsyms_opt: Option<&Path>,
    symfs: &[u8],
    buildid_dir: &Path,
    build_id: Option<&[u8]>,
) -> Option<PathBuf> {
    if let Some(p) = kallsyms_opt {
        return Some(p.to_path_buf());
    }
    if !symfs.is_empty() {
        return None; // "do not try local files if a symfs was given"
    }
    // dso__find_kallsyms
    let Some(bid) = build_id else {
        return Some(PathBuf::from("/proc/kallsyms"));
    };
    let is_host = read_sysfs_build_id(Path::new("/sys/kernel/notes"))
        .is_some_and(|h| build_id_equal(bid, &h));
    if is_host {
        return Some(PathBuf::from("/proc/kallsyms"));
    }
    let hex = build_id_hex(bid);
    let dir = buildid_dir.join("[kernel.kallsyms]");
    let p = dir.join(&hex).join("kallsyms");
    if p.exists() {
        return Some(p);
    }
    let old = dir.join(&hex);
    old.exists().then_some(old)
}

/// The bytes of a kallsyms file perf would load (procfs files cannot be
/// mapped, so they are read); `None` when perf would not (restricted).
pub fn read_kallsyms(path: &Path) -> Option<Vec<u8>> {
    if kallsyms_restricted(path) {
        return None;
    }
    std::fs::read(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry the reader gives, with or without the bulk reading of
    /// common lines.
    fn entries(data: &[u8], bulk: bool) -> Vec<(usize, Vec<u8>, u8, u64)> {
        let mut out = Vec::new();
        parse_lines(data, bulk, |off, name, ty, start| {
            out.push((off, name.to_vec(), ty, start));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn bulk_reading_gives_what_the_byte_reader_gives() {
        let long = |n: usize| "n".repeat(n);
        let mut text = String::new();
        text.push_str("ffffffff81000000 T _text\n");
        text.push_str("FFFFFFFF81000010 t upper_hex\n");
        text.push_str("81000020 t short_address\n");
        text.push_str(&format!("ffffffff81000030 t {}\n", long(512)));
        // A 513-byte name leaves its newline: the next line is skipped.
        text.push_str(&format!("ffffffff81000040 t {}\n", long(513)));
        text.push_str("ffffffff81000050 t skipped_after_513\n");
        text.push_str(&format!("ffffffff81000060 t {}\n", long(600)));
        text.push_str("ffffffff81000070 t mod_fn\t[mymod]\n");
        text.push_str("ffffffff8100007g t bad_digit\n");
        text.push_str("ffffffff81000080  t two_spaces\n");
        text.push('\n');
        text.push_str("ffffffff81000090 t after_empty\n");
        let mut data = text.into_bytes();
        // Bytes >= 0x80 end a name; the reader goes on after them.
        data.extend_from_slice(b"ffffffff810000a0 t na\xc3\xafve\n");
        data.extend_from_slice(b"ffffffff810000b0 t \xffhigh\n");
        data.extend_from_slice(b"ffffffff810000c0 \xff x\n");
        data.extend_from_slice(b"ffffffff810000d0 t no_newline_at_end");
        // The bulk reading is taken where it can be.
        assert_eq!(common_line(&data, 0), Some((0xffff_ffff_8100_0000, b'T', 19, 24)));
        let bulk = entries(&data, true);
        assert_eq!(bulk, entries(&data, false));
        assert!(bulk.len() > 10);
        for cut in 0..data.len() {
            assert_eq!(entries(&data[..cut], true), entries(&data[..cut], false), "cut at {cut}");
        }
    }

    fn load(text: &str, reloc: Option<(&str, u64)>) -> Kernel {
        let mods = HashSet::new();
        let ctx = KernelCtx {
            ref_reloc: reloc,
            modules: &mods,
            loaded_modules: &mods,
        };
        load_kallsyms(text.as_bytes(), &ctx).unwrap()
    }

    fn at(k: &Kernel, ip: u64) -> Option<(u64, String)> {
        k.tree.find(ip).map(|i| {
            (
                k.tree.node(i).sym.start,
                k.tree.node(i).sym.name.to_string(),
            )
        })
    }

    const KS: &str = "ffffffff81000000 T srso_alias_untrain_ret\n\
ffffffff81000000 T _stext\n\
ffffffff81000000 T _text\n\
ffffffff81000010 t local_fn\n\
ffffffff81000020 r some_rodata\n\
ffffffff81000030 W weak_fn\n\
ffffffff81000040 d $x\n\
ffffffffc0000000 t mod_fn\t[mymod]\n\
ffffffffc0000100 t mod_fn2\t[mymod]\n";

    #[test]
    fn kallsyms_rules() {
        let k = load(KS, None);
        // Aliases: "_text" wins (only one with non-zero length after fixup_end).
        assert_eq!(
            at(&k, 0xffffffff81000005),
            Some((0xffffffff81000000, "_text".into()))
        );
        assert_eq!(
            at(&k, 0xffffffff81000015),
            Some((0xffffffff81000010, "local_fn".into()))
        );
        // 'r' symbols are filtered, so local_fn extends to weak_fn.
        assert_eq!(
            at(&k, 0xffffffff81000025),
            Some((0xffffffff81000010, "local_fn".into()))
        );
        // Last kernel symbol before module symbols: roundup(end + 4096, 4096).
        assert_eq!(
            at(&k, 0xffffffff81001fff),
            Some((0xffffffff81000030, "weak_fn".into()))
        );
        assert_eq!(at(&k, 0xffffffff81002000), None);
        // Module symbols are not kernel symbols.
        assert_eq!(at(&k, 0xffffffffc0000000), None);
        assert_eq!(k.range, Some((0xffffffff81000000, 0xffffffff81002000)));
    }

    #[test]
    fn relocation_delta() {
        // Recorded _text was 0x1000 lower than in this kallsyms file.
        let k = load(KS, Some(("_text", 0xffffffff80fff000)));
        assert_eq!(
            at(&k, 0xffffffff80fff010),
            Some((0xffffffff80fff010, "local_fn".into()))
        );
        // Unknown reference symbol: perf fails the whole load.
        let mods = HashSet::new();
        let ctx = KernelCtx {
            ref_reloc: Some(("nope", 1)),
            modules: &mods,
            loaded_modules: &mods,
        };
        assert!(load_kallsyms(KS.as_bytes(), &ctx).is_none());
    }

    #[test]
    fn parser_quirks() {
        let mut got = Vec::new();
        parse_kallsyms(b"zz T bad\n00ff t ok\n12 X\n0001 T last", |n, t, s| {
            got.push((String::from_utf8_lossy(n).into_owned(), t, s));
            ControlFlow::Continue(())
        });
        // "12 X\n": the newline is eaten by the separator check, so the
        // skip-to-end-of-line swallows the *next* line as well.
        assert_eq!(got, vec![("ok".to_string(), b't', 0xff)]);
        assert_eq!(
            function_start(b"10 t _text\n20 T _text\n", b"_text"),
            Some(0x10)
        );
        assert_eq!(function_start(b"10 d _text\n", b"_text"), None);
    }
}
