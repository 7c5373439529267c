//! perf script's sample filters: `-c/--comms`, `--pid`, `--tid`,
//! `-C/--cpu`, `--dsos`, `-S/--symbols`. Parsing with perf's list rules and
//! messages, and the tests perf applies to a sample.
//!
//! Restates perf 6.1: `strlist__new` / `intlist__new` (util/strlist.c,
//! util/intlist.c: comma-separated, `file://PATH` reads one entry per line,
//! a repeated entry is an error), `setup_addrlist` (util/symbol.c: symbol
//! entries that read as hex numbers become addresses), `perf_cpu_map__new`
//! (lib/perf/cpumap.c) with `perf_session__cpu_bitmap`, and the filter part
//! of `machine__resolve` and `thread__is_filtered`.

use std::collections::HashSet;

/// perf's `MAX_NR_CPUS` (6.1).
const MAX_NR_CPUS: u32 = 2048;

/// The parsed filters; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct SampleFilters {
    pub comms: Option<HashSet<Vec<u8>>>,
    pub pids: Option<HashSet<i64>>,
    pub tids: Option<HashSet<i64>>,
    pub cpus: Option<Vec<u32>>,
    pub dsos: Option<HashSet<Vec<u8>>>,
    pub symbols: Option<HashSet<Vec<u8>>>,
    /// `-S` entries that read as hexadecimal numbers.
    pub addrs: Option<Vec<u64>>,
}

/// perf's `strlist__new(list, NULL)`: None on any error (perf then says
/// "problems parsing <what> list").
fn strlist(list: &str) -> Option<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let add = |e: &[u8], out: &mut Vec<Vec<u8>>| -> Option<()> {
        if out.iter().any(|x| x == e) {
            return None; // rblist: -EEXIST
        }
        out.push(e.to_vec());
        Some(())
    };
    let entry = |s: &str, out: &mut Vec<Vec<u8>>| -> Option<()> {
        if let Some(path) = s.strip_prefix("file://") {
            // strlist__load: fgets lines (1023 bytes at most), last byte cut.
            let data = std::fs::read(path).ok()?;
            for line in data.split_inclusive(|&b| b == b'\n') {
                for chunk in line.chunks(1023) {
                    add(&chunk[..chunk.len() - 1], out)?;
                }
            }
            return Some(());
        }
        add(s.as_bytes(), out)
    };
    let mut parts: Vec<&str> = list.split(',').collect();
    // A trailing empty piece is not an entry; empty pieces before are.
    if parts.last() == Some(&"") {
        parts.pop();
    }
    for p in parts {
        entry(p, &mut out)?;
    }
    Some(out)
}

/// C's `strtol(s, &end, 10)`: value and bytes read (0: no digits).
fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let start = i;
    let mut v: i64 = 0;
    let mut sat = false;
    while i < s.len() && s[i].is_ascii_digit() {
        match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(s[i] - b'0')))
        {
            Some(n) => v = n,
            None => sat = true,
        }
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = match (sat, neg) {
        (true, false) => i64::MAX,
        (true, true) => i64::MIN,
        (false, true) => -v,
        (false, false) => v,
    };
    (v, i)
}

/// perf's `intlist__parse_list`.
fn intlist(list: &str) -> Option<HashSet<i64>> {
    let mut out = HashSet::new();
    let mut s = list.as_bytes();
    loop {
        let (v, n) = strtol(s);
        let sep = s.get(n).copied();
        if sep != Some(b',') && sep.is_some() {
            return None;
        }
        if !out.insert(v) {
            return None;
        }
        match sep {
            Some(_) => s = &s[n + 1..],
            None => return Some(out),
        }
    }
}

