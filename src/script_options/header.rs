//! `perf script --header` / `--header-only`: the `# ...` block perf 6.1
//! prints from the file header and its feature sections
//! (`perf_session__fprintf_info`, `perf_header__fprintf_info` and the
//! `print_*` functions of util/header.c, `perf_event_attr__fprintf` of
//! util/perf_event_attr_fprintf.c), without `-I` (features perf prints only
//! in full mode say "info available").

use std::io::Write;

/// The file header values perf prints.
pub struct FileHeader<'a> {
    /// st_mtime of the input, seconds since the epoch (perf's "captured on").
    pub mtime: i64,
    pub data_offset: u64,
    pub data_size: u64,
    pub feat_offset: u64,
    /// Feature sections present, in bit order: (feature bit, bytes).
    pub features: Vec<(u32, &'a [u8])>,
    /// perf prints no "missing features" line for a pipe.
    pub pipe: bool,
}

/// Feature names, perf's `feat_ops[].name` (index = feature bit).
const FEATURE_NAMES: [&str; 32] = [
    "RESERVED",
    "TRACING_DATA",
    "BUILD_ID",
    "HOSTNAME",
    "OSRELEASE",
    "VERSION",
    "ARCH",
    "NRCPUS",
    "CPUDESC",
    "CPUID",
    "TOTAL_MEM",
    "CMDLINE",
    "EVENT_DESC",
    "CPU_TOPOLOGY",
    "NUMA_TOPOLOGY",
    "BRANCH_STACK",
    "PMU_MAPPINGS",
    "GROUP_DESC",
    "AUXTRACE",
    "STAT",
    "CACHE",
    "SAMPLE_TIME",
    "MEM_TOPOLOGY",
    "CLOCKID",
    "DIR_FORMAT",
    "BPF_PROG_INFO",
    "BPF_BTF",
    "COMPRESSED",
    "CPU_PMU_CAPS",
    "CLOCK_DATA",
    "HYBRID_TOPOLOGY",
    "PMU_CAPS",
];

/// Little-endian reads of a feature section, perf's `do_read_*`.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, at: 0 }
    }
    fn u32(&mut self) -> Option<u32> {
        let v = self.b.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(u32::from_le_bytes(v.try_into().unwrap()))
    }
    fn u64(&mut self) -> Option<u64> {
        let v = self.b.get(self.at..self.at + 8)?;
        self.at += 8;
        Some(u64::from_le_bytes(v.try_into().unwrap()))
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(v)
    }
    /// `do_read_string`: a u32 length, then that many bytes (NUL-padded).
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let s = self.bytes(len)?;
        Some(s.split(|&c| c == 0).next().unwrap_or(s))
    }
}

/// C's `ctime`: "Thu Jan  1 00:00:00 2026\n" in local time.
fn ctime(t: i64) -> String {
    // SAFETY: localtime_r writes into the tm we own; a zeroed tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let time: libc::time_t = t as libc::time_t;
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return "\n".into();
    }
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}\n",
        DAYS[tm.tm_wday.rem_euclid(7) as usize],
        MONTHS[tm.tm_mon.rem_euclid(12) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

/// One event of the EVENT_DESC section.
struct EventDesc<'a> {
    attr: Vec<u8>,
    name: &'a [u8],
    ids: Vec<u64>,
}

fn event_descs(b: &[u8]) -> Option<Vec<EventDesc<'_>>> {
    let mut r = Reader::new(b);
    let nr = r.u32()?;
    let sz = r.u32()? as usize;
    let mut out = Vec::new();
    for _ in 0..nr {
        let mut attr = r.bytes(sz)?.to_vec();
        attr.resize(attr.len().max(128), 0);
        let nr_ids = r.u32()? as usize;
        let name = r.string()?;
        let mut ids = Vec::with_capacity(nr_ids.min(1 << 16));
        for _ in 0..nr_ids {
            ids.push(r.u64()?);
        }
        out.push(EventDesc { attr, name, ids });
    }
    Some(out)
}

fn bits(value: u64, names: &[(u64, &str)]) -> String {
    let mut s = String::new();
    for (bit, name) in names {
        if value & bit != 0 {
            if !s.is_empty() {
                s.push('|');
            }
            s.push_str(name);
        }
    }
    s
}

