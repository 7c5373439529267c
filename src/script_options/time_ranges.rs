//! perf's `--time` argument: absolute ranges (`start,stop`, either side
//! optional, several separated by spaces), percent slices of the recording
//! (`10%/2`, `0%-10%,30%-40%`, `25%`), and `--reltime` ranges; and which
//! sample times they keep.
//!
//! Restates perf 6.1 `util/time-utils.c`: `perf_time__parse_for_ranges_reltime`
//! and the functions it calls, with C's `strtoull`/`strtol`/`strtod` number
//! reading (leading blanks and a sign accepted, a wrapped negative value),
//! and `perf_time__ranges_skip_sample`.

/// One range; 0 means "open" on that side, as in perf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub start: u64,
    pub end: u64,
}

/// The parsed `--time` ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeRanges {
    pub ranges: Vec<TimeRange>,
}

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// perf's message when `--time` cannot be read.
pub const INVALID: &str = "Invalid time string";
/// perf's message when percent or relative ranges need the sample-time
/// feature the file lacks.
pub const NO_SAMPLE_TIME: &str = "HINT: no first/last sample time found in perf data.\n\
Please use latest perf binary to execute 'perf record'\n\
(if '--buildid-all' is enabled, please set '--timestamp-boundary').";

/// C's `strtoull(s, &end, 10)`: the value and how many bytes were read (0
/// when no digits were found). Out of range gives `u64::MAX`.
fn strtoull(s: &[u8]) -> (u64, usize) {
    crate::cnum::strtoull_end(s, 10)
}

/// C's `(int)strtol(s, &end, 10)`, and whether `*end == '\0'` after it.
fn strtol_int(s: &[u8]) -> (i32, bool) {
    let n = crate::cnum::parse_c_integer(s, 10);
    if n.end == 0 {
        // No conversion: end is the start of the string.
        return (0, s.is_empty());
    }
    // strtol saturates at LONG_MIN / LONG_MAX; the int cast keeps the low bits.
    let v = if n.neg {
        if n.overflow || n.value > 1 << 63 {
            i64::MIN
        } else {
            (n.value as i64).wrapping_neg()
        }
    } else if n.overflow || n.value > i64::MAX as u64 {
        i64::MAX
    } else {
        n.value as i64
    };
    (v as i32, n.end == s.len())
}

/// C's `strtod(s, &end)` with `end == s + strlen(s)` required: the value,
/// or None. An empty string reads as 0 (no conversion, but `end` is at
/// the end). Hexadecimal floats are not read (perf would read them).
fn strtod_whole(s: &str) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let t = s.trim_start_matches(|c: char| c.is_ascii() && crate::cnum::is_c_space(c as u8));
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") {
        return None;
    }
    t.parse::<f64>().ok()
}

/// perf's `parse_nsec_time`: `SECS[.FRACTION]`, at most 9 fraction digits.
fn parse_nsec_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let (secs, n) = strtoull(b);
    let rest = &b[n..];
    let nsec = match rest.first() {
        None => 0,
        Some(b'.') => {
            let frac = &rest[1..];
            if frac.len() > 9 {
                return None;
            }
            let mut buf = frac.to_vec();
            buf.resize(9, b'0');
            let (v, n) = strtoull(&buf);
            if n != buf.len() {
                return None;
            }
            v
        }
        Some(_) => return None,
    };
    Some(secs.wrapping_mul(NSEC_PER_SEC).wrapping_add(nsec))
}

/// perf's `perf_time__parse_str`: `START,END`, either may be empty.
fn parse_range(s: &str) -> Option<TimeRange> {
    let (start, end) = match s.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut r = TimeRange::default();
    if !start.is_empty() {
        r.start = parse_nsec_time(start)?;
    }
    if let Some(end) = end.filter(|e| !e.is_empty()) {
        r.end = parse_nsec_time(end)?;
    }
    if r.end != 0 && r.end < r.start {
        return None;
    }
    Some(r)
}

