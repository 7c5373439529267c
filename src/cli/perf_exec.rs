//! The real perf: found for the commands perfold hands over (`record`,
//! `report`, `stat` ...) and for the recording step of the one-step
//! commands.
//!
//! It is `$PERFOLD_PERF` when set, else the first `perf` on `PATH` that is
//! not perfold itself (cargo-flamegraph users may name perfold `perf`, or
//! set `PERF=perfold`).

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The commands perfold implements; any other first word is perf's.
pub const OWN_COMMANDS: &[&str] = &[
    "perf-script",
    "script",
    "fold",
    "flamegraph",
    "diff",
    "completions",
    "man",
    "help",
];

/// The real perf, or why there is none.
pub fn find_perf() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PERFOLD_PERF").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok());
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("perf");
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            continue;
        }
        if me
            .as_ref()
            .is_some_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
        {
            continue;
        }
        return Ok(candidate);
    }
    Err("no perf found on PATH (other than perfold itself); set PERFOLD_PERF".into())
}

/// If the first argument names a perf command perfold does not implement,
/// replaces this process by the real perf with the same arguments (so the
/// same stdin, stdout and exit status). Returns only if it does not apply,
/// or with the error line when perf cannot be started.
pub fn hand_over_if_perf_command(args: &[OsString]) -> Result<(), String> {
    let Some(first) = args.get(1) else {
        return Ok(());
    };
    if !is_perf_command(first) {
        return Ok(());
    }
    let perf = find_perf().map_err(|e| {
        format!(
            "'{}' is a perf command perfold does not implement, and {e}",
            first.to_string_lossy()
        )
    })?;
    let err = exec(&perf, &args[1..]);
    Err(format!("{}: {err}", perf.display()))
}

/// A first word that perfold does not know, and is not an option.
fn is_perf_command(word: &OsStr) -> bool {
    let Some(w) = word.to_str() else {
        return true;
    };
    !w.starts_with('-') && !OWN_COMMANDS.contains(&w)
}

fn exec(perf: &Path, args: &[OsString]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(perf).args(args).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_commands_and_options_stay() {
        for w in [
            "perf-script",
            "script",
            "fold",
            "flamegraph",
            "diff",
            "--help",
            "-V",
        ] {
            assert!(!is_perf_command(OsStr::new(w)), "{w}");
        }
        for w in ["record", "report", "stat", "top"] {
            assert!(is_perf_command(OsStr::new(w)), "{w}");
        }
    }
}
