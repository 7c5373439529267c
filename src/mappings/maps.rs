//! One address space: a sorted table of non-overlapping maps.
//!
//! Inserting a map removes the parts of older maps it covers and keeps
//! their uncovered head and tail, as perf's `maps__fixup_overlappings` does.
//! Only the maps that overlap are touched, so a fork/exec-heavy recording
//! stays linear.

use std::collections::BTreeMap;

use super::dso::DsoId;

/// A mapped range of one DSO.
#[derive(Debug, Clone, Copy)]
pub struct Map {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub dso: DsoId,
    /// Memory without a file (anon, JIT, stack): addresses are not relocated.
    pub identity: bool,
}

impl Map {
    /// perf's `map->map_ip`: the address as the DSO sees it.
    pub fn map_ip(&self, ip: u64) -> u64 {
        if self.identity {
            ip
        } else {
            ip.wrapping_sub(self.start).wrapping_add(self.pgoff)
        }
    }
}

/// Maps of one process (shared by its threads), keyed by start address.
#[derive(Debug, Clone, Default)]
pub struct Maps {
    by_start: BTreeMap<u64, Map>,
    /// Bumped by every change to a file-backed map (added, trimmed or
    /// removed), so per-space caches (unwinders) can tell when to refresh.
    generation: u64,
    /// Bumped by every change to any map, anonymous ones included, so a
    /// cache of lookups (`frames`' per-address cache) can tell it is stale.
    changes: u64,
}

impl Maps {
    /// The map containing `ip`.
    pub fn find(&self, ip: u64) -> Option<&Map> {
        let (_, m) = self.by_start.range(..=ip).next_back()?;
        (ip < m.end).then_some(m)
    }

    /// Inserts `map`, trimming whatever it overlaps.
    pub fn insert(&mut self, map: Map) {
        self.changes += 1;
        if !map.identity {
            self.generation += 1;
        }
        if map.end <= map.start {
            // An empty range can never be found; perf keeps it but never hits it.
            return;
        }
        // The maps starting before the new one's end, from the last down,
        // while they reach past its start (the maps do not overlap, so the
        // first that ends at or before it ends the walk); usually none.
        let overlapped: smallvec::SmallVec<[u64; 4]> = self
            .by_start
            .range(..map.end)
            .rev()
            .take_while(|(_, m)| m.end > map.start)
            .map(|(&s, _)| s)
            .collect();
        for &s in overlapped.iter().rev() {
            let pos = self.by_start.remove(&s).unwrap();
            if !pos.identity {
                self.generation += 1;
            }
            if map.start > pos.start {
                self.by_start.insert(
                    pos.start,
                    Map {
                        end: map.start,
                        ..pos
                    },
                );
            }
            if map.end < pos.end {
                let after = Map {
                    start: map.end,
                    pgoff: pos.pgoff.wrapping_add(map.end - pos.start),
                    ..pos
                };
                self.by_start.insert(after.start, after);
            }
        }
        self.by_start.insert(map.start, map);
    }

    /// The first map of `dso`.
    pub fn find_dso(&self, dso: DsoId) -> Option<Map> {
        self.by_start.values().find(|m| m.dso == dso).copied()
    }

    /// Removes the map starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<Map> {
        self.generation += 1;
        self.changes += 1;
        self.by_start.remove(&start)
    }

    /// Changes so far (see the field).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Changes to any map so far (see the field).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// All maps, by start address.
    pub fn iter(&self) -> impl Iterator<Item = &Map> {
        self.by_start.values()
    }

    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_start.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start: u64, end: u64, pgoff: u64, dso: u32) -> Map {
        Map {
            start,
            end,
            pgoff,
            dso: DsoId(dso),
            identity: false,
        }
    }

    #[test]
    fn overlapping_insert_keeps_head_and_tail() {
        let mut maps = Maps::default();
        maps.insert(m(0x1000, 0x5000, 0x100, 1));
        maps.insert(m(0x2000, 0x3000, 0, 2));
        assert_eq!(maps.len(), 3);
        let head = maps.find(0x1fff).unwrap();
        assert_eq!((head.start, head.end, head.dso.0), (0x1000, 0x2000, 1));
        let mid = maps.find(0x2000).unwrap();
        assert_eq!(mid.dso.0, 2);
        let tail = maps.find(0x3000).unwrap();
        assert_eq!((tail.start, tail.end, tail.pgoff), (0x3000, 0x5000, 0x2100));
        assert_eq!(tail.map_ip(0x3000), head.map_ip(0x3000));
        assert!(maps.find(0x5000).is_none());
    }

    #[test]
    fn covering_insert_replaces_several() {
        let mut maps = Maps::default();
        maps.insert(m(0x1000, 0x2000, 0, 1));
        maps.insert(m(0x2000, 0x3000, 0, 2));
        maps.insert(m(0x3000, 0x4000, 0, 3));
        maps.insert(m(0x800, 0x3800, 0, 4));
        assert_eq!(maps.find(0x1000).unwrap().dso.0, 4);
        assert_eq!(maps.find(0x37ff).unwrap().dso.0, 4);
        assert_eq!(maps.find(0x3800).unwrap().dso.0, 3);
        assert_eq!(maps.len(), 2);
    }
}
