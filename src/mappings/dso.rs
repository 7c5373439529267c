//! DSO identity as perf keeps it: one entry per recorded name and inode
//! identity, with the kind that decides how addresses are symbolized.

use rustc_hash::FxHashMap;

/// Index into [`Dsos`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DsoId(pub u32);

/// How a DSO's addresses get names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsoKind {
    /// A file the symbolizer reads: an ELF file, the vdso image, or a
    /// `/tmp/perf-<pid>.map` JIT symbol file.
    File,
    /// The kernel image: symbols from kallsyms.
    Kernel,
    /// A kernel module map.
    Module,
    /// Memory without a file (anon data, stack, heap): no symbols.
    NoFile,
}

/// One DSO: what perf prints for it and how to symbolize it.
#[derive(Debug, Clone)]
pub struct Dso {
    /// The name perf prints between parentheses (`dso->name`).
    pub name: Box<[u8]>,
    pub kind: DsoKind,
    /// Build-id from the MMAP2 record, if it carried one.
    pub build_id: Option<Box<[u8]>>,
    /// A kernel module named by its path (from the build-id table): its
    /// `[name]` (perf's `dso->short_name`), by which kallsyms symbols find it.
    pub module_name: Option<Box<[u8]>>,
}

/// Identity key: perf's `machine__findnew_dso_id` matches on name and
/// (maj, min, ino, generation) when the record has them.
type DsoKey = (Box<[u8]>, Option<(u32, u32, u64, u64)>);

/// All DSOs of a recording.
#[derive(Default, Clone)]
pub struct Dsos {
    list: Vec<Dso>,
    index: FxHashMap<DsoKey, DsoId>,
    /// Counts changes to existing entries (renames, module names), so a
    /// mirror on another thread (`workers`) knows when appending is not enough.
    generation: u64,
}

impl Dsos {
    pub fn get(&self, i: DsoId) -> &Dso {
        &self.list[i.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many times an existing entry changed (see the field).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The DSOs from id `from` on, for a mirror on another thread.
    pub fn since(&self, from: usize) -> &[Dso] {
        self.list.get(from..).unwrap_or(&[])
    }

    /// Appends DSOs read from [`Self::since`] of the table this one mirrors
    /// (a mirror is only read by id, never searched by name).
    pub fn extend_mirrored(&mut self, dsos: impl IntoIterator<Item = Dso>) {
        self.list.extend(dsos);
    }

    /// Finds or adds the DSO for `name` with this identity.
    pub fn findnew(
        &mut self,
        name: &[u8],
        inode: Option<(u32, u32, u64, u64)>,
        kind: DsoKind,
        build_id: Option<&[u8]>,
    ) -> DsoId {
        let key: DsoKey = (name.into(), inode);
        if let Some(&i) = self.index.get(&key) {
            if let (Some(b), None) = (build_id, &self.list[i.0 as usize].build_id) {
                self.list[i.0 as usize].build_id = Some(b.into());
            }
            return i;
        }
        let i = DsoId(self.list.len() as u32);
        self.list.push(Dso {
            name: name.into(),
            kind,
            build_id: build_id.map(Into::into),
            module_name: None,
        });
        self.index.insert(key, i);
        i
    }

    /// Renames a DSO (the kernel, named by its build-id table entry).
    pub fn rename(&mut self, i: DsoId, name: &[u8]) {
        self.list[i.0 as usize].name = name.into();
        self.generation += 1;
    }

    /// Sets the `[name]` of a module DSO printed by its path.
    pub fn set_module_name(&mut self, i: DsoId, short: &[u8]) {
        self.list[i.0 as usize].module_name = Some(short.into());
        self.generation += 1;
    }
}
