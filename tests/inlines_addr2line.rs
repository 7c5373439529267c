//! Differential test: `perfold::addr2line::InlineResolver`
//! against the real `addr2line -e FILE -i -f` (binutils 2.40), fed the
//! way perf feeds it: one long-lived process per file, each address
//! followed by a `,` line whose `??`/`??:0` answer ends the records.
//!
//! Each file is read twice, in address order then shuffled, by two
//! resolvers sharing a fresh persistent cache: the second reads the units
//! the first decoded from the cache (`unit_cache.rs`).
//!
//! Files: a C, a C++ and a Rust program compiled here with debug info,
//! a C program built with `-flto` (its DWARF references DIEs across units),
//! a `--strip-debug` copy (symbols only), libc (DWARF from the libc6-dbg
//! build-id file), and a fully stripped libc copy without build-id and
//! debug link (dynamic symbols only). Skipped when addr2line, gcc or the
//! files are missing, unless `PERFOLD_REQUIRE_TOOLS` is set (`.ci/run`):
//! then a missing tool or file fails the test (tests/common `have_tool`).

mod common;
use common::{have_file, have_tool};

use perfold::addr2line::{InlineRecord, InlineResolver};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LTO1_SRC: &str = r#"
static inline int sq(int x) { return x * x; }
int sum_squares(int n) { int s = 0; for (int i = 0; i < n; i++) s += sq(i ^ n); return s; }
"#;

const LTO2_SRC: &str = r#"
#include <stdio.h>
int sum_squares(int n);
static inline int twice(int x) { return sum_squares(x) + sum_squares(x + 1); }
int main(int argc, char **argv) { printf("%d\n", twice(argc * 1000)); return argv[0][0] == 'x'; }
"#;

const C_SRC: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static inline int sq(int x) { return x * x; }
static inline int add3(int a, int b, int c) { return sq(a) + sq(b) + c; }
static inline __attribute__((always_inline)) unsigned mix(unsigned h, unsigned v) {
    h ^= v; h *= 16777619u; return h;
}
static unsigned hash(const char *s, int n) {
    unsigned h = 2166136261u;
    for (int i = 0; i < n; i++) h = mix(h, (unsigned char)s[i]);
    return h;
}
static __attribute__((noinline)) int work(int n, int k) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        if (__builtin_expect(i == k * 1000, 0)) { fprintf(stderr, "rare %d\n", i); abort(); }
        s += add3(i, k, i ^ k);
    }
    return s;
}
static __attribute__((noinline)) int scale(int v, int f) { return v * f + (f > 3 ? sq(v) : 1); }
int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv) {
    int arr[64];
    for (int i = 0; i < 64; i++) arr[i] = (i * 37) % 64;
    qsort(arr, 64, sizeof arr[0], cmp);
    unsigned h = hash(argv[0], (int)strlen(argv[0]));
    int r = work(argc * 100, 7) + scale(argc, 4) + scale(argc + 1, 4);
    printf("%u %d %d\n", h, r, arr[3]);
    return 0;
}
"#;

/// Code GCC -O2 splits into `.constprop`, `.isra`, `.part` and `.cold`
/// clones.
const CLONES_SRC: &str = r#"
#include <stdio.h>
#include <stdlib.h>
struct big { int a[32]; int n; };
int g;
static __attribute__((noinline)) int sum(const struct big *b, int scale) {
    int s = 0;
    for (int i = 0; i < b->n; i++) s += b->a[i] * scale;
    return s;
}
static __attribute__((noinline)) int only_n(const struct big b) { return b.n * 3 + b.a[1]; }
static int slow(int *p, int n) {
    if (__builtin_expect(p != 0, 1)) return p[0] + n;
    for (int i = 0; i < n; i++) { g += i * i; printf("%d %d\n", i, g); if (g > 1000) printf("big\n"); }
    for (int i = 0; i < n; i++) { g ^= i; printf("x%d\n", g); }
    return g;
}
__attribute__((noinline)) int user(int *p, int n) { return slow(p, n) + slow(p + 1, n) * 2; }
__attribute__((noinline)) int user2(int *p, int n) { return slow(n > 3 ? p : 0, n + 1); }
__attribute__((noinline)) int worker(int n, const char *s) {
    int t = 0;
    for (int i = 0; i < n; i++) {
        if (__builtin_expect(s[i] == 0, 0)) {
            fprintf(stderr, "bad input at %d of %d\n", i, n);
            for (int j = 0; j < i; j++) fprintf(stderr, "%c", s[j]);
            abort();
        }
        t += s[i];
    }
    return t;
}
int main(int argc, char **argv) {
    struct big b = { {0}, 32 };
    for (int i = 0; i < 32; i++) b.a[i] = i * argc;
    int v[4] = {1, 2, 3, 4};
    int r = sum(&b, 3) + sum(&b, 3) + only_n(b) + user(v, argc) + user2(v, argc)
        + worker(argc, argv[0]);
    printf("%d\n", r);
    return 0;
}
"#;

