//! One ELF file as BFD (binutils 2.40) presents it to `addr2line`: its
//! sections, its canonical symbol list, section contents with
//! compressed debug sections inflated, and `_bfd_elf_find_function`.

use crate::objfile::elf::{
    Elf, Shdr, EM_AARCH64, SHF_ALLOC, SHT_DYNSYM, SHT_NOBITS, SHT_SYMTAB, STB_LOCAL, STT_NOTYPE,
    STV_HIDDEN,
};
use crate::objfile::fs::{file_identity, map_file};
use memmap2::Mmap;
use std::borrow::Cow;
use std::path::Path;

const SHF_COMPRESSED: u64 = 0x800;
/// Inflated sections at least this large are kept in the persistent cache:
/// inflating runs at tens of MB/s, a cached section is mapped and
/// checksummed at a few GB/s, and an open costs some microseconds (libc's
/// debug file: 12 sections between 16 and 256 KiB, 1 MB in all, took 5 ms
/// to inflate with miniz_oxide on every run).
pub const CACHED_SECTION: u64 = 16 * 1024;
const SECTION_KIND: &str = "debugsec";

/// Section contents: part of the mapped file, inflated now, or inflated by
/// an earlier run and mapped from the cache.
pub enum Contents<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    Mapped(crate::cache::Mapped),
}
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;
const STT_FILE: u8 = 4;
const STT_COMMON: u8 = 5;
const STT_TLS: u8 = 6;
const STT_RELC: u8 = 8;
const STT_SRELC: u8 = 9;
const SHN_LORESERVE: u16 = 0xff00;

/// One ELF section as BFD sees it (`asection`): its name and header.
pub struct BfdSection {
    pub name: Box<[u8]>,
    pub hdr: Shdr,
}

impl BfdSection {
    pub fn is_alloc(&self) -> bool {
        self.hdr.flags & SHF_ALLOC != 0
    }
    /// BFD's SEC_HAS_CONTENTS for ELF: everything but SHT_NOBITS.
    pub fn has_contents(&self) -> bool {
        self.hdr.sh_type != SHT_NOBITS
    }
}

/// A canonical BFD symbol (elfcode.h `elf_slurp_symbol_table`): the value
/// is relative to the symbol's section for executables and shared objects.
#[derive(Clone, Copy)]
pub struct BfdSym {
    name: (u32, u32),
    /// Section-relative value.
    pub value: u64,
    /// ELF section index; `u32::MAX` for undefined/absolute/common.
    pub section: u32,
    /// `size` that `_bfd_elf_maybe_function_sym` reports, 0 = not a
    /// function candidate.
    fn_size: u64,
    is_file: bool,
    is_local: bool,
}

pub struct ObjFile {
    map: Mmap,
    /// The file's (dev, inode, size, mtime, ctime) when it was opened: what
    /// the persistent cache keys inflated sections by.
    identity: Option<[i64; 7]>,
    pub is64: bool,
    pub sections: Vec<BfdSection>,
    pub build_id: Option<Vec<u8>>,
}

impl ObjFile {
    /// `bfd_openr` + `bfd_check_format(bfd_object)`: any readable ELF file.
    pub fn open(path: &Path) -> Option<ObjFile> {
        let identity = file_identity(path);
        let map = map_file(path)?;
        let (is64, sections, build_id) = {
            let elf = Elf::parse(&map)?;
            let shstr = elf
                .section(elf.e_shstrndx as usize)
                .and_then(|s| elf.section_data(s))
                .unwrap_or(&[]);
            let sections: Vec<BfdSection> = elf
                .sections
                .iter()
                .map(|h| BfdSection {
                    name: Elf::cstr(shstr, h.name).unwrap_or(b"").into(),
                    hdr: *h,
                })
                .collect();
            (elf.is64, sections, None)
        };
        let mut f = ObjFile {
            map,
            identity,
            is64,
            sections,
            build_id,
        };
        f.build_id = f.read_build_id();
        Some(f)
    }

    pub fn data(&self) -> &[u8] {
        &self.map
    }