const SAMPLE_TYPE_BITS: [&str; 24] = [
    "IP",
    "TID",
    "TIME",
    "ADDR",
    "READ",
    "CALLCHAIN",
    "ID",
    "CPU",
    "PERIOD",
    "STREAM_ID",
    "RAW",
    "BRANCH_STACK",
    "REGS_USER",
    "STACK_USER",
    "WEIGHT",
    "DATA_SRC",
    "IDENTIFIER",
    "TRANSACTION",
    "REGS_INTR",
    "PHYS_ADDR",
    "AUX",
    "CGROUP",
    "DATA_PAGE_SIZE",
    "CODE_PAGE_SIZE",
];

/// perf's `__p_sample_type` (its list order; TRANSACTION is not in it).
fn sample_type_text(v: u64) -> String {
    const ORDER: [&str; 24] = [
        "IP",
        "TID",
        "TIME",
        "ADDR",
        "READ",
        "CALLCHAIN",
        "ID",
        "CPU",
        "PERIOD",
        "STREAM_ID",
        "RAW",
        "BRANCH_STACK",
        "REGS_USER",
        "STACK_USER",
        "IDENTIFIER",
        "REGS_INTR",
        "DATA_SRC",
        "WEIGHT",
        "PHYS_ADDR",
        "AUX",
        "CGROUP",
        "DATA_PAGE_SIZE",
        "CODE_PAGE_SIZE",
        "WEIGHT_STRUCT",
    ];
    let bit_of = |name: &str| -> u64 {
        if name == "WEIGHT_STRUCT" {
            return 1 << 24;
        }
        1 << SAMPLE_TYPE_BITS.iter().position(|n| *n == name).unwrap()
    };
    let names: Vec<(u64, &str)> = ORDER.iter().map(|n| (bit_of(n), *n)).collect();
    bits(v, &names)
}

fn read_format_text(v: u64) -> String {
    bits(
        v,
        &[
            (1, "TOTAL_TIME_ENABLED"),
            (2, "TOTAL_TIME_RUNNING"),
            (4, "ID"),
            (8, "GROUP"),
            (16, "LOST"),
        ],
    )
}

fn branch_type_text(v: u64) -> String {
    const NAMES: [&str; 19] = [
        "USER",
        "KERNEL",
        "HV",
        "ANY",
        "ANY_CALL",
        "ANY_RETURN",
        "IND_CALL",
        "ABORT_TX",
        "IN_TX",
        "NO_TX",
        "COND",
        "CALL_STACK",
        "IND_JUMP",
        "CALL",
        "NO_FLAGS",
        "NO_CYCLES",
        "TYPE_SAVE",
        "HW_INDEX",
        "PRIV_SAVE",
    ];
    let names: Vec<(u64, &str)> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| (1u64 << i, *n))
        .collect();
    bits(v, &names)
}

