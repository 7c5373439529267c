//! A small, panic-free ELF reader over a memory-mapped file: just the pieces
//! of libelf/gelf that perf's symbol-elf.c relies on (headers, section
//! headers, program headers, symbol and relocation entries, notes), with the
//! same lookup rules (`elf_section_by_name` = first match by name via the raw
//! `e_shstrndx`; `elf_getscn` fails for indices past the section count).

pub const SHT_SYMTAB: u32 = 2;
pub const SHT_RELA: u32 = 4;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHT_DYNSYM: u32 = 11;
pub const SHF_ALLOC: u64 = 2;
pub const PT_LOAD: u32 = 1;
/// Symbol bindings (`STB_*`, the high nibble of `st_info`).
pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
/// Symbol types (`STT_*`, the low nibble of `st_info`).
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_GNU_IFUNC: u8 = 10;
/// Special section indices (`SHN_*`).
pub const SHN_UNDEF: u16 = 0;
pub const SHN_ABS: u16 = 0xfff1;
/// Symbol visibilities (`STV_*`, `st_other & 3`).
pub const STV_INTERNAL: u8 = 1;
pub const STV_HIDDEN: u8 = 2;
pub const EM_SPARC: u16 = 2;
pub const EM_ARM: u16 = 40;
pub const EM_SPARCV9: u16 = 43;
pub const EM_AARCH64: u16 = 183;

