//! A DWARF line table as binutils 2.40 (bfd/dwarf2.c `decode_line_info`,
//! `add_line_info`, `sort_line_sequences`,
//! `lookup_address_in_line_info_table`) keeps and searches it.
//!
//! Behaviour reproduced here (not the code):
//! - every row is kept (is_stmt is ignored); a row with the same address,
//!   op_index and end flag as the newest row of its sequence replaces it;
//!   rows arriving out of order are placed with BFD's "local head"
//!   heuristics, so ties between equal addresses land where BFD puts them;
//! - sequences are sorted by start, then by end descending, then newest
//!   first; a sequence nested in the previous one is dropped and an
//!   overlapping one starts where the previous one ended;
//! - an address hits the row found by BFD's binary search, and only when
//!   that row is not the sequence end;
//! - file names are built as `concat_filename` builds them (`comp_dir`,
//!   the directory entry, `<unknown>` for file 0 before DWARF 5).

use gimli::{AttributeValue, EndianSlice, LineInstruction, LittleEndian};

/// Not in gimli: HP's extended opcode at DW_LNE_lo_user (bfd's dwarf2.h).
const DW_LNE_HP_SOURCE_FILE_CORRELATION: gimli::DwLne = gimli::DW_LNE_lo_user;

pub type R<'a> = EndianSlice<'a, LittleEndian>;

#[derive(Clone, Copy)]
pub struct Row {
    pub address: u64,
    pub op_index: u8,
    pub end: bool,
    /// Index into `LineTable::names`, `u32::MAX` = no file name.
    pub file: u32,
    pub line: u32,
    pub disc: u32,
}

pub struct Seq {
    pub low_pc: u64,
    pub rows: Vec<Row>,
    /// Creation index reversed (BFD's stable tiebreak; newest = 0).
    pub order: usize,
}

/// The file/directory tables of one line program header.
pub struct FileTable {
    pub v5: bool,
    pub comp_dir: Option<Box<[u8]>>,
    pub dirs: Vec<Option<Box<[u8]>>>,
    pub files: Vec<(Option<Box<[u8]>>, u64)>,
}

impl FileTable {
    /// `concat_filename`.
    pub fn concat(&self, file: u64) -> Vec<u8> {
        let mut file = file;
        if !self.v5 {
            if file == 0 {
                return b"<unknown>".to_vec();
            }
            file -= 1;
        }
        let Some((name, dir)) = self.files.get(file as usize) else {
            return b"<unknown>".to_vec();
        };
        let Some(name) = name else {
            return b"<unknown>".to_vec();
        };
        if name.first() == Some(&b'/') {
            return name.to_vec();
        }
        let dir = if self.v5 { *dir } else { dir.wrapping_sub(1) };
        let mut subdir: Option<&[u8]> = usize::try_from(dir)
            .ok()
            .and_then(|d| self.dirs.get(d))
            .and_then(|d| d.as_deref());
        let mut dir_name: Option<&[u8]> = None;
        if subdir.is_none_or(|s| s.first() != Some(&b'/')) {
            dir_name = self.comp_dir.as_deref();
        }
        if dir_name.is_none() {
            dir_name = subdir.take();
        }
        let Some(dn) = dir_name else {
            return name.to_vec();
        };
        let mut out = dn.to_vec();
        out.push(b'/');
        if let Some(s) = subdir {
            out.extend_from_slice(s);
            out.push(b'/');
        }
        out.extend_from_slice(name);
        out
    }
}

pub struct LineTable {
    pub files: FileTable,
    /// Interned row file names.
    pub names: Vec<Box<[u8]>>,
    /// The sequences, sorted for lookup.
    pub seqs: Vec<Seq>,
}

/// String forms `read_formatted_entries` accepts for a path
/// (DW_FORM_string, line_strp, strx*); anything else gives no name.
fn entry_string(v: &AttributeValue<R<'_>>, s: &StrSecs<'_>) -> Option<Box<[u8]>> {
    match v {
        AttributeValue::String(r) => Some(r.slice().into()),
        AttributeValue::DebugLineStrRef(o) => cstr_at(s.line_str, o.0).map(Into::into),
        AttributeValue::DebugStrOffsetsIndex(i) => s.strx(i.0).map(Into::into),
        _ => None,
    }
}

