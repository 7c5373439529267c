//! Which file(s) perf 6.1 reads a user-space DSO's symbols from: the
//! candidate order of `dso__load()` (`binary_type_symtab[]` filtered by
//! `dso__is_compatible_symtab_type`), the path each candidate gets in
//! `dso__read_binary_type_filename()` (with `--symfs` prefixing and the
//! build-id cache layout of util/build-id.c), the build-id gate of
//! `symsrc__init()`, and the `.symtab` (syms_ss) / `.dynsym` (runtime_ss)
//! pick.

use super::build_id::{
    build_id_equal, build_id_filename, build_id_hex, defined, read_file_build_id,
};
use super::elf::{Elf, SHT_DYNSYM, SHT_SYMTAB};
use super::fs::{file_identity, is_regular_file, map_file};
use memmap2::Mmap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Bytes of one candidate file (memory-mapped, or our own vdso image).
pub enum Blob {
    Map(Mmap),
    Mem(Vec<u8>),
}

impl Blob {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Blob::Map(m) => m,
            Blob::Mem(v) => v,
        }
    }
}

/// An accepted candidate (perf `struct symsrc`).
pub struct SymSrc {
    pub blob: Blob,
    /// The file's [`file_identity`] when it was mapped (`None` for bytes
    /// that are no file's).
    pub identity: Option<[i64; 7]>,
    pub has_symtab: bool,
    pub has_dynsym: bool,
}

/// Everything needed to resolve paths the way perf does.
pub struct Env<'a> {
    /// `symbol_conf.symfs` (empty when unset or "/").
    pub symfs: &'a [u8],
    pub buildid_dir: &'a Path,
}

fn pb(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// perf `path__join(symfs, path)` as used by `__symbol__join_symfs`.
pub fn join_symfs(symfs: &[u8], path: &[u8]) -> Vec<u8> {
    let mut v = symfs.to_vec();
    if !symfs.is_empty() {
        v.push(b'/');
    }
    v.extend_from_slice(path);
    v
}

/// The `/tmp/perf-<pid>.map` name perf gives executable anonymous memory
/// (`map__new`), whose symbols come from that JIT map file.
pub fn perf_map_name(pid: i32) -> String {
    format!("/tmp/perf-{pid}.map")
}

/// Whether a DSO's long name is a `/tmp/perf-<pid>.map` JIT symbol file
/// (perf's `is_perf_map`-style prefix test): not an ELF file.
pub fn is_perf_map(long_name: &[u8]) -> bool {
    long_name.starts_with(b"/tmp/perf-")
}

/// The file perf reads a DSO's bytes from for unwinding
/// (`dso__data_get_fd`: `binary_type_data[]` = the build-id cache copy,
/// then the recorded path under `--symfs`); no build-id check.
pub fn data_file(env: &Env, long_name: &[u8], build_id: Option<&[u8]>) -> Option<PathBuf> {
    if let Some(bid) = defined(build_id) {
        let base = if long_name == b"[vdso]" {
            "vdso"
        } else {
            "elf"
        };
        let p = build_id_filename(env.buildid_dir, bid, base);
        if is_regular_file(&p) {
            return Some(p);
        }
    }
    let p = pb(&join_symfs(env.symfs, long_name));
    is_regular_file(&p).then_some(p)
}

/// One `binary_type_symtab[]` entry that applies to user DSOs, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BinType {
    Debuglink,
    BuildIdCache,
    BuildIdCacheDebuginfo,
    FedoraDebuginfo,
    UbuntuDebuginfo,
    BuildidDebuginfo,
    SystemPathDso,
    OpenembeddedDebuginfo,
    MixedupUbuntuDebuginfo,
}

const ORDER: [BinType; 9] = [
    BinType::Debuglink,
    BinType::BuildIdCache,
    BinType::BuildIdCacheDebuginfo,
    BinType::FedoraDebuginfo,
    BinType::UbuntuDebuginfo,
    BinType::BuildidDebuginfo,
    BinType::SystemPathDso,
    BinType::OpenembeddedDebuginfo,
    BinType::MixedupUbuntuDebuginfo,
];