/// perf's `perf_time__parse_strs`: one range per comma, separated by blanks.
fn parse_absolute(s: &str) -> Option<Vec<TimeRange>> {
    let num = s.bytes().filter(|&b| b == b',').count();
    if num == 0 {
        return None;
    }
    let b = s.as_bytes();
    let mut ranges = Vec::with_capacity(num);
    let mut p = 0;
    for _ in 0..num - 1 {
        let arg = p;
        let comma = p + b[p..].iter().position(|&c| c == b',')?;
        p = comma + 1;
        while p < b.len() && crate::cnum::is_c_space(b[p]) {
            p += 1;
        }
        while p < b.len() && !crate::cnum::is_c_space(b[p]) {
            if b[p] == b',' {
                return None;
            }
            p += 1;
        }
        let piece_end = p;
        if p < b.len() {
            p += 1;
        }
        ranges.push(parse_range(&s[arg..piece_end])?);
    }
    ranges.push(parse_range(&s[p..])?);
    for w in ranges.windows(2) {
        if w[0].end >= w[1].start {
            return None;
        }
    }
    Some(ranges)
}

/// perf's `parse_percent`: `NUMBER%` (anything after the `%` is ignored).
fn parse_percent(s: &str) -> Option<f64> {
    let (num, _) = s.split_once('%')?;
    Some(strtod_whole(num)? / 100.0)
}

/// perf's `set_percent_time`.
fn percent_range(start_pcnt: f64, end_pcnt: f64, first: u64, last: u64) -> Option<TimeRange> {
    if !(0.0..=1.0).contains(&start_pcnt) || !(0.0..=1.0).contains(&end_pcnt) {
        return None;
    }
    let total = last.wrapping_sub(first) as f64;
    // C: u64 + double is a double, truncated back to u64.
    let start = (first as f64 + (start_pcnt * total).round()) as u64;
    let mut end = (first as f64 + (end_pcnt * total).round()) as u64;
    if end > start && end != last {
        end -= 1;
    }
    Some(TimeRange { start, end })
}

/// perf's `percent_slash_split`: `P%/N`, the N-th slice of P percent.
fn slash_slice(s: &str, first: u64, last: u64) -> Option<TimeRange> {
    let (pct, n) = s.split_once('/')?;
    let pcnt = parse_percent(pct)?;
    let (i, whole) = strtol_int(n.as_bytes());
    if !whole || pcnt <= 0.0 {
        return None;
    }
    percent_range(pcnt * f64::from(i - 1), pcnt * f64::from(i), first, last)
}

/// perf's `percent_dash_split`: `A%-B%`.
fn dash_slice(s: &str, first: u64, last: u64) -> Option<TimeRange> {
    let (a, b) = s.split_once('-')?;
    percent_range(parse_percent(a)?, parse_percent(b)?, first, last)
}

/// perf's `percent_comma_split`: at most `num` comma-separated pieces.
fn percent_pieces(
    s: &str,
    num: usize,
    first: u64,
    last: u64,
    piece: fn(&str, u64, u64) -> Option<TimeRange>,
) -> Option<Vec<TimeRange>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if out.len() >= num {
            return None;
        }
        let (p, next) = match rest.split_once(',') {
            Some((p, n)) => (p, Some(n)),
            None => (rest, None),
        };
        out.push(piece(p, first, last)?);
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    Some(out)
}

/// perf's `perf_time__percent_parse_str`.
fn parse_percent_ranges(s: &str, num: usize, first: u64, last: u64) -> Option<Vec<TimeRange>> {
    if s.contains('/') {
        return percent_pieces(s, num, first, last, slash_slice);
    }
    if s.contains('-') {
        return percent_pieces(s, num, first, last, dash_slice);
    }
    let c = s.find('%')?;
    if c != s.len() - 1 {
        return None;
    }
    Some(vec![slash_slice(&format!("{s}/1"), first, last)?])
}

impl TimeRanges {
    /// Parses `--time` as perf does. `sample_time` is the file's first and
    /// last sample time (HEADER_SAMPLE_TIME), needed for percent slices and
    /// `--reltime`. The error is perf's message.
    pub fn parse(s: &str, sample_time: Option<(u64, u64)>, reltime: bool) -> Result<Self, String> {
        let has_percent = s.contains('%');
        let size = 1 + s.bytes().filter(|&b| b == b',').count();
        let (first, last) = sample_time.unwrap_or((0, 0));
        if (has_percent || reltime) && first == 0 && last == 0 {
            return Err(NO_SAMPLE_TIME.into());
        }
        let ranges = if has_percent {
            parse_percent_ranges(s, size, first, last)
        } else {
            parse_absolute(s)
        };
        let Some(mut ranges) = ranges else {
            return Err(INVALID.into());
        };
        if reltime {
            for r in &mut ranges {
                r.start = r.start.wrapping_add(first);
                r.end = r.end.wrapping_add(first);
            }
        }
        Ok(TimeRanges { ranges })
    }