pub fn cstr_at(sec: &[u8], off: usize) -> Option<&[u8]> {
    let rest = sec.get(off..)?;
    let n = memchr::memchr(0, rest)?;
    Some(&rest[..n])
}

/// String sections a unit reads from.
pub struct StrSecs<'a> {
    pub str_: &'a [u8],
    pub line_str: &'a [u8],
    pub str_offsets: &'a [u8],
    pub str_offsets_base: u64,
    pub offset_size: u8,
}

impl<'a> StrSecs<'a> {
    pub fn strx(&self, idx: usize) -> Option<&'a [u8]> {
        let osz = usize::from(self.offset_size);
        let at = usize::try_from(self.str_offsets_base)
            .ok()?
            .checked_add(idx.checked_mul(osz)?)?;
        let b = self.str_offsets.get(at..at + osz)?;
        let off = if osz == 8 {
            u64::from_le_bytes(b.try_into().ok()?)
        } else {
            u64::from(u32::from_le_bytes(b.try_into().ok()?))
        };
        cstr_at(self.str_, usize::try_from(off).ok()?)
    }
}

struct Builder {
    seqs: Vec<Seq>,
    /// Index (in the current sequence's rows) of BFD's `lcl_head`.
    lcl_head: Option<usize>,
}

fn sorts_after(a: &Row, b: &Row) -> bool {
    a.address > b.address || (a.address == b.address && a.op_index > b.op_index)
}

impl Builder {
    /// `add_line_info`: rows kept ascending (index 0 = oldest address).
    fn add(&mut self, info: Row) {
        // The duplicate check comes first, even after an end row.
        if let Some(seq) = self.seqs.last_mut() {
            let last = seq.rows.len() - 1;
            let l = seq.rows[last];
            if l.address == info.address && l.op_index == info.op_index && l.end == info.end {
                seq.rows[last] = info;
                return;
            }
        }
        let start_new = match self.seqs.last() {
            None => true,
            Some(s) => s.rows.last().is_none_or(|l| l.end),
        };
        if start_new {
            self.seqs.push(Seq {
                low_pc: info.address,
                rows: vec![info],
                order: 0,
            });
            self.lcl_head = Some(0);
            return;
        }
        let seq = self.seqs.last_mut().expect("sequence");
        let last = seq.rows.len() - 1;
        if info.end || sorts_after(&info, &seq.rows[last]) {
            seq.rows.push(info);
            if self.lcl_head.is_none() {
                self.lcl_head = Some(seq.rows.len() - 1);
            }
            return;
        }
        let lh = self.lcl_head.unwrap_or(last);
        if !sorts_after(&info, &seq.rows[lh]) && (lh == 0 || sorts_after(&info, &seq.rows[lh - 1]))
        {
            seq.rows.insert(lh, info);
            self.lcl_head = Some(lh + 1);
            return;
        }
        // Walk down from the newest row for the first place where info
        // sorts after the lower row and not after the upper one.
        let mut li2 = last;
        while li2 > 0 {
            let li1 = li2 - 1;
            if !sorts_after(&info, &seq.rows[li2]) && sorts_after(&info, &seq.rows[li1]) {
                break;
            }
            li2 = li1;
        }
        seq.rows.insert(li2, info);
        self.lcl_head = Some(li2 + 1);
        if info.address < seq.low_pc {
            seq.low_pc = info.address;
        }
    }
}

pub struct Intern {
    map: rustc_hash::FxHashMap<Vec<u8>, u32>,
    names: Vec<Box<[u8]>>,
    /// The interned name of each file number seen (a table names its files
    /// again at every DW_LNS_set_file and sequence start).
    by_file: rustc_hash::FxHashMap<u64, u32>,
}

impl Intern {
    /// The interned name of `table`'s file `n` (`concat_filename`).
    fn file(&mut self, table: &FileTable, n: u64) -> u32 {
        if let Some(&i) = self.by_file.get(&n) {
            return i;
        }
        let i = self.get(&table.concat(n));
        self.by_file.insert(n, i);
        i
    }

