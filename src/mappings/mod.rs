//! Per-process state rebuilt from COMM, FORK, EXIT, MMAP and MMAP2 records in
//! delivery order: threads and their comms, address spaces, DSOs, and the
//! kernel's maps. Follows perf 6.1's `util/machine.c`, `util/thread.c` and
//! `util/map.c`.

pub mod dso;
pub mod maps;
pub mod threads;

use rustc_hash::FxHashMap;

use crate::objfile::locate::perf_map_name;
use crate::reader::records::{Comm, MmapRecord, Task, MISC_FORK_EXEC};
pub use dso::{DsoId, DsoKind, Dsos};
pub use maps::{Map, Maps};
pub use threads::{Comms, MapsId, Thread};

/// `PERF_RECORD_MISC_KERNEL` / `_USER` cpumodes.
pub const CPUMODE_KERNEL: u8 = 1;
pub const CPUMODE_USER: u8 = 2;
pub const CPUMODE_HYPERVISOR: u8 = 3;

const PROT_EXEC: u32 = 4;
const MAP_HUGETLB: u32 = 0x40000;

/// Name perf gives the kernel image's DSO.
pub const KERNEL_DSO_NAME: &[u8] = b"[kernel.kallsyms]";

/// The host machine: threads, address spaces, DSOs and kernel maps.
pub struct Machine {
    threads: FxHashMap<i32, Thread>,
    spaces: Vec<Maps>,
    pub dsos: Dsos,
    pub comms: Comms,
    /// Kernel image and module maps.
    pub kernel_maps: Maps,
    pub kernel_dso: DsoId,
    /// Lowest kernel address (perf's `machine->kernel_start`).
    pub kernel_start: u64,
    /// The kernel's ref-reloc symbol from its MMAP record (`_text` and its address).
    pub kernel_ref_reloc: Option<(String, u64)>,
    /// Short names of module maps added since the caller last drained them.
    pub new_modules: Vec<Vec<u8>>,
    /// Kernel symbols were loaded and the kernel map resized to them.
    pub kernel_loaded: bool,
    /// Kernel modules the build-id table lists by path: `[name]` -> path.
    module_paths: FxHashMap<Vec<u8>, Vec<u8>>,
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine {
    pub fn new() -> Self {
        let mut dsos = Dsos::default();
        let kernel_dso = dsos.findnew(KERNEL_DSO_NAME, None, DsoKind::Kernel, None);
        let mut machine = Machine {
            threads: FxHashMap::default(),
            spaces: Vec::new(),
            dsos,
            comms: Comms::default(),
            kernel_maps: Maps::default(),
            kernel_dso,
            kernel_start: 1 << 63,
            kernel_ref_reloc: None,
            new_modules: Vec::new(),
            kernel_loaded: false,
            module_paths: FxHashMap::default(),
        };
        // perf_session__register_idle_thread: thread 0 is "swapper" from the start.
        let swapper = machine.comms.intern(b"swapper");
        machine.findnew_thread(0, 0);
        let idle = machine.threads.get_mut(&0).unwrap();
        idle.comm = swapper;
        idle.comm_set = true;
        machine
    }

    pub fn maps(&self, id: MapsId) -> &Maps {
        &self.spaces[id.0 as usize]
    }

    fn new_space(&mut self, from: Option<MapsId>) -> MapsId {
        let maps = from
            .map(|f| self.spaces[f.0 as usize].clone())
            .unwrap_or_default();
        self.spaces.push(maps);
        MapsId(self.spaces.len() as u32 - 1)
    }

    /// perf's `machine__findnew_thread`: the thread with `tid`, created with
    /// comm `:<tid>` if new; non-leader threads share the leader's maps.
    pub fn findnew_thread(&mut self, pid: i32, tid: i32) -> Thread {
        if let Some(&th) = self.threads.get(&tid) {
            // Nearly every sample: a known thread whose pid is settled.
            if pid == th.pid || pid == -1 || th.pid != -1 {
                return th;
            }
            self.update_thread_pid(tid, pid);
            return self.threads[&tid];
        }
        let comm = self.comms.intern(format!(":{tid}").as_bytes());
        let maps = if pid == tid || pid == -1 {
            self.new_space(None)
        } else {
            self.findnew_thread(pid, pid).maps
        };
        self.threads.insert(
            tid,
            Thread {
                pid,
                tid,
                comm,
                comm_set: false,
                maps,
            },
        );
        self.threads[&tid]
    }

    /// perf's `machine__update_thread_pid`: a thread first seen without its pid
    /// joins its leader's address space once the pid is known.
    fn update_thread_pid(&mut self, tid: i32, pid: i32) {
        let th = &self.threads[&tid];
        if pid == th.pid || pid == -1 || th.pid != -1 {
            return;
        }
        let leader_maps = if pid == tid {
            th.maps
        } else {
            self.findnew_thread(pid, pid).maps
        };
        let th = self.threads.get_mut(&tid).unwrap();
        th.pid = pid;
        th.maps = leader_maps;
    }

    pub fn comm(&mut self, c: &Comm) {
        let id = self.comms.intern(c.comm);
        self.findnew_thread(c.pid, c.tid);
        let th = self.threads.get_mut(&c.tid).unwrap();
        th.comm = id;
        th.comm_set = true;
    }

    /// perf's `machine__process_fork_event`.
    pub fn fork(&mut self, t: &Task) {
        let parent = self.findnew_thread(t.ppid, t.ptid);
        let parent = if parent.pid != t.ppid {
            // An existing thread that is not the parent: replace it.
            self.threads.remove(&t.ptid);
            self.findnew_thread(t.ppid, t.ptid)
        } else {
            parent
        };
        self.threads.remove(&t.tid);
        self.findnew_thread(t.pid, t.tid);
        let do_maps_clone = t.misc & MISC_FORK_EXEC == 0;
        let maps = if t.pid == parent.pid {
            None
        } else if do_maps_clone {
            Some(self.new_space(Some(parent.maps)))
        } else {
            None
        };
        let th = self.threads.get_mut(&t.tid).unwrap();
        if parent.comm_set {
            th.comm = parent.comm;
            th.comm_set = true;
        }
        if let Some(maps) = maps {
            th.maps = maps;
        }
    }

    /// The kernel-space rows of the build-id table (perf's
    /// `__event_process_build_id`, which creates their DSOs before any
    /// record is read), as (file name) in table order:
    /// - the first that is not a module is the kernel DSO
    ///   (`machine__process_kernel_mmap_event` takes the first kernel DSO of
    ///   the list), so a kernel recorded as `/lib/modules/V/build/vmlinux`
    ///   prints under that path;
    /// - a module listed by its `.ko` path is found by its `[name]` when its
    ///   map is created (`machine__findnew_module_dso`) and prints as the path.
    pub fn use_build_id_table<'a>(&mut self, kernel_rows: impl Iterator<Item = &'a [u8]>) {
        let mut kernel_named = false;
        for name in kernel_rows {
            if is_kmod(name) {
                self.module_paths
                    .entry(kmod_name(name))
                    .or_insert_with(|| name.to_vec());
            } else if !kernel_named {
                kernel_named = true;
                self.dsos.rename(self.kernel_dso, name);
            }
        }
    }