    /// Raw bytes of a section as stored in the file.
    fn raw(&self, idx: usize) -> Option<&[u8]> {
        let h = &self.sections.get(idx)?.hdr;
        if h.sh_type == SHT_NOBITS {
            return Some(&[]);
        }
        let start = usize::try_from(h.offset).ok()?;
        self.map
            .get(start..start.checked_add(usize::try_from(h.size).ok()?)?)
    }

    pub fn section_index(&self, name: &[u8]) -> Option<usize> {
        self.sections
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, s)| &*s.name == name)
            .map(|(i, _)| i)
    }

    /// Section contents as BFD reads them with BFD_DECOMPRESS: SHF_COMPRESSED
    /// (zlib) and `.zdebug` ("ZLIB" + big-endian size) sections inflated.
    pub fn contents(&self, idx: usize) -> Option<Cow<'_, [u8]>> {
        match self.compressed(idx)? {
            Some((data, size)) => inflate(data, size).map(Cow::Owned),
            None => self.raw(idx).map(Cow::Borrowed),
        }
    }

    /// A compressed section's zlib stream and inflated size; `Some(None)`
    /// for a section stored as is, `None` for one BFD cannot read.
    fn compressed(&self, idx: usize) -> Option<Option<(&[u8], u64)>> {
        let s = self.sections.get(idx)?;
        let raw = self.raw(idx)?;
        if s.hdr.flags & SHF_COMPRESSED != 0 {
            let (ch_type, size, hdr_len) = if self.is64 {
                let t = u32::from_le_bytes(raw.get(0..4)?.try_into().ok()?);
                let sz = u64::from_le_bytes(raw.get(8..16)?.try_into().ok()?);
                (t, sz, 24)
            } else {
                let t = u32::from_le_bytes(raw.get(0..4)?.try_into().ok()?);
                let sz = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?);
                (t, u64::from(sz), 12)
            };
            if ch_type != 1 {
                return None;
            }
            return Some(Some((raw.get(hdr_len..)?, size)));
        }
        if s.name.starts_with(b".zdebug") && raw.starts_with(b"ZLIB") {
            let size = u64::from_be_bytes(raw.get(4..12)?.try_into().ok()?);
            return Some(Some((raw.get(12..)?, size)));
        }
        Some(None)
    }

    /// [`ObjFile::contents`] where it needs no inflating: a section stored
    /// as is, or an inflated one of at least [`CACHED_SECTION`] bytes kept
    /// in the persistent cache (mapped). Otherwise `Err` with the key to
    /// store the section under once [`Self::inflate_and_store`] inflated
    /// it. The key is the file's identity (device, inode, size,
    /// modification and change times: any write to the file changes its
    /// change time, which users cannot set back) and the section's place
    /// and sizes; the stored bytes are the inflated ones.
    #[allow(clippy::type_complexity)]
    pub fn contents_at_hand(&self, idx: usize) -> Result<Option<Contents<'_>>, Option<Vec<u8>>> {
        let Some(compressed) = self.compressed(idx) else {
            return Ok(None);
        };
        let Some((_, size)) = compressed else {
            return Ok(self.raw(idx).map(Contents::Borrowed));
        };
        let key = self.identity.filter(|_| size >= CACHED_SECTION).map(|id| {
            let h = &self.sections[idx].hdr;
            let mut key = b"debug section v1\n".to_vec();
            for v in id.iter().map(|&v| v as u64).chain([idx as u64, h.offset, h.size, size]) {
                key.extend_from_slice(&v.to_le_bytes());
            }
            key
        });
        if let Some(key) = &key {
            if let Some(m) = crate::cache::load_mapped(SECTION_KIND, key) {
                if m.bytes().len() as u64 == size {
                    return Ok(Some(Contents::Mapped(m)));
                }
            }
        }
        Err(key)
    }

    /// What identifies the file's contents for the persistent cache.
    pub fn identity(&self) -> Option<[i64; 7]> {
        self.identity
    }

    /// Inflates a compressed section and stores it under `key`.
    pub fn inflate_and_store(&self, idx: usize, key: Option<&[u8]>) -> Option<Contents<'_>> {
        let (data, size) = self.compressed(idx)??;
        let out = inflate(data, size)?;
        if let Some(key) = key {
            crate::cache::store(SECTION_KIND, key, &out);
        }
        Some(Contents::Owned(out))
    }

    /// opncls.c `get_build_id`: the NT_GNU_BUILD_ID note of
    /// `.note.gnu.build-id`, all `descsz` bytes.
    fn read_build_id(&self) -> Option<Vec<u8>> {
        let data = self.raw(self.section_index(b".note.gnu.build-id")?)?;
        let rd = |o: usize| -> Option<usize> {
            Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?) as usize)
        };
        let (namesz, descsz, ntype) = (rd(0)?, rd(4)?, rd(8)?);
        let name = data.get(12..12 + namesz)?;
        let desc_off = 12 + ((namesz + 3) & !3);
        if ntype != 3 || namesz != 4 || name != b"GNU\0" || descsz == 0 {
            return None;
        }
        Some(data.get(desc_off..desc_off + descsz)?.to_vec())
    }

    /// opncls.c `bfd_get_debug_link_info_1`: name and CRC of
    /// `.gnu_debuglink`.
    pub fn debuglink(&self) -> Option<(Vec<u8>, u32)> {
        let data = self.contents(self.section_index(b".gnu_debuglink")?)?;
        let size = data.len();
        if size < 8 || size as u64 >= self.map.len() as u64 {
            return None;
        }
        let name_len = data.iter().position(|&b| b == 0).unwrap_or(size);
        let crc_off = (name_len + 1 + 3) & !3;
        if crc_off + 4 > size {
            return None;
        }
        let crc = u32::from_le_bytes(data[crc_off..crc_off + 4].try_into().ok()?);
        Some((data[..name_len].to_vec(), crc))
    }

    /// The symbols of one ELF symbol table section (the null entry skipped),
    /// as `bfd_canonicalize_symtab` / `bfd_canonicalize_dynamic_symtab`.
    pub fn symbols(&self, dynamic: bool) -> Vec<BfdSym> {
        let want = if dynamic { SHT_DYNSYM } else { SHT_SYMTAB };
        let Some(idx) = self.sections.iter().position(|s| s.hdr.sh_type == want) else {
            return Vec::new();
        };
        let Some(elf) = Elf::parse(&self.map) else {
            return Vec::new();
        };
        let hdr = self.sections[idx].hdr;
        let (Some(table), strtab_idx) = (self.raw(idx), hdr.link as usize) else {
            return Vec::new();
        };
        let strtab = self.sections.get(strtab_idx).map(|s| s.hdr);
        // BFD picks the backend by e_machine; the AArch64 one brings its own
        // `maybe_function_sym` (elfnn-aarch64.c).
        let aarch64 = elf.e_machine == EM_AARCH64;
        let entsize: u64 = if self.is64 { 24 } else { 16 };
        let count = hdr.size / entsize;
        let mut out = Vec::with_capacity(count as usize);
        for i in 1..count {
            let Some(s) = elf.sym(table, i) else { break };
            let (stype, bind) = (s.info & 0xf, s.info >> 4);
            let section = if s.shndx == 0 || s.shndx >= SHN_LORESERVE {
                u32::MAX
            } else if (s.shndx as usize) < self.sections.len() {
                u32::from(s.shndx)
            } else {
                u32::MAX
            };
            let vma = if section != u32::MAX {
                self.sections[section as usize].hdr.addr
            } else {
                0
            };
            // Name: offset into the linked string table.
            let name = match strtab {
                Some(st) if st.sh_type != SHT_NOBITS && u64::from(s.name) < st.size => {
                    let start = st.offset + u64::from(s.name);
                    let rest = self.map.get(start as usize..(st.offset + st.size) as usize);
                    let len = rest
                        .map(|r| r.iter().position(|&b| b == 0).unwrap_or(r.len()))
                        .unwrap_or(0);
                    (start as u32, len as u32)
                }
                _ => (0, 0),
            };
            let is_file = stype == STT_FILE;
            let is_local = bind == STB_LOCAL;
            // elf.c `_bfd_elf_maybe_function_sym`.
            let excluded = matches!(
                stype,
                STT_SECTION | STT_FILE | STT_OBJECT | STT_COMMON | STT_TLS | STT_RELC | STT_SRELC
            );
            let annobin =
                s.size == 0 && is_local && stype == STT_NOTYPE && (s.other & 3) == STV_HIDDEN;
            // elfnn-aarch64.c `elfNN_aarch64_maybe_function_sym`: only
            // STT_NOTYPE and STT_FUNC symbols qualify (no STT_GNU_IFUNC),
            // and local mapping/tag symbols (`$x`, `$d`, `$m`, `$f`, `$p`,
            // alone or followed by `.suffix`, cpu-aarch64.c
            // `bfd_is_aarch64_special_symbol_name`) never name a function:
            // a PLT stub covered only by `$x` gets no function at all.
            let aarch64_excluded = aarch64
                && (!matches!(stype, STT_NOTYPE | STT_FUNC)
                    || (is_local && is_aarch64_special_symbol(self.name_bytes(name))));
            let fn_size = if excluded || annobin || aarch64_excluded || section == u32::MAX {
                0
            } else {
                s.size.max(1)
            };
            out.push(BfdSym {
                name,
                value: s.value.wrapping_sub(vma),
                section,
                fn_size,
                is_file,
                is_local,
            });
        }
        out
    }

    pub fn sym_name(&self, s: &BfdSym) -> &[u8] {
        self.name_bytes(s.name)
    }

    fn name_bytes(&self, (start, len): (u32, u32)) -> &[u8] {
        let (start, len) = (start as usize, len as usize);
        self.map.get(start..start + len).unwrap_or(b"")
    }
}

