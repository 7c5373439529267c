//! ELF → symbol tree with perf 6.1's rules for user-space DSOs:
//! `dso__load_sym` (a `.symtab` pass then a `.dynsym` pass, each followed by
//! `symbols__fixup_end` + `symbols__fixup_duplicate`), the per-symbol filter
//! and address conversion of `dso__load_sym_internal`, and the `foo@plt`
//! entries of `dso__synthesize_plt_symbols`.

use super::demangle::demangle_sym;
#[cfg(test)]
use super::rbtree::SymTree;
use crate::objfile::elf::{
    Elf, ElfSym, EM_AARCH64, EM_ARM, EM_SPARC, EM_SPARCV9, PT_LOAD, SHF_ALLOC, SHN_ABS, SHN_UNDEF,
    SHT_NOBITS, SHT_REL, SHT_RELA, STB_GLOBAL, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, STT_OBJECT,
    STV_HIDDEN, STV_INTERNAL,
};
use crate::objfile::locate::Sources;

/// Turns a C string from the file into the stored name.
pub fn to_name(bytes: &[u8]) -> Box<str> {
    String::from_utf8_lossy(bytes).into_owned().into_boxed_str()
}

/// perf `elf_sym__is_label`.
fn is_label(s: &ElfSym) -> bool {
    let vis = s.other & 3;
    s.info & 0xf == STT_NOTYPE
        && s.name != 0
        && s.shndx != SHN_UNDEF
        && s.shndx != SHN_ABS
        && vis != STV_HIDDEN
        && vis != STV_INTERNAL
}

/// perf `elf_sym__filter`: functions (incl. IFUNC) and objects with a name
/// that are defined.
fn is_func_or_object(s: &ElfSym) -> bool {
    let t = s.info & 0xf;
    (t == STT_FUNC || t == STT_GNU_IFUNC || t == STT_OBJECT) && s.name != 0 && s.shndx != SHN_UNDEF
}

/// perf `elf_read_program_header`: the PT_LOAD holding `vaddr`.
fn load_segment_delta(rt: &Elf, vaddr: u64) -> Option<u64> {
    rt.phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .find(|p| {
            let sz = p.memsz.max(p.filesz);
            sz != 0 && vaddr >= p.vaddr && vaddr < p.vaddr.wrapping_add(sz)
        })
        .map(|p| p.vaddr.wrapping_sub(p.offset))
}

/// One `dso__load_sym_internal` pass. `Err(())` is perf's `out_elf_end`
/// error path: symbols inserted so far stay, but no fix-ups are run.
fn load_pass(sink: &mut impl Sink, se: &Elf, rt: &Elf, dynsym: bool) -> Result<usize, ()> {
    let secname = if dynsym { ".dynsym" } else { ".symtab" };
    let (_, shdr) = se.section_by_name(secname).ok_or(())?;
    let syms = se.section_data(&shdr).ok_or(())?;
    let strsec = se.section(shdr.link as usize).ok_or(())?;
    let strs = se.section_data(strsec).ok_or(())?;
    let secstrs_run = rt
        .section(rt.e_shstrndx as usize)
        .and_then(|s| rt.section_data(s))
        .ok_or(())?;
    let secstrs_sym = se
        .section(se.e_shstrndx as usize)
        .and_then(|s| se.section_data(s))
        .ok_or(())?;
    let nr_syms = shdr.size.checked_div(shdr.entsize).unwrap_or(0);
    let arm = se.e_machine == EM_ARM || se.e_machine == EM_AARCH64;
    let mut nr = 0;
    // gelf_getsym leaves the previous entry in place when it fails.
    let mut sym = ElfSym::default();
    for idx in 0..nr_syms {
        if let Some(s) = se.sym(syms, idx) {
            sym = s;
        }
        let name = Elf::cstr(strs, sym.name).unwrap_or(b"");
        let label = is_label(&sym);
        if !label && !is_func_or_object(&sym) {
            continue;
        }
        // ARM "mapping symbols" ($a, $d, $t, $x and their dotted forms).
        if arm
            && name.first() == Some(&b'$')
            && name.get(1).is_some_and(|c| b"adtx".contains(c))
            && (name.len() == 2 || name[2] == b'.')
        {
            continue;
        }
        if sym.shndx == SHN_ABS {
            continue;
        }
        let mut sh = *se.section(sym.shndx as usize).ok_or(())?;
        if sh.flags & SHF_ALLOC == 0 {
            continue;
        }
        let mut secstrs = secstrs_sym;
        if sh.sh_type == SHT_NOBITS {
            sh = *rt.section(sym.shndx as usize).ok_or(())?;
            secstrs = secstrs_run;
        }
        if label {
            let sn = Elf::cstr(secstrs, sh.name).unwrap_or(b"");
            let has = |w: &[u8]| sn.windows(w.len()).any(|x| x == w);
            if !has(b"text") && !has(b"data") {
                continue;
            }
        }
        let mut value = sym.value;
        if se.e_machine == EM_ARM && sym.info & 0xf == STT_FUNC && value & 1 != 0 {
            value -= 1;
        }
        // User DSOs always have adjust_symbols: file-offset based addresses.
        value = match load_segment_delta(rt, value) {
            Some(d) => value.wrapping_sub(d),
            None => value.wrapping_sub(sh.addr.wrapping_sub(sh.offset)),
        };
        sink.insert(value, sym.size, sym.info >> 4, name, false);
        nr += 1;
    }
    if nr > 0 {
        sink.fixup();
    }
    Ok(nr)
}