const CXX_SRC: &str = r#"
#include <algorithm>
#include <vector>
#include <map>
#include <string>
#include <iostream>
#include <functional>
template <typename T> struct Acc {
    T total{};
    void add(const T &v) { total += v * v; }
};
template <typename It, typename F> auto fold(It b, It e, F f) {
    Acc<typename std::iterator_traits<It>::value_type> a;
    for (; b != e; ++b) a.add(f(*b));
    return a.total;
}
namespace ns { struct Widget { int w; std::string name; bool operator<(const Widget &o) const { return w < o.w; } }; }
int main(int argc, char **) {
    std::vector<int> v;
    for (int i = 0; i < 1000 * argc; i++) v.push_back((i * 7919) % 1000);
    std::sort(v.begin(), v.end(), [](int a, int b) { return a > b; });
    std::vector<ns::Widget> ws;
    for (int i = 0; i < 100; i++) ws.push_back({(i * 31) % 17, std::to_string(i)});
    std::stable_sort(ws.begin(), ws.end());
    std::map<std::string, int> m;
    for (auto &w : ws) m[w.name] += w.w;
    std::function<long(int)> f = [&](int x) { return (long)x * argc; };
    long t = fold(v.begin(), v.end(), f);
    std::cout << t << " " << m.size() << " " << ws[3].name << std::endl;
    return 0;
}
"#;

const RS_SRC: &str = r#"
use std::collections::HashMap;
#[inline(never)]
fn crunch(v: &[u64]) -> u64 {
    v.iter().filter(|x| *x % 3 != 0).map(|x| x.wrapping_mul(*x)).fold(0u64, |a, b| a.wrapping_add(b))
}
#[inline(never)]
fn words(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s.split_whitespace().map(|w| w.to_lowercase()) { *m.entry(w).or_insert(0) += 1; }
    m
}
fn main() {
    let n = std::env::args().count() as u64 * 1000;
    let v: Vec<u64> = (0..n).map(|i| i * 7 + 3).collect();
    let mut sorted = v.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    let m = words("the quick brown fox jumps over the lazy dog The End");
    let mut keys: Vec<_> = m.iter().collect();
    keys.sort();
    println!("{} {} {:?}", crunch(&v), sorted[0], keys.first());
}
"#;

fn run(cmd: &mut Command) -> bool {
    cmd.status().is_ok_and(|s| s.success())
}

/// Executable sections (name, vma, size) from `readelf -S -W`.
fn exec_sections(file: &Path) -> Vec<(String, u64, u64)> {
    let out = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(file)
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    for l in text.lines() {
        let Some(rest) = l.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(']') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let flags = f[6];
        if flags.contains('X') && flags.contains('A') {
            let addr = u64::from_str_radix(f[2], 16).unwrap_or(0);
            let size = u64::from_str_radix(f[4], 16).unwrap_or(0);
            v.push((f[0].to_string(), addr, size));
        }
    }
    v
}

fn parse_rec(func: &str, loc: &str) -> InlineRecord {
    let (loc, disc) = match loc.split_once(" (discriminator ") {
        Some((l, d)) => (l, d.trim_end_matches(')').parse().unwrap_or(u32::MAX)),
        None => (loc, 0),
    };
    let (file, line) = loc.rsplit_once(':').unwrap_or((loc, "?"));
    InlineRecord {
        function: (func != "??").then(|| func.into()),
        file: (file != "??").then(|| file.into()),
        line: line.parse().unwrap_or(0),
        discriminator: disc,
    }
}