/// cpu-aarch64.c `bfd_is_aarch64_special_symbol_name(name, ANY)`: `$x`/`$d`
/// (mapping) or `$m`/`$f`/`$p` (tag) symbols, bare or with a `.` suffix.
fn is_aarch64_special_symbol(name: &[u8]) -> bool {
    matches!(name, [b'$', b'x' | b'd' | b'm' | b'f' | b'p', rest @ ..]
        if rest.is_empty() || rest[0] == b'.')
}

/// A zlib stream that must inflate to exactly `size` bytes, decompressed
/// straight into a buffer of that size (growing a vector cost hundreds of
/// thousands of reallocations on a libc debug file). With zlib-rs instead
/// of miniz_oxide, a small DWARF recording's run that inflates libc's
/// sections went from 49 to 43 ms (docs/performance.md, session 11).
fn inflate(data: &[u8], size: u64) -> Option<Vec<u8>> {
    let limit = usize::try_from(size).ok()?;
    let mut out = vec![0u8; limit];
    let (inflated, rc) =
        zlib_rs::decompress_slice(&mut out, data, zlib_rs::InflateConfig::default());
    (rc == zlib_rs::ReturnCode::Ok && inflated.len() == limit).then_some(out)
}

/// A symbol list with the index `_bfd_elf_find_function` needs.
pub struct SymSet {
    pub syms: Vec<BfdSym>,
    /// Per symbol: the STT_FILE symbol whose name `_bfd_elf_find_function`
    /// reports with it (already filtered by its local/`file_after_symbol`
    /// rule).
    file_of: Vec<u32>,
    /// Per ELF section index: (code_off, winning symbol) sorted by code_off,
    /// built on first use.
    by_section: rustc_hash::FxHashMap<u32, Vec<(u64, u32)>>,
}