/// perf `dso__read_binary_type_filename` for a user DSO. `None` = skipped.
fn candidate_path(
    env: &Env,
    t: BinType,
    long_name: &[u8],
    bid: Option<&[u8]>,
    is_vdso: bool,
) -> Option<PathBuf> {
    const DEBUG: &[u8] = b"/usr/lib/debug";
    match t {
        BinType::Debuglink => {
            let file = join_symfs(env.symfs, long_name);
            let dir_end = file.iter().rposition(|&b| b == b'/').unwrap_or(0);
            let dso_dir = &file[..dir_end];
            if !is_regular_file(&pb(&file)) {
                return None;
            }
            let link = read_debuglink(&pb(&file))?;
            let cands: [Vec<u8>; 4] = [
                link.clone(),
                [dso_dir, b"/", &link].concat(),
                [dso_dir, b"/.debug/", &link].concat(),
                [DEBUG, dso_dir, b"/", &link].concat(),
            ];
            cands
                .into_iter()
                .map(|c| pb(&c))
                .find(|p| is_regular_file(p))
        }
        BinType::BuildIdCache | BinType::BuildIdCacheDebuginfo => {
            let bid = bid?;
            let base = if is_vdso {
                "vdso"
            } else if t == BinType::BuildIdCacheDebuginfo {
                "debug"
            } else {
                "elf"
            };
            Some(build_id_filename(env.buildid_dir, bid, base))
        }
        BinType::FedoraDebuginfo => Some(pb(&[
            &join_symfs(env.symfs, DEBUG)[..],
            long_name,
            b".debug",
        ]
        .concat())),
        BinType::UbuntuDebuginfo => {
            Some(pb(&[&join_symfs(env.symfs, DEBUG)[..], long_name].concat()))
        }
        BinType::MixedupUbuntuDebuginfo => {
            if long_name.len() < 9 || !long_name.starts_with(b"/usr/lib/") {
                return None;
            }
            Some(pb(
                &[&join_symfs(env.symfs, DEBUG)[..], &long_name[4..]].concat()
            ))
        }
        BinType::OpenembeddedDebuginfo => {
            let slash = long_name.iter().rposition(|&b| b == b'/').unwrap_or(0);
            let keep = (slash + 1).min(long_name.len());
            let mut v = join_symfs(env.symfs, b"");
            v.extend_from_slice(&long_name[..keep]);
            v.extend_from_slice(b".debug");
            v.extend_from_slice(&long_name[slash..]);
            Some(pb(&v))
        }
        BinType::BuildidDebuginfo => {
            let hex = build_id_hex(bid?);
            let (a, b) = hex.split_at(hex.len().min(2));
            let mut v = join_symfs(env.symfs, b"/usr/lib/debug/.build-id/");
            v.extend_from_slice(format!("{a}/{b}.debug").as_bytes());
            Some(pb(&v))
        }
        BinType::SystemPathDso => Some(pb(&join_symfs(env.symfs, long_name))),
    }
}

fn read_debuglink(path: &Path) -> Option<Vec<u8>> {
    let m = map_file(path)?;
    Elf::parse(&m)?.debuglink()
}

/// perf `symsrc__init` for a user DSO: open, parse, reject mismatching
/// build-ids (a candidate without a build-id note is rejected too when the
/// DSO has one), find `.symtab`/`.dynsym` (first section of that name, and
/// only if its type is right).
/// What happened to one place perf looks for a DSO's symbols (for `--verbose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No regular file there.
    Missing,
    /// A file that is not a readable ELF file.
    NotElf,
    /// An ELF file whose build-id is not the recorded one (or has none).
    BuildIdMismatch,
    /// An ELF file without .symtab or .dynsym.
    NoSymbolTable,
    /// Used: for its .symtab (`true`) or only its .dynsym (`false`).
    Used { symtab: bool },
}

/// One place searched, in perf's order.
#[derive(Debug, Clone)]
pub struct Searched {
    pub path: PathBuf,
    pub outcome: Outcome,
}