#[derive(Clone, Copy, Default, Debug)]
pub struct Shdr {
    pub name: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub entsize: u64,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct ElfSym {
    pub name: u32,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

pub struct Elf<'a> {
    pub data: &'a [u8],
    pub is64: bool,
    big: bool,
    pub e_type: u16,
    pub e_machine: u16,
    /// The raw header field (perf never resolves SHN_XINDEX here).
    pub e_shstrndx: u16,
    pub sections: Vec<Shdr>,
    pub phdrs: Vec<Phdr>,
}

fn get<const N: usize>(d: &[u8], off: u64) -> Option<[u8; N]> {
    let off = usize::try_from(off).ok()?;
    d.get(off..off.checked_add(N)?)?.try_into().ok()
}

fn rd16(d: &[u8], off: u64, big: bool) -> Option<u16> {
    let b = get::<2>(d, off)?;
    Some(if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}
fn rd32(d: &[u8], off: u64, big: bool) -> Option<u32> {
    let b = get::<4>(d, off)?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}
fn rd64(d: &[u8], off: u64, big: bool) -> Option<u64> {
    let b = get::<8>(d, off)?;
    Some(if big {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}

impl<'a> Elf<'a> {
    fn u16(&self, off: u64) -> Option<u16> {
        rd16(self.data, off, self.big)
    }
    fn u32(&self, off: u64) -> Option<u32> {
        rd32(self.data, off, self.big)
    }
    fn u64(&self, off: u64) -> Option<u64> {
        rd64(self.data, off, self.big)
    }

    /// Parses the ELF and section/program header tables. `None` when the
    /// file is not ELF or its header is unreadable (`gelf_getehdr` failure,
    /// or an unknown data encoding as in `dso__swap_init`).
    pub fn parse(data: &'a [u8]) -> Option<Elf<'a>> {
        if data.get(..4)? != b"\x7fELF" {
            return None;
        }
        let is64 = match data.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let big = match data.get(5)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let mut e = Elf {
            data,
            is64,
            big,
            e_type: 0,
            e_machine: 0,
            e_shstrndx: 0,
            sections: Vec::new(),
            phdrs: Vec::new(),
        };
        let ehsize = if is64 { 64 } else { 52 };
        if data.len() < ehsize {
            return None;
        }
        e.e_type = e.u16(16)?;
        e.e_machine = e.u16(18)?;
        let (phoff, shoff, rest) = if is64 {
            (e.u64(32)?, e.u64(40)?, 48)
        } else {
            (u64::from(e.u32(28)?), u64::from(e.u32(32)?), 36)
        };
        let phentsize = u64::from(e.u16(rest + 6)?);
        let mut phnum = u64::from(e.u16(rest + 8)?);
        let shentsize = u64::from(e.u16(rest + 10)?);
        let mut shnum = u64::from(e.u16(rest + 12)?);
        e.e_shstrndx = e.u16(rest + 14)?;
        let want_sh = if is64 { 64 } else { 40 };
        if shoff != 0 && shentsize == want_sh {
            // Extended numbering: the real count lives in section 0.
            let sh0 = e.read_shdr(shoff);
            if shnum == 0 {
                shnum = sh0.map(|s| s.size).unwrap_or(0);
            }
            if phnum == 0xffff {
                let info_off = shoff + if is64 { 44 } else { 28 };
                phnum = u64::from(e.u32(info_off).unwrap_or(0));
            }
            // A table that does not fit the file is treated as absent.
            let fits = shnum
                .checked_mul(want_sh)
                .and_then(|n| n.checked_add(shoff))
                .is_some_and(|end| end <= data.len() as u64);
            if fits {
                for i in 0..shnum {
                    match e.read_shdr(shoff + i * want_sh) {
                        Some(s) => e.sections.push(s),
                        None => break,
                    }
                }
            }
        }
        let want_ph = if is64 { 56 } else { 32 };
        if phoff != 0 && phentsize == want_ph {
            for i in 0..phnum.min(65536) {
                match e.read_phdr(phoff + i * want_ph) {
                    Some(p) => e.phdrs.push(p),
                    None => break,
                }
            }
        }
        Some(e)
    }

    fn read_shdr(&self, o: u64) -> Option<Shdr> {
        Some(if self.is64 {
            Shdr {
                name: self.u32(o)?,
                sh_type: self.u32(o + 4)?,
                flags: self.u64(o + 8)?,
                addr: self.u64(o + 16)?,
                offset: self.u64(o + 24)?,
                size: self.u64(o + 32)?,
                link: self.u32(o + 40)?,
                entsize: self.u64(o + 56)?,
            }
        } else {
            Shdr {
                name: self.u32(o)?,
                sh_type: self.u32(o + 4)?,
                flags: u64::from(self.u32(o + 8)?),
                addr: u64::from(self.u32(o + 12)?),
                offset: u64::from(self.u32(o + 16)?),
                size: u64::from(self.u32(o + 20)?),
                link: self.u32(o + 24)?,
                entsize: u64::from(self.u32(o + 36)?),
            }
        })
    }

    fn read_phdr(&self, o: u64) -> Option<Phdr> {
        Some(if self.is64 {
            Phdr {
                p_type: self.u32(o)?,
                offset: self.u64(o + 8)?,
                vaddr: self.u64(o + 16)?,
                filesz: self.u64(o + 32)?,
                memsz: self.u64(o + 40)?,
            }
        } else {
            Phdr {
                p_type: self.u32(o)?,
                offset: u64::from(self.u32(o + 4)?),
                vaddr: u64::from(self.u32(o + 8)?),
                filesz: u64::from(self.u32(o + 16)?),
                memsz: u64::from(self.u32(o + 20)?),
            }
        })
    }

    /// `elf_getscn`: section by index (index 0 is the null section).
    pub fn section(&self, idx: usize) -> Option<&Shdr> {
        self.sections.get(idx)
    }

    /// `elf_getdata` contents of a section; NOBITS gives an empty slice,
    /// a section past the end of the file gives `None`.
    pub fn section_data(&self, s: &Shdr) -> Option<&'a [u8]> {
        if s.sh_type == SHT_NOBITS {
            return Some(&[]);
        }
        let start = usize::try_from(s.offset).ok()?;
        let end = start.checked_add(usize::try_from(s.size).ok()?)?;
        self.data.get(start..end)
    }

    /// NUL-terminated string at `off` inside `table`; `None` if out of range.
    pub fn cstr(table: &[u8], off: u32) -> Option<&[u8]> {
        let rest = table.get(off as usize..)?;
        Some(match rest.iter().position(|&b| b == 0) {
            Some(n) => &rest[..n],
            None => rest,
        })
    }

    /// perf `elf_section_by_name`: first section (from index 1) whose name
    /// matches, with its index. Fails when the string table is unreadable.
    pub fn section_by_name(&self, name: &str) -> Option<(usize, Shdr)> {
        let strtab = self.section(self.e_shstrndx as usize)?;
        let strs = self.section_data(strtab)?;
        if strtab.sh_type == SHT_NOBITS {
            return None;
        }
        self.sections
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, s)| Elf::cstr(strs, s.name).is_some_and(|n| n == name.as_bytes()))
            .map(|(i, s)| (i, *s))
    }

    /// Symbol entry `idx` of a symbol table section's data.
    pub fn sym(&self, table: &[u8], idx: u64) -> Option<ElfSym> {
        let sz: u64 = if self.is64 { 24 } else { 16 };
        let o = idx.checked_mul(sz)?;
        if o.checked_add(sz)? > table.len() as u64 {
            return None;
        }
        let big = self.big;
        let byte = |k: u64| table.get((o + k) as usize).copied();
        Some(if self.is64 {
            ElfSym {
                name: rd32(table, o, big)?,
                info: byte(4)?,
                other: byte(5)?,
                shndx: rd16(table, o + 6, big)?,
                value: rd64(table, o + 8, big)?,
                size: rd64(table, o + 16, big)?,
            }
        } else {
            ElfSym {
                name: rd32(table, o, big)?,
                value: u64::from(rd32(table, o + 4, big)?),
                size: u64::from(rd32(table, o + 8, big)?),
                info: byte(12)?,
                other: byte(13)?,
                shndx: rd16(table, o + 14, big)?,
            }
        })
    }

    /// Symbol index (`ELF*_R_SYM`) of relocation `idx` in a REL/RELA table.
    pub fn reloc_sym(&self, table: &[u8], idx: u64, rela: bool) -> Option<u64> {
        let sz: u64 = match (self.is64, rela) {
            (true, true) => 24,
            (true, false) => 16,
            (false, true) => 12,
            (false, false) => 8,
        };
        let o = idx.checked_mul(sz)?;
        if o.checked_add(sz)? > table.len() as u64 {
            return None;
        }
        let off = o.checked_add(if self.is64 { 8 } else { 4 })?;
        if self.is64 {
            Some(rd64(table, off, self.big)? >> 32)
        } else {
            Some(u64::from(rd32(table, off, self.big)? >> 8))
        }
    }

    /// perf `elf_read_build_id`: the GNU build-id note from the first of
    /// `.note.gnu.build-id`, `.notes`, `.note` that exists, truncated or
    /// zero-extended like perf (`min(20, align4(descsz))` bytes).
    pub fn build_id(&self) -> Option<Vec<u8>> {
        let (_, sec) = self
            .section_by_name(".note.gnu.build-id")
            .or_else(|| self.section_by_name(".notes"))
            .or_else(|| self.section_by_name(".note"))?;
        let data = self.section_data(&sec)?;
        parse_build_id_notes(data, self.big)
    }

    /// perf `filename__read_debuglink` (non-libbfd): leading C string of
    /// `.gnu_debuglink`.
    pub fn debuglink(&self) -> Option<Vec<u8>> {
        let (_, sec) = self.section_by_name(".gnu_debuglink")?;
        let data = self.section_data(&sec)?;
        Some(Elf::cstr(data, 0)?.to_vec())
    }
}

fn align4(n: u32) -> u64 {
    (u64::from(n) + 3) & !3
}

/// Walks ELF notes (12-byte headers) for NT_GNU_BUILD_ID owned by "GNU".
pub fn parse_build_id_notes(data: &[u8], big: bool) -> Option<Vec<u8>> {
    let rd = |o: u64| rd32(data, o, big);
    let mut p: u64 = 0;
    let end = data.len() as u64;
    while p < end {
        let namesz = rd(p)?;
        let descsz = rd(p + 4)?;
        let ntype = rd(p + 8)?;
        p += 12;
        let name_off = p;
        p = p.checked_add(align4(namesz))?;
        if ntype == 3
            && namesz == 4
            && data.get(name_off as usize..name_off as usize + 4)? == b"GNU\0"
        {
            let sz = align4(descsz).min(20) as usize;
            let start = p as usize;
            let avail = data.get(start..)?;
            let mut id = avail[..sz.min(avail.len())].to_vec();
            id.resize(sz, 0);
            return Some(id);
        }
        p = p.checked_add(align4(descsz))?;
    }
    None
}