/// perf's `perf_event_attr__fprintf` with `__desc_attr__fprintf`.
fn attr_text(out: &mut String, a: &[u8]) {
    let u64_at = |o: usize| u64::from_le_bytes(a[o..o + 8].try_into().unwrap());
    let u32_at = |o: usize| u64::from(u32::from_le_bytes(a[o..o + 4].try_into().unwrap()));
    let u16_at = |o: usize| u64::from(u16::from_le_bytes(a[o..o + 2].try_into().unwrap()));
    let mut field = |name: &str, v: u64, text: String| {
        if v != 0 {
            out.push_str(&format!(", {name} = {text}"));
        }
    };
    let hex = |v: u64| format!("{v:#x}");
    field("type", u32_at(0), u32_at(0).to_string());
    field("size", u32_at(4), u32_at(4).to_string());
    field("config", u64_at(8), hex(u64_at(8)));
    field(
        "{ sample_period, sample_freq }",
        u64_at(16),
        u64_at(16).to_string(),
    );
    field("sample_type", u64_at(24), sample_type_text(u64_at(24)));
    field("read_format", u64_at(32), read_format_text(u64_at(32)));
    let flags = u64_at(40);
    const FLAGS: [(&str, u32, u32); 38] = [
        ("disabled", 0, 1),
        ("inherit", 1, 1),
        ("pinned", 2, 1),
        ("exclusive", 3, 1),
        ("exclude_user", 4, 1),
        ("exclude_kernel", 5, 1),
        ("exclude_hv", 6, 1),
        ("exclude_idle", 7, 1),
        ("mmap", 8, 1),
        ("comm", 9, 1),
        ("freq", 10, 1),
        ("inherit_stat", 11, 1),
        ("enable_on_exec", 12, 1),
        ("task", 13, 1),
        ("watermark", 14, 1),
        ("precise_ip", 15, 2),
        ("mmap_data", 17, 1),
        ("sample_id_all", 18, 1),
        ("exclude_host", 19, 1),
        ("exclude_guest", 20, 1),
        ("exclude_callchain_kernel", 21, 1),
        ("exclude_callchain_user", 22, 1),
        ("mmap2", 23, 1),
        ("comm_exec", 24, 1),
        ("use_clockid", 25, 1),
        ("context_switch", 26, 1),
        ("write_backward", 27, 1),
        ("namespaces", 28, 1),
        ("ksymbol", 29, 1),
        ("bpf_event", 30, 1),
        ("aux_output", 31, 1),
        ("cgroup", 32, 1),
        ("text_poke", 33, 1),
        ("build_id", 34, 1),
        ("inherit_thread", 35, 1),
        ("remove_on_exec", 36, 1),
        ("sigtrap", 37, 1),
        ("", 64, 0),
    ];
    for (name, shift, width) in FLAGS.iter().filter(|f| f.2 > 0) {
        let v = (flags >> shift) & ((1 << width) - 1);
        field(name, v, v.to_string());
    }
    field(
        "{ wakeup_events, wakeup_watermark }",
        u32_at(48),
        u32_at(48).to_string(),
    );
    field("bp_type", u32_at(52), u32_at(52).to_string());
    field("{ bp_addr, config1 }", u64_at(56), hex(u64_at(56)));
    field("{ bp_len, config2 }", u64_at(64), hex(u64_at(64)));
    field(
        "branch_sample_type",
        u64_at(72),
        branch_type_text(u64_at(72)),
    );
    field("sample_regs_user", u64_at(80), hex(u64_at(80)));
    field("sample_stack_user", u32_at(88), u32_at(88).to_string());
    let clockid = u32_at(92) as u32 as i32;
    field("clockid", u32_at(92), clockid.to_string());
    field("sample_regs_intr", u64_at(96), hex(u64_at(96)));
    field("aux_watermark", u32_at(104), u32_at(104).to_string());
    field("sample_max_stack", u16_at(108), u16_at(108).to_string());
    field("aux_sample_size", u32_at(112), u32_at(112).to_string());
    field("sig_data", u64_at(120), u64_at(120).to_string());
}