fn symsrc_init(blob: Blob, bid: Option<&[u8]>) -> Result<SymSrc, Outcome> {
    let (has_symtab, has_dynsym) = {
        let elf = Elf::parse(blob.bytes()).ok_or(Outcome::NotElf)?;
        if let Some(bid) = bid {
            let fid = elf.build_id().ok_or(Outcome::BuildIdMismatch)?;
            if fid.is_empty() || !build_id_equal(bid, &fid) {
                return Err(Outcome::BuildIdMismatch);
            }
        }
        let st = elf
            .section_by_name(".symtab")
            .is_some_and(|(_, s)| s.sh_type == SHT_SYMTAB);
        let ds = elf
            .section_by_name(".dynsym")
            .is_some_and(|(_, s)| s.sh_type == SHT_DYNSYM);
        (st, ds)
    };
    if !has_symtab && !has_dynsym {
        return Err(Outcome::NoSymbolTable);
    }
    Ok(SymSrc {
        blob,
        identity: None,
        has_symtab,
        has_dynsym,
    })
}

/// The result of perf's candidate loop: `syms_ss` and `runtime_ss` (one of
/// them possibly standing in for the other, as in `dso__load`).
pub struct Sources {
    pub syms: SymSrc,
    /// `None` means runtime_ss == syms_ss.
    pub runtime: Option<SymSrc>,
}

impl Sources {
    pub fn runtime(&self) -> &SymSrc {
        self.runtime.as_ref().unwrap_or(&self.syms)
    }
}

/// The DSO identity `dso__load` works from.
pub struct DsoSpec<'a> {
    pub long_name: &'a [u8],
    /// Recorded build-id (MMAP2 or header), if any.
    pub build_id: Option<&'a [u8]>,
    pub is_vdso: bool,
    /// Bytes standing in for the SYSTEM_PATH_DSO file: perf's temporary
    /// copy of its own vdso (`vdso.c:get_file`, an unprefixed /tmp path).
    pub system_image: Option<Vec<u8>>,
}

