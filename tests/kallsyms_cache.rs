//! The persistent cache (src/cache.rs) never changes output: a live
//! recording with kernel frames (and, with `--call-graph dwarf`, inline
//! frames from libc's compressed debug sections and its decoded units when
//! the machine has them)
//! gives the same bytes with no cache, on a miss, on a hit, after the cache
//! files were damaged, and from eight runs filling one cache at once; on a
//! hit, `perf-script` still prints what real `perf script` prints.

mod common;

use common::{first_difference, have_tool, perfold_command, scratch_dir};
use std::path::Path;
use std::process::{Command, Stdio};

/// perfold `args` on `data` with the cache in `cache` ("" = off): stdout.
fn perfold(args: &[&str], data: &Path, cache: &str) -> Vec<u8> {
    perfold_home(args, data, cache, &common::empty_home())
}

/// [`perfold`] with `home` as HOME (its build-id cache).
fn perfold_home(args: &[&str], data: &Path, cache: &str, home: &Path) -> Vec<u8> {
    let mut all: Vec<&str> = args.to_vec();
    let d = data.to_str().unwrap();
    all.push(d);
    let out = perfold_command(&all, data.parent().unwrap())
        .env("PERFOLD_CACHE_DIR", cache)
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn record(dir: &Path, name: &str, callgraph: &[&str]) -> Option<std::path::PathBuf> {
    let data = dir.join(name);
    // Kernel work (reading kallsyms, forking) and user work in libc.
    let status = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-F", "4000"])
        .args(callgraph)
        .arg("-o")
        .arg(&data)
        .args([
            "--",
            "sh",
            "-c",
            "for i in 1 2 3; do cat /proc/kallsyms | sort | sha256sum; done > /dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(data)
}

/// A scratch directory named `name` and an `-g` recording in it, or `None`
/// (said on stderr) where perf is missing or cannot record.
fn fp_recording(name: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if !have_tool("perf") {
        return None;
    }
    let dir = scratch_dir(name);
    let Some(fp) = record(&dir, "fp.data", &["-g"]) else {
        eprintln!("perf record failed (not root?): skipped");
        return None;
    };
    Some((dir, fp))
}

fn same(what: &str, want: &[u8], got: &[u8]) {
    assert!(want == got, "{what}: {}", first_difference(want, got));
}

fn cache_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn cache_never_changes_output() {
    let Some((dir, fp)) = fp_recording("kallsyms-cache") else {
        return;
    };
    let dwarf = record(&dir, "dwarf.data", &["--call-graph", "dwarf"]).unwrap();
    let cache = dir.join("cache");
    let cache_s = cache.to_str().unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    for (data, cmd) in [
        (&fp, "fold"),
        (&fp, "perf-script"),
        (&dwarf, "fold"),
        (&dwarf, "perf-script"),
    ] {
        let what = format!("{} {cmd}", data.display());
        let off = perfold(&[cmd], data, "");
        let miss = perfold(&[cmd], data, cache_s);
        same(&format!("{what}: miss"), &off, &miss);
        let hit = perfold(&[cmd], data, cache_s);
        same(&format!("{what}: hit"), &off, &hit);
    }
    let files = cache_files(&cache);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("kallsyms-")),
        "no kallsyms entry in {files:?}"
    );
    // libc's debug sections were read (and inflated): its decoded units
    // were stored too.
    let has = |kind: &str| files.iter().any(|f| f.to_string_lossy().contains(kind));
    assert!(
        !has("debugsec-") || has("dwarf-unit-"),
        "debug sections but no decoded unit in {files:?}"
    );
    // The kernel frames were resolved, and as perf resolves them. Both read
    // this HOME's build-id cache, where perf record put the [vdso] it saw.
    let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let text = perfold_home(&["perf-script"], &fp, cache_s, &home);
    assert!(String::from_utf8_lossy(&text).contains("([kernel.kallsyms])"));
    let perf = Command::new("perf")
        .env("HOME", &home)
        .args(["script", "-i"])
        .arg(&fp)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    same("perf script against a cache hit", &perf.stdout, &text);

    // Damaged entries (a flipped byte, a cut file, garbage) are misses.
    let want = perfold(&["fold"], &dwarf, "");
    for (i, f) in files.iter().enumerate() {
        let mut b = std::fs::read(f).unwrap();
        match i % 3 {
            0 => {
                let at = b.len() / 2;
                b[at] ^= 0x10;
            }
            1 => b.truncate(b.len() - 100),
            _ => b = b"not a cache file".to_vec(),
        }
        std::fs::write(f, &b).unwrap();
    }
    same("damaged cache", &want, &perfold(&["fold"], &dwarf, cache_s));
    same(
        "rewritten cache",
        &want,
        &perfold(&["fold"], &dwarf, cache_s),
    );

    // Eight runs filling one empty cache at once, then a hit.
    let _ = std::fs::remove_dir_all(&cache);
    let children: Vec<_> = (0..8)
        .map(|_| {
            perfold_command(&["fold", dwarf.to_str().unwrap()], &dir)
                .env("PERFOLD_CACHE_DIR", cache_s)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        same("concurrent run", &want, &out.stdout);
    }
    same(
        "after concurrent runs",
        &want,
        &perfold(&["fold"], &dwarf, cache_s),
    );
    let leftovers: Vec<_> = cache_files(&cache)
        .into_iter()
        .filter(|f| f.to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A home whose build-id cache holds `copy` as perf record's copy of the
/// running kernel's kallsyms (build-id `bid`).
fn home_with_copy(dir: &Path, name: &str, bid: &str, copy: &[u8]) -> std::path::PathBuf {
    let home = dir.join(name);
    let at = home.join(".debug").join("[kernel.kallsyms]").join(bid);
    std::fs::create_dir_all(&at).unwrap();
    std::fs::write(at.join("kallsyms"), copy).unwrap();
    home
}

/// On a miss, perf record's copy of kallsyms in the build-id cache stands
/// in for `/proc/kallsyms` only where it shows this boot's core symbols:
/// a faithful copy gives the same bytes, a copy whose `_text` moved is not
/// used, and a copy with other names past its first lines is read (the
/// names show it was, which is why the copy must be perf's own).
#[test]
fn recorded_kallsyms_copy_only_when_it_is_this_boots() {
    let Some((dir, fp)) = fp_recording("kallsyms-copy") else {
        return;
    };
    let bid = Command::new("perf")
        .args(["buildid-list", "-k"])
        .output()
        .unwrap();
    let bid = String::from_utf8_lossy(&bid.stdout).trim().to_string();
    let Ok(proc_text) = std::fs::read("/proc/kallsyms") else {
        return;
    };
    if bid.is_empty() || proc_text.starts_with(b"0000000000000000 T") {
        eprintln!("no kernel build-id or no kallsyms addresses: skipped");
        return;
    }
    let want = perfold(&["perf-script"], &fp, "");
    assert!(String::from_utf8_lossy(&want).contains("([kernel.kallsyms])"));
    let run = |home: &Path, cache: &str| {
        let cache = dir.join(cache);
        let _ = std::fs::remove_dir_all(&cache);
        let miss = perfold_home(&["perf-script"], &fp, cache.to_str().unwrap(), home);
        let hit = perfold_home(&["perf-script"], &fp, cache.to_str().unwrap(), home);
        same("hit after a miss", &miss, &hit);
        miss
    };

    let faithful = home_with_copy(&dir, "faithful", &bid, &proc_text);
    same("faithful copy", &want, &run(&faithful, "cache-faithful"));

    // `_text` and `_stext` at another address: another KASLR offset.
    let text = String::from_utf8_lossy(&proc_text);
    let moved: String = text
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((_, rest)) if rest == "T _text" || rest == "T _stext" => {
                format!("ffffffffa0000000 {rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert_ne!(moved.as_bytes(), &proc_text[..]);
    let shifted = home_with_copy(&dir, "shifted", &bid, moved.as_bytes());
    same(
        "copy of another boot",
        &want,
        &run(&shifted, "cache-shifted"),
    );

    // Past its first 8 KiB every core name gets a suffix.
    let cut = 8192 + proc_text[8192..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut renamed = proc_text[..cut].to_vec();
    for l in proc_text[cut..]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        renamed.extend_from_slice(l);
        if !l.contains(&b'\t') && !l.ends_with(b" _text") && !l.ends_with(b" _stext") {
            renamed.extend_from_slice(b"_copy");
        }
        renamed.push(b'\n');
    }
    let doctored = home_with_copy(&dir, "doctored", &bid, &renamed);
    let got = run(&doctored, "cache-doctored");
    assert!(
        String::from_utf8_lossy(&got).contains("_copy+0x"),
        "the copy was not read"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