    /// perf's `machine__process_exit_event` only marks the thread dead; it stays findable.
    pub fn exit(&mut self, _t: &Task) {}

    /// perf's `machine__process_mmap{,2}_event`.
    pub fn mmap(&mut self, m: &MmapRecord) {
        if m.cpumode == CPUMODE_KERNEL || m.cpumode == 0 && m.pid == -1 {
            self.kernel_mmap(m);
            return;
        }
        let name = m.filename;
        let anon = name == b"//anon"
            || name.starts_with(b"/dev/zero")
            || name.starts_with(b"/anon_hugepage")
            || m.flags & MAP_HUGETLB != 0;
        let no_dso = name.starts_with(b"[stack") || name.starts_with(b"/SYSV") || name == b"[heap]";
        let th = self.findnew_thread(m.pid, m.tid);
        let mut pgoff = m.pgoff;
        let dso = if (anon || no_dso) && m.prot & PROT_EXEC != 0 {
            // perf looks for JIT symbols in /tmp/perf-<pid>.map for executable anon memory.
            let jit = perf_map_name(th.pid);
            self.dsos.findnew(jit.as_bytes(), None, DsoKind::File, None)
        } else if anon || no_dso {
            self.dsos.findnew(name, None, DsoKind::NoFile, None)
        } else if name == b"[vdso]" {
            pgoff = 0;
            self.dsos.findnew(name, None, DsoKind::File, m.build_id)
        } else {
            self.dsos.findnew(name, m.inode, DsoKind::File, m.build_id)
        };
        let map = Map {
            start: m.start,
            end: m.start.wrapping_add(m.len),
            pgoff,
            dso,
            identity: anon || no_dso,
        };
        self.spaces[th.maps.0 as usize].insert(map);
    }