/// perf `dso__load` for a user DSO, up to (not including) `dso__load_sym`.
/// Every place tried is appended to `trail` with what was found there.
pub fn find_sources(env: &Env, spec: DsoSpec, trail: &mut Vec<Searched>) -> Option<Sources> {
    let DsoSpec {
        long_name,
        build_id,
        is_vdso,
        mut system_image,
    } = spec;
    // "Read the build id if possible": only when the *unprefixed* name is a
    // regular file, but read from the symfs-joined path.
    let mut bid: Option<Vec<u8>> = build_id.map(<[u8]>::to_vec);
    if bid.is_none() {
        if let Some(img) = &system_image {
            if env.symfs.is_empty() {
                bid = Elf::parse(img).and_then(|e| e.build_id());
            }
        } else if is_regular_file(&pb(long_name)) {
            bid = read_file_build_id(&pb(&join_symfs(env.symfs, long_name)));
        }
    }
    let mut syms: Option<SymSrc> = None;
    let mut runtime: Option<SymSrc> = None;
    for t in ORDER {
        let image = if t == BinType::SystemPathDso {
            system_image.take()
        } else {
            None
        };
        let ss = if let Some(img) = image {
            // Our own vdso copy lives at an unprefixed temp path; with a
            // symfs the joined path does not exist.
            if !env.symfs.is_empty() {
                continue;
            }
            let checked = symsrc_init(Blob::Mem(img), bid.as_deref());
            (PathBuf::from("[perf's own vdso]"), checked)
        } else {
            let Some(path) = candidate_path(env, t, long_name, bid.as_deref(), is_vdso) else {
                continue;
            };
            if !is_regular_file(&path) {
                trail.push(Searched {
                    path,
                    outcome: Outcome::Missing,
                });
                continue;
            }
            let identity = file_identity(&path);
            let checked = match map_file(&path) {
                Some(m) => symsrc_init(Blob::Map(m), bid.as_deref()).map(|mut ss| {
                    ss.identity = identity;
                    ss
                }),
                None => Err(Outcome::NotElf),
            };
            (path, checked)
        };
        let (path, checked) = ss;
        let ss = match checked {
            Ok(ss) => ss,
            Err(outcome) => {
                trail.push(Searched { path, outcome });
                continue;
            }
        };
        let take_syms = syms.is_none() && ss.has_symtab;
        let take_rt = runtime.is_none() && ss.has_dynsym;
        if take_syms || take_rt {
            trail.push(Searched {
                path,
                outcome: Outcome::Used { symtab: take_syms },
            });
        }
        match (take_syms, take_rt) {
            (true, true) => {
                // Both roles from one file: stop right here.
                syms = Some(ss);
                break;
            }
            (true, false) => syms = Some(ss),
            (false, true) => runtime = Some(ss),
            (false, false) => continue,
        }
        if syms.is_some() && runtime.is_some() {
            break;
        }
    }
    match (syms, runtime) {
        (Some(s), Some(r)) => Some(Sources {
            syms: s,
            runtime: Some(r),
        }),
        (Some(s), None) => Some(Sources {
            syms: s,
            runtime: None,
        }),
        (None, Some(r)) => Some(Sources {
            syms: r,
            runtime: None,
        }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symfs_join_matches_path_join() {
        assert_eq!(join_symfs(b"", b"/usr/bin/ls"), b"/usr/bin/ls".to_vec());
        assert_eq!(
            join_symfs(b"/sym", b"/usr/bin/ls"),
            b"/sym//usr/bin/ls".to_vec()
        );
    }

    #[test]
    fn build_id_padding_rule() {
        let mut padded = vec![1u8, 2, 3, 4, 5, 6, 7, 8];
        padded.resize(20, 0);
        assert!(build_id_equal(&padded, &[1, 2, 3, 4, 5, 6, 7, 8]));
        assert!(!build_id_equal(&padded, &[1, 2, 3, 4, 5, 6, 7, 9]));
        assert!(!build_id_equal(&[1, 2, 3], &[1, 2, 3, 0]));
        assert_eq!(build_id_hex(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn candidate_paths() {
        let env = Env {
            symfs: b"/s",
            buildid_dir: Path::new("/root/.debug"),
        };
        let bid = [0xf5u8, 0xeb, 0xba];
        let p = |t| candidate_path(&env, t, b"/usr/lib/x/libfoo.so", Some(&bid), false);
        assert_eq!(
            p(BinType::FedoraDebuginfo).unwrap(),
            Path::new("/s//usr/lib/debug/usr/lib/x/libfoo.so.debug")
        );
        assert_eq!(
            p(BinType::UbuntuDebuginfo).unwrap(),
            Path::new("/s//usr/lib/debug/usr/lib/x/libfoo.so")
        );
        assert_eq!(
            p(BinType::MixedupUbuntuDebuginfo).unwrap(),
            Path::new("/s//usr/lib/debug/lib/x/libfoo.so")
        );
        assert_eq!(
            p(BinType::OpenembeddedDebuginfo).unwrap(),
            Path::new("/s/usr/lib/x/.debug/libfoo.so")
        );
        assert_eq!(
            p(BinType::BuildidDebuginfo).unwrap(),
            Path::new("/s//usr/lib/debug/.build-id/f5/ebba.debug")
        );
        assert_eq!(
            p(BinType::BuildIdCache).unwrap(),
            Path::new("/root/.debug/.build-id/f5/ebba/elf")
        );
        assert_eq!(
            p(BinType::BuildIdCacheDebuginfo).unwrap(),
            Path::new("/root/.debug/.build-id/f5/ebba/debug")
        );
        assert_eq!(
            p(BinType::SystemPathDso).unwrap(),
            Path::new("/s//usr/lib/x/libfoo.so")
        );
        let v = candidate_path(&env, BinType::BuildIdCache, b"[vdso]", Some(&bid), true);
        assert_eq!(v.unwrap(), Path::new("/root/.debug/.build-id/f5/ebba/vdso"));
    }
}