    fn get(&mut self, name: &[u8]) -> u32 {
        if name.is_empty() {
            return u32::MAX;
        }
        if let Some(&i) = self.map.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.into());
        self.map.insert(name.to_vec(), i);
        i
    }
}

/// `decode_line_info` for the program at `offset`; `None` when BFD fails.
/// `ranges` receives each sequence's [low, high) (BFD adds them to the
/// unit's ranges).
pub fn decode(
    debug_line: &[u8],
    offset: u64,
    addr_size: u8,
    comp_dir: Option<&[u8]>,
    strs: &StrSecs<'_>,
    ranges: &mut Vec<(u64, u64)>,
) -> Option<LineTable> {
    let dl = gimli::DebugLine::new(debug_line, LittleEndian);
    let prog = dl
        .program(
            gimli::DebugLineOffset(usize::try_from(offset).ok()?),
            addr_size,
            None,
            None,
        )
        .ok()?;
    let h = prog.header();
    let v5 = h.version() >= 5;
    let dirs: Vec<Option<Box<[u8]>>> = h
        .include_directories()
        .iter()
        .map(|d| entry_string(d, strs))
        .collect();
    let files: Vec<(Option<Box<[u8]>>, u64)> = h
        .file_names()
        .iter()
        .map(|f| (entry_string(&f.path_name(), strs), f.directory_index()))
        .collect();
    let mut table = FileTable {
        v5,
        comp_dir: comp_dir.map(Into::into),
        dirs,
        files,
    };
    let min_len = u64::from(h.minimum_instruction_length());
    let max_ops = u64::from(h.maximum_operations_per_instruction());
    let line_base = i64::from(h.line_base());
    let line_range = u64::from(h.line_range());
    let opcode_base = u64::from(h.opcode_base());
    if max_ops == 0 {
        return None;
    }
    let mut b = Builder {
        seqs: Vec::new(),
        lcl_head: None,
    };
    let mut intern = Intern {
        map: Default::default(),
        names: Vec::new(),
        by_file: Default::default(),
    };
    let mut insns = h.instructions();
    let mut more = true;
    while more {
        let mut address: u64 = 0;
        let mut op_index: u64 = 0;
        let mut file: u32 = if table.files.is_empty() {
            u32::MAX
        } else {
            intern.file(&table, if v5 { 0 } else { 1 })
        };
        let mut line: u32 = 1;
        let mut disc: u32 = 0;
        let mut low_pc = u64::MAX;
        let mut high_pc = 0u64;
        let mut ended = false;
        while !ended {
            let insn = match insns.next_instruction(h) {
                Ok(Some(i)) => i,
                Ok(None) => {
                    more = false;
                    break;
                }
                Err(_) => return None,
            };
            macro_rules! emit {
                ($end:expr) => {{
                    b.add(Row {
                        address,
                        op_index: op_index as u8,
                        end: $end,
                        file,
                        line,
                        disc,
                    });
                    low_pc = low_pc.min(address);
                    high_pc = high_pc.max(address);
                }};
            }
            match insn {
                LineInstruction::Special(op) => {
                    if line_range == 0 {
                        return None;
                    }
                    let adj = u64::from(op) - opcode_base;
                    if max_ops == 1 {
                        address = address.wrapping_add(adj / line_range * min_len);
                    } else {
                        let t = op_index + adj / line_range;
                        address = address.wrapping_add(t / max_ops * min_len);
                        op_index = t % max_ops;
                    }
                    line = line.wrapping_add((line_base + (adj % line_range) as i64) as u32);
                    emit!(false);
                    disc = 0;
                }
                LineInstruction::EndSequence => {
                    emit!(true);
                    ranges.push((low_pc, high_pc));
                    ended = true;
                }
                LineInstruction::SetAddress(a) => {
                    address = a;
                    op_index = 0;
                }
                LineInstruction::DefineFile(e) => {
                    table
                        .files
                        .push((entry_string(&e.path_name(), strs), e.directory_index()));
                    // A number that named no file before does now.
                    intern.by_file.clear();
                }
                LineInstruction::SetDiscriminator(d) => disc = d as u32,
                // DW_LNE_HP_source_file_correlation is skipped, any other
                // unknown extended opcode fails the table.
                LineInstruction::UnknownExtended(op, _)
                    if op != DW_LNE_HP_SOURCE_FILE_CORRELATION =>
                {
                    return None
                }
                LineInstruction::Copy => {
                    emit!(false);
                    disc = 0;
                }
                LineInstruction::AdvancePc(n) => {
                    if max_ops == 1 {
                        address = address.wrapping_add(min_len.wrapping_mul(n));
                    } else {
                        // BFD assigns rather than adds here.
                        address = (op_index + n) / max_ops * min_len;
                        op_index = (op_index + n) % max_ops;
                    }
                }
                LineInstruction::AdvanceLine(n) => line = line.wrapping_add(n as u32),
                LineInstruction::SetFile(n) => file = intern.file(&table, n),
                LineInstruction::ConstAddPc => {
                    if line_range == 0 {
                        return None;
                    }
                    let adj = (255 - opcode_base) / line_range;
                    if max_ops == 1 {
                        address = address.wrapping_add(min_len * adj);
                    } else {
                        address = address.wrapping_add(min_len * ((op_index + adj) / max_ops));
                        op_index = (op_index + adj) % max_ops;
                    }
                }
                LineInstruction::FixedAddPc(n) => {
                    address = address.wrapping_add(u64::from(n));
                    op_index = 0;
                }
                _ => {}
            }
        }
    }
    // sort_line_sequences
    let n = b.seqs.len();
    for (i, s) in b.seqs.iter_mut().enumerate() {
        s.order = n - 1 - i;
    }
    let mut seqs = b.seqs;
    seqs.sort_by(|a, c| {
        let (la, lc) = (a.rows.last().expect("row"), c.rows.last().expect("row"));
        a.low_pc
            .cmp(&c.low_pc)
            .then(lc.address.cmp(&la.address))
            .then(lc.op_index.cmp(&la.op_index))
            .then(a.order.cmp(&c.order))
    });
    let mut kept: Vec<Seq> = Vec::with_capacity(seqs.len());
    let mut last_high = 0u64;
    for (i, mut s) in seqs.into_iter().enumerate() {
        let high = s.rows.last().expect("row").address;
        if i > 0 && s.low_pc < last_high {
            if high <= last_high {
                continue;
            }
            s.low_pc = last_high;
        }
        last_high = high;
        kept.push(s);
    }
    Some(LineTable {
        files: table,
        names: intern.names,
        seqs: kept,
    })
}