    fn kernel_mmap(&mut self, m: &MmapRecord) {
        let name = m.filename;
        let is_kernel = name.starts_with(b"[kernel.kallsyms]");
        if name.first() == Some(&b'/') || (!is_kernel && name.first() == Some(&b'[')) {
            // perf names the module DSO `[name]` (machine__findnew_module_dso).
            let short = kmod_name(name);
            let dso = match self.module_paths.get(&short) {
                Some(path) => {
                    let dso = self.dsos.findnew(path, None, DsoKind::Module, m.build_id);
                    self.dsos.set_module_name(dso, &short);
                    dso
                }
                None => self.dsos.findnew(&short, None, DsoKind::Module, m.build_id),
            };
            self.new_modules.push(short);
            self.kernel_maps.insert(Map {
                start: m.start,
                end: m.start.wrapping_add(m.len),
                pgoff: 0,
                dso,
                identity: true,
            });
        } else if is_kernel {
            let end = m.start.saturating_add(m.len);
            self.kernel_maps.insert(Map {
                start: m.start,
                end,
                pgoff: 0,
                dso: self.kernel_dso,
                identity: true,
            });
            self.kernel_start = self.kernel_start.min(m.start);
            if m.pgoff != 0 {
                let sym = String::from_utf8_lossy(&name[KERNEL_DSO_NAME.len()..]).into_owned();
                self.kernel_ref_reloc = Some((sym, m.pgoff));
            }
        }
    }

    /// perf loads kallsyms on the first hit in the kernel map (on a native
    /// x86 host already at the first printed sample, `SampleExtras::fill`)
    /// and then moves the map's bounds to the first and last kernel symbol
    /// (`dso__load_kernel_sym`: `map__fixup_start`, `map__fixup_end`), so
    /// later addresses outside `_text.._etext` (init code) are found too.
    pub fn kernel_map_loaded(&mut self, symbols_range: Option<(u64, u64)>) {
        if self.kernel_loaded {
            return;
        }
        self.kernel_loaded = true;
        let Some((start, end)) = symbols_range else {
            return;
        };
        let Some(old) = self.kernel_maps.find_dso(self.kernel_dso) else {
            return;
        };
        self.kernel_maps.remove(old.start);
        self.kernel_maps.insert(Map { start, end, ..old });
    }

    pub fn thread(&self, tid: i32) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// perf's `thread__find_map`: the map of `ip` in the space `cpumode` selects.
    pub fn find_map(&self, th: &Thread, cpumode: u8, ip: u64) -> Option<&Map> {
        match cpumode {
            CPUMODE_KERNEL => self.kernel_maps.find(ip),
            CPUMODE_USER => self.maps(th.maps).find(ip),
            _ => None,
        }
    }

    /// perf's `thread__find_map_fb`: as [`Self::find_map`], then retry in the
    /// space the address itself belongs to.
    pub fn find_map_fb(&self, th: &Thread, cpumode: u8, ip: u64) -> Option<&Map> {
        if let Some(m) = self.find_map(th, cpumode, ip) {
            return Some(m);
        }
        let addr_mode = if ip >= self.kernel_start {
            CPUMODE_KERNEL
        } else {
            CPUMODE_USER
        };
        if addr_mode == cpumode {
            return None;
        }
        self.find_map(th, addr_mode, ip)
    }
}

/// perf's `is_kernel_module` for a kernel-space name: a `.ko` file (also
/// compressed), or a `[name]` that is not the kernel's, the vdso's or
/// vsyscall's (util/dso.c `__kmod_path__parse`).
pub fn is_kmod(path: &[u8]) -> bool {
    let base = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    if base.first() == Some(&b'[') {
        const NOT_MODULES: [&[u8]; 6] = [
            b"[kernel.kallsyms]",
            b"[guest.kernel.kallsyms",
            b"[vdso]",
            b"[vdso32]",
            b"[vdsox32]",
            b"[vsyscall]",
        ];
        return !NOT_MODULES.iter().any(|p| base.starts_with(p));
    }
    kmod_name(path).first() == Some(&b'[')
}