    /// perf's `perf_time__ranges_skip_sample`.
    pub fn skips(&self, time: u64) -> bool {
        if time == 0 || self.ranges.is_empty() {
            return false;
        }
        if let [r] = self.ranges[..] {
            return (r.start != 0 && time < r.start) || (r.end != 0 && time > r.end);
        }
        !self
            .ranges
            .iter()
            .any(|r| time >= r.start && (time <= r.end || r.end == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> TimeRange {
        TimeRange { start, end }
    }

    fn abs(s: &str) -> Result<Vec<TimeRange>, String> {
        TimeRanges::parse(s, None, false).map(|t| t.ranges)
    }

    #[test]
    fn absolute_ranges() {
        assert_eq!(abs("10.5,11").unwrap(), [r(10_500_000_000, 11_000_000_000)]);
        assert_eq!(abs("10.000000001,").unwrap(), [r(10_000_000_001, 0)]);
        assert_eq!(abs(",11").unwrap(), [r(0, 11_000_000_000)]);
        assert_eq!(
            abs("1,2 3,4").unwrap(),
            [
                r(1_000_000_000, 2_000_000_000),
                r(3_000_000_000, 4_000_000_000)
            ]
        );
        // Blanks after a comma are skipped.
        assert_eq!(abs("1, 2 3,").unwrap().len(), 2);
        assert_eq!(abs("10").unwrap_err(), INVALID, "a range needs a comma");
        assert_eq!(abs("2,1").unwrap_err(), INVALID, "end before start");
        assert_eq!(abs("1,3 2,4").unwrap_err(), INVALID, "overlap");
        assert_eq!(
            abs("1.0000000001,").unwrap_err(),
            INVALID,
            "10 fraction digits"
        );
        assert_eq!(abs("1x,").unwrap_err(), INVALID);
        // strtoull: blanks and a sign before the number.
        assert_eq!(abs(" +1,").unwrap(), [r(1_000_000_000, 0)]);
    }

    #[test]
    fn percent_slices() {
        let t = Some((1000, 2000));
        let p = |s: &str| TimeRanges::parse(s, t, false).map(|t| t.ranges);
        assert_eq!(p("10%/2").unwrap(), [r(1100, 1199)]);
        assert_eq!(p("10%/1,10%/3").unwrap(), [r(1000, 1099), r(1200, 1299)]);
        assert_eq!(
            p("0%-10%,90%-100%").unwrap(),
            [r(1000, 1099), r(1900, 2000)]
        );
        assert_eq!(p("50%").unwrap(), [r(1000, 1499)]);
        assert_eq!(p("100%").unwrap(), [r(1000, 2000)]);
        assert_eq!(
            p("50%x").unwrap_err(),
            INVALID,
            "'%' must end a single percent"
        );
        assert_eq!(p("10%/11").unwrap_err(), INVALID, "past 100%");
        assert_eq!(p("0%/1").unwrap_err(), INVALID);
        assert_eq!(
            TimeRanges::parse("10%/1", None, false).unwrap_err(),
            NO_SAMPLE_TIME
        );
    }

    #[test]
    fn reltime_shifts_by_the_first_sample() {
        let t = TimeRanges::parse("0.000001,0.000002", Some((5000, 9000)), true).unwrap();
        assert_eq!(t.ranges, [r(6000, 7000)]);
        // An open end becomes the first sample time, as in perf.
        let t = TimeRanges::parse("0.000001,", Some((5000, 9000)), true).unwrap();
        assert_eq!(t.ranges, [r(6000, 5000)]);
    }

    #[test]
    fn which_times_are_skipped() {
        let one = TimeRanges {
            ranges: vec![r(10, 20)],
        };
        assert!(one.skips(9) && !one.skips(10) && !one.skips(20) && one.skips(21));
        assert!(!one.skips(0), "samples without time are kept");
        let open = TimeRanges {
            ranges: vec![r(0, 20)],
        };
        assert!(!open.skips(1));
        let two = TimeRanges {
            ranges: vec![r(10, 20), r(30, 0)],
        };
        assert!(two.skips(25) && !two.skips(15) && !two.skips(1000));
    }
}