/// perf `dso__synthesize_plt_symbols` on the runtime image.
fn synthesize_plt(sink: &mut impl Sink, rt: &Elf) -> usize {
    let Some((dynsym_idx, dynshdr)) = rt.section_by_name(".dynsym") else {
        return 0;
    };
    let Some((_, rel)) = rt
        .section_by_name(".rela.plt")
        .or_else(|| rt.section_by_name(".rel.plt"))
    else {
        return 0;
    };
    if rel.link as usize != dynsym_idx {
        return 0;
    }
    let Some((_, plt)) = rt.section_by_name(".plt") else {
        return 0;
    };
    let (Some(reldata), Some(syms)) = (rt.section_data(&rel), rt.section_data(&dynshdr)) else {
        return 0;
    };
    let Some(strs) = rt
        .section(dynshdr.link as usize)
        .and_then(|s| rt.section_data(s))
    else {
        return 0;
    };
    if strs.is_empty() {
        return 0;
    }
    let nr_rel = rel.size.checked_div(rel.entsize).unwrap_or(0);
    let (header, entry) = match rt.e_machine {
        EM_ARM => (20, 12),
        EM_AARCH64 => (32, 16),
        EM_SPARC => (48, 12),
        EM_SPARCV9 => (128, 32),
        _ => (plt.entsize, plt.entsize),
    };
    let rela = match rel.sh_type {
        SHT_RELA => true,
        SHT_REL => false,
        _ => return 0,
    };
    let mut off = plt.offset.wrapping_add(header);
    let mut nr = 0;
    for idx in 0..nr_rel {
        let Some(symidx) = rt.reloc_sym(reldata, idx, rela) else {
            break;
        };
        let raw = rt
            .sym(syms, symidx)
            .and_then(|s| Elf::cstr(strs, s.name))
            .unwrap_or(b"");
        sink.insert(off, entry, STB_GLOBAL, raw, true);
        off = off.wrapping_add(entry);
        nr += 1;
    }
    nr
}

/// Where [`load_symbols`] puts symbols: perf's tree or the flat table.
pub trait Sink {
    /// `name` is the raw name from the file (a PLT entry's target symbol
    /// with `plt`: perf names it `<demangled>@plt`).
    fn insert(&mut self, start: u64, len: u64, binding: u8, name: &[u8], plt: bool);
    /// `symbols__fixup_end` + `symbols__fixup_duplicate`.
    fn fixup(&mut self);
}

