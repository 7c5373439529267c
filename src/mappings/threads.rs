//! Threads as perf's `machine` keeps them: keyed by tid, each with its
//! current comm and the address space (shared by a process's threads).

use rustc_hash::FxHashMap;

/// Index of an address space in [`super::Machine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapsId(pub u32);

/// Index of an interned comm string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommId(pub u32);

#[derive(Debug, Clone, Copy)]
pub struct Thread {
    pub pid: i32,
    pub tid: i32,
    pub comm: CommId,
    /// A COMM record (or a fork from a named parent) set the comm; until then
    /// perf shows `:<tid>`.
    pub comm_set: bool,
    pub maps: MapsId,
}

/// Interned comm strings: a comm is stored once however many samples show it.
#[derive(Default)]
pub struct Comms {
    list: Vec<Box<[u8]>>,
    index: FxHashMap<Box<[u8]>, CommId>,
}

impl Comms {
    pub fn intern(&mut self, s: &[u8]) -> CommId {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = CommId(self.list.len() as u32);
        self.list.push(s.into());
        self.index.insert(s.into(), id);
        id
    }

    pub fn get(&self, id: CommId) -> &[u8] {
        &self.list[id.0 as usize]
    }
}