/// The whole `# ========` block, as `perf script --header` prints it.
pub fn render(h: &FileHeader) -> Vec<u8> {
    let mut s = String::from("# ========\n");
    s.push_str(&format!("# captured on    : {}", ctime(h.mtime)));
    s.push_str("# header version : 1\n");
    s.push_str(&format!("# data offset    : {}\n", h.data_offset));
    s.push_str(&format!("# data size      : {}\n", h.data_size));
    s.push_str(&format!("# feat offset    : {}\n", h.feat_offset));
    let events = h
        .features
        .iter()
        .find(|f| f.0 == 12)
        .and_then(|f| event_descs(f.1))
        .unwrap_or_default();
    let mut out = s.into_bytes();
    for &(feat, bytes) in &h.features {
        feature(&mut out, feat, bytes, &events);
    }
    if !h.pipe {
        out.extend_from_slice(b"# missing features: ");
        for (bit, name) in FEATURE_NAMES.iter().enumerate().skip(1) {
            if !h.features.iter().any(|f| f.0 == bit as u32) {
                let _ = write!(out, "{name} ");
            }
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"# ========\n#\n");
    out
}

/// One feature's lines (`feat_ops[feat].print`, or "info available").
fn feature(out: &mut Vec<u8>, feat: u32, b: &[u8], events: &[EventDesc]) {
    let mut r = Reader::new(b);
    let string_line = |out: &mut Vec<u8>, label: &str, r: &mut Reader| {
        let _ = write!(out, "# {label} : ");
        out.extend_from_slice(r.string().unwrap_or_default());
        out.push(b'\n');
    };
    match feat {
        3 => string_line(out, "hostname", &mut r),
        4 => string_line(out, "os release", &mut r),
        5 => string_line(out, "perf version", &mut r),
        6 => string_line(out, "arch", &mut r),
        7 => {
            let avail = r.u32().unwrap_or(0) as i32;
            let online = r.u32().unwrap_or(0) as i32;
            let _ = writeln!(out, "# nrcpus online : {online}");
            let _ = writeln!(out, "# nrcpus avail : {avail}");
        }
        8 => string_line(out, "cpudesc", &mut r),
        9 => string_line(out, "cpuid", &mut r),
        10 => {
            let _ = writeln!(out, "# total memory : {} kB", r.u64().unwrap_or(0));
        }
        11 => {
            out.extend_from_slice(b"# cmdline : ");
            let nr = r.u32().unwrap_or(0);
            for _ in 0..nr {
                let Some(arg) = r.string() else { break };
                // A quote is printed as \'.
                for (i, part) in arg.split(|&c| c == b'\'').enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b"\\'");
                    }
                    out.extend_from_slice(part);
                }
                out.push(b' ');
            }
            out.push(b'\n');
        }
        12 => {
            if events.is_empty() {
                out.extend_from_slice(b"# event desc: not available or unable to read\n");
            }
            for e in events {
                out.extend_from_slice(b"# event : name = ");
                out.extend_from_slice(e.name);
                out.extend_from_slice(b", ");
                if !e.ids.is_empty() {
                    out.extend_from_slice(b", id = {");
                    for (j, id) in e.ids.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        let _ = write!(out, " {id}");
                    }
                    out.extend_from_slice(b" }");
                }
                let mut t = String::new();
                attr_text(&mut t, &e.attr);
                out.extend_from_slice(t.as_bytes());
                out.push(b'\n');
            }
        }
        13 | 14 | 20 | 22 | 30 => {
            let _ = writeln!(
                out,
                "# {} info available, use -I to display",
                FEATURE_NAMES[feat as usize]
            );
        }
        15 => out.extend_from_slice(b"# contains samples with branch stack\n"),
        16 => {
            let nr = r.u32().unwrap_or(0);
            if nr == 0 {
                out.extend_from_slice(b"# pmu mappings: not available\n");
                return;
            }
            let mut delim: &[u8] = b"# pmu mappings: ";
            for _ in 0..nr {
                let (Some(t), Some(name)) = (r.u32(), r.string()) else {
                    break;
                };
                out.extend_from_slice(delim);
                out.extend_from_slice(name);
                let _ = write!(out, " = {t}");
                delim = b", ";
            }
            out.push(b'\n');
        }
        17 => group_desc(out, &mut r, events),
        18 => out.extend_from_slice(b"# contains AUX area data (e.g. instruction trace)\n"),
        19 => out.extend_from_slice(b"# contains stat data\n"),
        21 => {
            let first = r.u64().unwrap_or(0);
            let last = r.u64().unwrap_or(0);
            let usec = |t: u64| format!("{}.{:06}", t / 1_000_000_000, t % 1_000_000_000 / 1000);
            let _ = writeln!(out, "# time of first sample : {}", usec(first));
            let _ = writeln!(out, "# time of last sample : {}", usec(last));
            let ms = last.wrapping_sub(first) as f64 / 1_000_000.0;
            let _ = writeln!(out, "# sample duration : {ms:10.3} ms");
        }
        23 => {
            let res = r.u64().unwrap_or(0);
            let _ = writeln!(out, "# clockid frequency: {} MHz", res.wrapping_mul(1000));
        }
        27 => {
            let _version = r.u32();
            let t = r.u32().unwrap_or(0);
            let level = r.u32().unwrap_or(0) as i32;
            let ratio = r.u32().unwrap_or(0) as i32;
            let kind = if t == 1 { "Zstd" } else { "Unknown" };
            let _ = writeln!(
                out,
                "# compressed : {kind}, level = {level}, ratio = {ratio}"
            );
        }
        28 => pmu_caps(out, &mut r, b"cpu"),
        31 => {
            let nr = r.u32().unwrap_or(0);
            for _ in 0..nr {
                let Some(name) = r.string() else { break };
                let caps = read_caps(&mut r);
                caps_line(out, &caps, name);
            }
        }
        // TRACING_DATA, BUILD_ID, DIR_FORMAT, BPF_PROG_INFO, BPF_BTF and
        // CLOCK_DATA: see docs/parity.md (nothing printed for the first
        // two by perf either).
        _ => {}
    }
}