pub const NO_SYM: u32 = u32::MAX;

impl SymSet {
    pub fn new(syms: Vec<BfdSym>) -> SymSet {
        // dwarf2.c `_bfd_elf_find_function`: the file name goes with a
        // symbol when a file symbol precedes it and either the symbol is
        // local or no file symbol followed a non-file symbol before it.
        #[derive(PartialEq)]
        enum State {
            Nothing,
            SymbolSeen,
            FileAfterSymbol,
        }
        let mut state = State::Nothing;
        let mut file = NO_SYM;
        let mut file_of = Vec::with_capacity(syms.len());
        for (i, s) in syms.iter().enumerate() {
            if s.is_file {
                file = i as u32;
                if state == State::SymbolSeen {
                    state = State::FileAfterSymbol;
                }
                file_of.push(NO_SYM);
                continue;
            }
            let f = if file != NO_SYM && (s.is_local || state != State::FileAfterSymbol) {
                file
            } else {
                NO_SYM
            };
            file_of.push(f);
            if state == State::Nothing {
                state = State::SymbolSeen;
            }
        }
        SymSet {
            syms,
            file_of,
            by_section: Default::default(),
        }
    }

    /// The symbol a full scan of `_bfd_elf_find_function` picks for
    /// `offset` in section `sec`: the highest `code_off <= offset`, then the
    /// larger size, then the first in table order. No upper bound.
    pub fn scan(&mut self, sec: u32, offset: u64) -> u32 {
        let syms = &self.syms;
        let list = self.by_section.entry(sec).or_insert_with(|| {
            let mut v: Vec<(u64, u32)> = syms
                .iter()
                .enumerate()
                .filter(|(_, s)| s.fn_size != 0 && s.section == sec)
                .map(|(i, s)| (s.value, i as u32))
                .collect();
            // Stable: equal code_off keeps table order.
            v.sort_by_key(|&(off, _)| off);
            let mut out: Vec<(u64, u32)> = Vec::with_capacity(v.len());
            for (off, i) in v {
                match out.last_mut() {
                    Some(last) if last.0 == off => {
                        if syms[i as usize].fn_size > syms[last.1 as usize].fn_size {
                            last.1 = i;
                        }
                    }
                    _ => out.push((off, i)),
                }
            }
            out
        });
        let n = list.partition_point(|&(off, _)| off <= offset);
        if n == 0 {
            NO_SYM
        } else {
            list[n - 1].1
        }
    }

