//! C's integer parsing (`strtoull`/`strtol` with an end pointer), which
//! perf and libtraceevent use on perf-map lines, `--time` arguments and
//! tracepoint formats: one restatement of glibc's rules for every caller.

/// What C's `strto*` read from the front of a byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CInteger {
    /// A `-` sign was read.
    pub neg: bool,
    /// The magnitude (the digits read, wrapped never: see `overflow`).
    pub value: u64,
    /// The digits did not fit in 64 bits.
    pub overflow: bool,
    /// Bytes consumed (C's `end - s`); 0 when no digit was read.
    pub end: usize,
}

/// C's blank characters (`isspace` in the C locale).
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

fn digit_value(c: u8) -> Option<u32> {
    (c as char).to_digit(36)
}

/// glibc's `strtoull(s, &end, base)` scan for base 0, 8, 10 or 16: blanks,
/// a sign, a `0x` prefix only when a hex digit follows (base 0 or 16), a
/// leading `0` meaning octal (base 0).
pub(crate) fn parse_c_integer(s: &[u8], want_base: u32) -> CInteger {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = if want_base == 0 { 10 } else { want_base };
    if s.get(i) == Some(&b'0') && (want_base == 0 || want_base == 16) {
        let hex = matches!(s.get(i + 1), Some(b'x' | b'X'))
            && s.get(i + 2)
                .and_then(|&c| digit_value(c))
                .is_some_and(|d| d < 16);
        if hex {
            base = 16;
            i += 2;
        } else if want_base == 0 {
            base = 8;
        }
    }
    let digits_start = i;
    let (mut value, mut overflow) = (0u64, false);
    while let Some(d) = s.get(i).and_then(|&c| digit_value(c)).filter(|&d| d < base) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    CInteger {
        neg,
        value,
        overflow,
        end: if i > digits_start { i } else { 0 },
    }
}

/// `strtoull(s, &end, base)`: the value (`u64::MAX` on overflow, negated
/// after a `-`) and the bytes read (0 when no digit was read).
pub(crate) fn strtoull_end(s: &[u8], base: u32) -> (u64, usize) {
    let n = parse_c_integer(s, base);
    if n.end == 0 {
        return (0, 0);
    }
    let v = match n {
        CInteger { overflow: true, .. } => u64::MAX,
        CInteger {
            neg: true, value, ..
        } => value.wrapping_neg(),
        CInteger { value, .. } => value,
    };
    (v, n.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_glibc_does() {
        assert_eq!(strtoull_end(b"  42abc", 10), (42, 4));
        assert_eq!(strtoull_end(b"-1", 10), (u64::MAX, 2));
        assert_eq!(strtoull_end(b"0x1f ", 16), (0x1f, 4));
        assert_eq!(strtoull_end(b"0xg", 16), (0, 1));
        assert_eq!(strtoull_end(b"x", 10), (0, 0));
        assert_eq!(strtoull_end(b"99999999999999999999", 10), (u64::MAX, 20));
        assert_eq!(strtoull_end(b"010", 0), (8, 3));
        assert_eq!(strtoull_end(b"0", 0), (0, 1));
    }
}
