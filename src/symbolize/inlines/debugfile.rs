//! Where BFD finds DWARF for a file that has none (binutils 2.40
//! dwarf2.c `_bfd_dwarf2_slurp_debug_info` and opncls.c
//! `find_separate_debug_file`): first the build-id file, then the
//! `.gnu_debuglink` file, each tried in this order of places:
//!
//! 1. `DIR/NAME` (DIR = directory part of the path as given, empty for
//!    the build-id search, so relative to the working directory),
//! 2. `DIR/.debug/NAME`,
//! 3. `/usr/lib/debug` + CANON + NAME (CANON = directory of the
//!    realpath'ed file with its trailing `/`; `/` for the build-id search),
//! 4. `/usr/lib/debug/usr` + CANON + NAME,
//! 5. the configured debug directory (`/usr/lib/debug` on Debian) + CANON
//!    + NAME.
//!
//! A build-id candidate must be an ELF file whose build-id note equals the
//! original's; a debuglink candidate must have the CRC-32 stored in the
//! link. The first accepted file is used even if it turns out to have no
//! `.debug_info` (then the file has no DWARF at all).

use super::object::ObjFile;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const DEBUGDIR: &[u8] = b"/usr/lib/debug";

fn candidates(path: &[u8], base: &[u8], include_dirs: bool) -> Vec<Vec<u8>> {
    let dir: &[u8] = if include_dirs {
        match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[..=i],
            None => b"",
        }
    } else {
        b""
    };
    let canon: Vec<u8> = {
        let real = std::fs::canonicalize(Path::new(OsStr::from_bytes(path)))
            .map(|p| p.into_os_string().into_vec())
            .unwrap_or_else(|_| path.to_vec());
        match real.iter().rposition(|&b| b == b'/') {
            Some(i) => real[..=i].to_vec(),
            None => Vec::new(),
        }
    };
    let cat = |parts: &[&[u8]]| parts.concat();
    let mut v = vec![cat(&[dir, base]), cat(&[dir, b".debug/", base])];
    let root_part: &[u8] = if include_dirs { &canon } else { b"/" };
    v.push(cat(&[DEBUGDIR, root_part, base]));
    v.push(cat(&[DEBUGDIR, b"/usr", root_part, base]));
    let mut global = DEBUGDIR.to_vec();
    if include_dirs {
        if DEBUGDIR.len() > 1 && DEBUGDIR.last() != Some(&b'/') && canon.first() != Some(&b'/') {
            global.push(b'/');
        }
        global.extend_from_slice(&canon);
    } else if DEBUGDIR.len() > 1 && DEBUGDIR.last() != Some(&b'/') {
        global.push(b'/');
    }
    global.extend_from_slice(base);
    v.push(global);
    v
}

use std::os::unix::ffi::OsStringExt;

fn to_path(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

/// The separate debug file BFD would open for `main`, if any.
pub fn find_debug_file(path: &[u8], main: &ObjFile) -> Option<ObjFile> {
    if let Some(bid) = &main.build_id {
        let hex: String = bid.iter().map(|b| format!("{b:02x}")).collect();
        let base = format!(".build-id/{}/{}.debug", &hex[..2], &hex[2..]);
        for c in candidates(path, base.as_bytes(), false) {
            if let Some(f) = ObjFile::open(&to_path(&c)) {
                if f.build_id.as_deref() == Some(bid) {
                    return Some(f);
                }
            }
        }
    }
    let (name, crc) = main.debuglink()?;
    if name.is_empty() {
        return None;
    }
    for c in candidates(path, &name, true) {
        let p = to_path(&c);
        if let Ok(data) = std::fs::read(&p) {
            if crc32(&data) == crc {
                return ObjFile::open(&p);
            }
        }
    }
    None
}

/// The CRC-32 of `.gnu_debuglink` (bfd_calc_gnu_debuglink_crc32: the
/// reflected 0xedb88320 polynomial, as zlib's crc32).
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[[u32; 256]; 8]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for i in 0..256u32 {
            let mut c = i;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            t[0][i as usize] = c;
        }
        for i in 0..256 {
            for k in 1..8 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    });
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(super::crc32(b""), 0);
    }
}
