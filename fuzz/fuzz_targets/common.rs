//! Scratch files shared by the targets that must hand perfold a path.

#![allow(dead_code)] // each target uses only some of these

use std::path::{Path, PathBuf};

/// A fresh per-process directory `perfold-fuzz-<target>-<pid>` on tmpfs
/// (`/dev/shm`, else the temp dir). Directories of earlier runs whose
/// process is gone are removed first (libFuzzer exits without running
/// destructors, so nothing removes them at exit).
pub fn scratch_dir(target: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let prefix = format!("perfold-fuzz-{target}-");
    remove_stale(&base, &prefix, "");
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Removes `<dir>/<prefix><pid><suffix>` entries whose process is gone.
pub fn remove_stale(dir: &Path, prefix: &str, suffix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}