    pub fn file_of(&self, sym: u32) -> u32 {
        self.file_of[sym as usize]
    }
}

/// `elf_find_function_cache` of one BFD: the last section and function.
#[derive(Default)]
pub struct FindFunctionCache {
    /// (which symbol set, section index)
    last: Option<(u8, u32)>,
    func: u32,
    size: u64,
    file: u32,
}

impl FindFunctionCache {
    /// `_bfd_elf_find_function(abfd, syms, sec, offset, ...)`: returns the
    /// symbol index and the file-symbol index (`NO_SYM` when none). `set_id`
    /// tells the symbol lists (and their sections) apart.
    pub fn find(&mut self, set_id: u8, set: &mut SymSet, sec: u32, offset: u64) -> (u32, u32) {
        let hit = self.last == Some((set_id, sec)) && self.func != NO_SYM && {
            let v = set.syms[self.func as usize].value;
            offset >= v && offset < v.wrapping_add(self.size)
        };
        if !hit {
            self.last = Some((set_id, sec));
            self.func = set.scan(sec, offset);
            if self.func != NO_SYM {
                self.size = set.syms[self.func as usize].fn_size;
                self.file = set.file_of(self.func);
            } else {
                self.size = 0;
                self.file = NO_SYM;
            }
        }
        (
            self.func,
            if self.func == NO_SYM {
                NO_SYM
            } else {
                self.file
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::is_aarch64_special_symbol as special;

    #[test]
    fn aarch64_special_symbols() {
        for name in ["$x", "$d", "$x.1", "$d.foo", "$m", "$f", "$p", "$x."] {
            assert!(special(name.as_bytes()), "{name}");
        }
        for name in ["$a", "$t", "$xx", "x", "", "$", "memcmp@plt", "$dfoo"] {
            assert!(!special(name.as_bytes()), "{name}");
        }
    }
}