impl LineTable {
    /// `lookup_address_in_line_info_table`: (file, line, discriminator).
    pub fn lookup(&self, addr: u64) -> Option<(Option<&[u8]>, u32, u32)> {
        let (mut low, mut high) = (0usize, self.seqs.len());
        let mut seq = None;
        while low < high {
            let mid = (low + high) / 2;
            let s = &self.seqs[mid];
            seq = Some(s);
            if addr < s.low_pc {
                high = mid;
            } else if addr >= s.rows.last().expect("row").address {
                low = mid + 1;
            } else {
                break;
            }
        }
        let seq = seq?;
        if addr < seq.low_pc || addr >= seq.rows.last().expect("row").address {
            return None;
        }
        let rows = &seq.rows;
        let (mut low, mut high) = (0usize, rows.len());
        let mut hit = None;
        let mut mid = 0;
        while low < high {
            mid = (low + high) / 2;
            hit = Some(&rows[mid]);
            if addr < rows[mid].address {
                high = mid;
            } else if rows.get(mid + 1).is_some_and(|n| addr >= n.address) {
                low = mid + 1;
            } else {
                break;
            }
        }
        let info = hit?;
        let next_ok = rows.get(mid + 1).is_some_and(|n| addr < n.address);
        if addr >= info.address && next_ok && !(info.end || mid == rows.len() - 1) {
            let f = (info.file != u32::MAX).then(|| &*self.names[info.file as usize]);
            return Some((f, info.line, info.disc));
        }
        None
    }
}