/// C's `strtoul(s, &end, base)` for base 0 or 16: value, bytes read, and
/// whether it overflowed (errno = ERANGE).
fn strtoul(s: &[u8], base: u32) -> (u64, usize, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let mut base = base;
    let hex_prefix = s.len() > i + 2
        && s[i] == b'0'
        && (s[i + 1] | 0x20) == b'x'
        && (s[i + 2] as char).is_ascii_hexdigit();
    if (base == 0 || base == 16) && hex_prefix {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if i < s.len() && s[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else {
            break;
        };
        match v
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // "0x" without digits reads the "0".
        return (0, 0, false);
    }
    if overflow {
        return (u64::MAX, i, true);
    }
    (if neg { v.wrapping_neg() } else { v }, i, false)
}

/// perf's `perf_cpu_map__new`; None for "Invalid cpu_list".
fn cpu_list(list: &str) -> Option<Vec<u32>> {
    let b = list.as_bytes();
    if !b.is_empty() && !b[0].is_ascii_digit() {
        return None;
    }
    let mut cpus: Vec<u32> = Vec::new();
    let mut p = 0;
    while p < b.len() && b[p].is_ascii_digit() {
        let (start, n, _) = strtoul(&b[p..], 0);
        p += n;
        if start >= i32::MAX as u64 || !matches!(b.get(p), None | Some(b',') | Some(b'-')) {
            return None;
        }
        let end = if b.get(p) == Some(&b'-') {
            p += 1;
            let (end, n, _) = strtoul(&b[p..], 0);
            p += n;
            if end >= i32::MAX as u64 || !matches!(b.get(p), None | Some(b',')) || end < start {
                return None;
            }
            end
        } else {
            start
        };
        for c in start..=end {
            if cpus.contains(&(c as u32)) {
                return None;
            }
            cpus.push(c as u32);
        }
        if p < b.len() {
            p += 1;
        }
    }
    if cpus.is_empty() {
        // perf's dummy map (one "any CPU" entry): nothing can match.
        return Some(Vec::new());
    }
    Some(cpus)
}

/// The user's filter strings, before parsing.
#[derive(Debug, Clone, Default)]
pub struct FilterStrings {
    pub comms: Option<String>,
    pub pids: Option<String>,
    pub tids: Option<String>,
    pub dsos: Option<String>,
    pub symbols: Option<String>,
}

impl SampleFilters {
    /// Parses the lists in perf's order (`symbol__init`: dso, comm, pid, tid,
    /// symbol). `-C` is parsed later, see [`Self::set_cpus`].
    pub fn parse(s: &FilterStrings) -> Result<SampleFilters, String> {
        let problem = |what: &str| format!("problems parsing {what} list");
        let set = |v: Vec<Vec<u8>>| v.into_iter().collect::<HashSet<_>>();
        let mut f = SampleFilters::default();
        if let Some(d) = &s.dsos {
            f.dsos = Some(set(strlist(d).ok_or_else(|| problem("dso"))?));
        }
        if let Some(c) = &s.comms {
            f.comms = Some(set(strlist(c).ok_or_else(|| problem("comm"))?));
        }
        if let Some(p) = &s.pids {
            f.pids = Some(intlist(p).ok_or_else(|| problem("pid"))?);
        }
        if let Some(t) = &s.tids {
            f.tids = Some(intlist(t).ok_or_else(|| problem("tid"))?);
        }
        if let Some(syms) = &s.symbols {
            let mut names = strlist(syms).ok_or_else(|| problem("symbol"))?;
            // setup_addrlist: hex numbers (trailing blanks allowed) become
            // addresses.
            let mut addrs = Vec::new();
            names.retain(|n| {
                let (v, used, overflow) = strtoul(n, 16);
                if overflow || used == 0 {
                    return true;
                }
                if !n[used..]
                    .iter()
                    .all(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                {
                    return true;
                }
                if !addrs.contains(&v) {
                    addrs.push(v);
                }
                false
            });
            f.symbols = Some(set(names));
            if !addrs.is_empty() {
                f.addrs = Some(addrs);
            }
        }
        Ok(f)
    }

    /// perf's `perf_session__cpu_bitmap`: `events_have_cpu` is false when
    /// the first event of some perf type lacks PERF_SAMPLE_CPU;
    /// `nr_cpus_avail` comes from the file's header.
    pub fn set_cpus(
        &mut self,
        list: &str,
        events_have_cpu: bool,
        nr_cpus_avail: u32,
    ) -> Result<(), String> {
        if !events_have_cpu {
            return Err("File does not contain CPU events. Remove -C option to proceed.".into());
        }
        let cpus = cpu_list(list).ok_or("Invalid cpu_list")?;
        let nr = nr_cpus_avail.min(MAX_NR_CPUS);
        if let Some(&c) = cpus.iter().find(|&&c| c >= nr) {
            return Err(format!(
                "Requested CPU {c} too large. Consider raising MAX_NR_CPUS"
            ));
        }
        self.cpus = Some(cpus);
        Ok(())
    }


    /// Whether the filters look at the sample's map and symbol.
    pub fn needs_sample_location(&self) -> bool {
        self.dsos.is_some() || self.symbols.is_some()
    }

    /// perf's `filter_cpu`.
    pub fn skips_cpu(&self, cpu: u32) -> bool {
        match &self.cpus {
            Some(cpus) => cpu != u32::MAX && !cpus.contains(&cpu),
            None => false,
        }
    }

    /// perf's `thread__is_filtered` (the thread's comm, pid and tid).
    #[inline]
    pub fn skips_thread(&self, comm: &[u8], pid: i32, tid: i32) -> bool {
        // Nearly every run: no thread filter, no call per sample.
        if self.comms.is_none() && self.pids.is_none() && self.tids.is_none() {
            return false;
        }
        self.skips_listed_thread(comm, pid, tid)
    }

    fn skips_listed_thread(&self, comm: &[u8], pid: i32, tid: i32) -> bool {
        if self.comms.as_ref().is_some_and(|c| !c.contains(comm)) {
            return true;
        }
        if self
            .pids
            .as_ref()
            .is_some_and(|p| !p.contains(&i64::from(pid)))
        {
            return true;
        }
        self.tids
            .as_ref()
            .is_some_and(|t| !t.contains(&i64::from(tid)))
    }

    /// The `--dsos` test of `machine__resolve`: the sample's DSO (short and
    /// long name), or None when its address is in no map.
    pub fn skips_dso(&self, dso: Option<(&[u8], &[u8])>) -> bool {
        let Some(list) = &self.dsos else {
            return false;
        };
        match dso {
            Some((short, long)) => !(list.contains(short) || list.contains(long)),
            None => true,
        }
    }

    /// The `-S` test of `machine__resolve`: the sample's symbol (name and
    /// start address, unmapped) and the sample's address, unmapped (None
    /// without a map).
    pub fn skips_symbol(&self, sym: Option<(&[u8], u64)>, addr: Option<u64>) -> bool {
        let Some(names) = &self.symbols else {
            return false;
        };
        if let Some((name, start)) = sym {
            if names.contains(name) || names.contains(format!("{start:#x}").as_bytes()) {
                return false;
            }
        }
        if let (Some(addrs), Some(a)) = (&self.addrs, addr) {
            if addrs.contains(&a) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(f: impl FnOnce(&mut FilterStrings)) -> FilterStrings {
        let mut s = FilterStrings::default();
        f(&mut s);
        s
    }

    #[test]
    fn lists_and_their_errors() {
        let f = SampleFilters::parse(&strings(|s| s.comms = Some("a,b c,".into()))).unwrap();
        let c = f.comms.unwrap();
        assert!(c.contains(&b"a"[..]) && c.contains(&b"b c"[..]) && c.len() == 2);
        let e = SampleFilters::parse(&strings(|s| s.comms = Some("a,a".into()))).unwrap_err();
        assert_eq!(e, "problems parsing comm list");
        let f = SampleFilters::parse(&strings(|s| s.pids = Some("1,-2".into()))).unwrap();
        assert_eq!(f.pids.unwrap(), HashSet::from([1, -2]));
        // An empty list is one entry: 0.
        let f = SampleFilters::parse(&strings(|s| s.pids = Some(String::new()))).unwrap();
        assert_eq!(f.pids.unwrap(), HashSet::from([0]));
        for bad in ["1,1", "1,a", "1x"] {
            let e = SampleFilters::parse(&strings(|s| s.tids = Some(bad.into()))).unwrap_err();
            assert_eq!(e, "problems parsing tid list", "{bad}");
        }
    }

    #[test]
    fn hex_symbols_become_addresses() {
        let f = SampleFilters::parse(&strings(|s| {
            s.symbols = Some("main,0x401000,face,fib_x".into())
        }))
        .unwrap();
        assert_eq!(f.addrs.as_deref(), Some(&[0x401000, 0xface][..]));
        let names = f.symbols.as_ref().unwrap();
        assert!(names.contains(&b"main"[..]) && names.contains(&b"fib_x"[..]));
        assert!(!f.skips_symbol(Some((b"main", 0x1000)), Some(0x1010)));
        assert!(!f.skips_symbol(Some((b"other", 0x1000)), Some(0xface)));
        assert!(f.skips_symbol(Some((b"other", 0x1000)), Some(0x1010)));
        assert!(f.skips_symbol(None, None));
    }

    #[test]
    fn cpu_lists() {
        let mut f = SampleFilters::default();
        f.set_cpus("0-1", true, 2).unwrap();
        assert_eq!(f.cpus.as_deref(), Some(&[0, 1][..]));
        assert!(!f.skips_cpu(1) && f.skips_cpu(2) && !f.skips_cpu(u32::MAX));
        // Garbage after a comma ends the list (perf reads "1,x" as "1").
        f.set_cpus("1,x", true, 2).unwrap();
        assert_eq!(f.cpus.as_deref(), Some(&[1][..]));
        assert_eq!(f.set_cpus("0,0", true, 2).unwrap_err(), "Invalid cpu_list");
        assert_eq!(f.set_cpus("x", true, 2).unwrap_err(), "Invalid cpu_list");
        assert_eq!(f.set_cpus("1-0", true, 2).unwrap_err(), "Invalid cpu_list");
        assert_eq!(
            f.set_cpus("5", true, 2).unwrap_err(),
            "Requested CPU 5 too large. Consider raising MAX_NR_CPUS"
        );
        assert_eq!(
            f.set_cpus("0", false, 2).unwrap_err(),
            "File does not contain CPU events. Remove -C option to proceed."
        );
        f.set_cpus("0x1", true, 2).unwrap();
        assert_eq!(f.cpus.as_deref(), Some(&[1][..]));
    }

    #[test]
    fn thread_and_dso_tests() {
        let f = SampleFilters::parse(&strings(|s| {
            s.comms = Some("c-fib".into());
            s.dsos = Some("libc.so.6".into());
        }))
        .unwrap();
        assert!(!f.skips_thread(b"c-fib", 1, 2));
        assert!(f.skips_thread(b"c-fp", 1, 2));
        assert!(!f.skips_dso(Some((b"libc.so.6", b"/usr/lib/libc.so.6"))));
        assert!(f.skips_dso(Some((b"c-fp", b"/tmp/c-fp"))));
        assert!(f.skips_dso(None));
    }
}