/// The name perf stores for a user-space symbol: demangled if asked, a PLT
/// entry's with `@plt` (cut to perf's 1024-byte buffer).
pub fn user_name(raw: &[u8], plt: bool, demangle: bool) -> Box<str> {
    let base = if demangle { demangle_sym(raw) } else { None };
    if !plt {
        return base
            .map(String::into_boxed_str)
            .unwrap_or_else(|| to_name(raw));
    }
    let mut name = base.map(String::into_bytes).unwrap_or_else(|| raw.to_vec());
    name.extend_from_slice(b"@plt");
    name.truncate(1023); // snprintf into char sympltname[1024]
    to_name(&name)
}

/// perf's tree as the sink (names demangled as they come): the reference
/// the tests compare the lookup tables with.
#[cfg(test)]
struct TreeSink {
    tree: SymTree,
    demangle: bool,
}

#[cfg(test)]
impl Sink for TreeSink {
    fn insert(&mut self, start: u64, len: u64, binding: u8, name: &[u8], plt: bool) {
        let name = user_name(name, plt, self.demangle);
        self.tree.insert(start, len, binding, name);
    }
    fn fixup(&mut self) {
        self.tree.fixup_end(false);
        self.tree.fixup_duplicate();
    }
}

/// perf `dso__load_sym` + `dso__synthesize_plt_symbols` for the chosen
/// sources, into `sink`. Leaves what perf would be left with (possibly
/// nothing, or symbols without fix-ups after a mid-pass error).
pub fn load_symbols(src: &Sources, sink: &mut impl Sink) {
    let (Some(se), Some(rt)) = (
        Elf::parse(src.syms.blob.bytes()),
        Elf::parse(src.runtime().blob.bytes()),
    ) else {
        return;
    };
    let mut total = 0;
    if src.syms.has_symtab {
        match load_pass(sink, &se, &rt, false) {
            Ok(n) => total = n,
            Err(()) => return,
        }
    }
    if src.syms.has_dynsym {
        match load_pass(sink, &se, &rt, true) {
            Ok(n) => total += n,
            Err(()) => return,
        }
    }
    if total > 0 && src.runtime().has_dynsym {
        synthesize_plt(sink, &rt);
    }
}

/// [`load_symbols`] into perf's tree, names and all.
#[cfg(test)]
pub fn load_user_symbols(src: &Sources, demangle: bool) -> SymTree {
    let mut sink = TreeSink {
        tree: SymTree::new(),
        demangle,
    };
    load_symbols(src, &mut sink);
    sink.tree
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &SymTree) -> Vec<(u64, u64, String)> {
        t.in_order()
            .into_iter()
            .map(|i| {
                let n = t.node(i);
                (n.sym.start, n.sym.end, n.sym.name.to_string())
            })
            .collect()
    }

    #[test]
    fn fixups_like_perf() {
        let mut t = SymTree::new();
        t.insert(0x1000, 0, 1, "a_zero".into());
        t.insert(0x1000, 0x20, 2, "a_weak".into());
        t.insert(0x1000, 0x20, 1, "a_global".into());
        t.insert(0x1100, 0x10, 0, "_b".into());
        t.insert(0x1100, 0x10, 0, "b".into());
        t.insert(0x1200, 0, 1, "last".into());
        t.fixup_end(false);
        t.fixup_duplicate();
        assert_eq!(
            names(&t),
            vec![
                (0x1000, 0x1020, "a_global".to_string()),
                (0x1100, 0x1110, "b".to_string()),
                (0x1200, 0x3000, "last".to_string()),
            ]
        );
        // Holes between symbols are not covered; ends are exclusive.
        assert_eq!(t.find(0x1020), None);
        assert_eq!(
            t.find(0x101f).map(|i| &*t.node(i).sym.name),
            Some("a_global")
        );
    }

    #[test]
    fn longer_name_wins_then_sys_rule() {
        let mut t = SymTree::new();
        t.insert(0x10, 8, 1, "SyS_read".into());
        t.insert(0x10, 8, 1, "sys_read".into());
        t.insert(0x20, 8, 1, "short".into());
        t.insert(0x20, 8, 1, "longer".into());
        t.fixup_duplicate();
        let n: Vec<_> = names(&t).into_iter().map(|x| x.2).collect();
        assert_eq!(n, vec!["sys_read", "longer"]);
    }
}