/// `process_per_cpu_pmu_caps`: "name=value" strings.
fn read_caps<'a>(r: &mut Reader<'a>) -> Vec<Vec<u8>> {
    let nr = r.u32().unwrap_or(0);
    let mut caps = Vec::new();
    for _ in 0..nr {
        let (Some(name), Some(value)) = (r.string(), r.string()) else {
            break;
        };
        let mut c = name.to_vec();
        c.push(b'=');
        c.extend_from_slice(value);
        caps.push(c);
    }
    caps
}

fn caps_line(out: &mut Vec<u8>, caps: &[Vec<u8>], pmu: &[u8]) {
    out.extend_from_slice(b"# ");
    out.extend_from_slice(pmu);
    if caps.is_empty() {
        out.extend_from_slice(b" pmu capabilities: not available\n");
        return;
    }
    out.extend_from_slice(b" pmu capabilities: ");
    for (i, c) in caps.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(c);
    }
    out.push(b'\n');
}

fn pmu_caps(out: &mut Vec<u8>, r: &mut Reader, pmu: &[u8]) {
    let caps = read_caps(r);
    caps_line(out, &caps, pmu);
}

/// `print_group_desc`: `# group: NAME{leader,member,...}` per group of
/// more than one event.
fn group_desc(out: &mut Vec<u8>, r: &mut Reader, events: &[EventDesc]) {
    let nr = r.u32().unwrap_or(0);
    for _ in 0..nr {
        let (Some(name), Some(leader), Some(members)) = (r.string(), r.u32(), r.u32()) else {
            break;
        };
        if members <= 1 {
            continue;
        }
        let name: &[u8] = if name == b"{anon_group}" { b"" } else { name };
        out.extend_from_slice(b"# group: ");
        out.extend_from_slice(name);
        out.push(b'{');
        for i in 0..members as usize {
            if i > 0 {
                out.push(b',');
            }
            if let Some(e) = events.get(leader as usize + i) {
                out.extend_from_slice(e.name);
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Vec<u8> {
        let mut v = ((s.len() + 1) as u32).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }

    #[test]
    fn strings_numbers_and_missing_features() {
        let host = string("vm");
        let mut nr = 4u32.to_le_bytes().to_vec();
        nr.extend_from_slice(&2u32.to_le_bytes());
        let mut time = 1_935_915_475_000u64.to_le_bytes().to_vec();
        time.extend_from_slice(&1_936_633_707_000u64.to_le_bytes());
        let h = FileHeader {
            mtime: 0,
            data_offset: 1,
            data_size: 2,
            feat_offset: 3,
            features: vec![(3, &host), (7, &nr), (13, &[]), (21, &time)],
            pipe: false,
        };
        let text = String::from_utf8(render(&h)).unwrap();
        assert!(text.contains("# hostname : vm\n# nrcpus online : 2\n# nrcpus avail : 4\n"));
        assert!(text.contains("# CPU_TOPOLOGY info available, use -I to display\n"));
        assert!(text.contains("# time of first sample : 1935.915475\n"));
        assert!(text.contains("# sample duration :    718.232 ms\n"));
        assert!(text.contains("# missing features: TRACING_DATA BUILD_ID OSRELEASE"));
        assert!(text.ends_with(" PMU_CAPS \n# ========\n#\n"));
    }

    #[test]
    fn attr_fields_in_perfs_order() {
        let mut a = vec![0u8; 128];
        a[0..4].copy_from_slice(&1u32.to_le_bytes());
        a[4..8].copy_from_slice(&128u32.to_le_bytes());
        a[16..24].copy_from_slice(&499u64.to_le_bytes());
        a[24..32].copy_from_slice(&(1u64 | 2 | 4 | 1 << 16 | 1 << 15).to_le_bytes());
        a[40..48].copy_from_slice(&(1u64 | 1 << 10 | 1 << 20).to_le_bytes());
        let mut t = String::new();
        attr_text(&mut t, &a);
        assert_eq!(
            t,
            ", type = 1, size = 128, { sample_period, sample_freq } = 499, \
             sample_type = IP|TID|TIME|IDENTIFIER|DATA_SRC, disabled = 1, freq = 1, exclude_guest = 1"
        );
    }
}