/// addr2line's records for each address, perf's way.
fn oracle(file: &Path, addrs: &[u64]) -> Vec<Vec<InlineRecord>> {
    let mut child = Command::new("addr2line")
        .args(["-e"])
        .arg(file)
        .args(["-i", "-f"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("addr2line");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = addrs.iter().map(|a| format!("{a:016x}\n,\n")).collect();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("write");
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("line").expect("read");
    let mut out = Vec::with_capacity(addrs.len());
    for _ in addrs {
        let (f, l) = (next(), next());
        let mut recs = Vec::new();
        if l == "??:0" {
            // Not found: the sentinel's pair follows.
            let (_, l2) = (next(), next());
            assert_eq!(l2, "??:0");
        } else {
            recs.push(parse_rec(&f, &l));
            loop {
                let (f, l) = (next(), next());
                if l == "??:0" {
                    break;
                }
                recs.push(parse_rec(&f, &l));
            }
        }
        out.push(recs);
    }
    writer.join().expect("writer");
    let _ = child.wait();
    out
}

fn addresses(file: &Path, stride: u64) -> Vec<u64> {
    let mut v = Vec::new();
    for (_, addr, size) in exec_sections(file) {
        let mut a = addr;
        while a < addr + size {
            v.push(a);
            a += stride;
        }
    }
    // Also a few addresses outside every section.
    v.extend_from_slice(&[0, 1, 0x10, 0xffff_ffff_ffff_fff0]);
    v
}

fn compare(label: &str, file: &Path, stride: u64, shuffle: bool) -> (usize, usize) {
    let mut addrs = addresses(file, stride);
    if shuffle {
        // Another order: addr2line's answers depend on what it was asked
        // before (names settled on first use, its symbol cache).
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in (1..addrs.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            addrs.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    let t0 = std::time::Instant::now();
    let mut r = InlineResolver::open(file).expect("open");
    let open_t = t0.elapsed();
    let t1 = std::time::Instant::now();
    let ours: Vec<Vec<InlineRecord>> = addrs.iter().map(|&a| r.records(a).to_vec()).collect();
    let query_t = t1.elapsed();
    let theirs = oracle(file, &addrs);
    let mut bad = 0;
    for (i, a) in addrs.iter().enumerate() {
        if ours[i] != theirs[i] {
            if bad < 8 {
                eprintln!(
                    "{label}: {a:#x}\n  ours:   {:?}\n  theirs: {:?}",
                    ours[i], theirs[i]
                );
            }
            bad += 1;
        }
    }
    let inl = theirs.iter().filter(|r| r.len() > 1).count();
    eprintln!(
        "{label}: {} / {} addresses match ({} with inline callers); open {:?}, {} queries {:?}",
        addrs.len() - bad,
        addrs.len(),
        inl,
        open_t,
        addrs.len(),
        query_t
    );
    (addrs.len() - bad, addrs.len())
}

#[test]
fn matches_binutils_addr2line() {
    if !have_tool("addr2line") || !have_tool("gcc") || !have_tool("readelf") {
        eprintln!("skipped: addr2line, gcc or readelf missing");
        return;
    }
    let dir = common::scratch_dir("inlines");
    let cache = dir.join("cache");
    // Only this test runs in this process: nothing reads the environment
    // concurrently.
    std::env::set_var("PERFOLD_CACHE_DIR", &cache);
    let mut files: Vec<(String, PathBuf, u64)> = Vec::new();

    let c = dir.join("c.c");
    std::fs::write(&c, C_SRC).expect("write");
    let cbin = dir.join("cprog");
    assert!(run(Command::new("gcc")
        .args(["-O2", "-g", "-o"])
        .arg(&cbin)
        .arg(&c)));
    files.push(("C -O2 -g".into(), cbin.clone(), 1));
    let c4 = dir.join("cprog4");
    assert!(run(Command::new("gcc")
        .args(["-O2", "-gdwarf-4", "-o"])
        .arg(&c4)
        .arg(&c)));
    files.push(("C -O2 -gdwarf-4".into(), c4, 1));
    let cl = dir.join("clones.c");
    std::fs::write(&cl, CLONES_SRC).expect("write");
    let clbin = dir.join("clones");
    assert!(run(Command::new("gcc")
        .args(["-O2", "-g", "-o"])
        .arg(&clbin)
        .arg(&cl)));
    files.push((
        "C -O2 -g clones (.constprop .isra .part .cold)".into(),
        clbin,
        1,
    ));

    // Link-time optimization: the DIEs of the optimized unit name their
    // abstract origins in the units compiled before (DW_FORM_ref_addr).
    let lto_src = [("lto1.c", LTO1_SRC), ("lto2.c", LTO2_SRC)];
    for (name, src) in lto_src {
        std::fs::write(dir.join(name), src).expect("write");
    }
    let lto = dir.join("lto");
    assert!(run(Command::new("gcc")
        .args(["-O2", "-g", "-flto", "-o"])
        .arg(&lto)
        .args(lto_src.map(|(n, _)| dir.join(n)))));
    files.push(("C -O2 -g -flto".into(), lto, 1));

    // A debug file found through .gnu_debuglink (CRC-checked) only.
    let dbg = dir.join("cprog.debug");
    let linked = dir.join("cprog.linked");
    if run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&cbin)
        .arg(&dbg))
        && run(Command::new("objcopy")
            .args(["--strip-debug", "--remove-section=.note.gnu.build-id"])
            .arg(format!("--add-gnu-debuglink={}", dbg.display()))
            .arg(&cbin)
            .arg(&linked))
    {
        files.push(("C + .gnu_debuglink file".into(), linked, 1));
    }

    let cstrip = dir.join("cprog.nodebug");
    assert!(run(Command::new("objcopy")
        .arg("--strip-debug")
        .arg(&cbin)
        .arg(&cstrip)));
    files.push(("C --strip-debug".into(), cstrip, 1));

    if have_tool("g++") {
        let cc = dir.join("cxx.cc");
        std::fs::write(&cc, CXX_SRC).expect("write");
        let bin = dir.join("cxxprog");
        assert!(run(Command::new("g++")
            .args(["-O2", "-g", "-o"])
            .arg(&bin)
            .arg(&cc)));
        files.push(("C++ -O2 -g".into(), bin, 3));
        let bin4 = dir.join("cxxprog4");
        assert!(run(Command::new("g++")
            .args(["-O2", "-gdwarf-4", "-o"])
            .arg(&bin4)
            .arg(&cc)));
        files.push(("C++ -O2 -gdwarf-4".into(), bin4, 5));
    }
    if have_tool("rustc") {
        let rs = dir.join("r.rs");
        std::fs::write(&rs, RS_SRC).expect("write");
        let bin = dir.join("rsprog");
        assert!(run(Command::new("rustc")
            .args(["-g", "-O", "-o"])
            .arg(&bin)
            .arg(&rs)));
        files.push(("Rust -g -O".into(), bin, 11));
    }
    let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    if have_file(libc) {
        files.push(("libc.so.6".into(), libc.to_path_buf(), 29));
        let bare = dir.join("libc-bare.so");
        if run(Command::new("strip")
            .args([
                "--strip-all",
                "--remove-section=.gnu_debuglink",
                "--remove-section=.note.gnu.build-id",
                "-o",
            ])
            .arg(&bare)
            .arg(libc))
        {
            files.push(("libc --strip-all, no links".into(), bare, 97));
        }
    }
    // A debug link whose file is not installed: symbols only.
    let stdcxx = Path::new("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
    if stdcxx.exists() {
        files.push((
            "libstdc++.so.6 (no debug file)".into(),
            stdcxx.to_path_buf(),
            53,
        ));
    }
    // PERFOLD_A2L_STRIDE_DIV=N samples N times more densely.
    let div: u64 = std::env::var("PERFOLD_A2L_STRIDE_DIV")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut total = (0, 0);
    for (label, f, stride) in &files {
        let stride = &(*stride / div).max(1);
        for shuffle in [false, true] {
            let l = format!("{label}{}", if shuffle { " (shuffled)" } else { "" });
            // The shuffled pass samples a third as densely (addr2line is
            // the slow side of this test).
            let st = if shuffle { *stride * 3 } else { *stride };
            let (ok, n) = compare(&l, f, st, shuffle);
            total.0 += ok;
            total.1 += n;
        }
    }
    let stored = std::fs::read_dir(&cache)
        .map(|r| {
            r.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("dwarf-unit-"))
            })
            .count()
        })
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stored > 0, "no decoded unit was stored in the cache");
    eprintln!("total: {} / {} match", total.0, total.1);
    assert_eq!(total.0, total.1, "records differing from addr2line");
}