/// perf's `kmod_path__parse_name` (util/dso.c `__kmod_path__parse`): the
/// basename; a `.ko` file (optionally `.gz`/`.xz`-compressed) becomes
/// `[name]`; `-` becomes `_`; a `[...]` name is kept as is.
pub fn kmod_name(path: &[u8]) -> Vec<u8> {
    let base = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    if base.first() == Some(&b'[') {
        return base.to_vec();
    }
    let base_at = path.len() - base.len();
    let Some(mut ext) = path.iter().rposition(|&b| b == b'.') else {
        return base.to_vec();
    };
    if matches!(&path[ext + 1..], b"gz" | b"xz") {
        ext = ext.saturating_sub(3);
    }
    let kmod = ext > base_at && path[ext..].starts_with(b".ko");
    let mut out = if kmod {
        let mut v = vec![b'['];
        v.extend_from_slice(&path[base_at..ext]);
        v.push(b']');
        v
    } else {
        base.to_vec()
    };
    for b in &mut out {
        if *b == b'-' {
            *b = b'_';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmap(pid: i32, start: u64, name: &'static [u8]) -> MmapRecord<'static> {
        MmapRecord {
            cpumode: CPUMODE_USER,
            pid,
            tid: pid,
            start,
            len: 0x1000,
            pgoff: 0,
            inode: None,
            build_id: None,
            prot: 5,
            flags: 2,
            filename: name,
        }
    }

    fn comm(pid: i32, tid: i32, name: &'static [u8]) -> Comm<'static> {
        Comm {
            pid,
            tid,
            exec: false,
            comm: name,
        }
    }

    #[test]
    fn threads_share_their_process_maps_and_keep_their_own_comm() {
        let mut m = Machine::new();
        m.comm(&comm(10, 10, b"main"));
        m.mmap(&mmap(10, 0x1000, b"/bin/prog"));
        m.fork(&Task {
            pid: 10,
            ppid: 10,
            tid: 11,
            ptid: 10,
            misc: 0,
        });
        m.comm(&comm(10, 11, b"worker"));
        let worker = *m.thread(11).unwrap();
        assert_eq!(m.comms.get(worker.comm), b"worker");
        let map = m.find_map(&worker, CPUMODE_USER, 0x1800).unwrap();
        assert_eq!(&*m.dsos.get(map.dso).name, b"/bin/prog");
    }

    #[test]
    fn a_fork_onto_a_reused_pid_replaces_the_old_process() {
        let mut m = Machine::new();
        m.comm(&comm(100, 100, b"old"));
        m.mmap(&mmap(100, 0x1000, b"/bin/old"));
        m.comm(&comm(50, 50, b"parent"));
        m.mmap(&mmap(50, 0x8000, b"/bin/parent"));
        // pid 100 exited; the kernel hands 100 to a new child of 50.
        m.exit(&Task {
            pid: 100,
            ppid: 1,
            tid: 100,
            ptid: 1,
            misc: 0,
        });
        m.fork(&Task {
            pid: 100,
            ppid: 50,
            tid: 100,
            ptid: 50,
            misc: 0,
        });
        let child = *m.thread(100).unwrap();
        assert_eq!(m.comms.get(child.comm), b"parent");
        assert!(m.find_map(&child, CPUMODE_USER, 0x1800).is_none());
        let inherited = m.find_map(&child, CPUMODE_USER, 0x8800).unwrap();
        assert_eq!(&*m.dsos.get(inherited.dso).name, b"/bin/parent");
        // The parent's table is a copy: the child's new maps do not leak back.
        m.mmap(&mmap(100, 0x1000, b"/bin/new"));
        let parent = *m.thread(50).unwrap();
        assert!(m.find_map(&parent, CPUMODE_USER, 0x1800).is_none());
    }

    #[test]
    fn unknown_threads_are_named_by_tid_and_the_idle_thread_is_swapper() {
        let mut m = Machine::new();
        let t = m.findnew_thread(7, 9);
        assert_eq!(m.comms.get(t.comm), b":9");
        let idle = *m.thread(0).unwrap();
        assert_eq!(m.comms.get(idle.comm), b"swapper");
    }

    #[test]
    fn module_dso_names() {
        assert_eq!(
            kmod_name(b"/lib/modules/6.1.0-56-arm64/kernel/fs/ext4/ext4.ko"),
            b"[ext4]"
        );
        assert_eq!(
            kmod_name(b"/lib/modules/x/virtio-blk.ko.xz"),
            b"[virtio_blk]"
        );
        assert_eq!(kmod_name(b"[bpf_prog]"), b"[bpf_prog]");
        assert!(is_kmod(
            b"/lib/modules/3.8.11/kernel/net/mac80211-3.4/mac80211.ko"
        ));
        assert!(is_kmod(b"/lib/modules/x/virtio-blk.ko.xz"));
        assert!(is_kmod(b"[bpf_prog]"));
        assert!(!is_kmod(b"[kernel.kallsyms]"));
        assert!(!is_kmod(b"[kernel.kallsyms]_text"));
        assert!(!is_kmod(b"/lib/modules/6.6.7-arch1-1/build/vmlinux"));
        assert!(!is_kmod(b"/boot/vmlinux-3.4.0"));
        assert_eq!(kmod_name(b"/usr/lib/some-lib.so"), b"some_lib.so");
    }
}
