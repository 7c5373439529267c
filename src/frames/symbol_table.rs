//! The symbols of a run's frames: each (DSO, address) looked up once in
//! the symbolizer, its symbol interned under a [`SymId`] and the pair given a
//! dense slot for the writers' per-address caches.

use rustc_hash::FxHashMap;

use super::Frame;
use crate::mappings::{DsoId, DsoKind, Machine};
use crate::objfile::locate::Searched;
use crate::symbolize::{ObjectId, Symbolizer};

/// Index of an interned symbol (name and range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymId(pub u32);

/// A symbol as the writers need it.
#[derive(Debug, Clone)]
pub struct InternedSymbol {
    pub name: Box<str>,
    pub start: u64,
    pub end: u64,
}

/// Slots of the per-address frame cache (a power of two).
const FRAME_CACHE_SLOTS: usize = 1 << 13;

/// A resolved frame, valid while its address space has not changed.
#[derive(Clone, Copy)]
struct CachedFrame {
    /// The space's id (`u32::MAX`: the kernel's maps; `u32::MAX - 1`: empty).
    space: u32,
    /// The space's `Maps::changes` when the frame was resolved.
    changes: u64,
    frame: Frame,
}

/// Symbols by id, plus the per-(DSO, address) lookup cache.
pub struct SymbolTable {
    /// Direct-mapped (space, address) -> frame cache in front of the map
    /// and symbol lookups (most samples repeat the addresses of the last few).
    frame_cache: Vec<CachedFrame>,
    syms: Vec<InternedSymbol>,
    by_start: FxHashMap<(DsoId, u64), SymId>,
    by_addr: FxHashMap<(DsoId, u64), (Option<SymId>, u32)>,
    dso_ids: FxHashMap<DsoId, ObjectId>,
    next_slot: u32,
    pub symbolizer: Symbolizer,
}

impl SymbolTable {
    pub fn new(symbolizer: Symbolizer) -> Self {
        SymbolTable {
            frame_cache: vec![
                CachedFrame {
                    space: u32::MAX - 1,
                    changes: 0,
                    frame: Frame::unmapped(0),
                };
                FRAME_CACHE_SLOTS
            ],
            syms: Vec::new(),
            by_start: FxHashMap::default(),
            by_addr: FxHashMap::default(),
            dso_ids: FxHashMap::default(),
            next_slot: 0,
            symbolizer,
        }
    }

    /// Where a file DSO's symbols were looked for (`None` if never looked up).
    pub fn search_trail(&self, dso: DsoId) -> Option<(&[Searched], Option<&[u8]>)> {
        let id = *self.dso_ids.get(&dso)?;
        Some(self.symbolizer.search_trail(id))
    }

    /// The symbolizer's id of a file DSO.
    pub fn dso_id(&mut self, machine: &Machine, dso: DsoId) -> ObjectId {
        let d = machine.dsos.get(dso);
        *self
            .dso_ids
            .entry(dso)
            .or_insert_with(|| self.symbolizer.dso(&d.name, d.build_id.as_deref()))
    }

    /// Interns a symbol named `name` over `start..end` (inline frames get
    /// the range of the real symbol they sit in).
    pub fn intern(&mut self, name: Box<str>, start: u64, end: u64) -> SymId {
        self.syms.push(InternedSymbol { name, start, end });
        SymId(self.syms.len() as u32 - 1)
    }

    /// A fresh slot for a frame that is not a plain (DSO, address) pair.
    pub fn new_slot(&mut self) -> u32 {
        let slot = self.next_slot;
        self.next_slot += 1;
        slot
    }

    /// The slot of a (DSO, address) pair already looked up.
    pub fn cached_slot(&self, dso: DsoId, addr: u64) -> Option<u32> {
        self.by_addr.get(&(dso, addr)).map(|&(_, slot)| slot)
    }

    pub fn get(&self, id: SymId) -> &InternedSymbol {
        &self.syms[id.0 as usize]
    }

    fn frame_slot(space: u32, ip: u64) -> usize {
        let h = (ip ^ u64::from(space).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - FRAME_CACHE_SLOTS.trailing_zeros())) as usize
    }

    /// The frame of `ip` in address space `space` resolved before, if the
    /// space has had no change (`changes`) since.
    pub fn cached_frame(&self, space: u32, changes: u64, ip: u64) -> Option<Frame> {
        let c = &self.frame_cache[Self::frame_slot(space, ip)];
        (c.space == space && c.changes == changes && c.frame.ip == ip).then_some(c.frame)
    }

    /// Remembers the frame of `frame.ip` in `space` at `changes`.
    pub fn cache_frame(&mut self, space: u32, changes: u64, frame: Frame) {
        self.frame_cache[Self::frame_slot(space, frame.ip)] = CachedFrame {
            space,
            changes,
            frame,
        };
    }

    /// How many symbols are interned (ids are dense and never reused).
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether no symbol is interned yet.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    /// The symbols interned from id `from` on, for a mirror of the table
    /// on another thread (`workers`).
    pub fn since(&self, from: usize) -> &[InternedSymbol] {
        self.syms.get(from..).unwrap_or(&[])
    }

    /// Appends symbols read from [`Self::since`] of the table this one
    /// mirrors: only names, no lookups, are asked of a mirror.
    pub fn extend_mirrored(&mut self, syms: impl IntoIterator<Item = InternedSymbol>) {
        self.syms.extend(syms);
    }

    /// The symbol of `addr` (already `map_ip`-converted) in `dso`, and the
    /// pair's slot.
    pub fn lookup(&mut self, machine: &Machine, dso: DsoId, addr: u64) -> (Option<SymId>, u32) {
        if let Some(&hit) = self.by_addr.get(&(dso, addr)) {
            return hit;
        }
        let d = machine.dsos.get(dso);
        let found = match d.kind {
            DsoKind::Kernel => self.symbolizer.lookup_kernel(addr),
            DsoKind::File => {
                let id = self.dso_id(machine, dso);
                self.symbolizer.lookup(id, addr)
            }
            DsoKind::Module => {
                let short = d.module_name.as_deref().unwrap_or(&d.name);
                self.symbolizer.lookup_module(short, addr)
            }
            DsoKind::NoFile => None,
        }
        .map(|s| (s.start, s.end, s.name.clone()));
        let hit = found.map(|(start, end, name)| {
            *self.by_start.entry((dso, start)).or_insert_with(|| {
                self.syms.push(InternedSymbol { name, start, end });
                SymId(self.syms.len() as u32 - 1)
            })
        });
        let slot = self.new_slot();
        self.by_addr.insert((dso, addr), (hit, slot));
        (hit, slot)
    }
}
