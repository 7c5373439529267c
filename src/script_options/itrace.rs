//! `--itrace[=OPTS]` and `--no-itrace`: perf 6.1's grammar for its
//! instruction-trace decoding options (`itrace_do_parse_synth_opts`,
//! util/auxtrace.c), read so that a command line perf takes is taken and one
//! perf refuses is refused with its message. perfold never decodes AUX trace
//! data (`reader::auxtrace` skips it), so the values change nothing else.

/// The largest `g`/`G` callchain and `l`/`L` branch sizes perf takes.
const MAX_SIZE: u64 = 1024;

/// Checks `--itrace=OPTS` as perf reads it; the error is perf's message.
pub fn check(opts: &str) -> Result<(), String> {
    if parse(opts.as_bytes()).is_some() {
        Ok(())
    } else {
        Err(format!("Bad Instruction Tracing options '{opts}'"))
    }
}

/// Skips blanks and commas from `i`.
fn skip_separators(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b',')) {
        i += 1;
    }
    i
}

/// C's `strtoul(.., 10)` on the digits at `i` (no sign or blanks reach it
/// here): the value (saturated) and the index after them.
fn digits(s: &[u8], mut i: usize) -> (u64, usize) {
    let mut v: u64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        i += 1;
    }
    (v, i)
}

/// perf's `get_flags` after `e` and `d`: `+x` / `-x` (lowercase letters),
/// blanks between.
fn flags(s: &[u8], mut i: usize) -> Option<usize> {
    loop {
        match s.get(i) {
            Some(b'+' | b'-') => {
                i += 1;
                while s.get(i) == Some(&b' ') {
                    i += 1;
                }
                match s.get(i) {
                    Some(c) if c.is_ascii_lowercase() => i += 1,
                    _ => return None,
                }
            }
            Some(b' ') => i += 1,
            _ => return Some(i),
        }
    }
}

fn parse(s: &[u8]) -> Option<()> {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        match c {
            b'i' => {
                i = skip_separators(s, i);
                if s.get(i).is_some_and(u8::is_ascii_digit) {
                    i = skip_separators(s, digits(s, i).1);
                    let unit = s.get(i).copied();
                    i += 1;
                    match unit {
                        Some(b'i' | b't') => {}
                        Some(b'm' | b'u' | b'n') => {
                            if s.get(i) != Some(&b's') {
                                return None;
                            }
                            i += 1;
                        }
                        // The period ends the options.
                        None => return Some(()),
                        Some(_) => return None,
                    }
                }
            }
            b'e' | b'd' => i = flags(s, i)?,
            b'g' | b'G' | b'l' | b'L' => {
                i = skip_separators(s, i);
                if s.get(i).is_some_and(u8::is_ascii_digit) {
                    let (v, next) = digits(s, i);
                    if v == 0 || v > MAX_SIZE {
                        return None;
                    }
                    i = next;
                }
            }
            b's' => {
                // strtoul skips leading blanks and takes a sign.
                let mut j = i;
                while s.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                    j += 1;
                }
                if matches!(s.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                let (_, end) = digits(s, j);
                if end == j {
                    return None;
                }
                i = end;
            }
            b'b' | b'x' | b'w' | b'p' | b'o' | b'I' | b'c' | b'r' | b'f' | b'm' | b't' | b'a'
            | b'M' | b'q' | b'A' | b'Z' | b' ' | b',' => {}
            _ => return None,
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfs_grammar() {
        for ok in [
            "", "i0ns", "cewp", "crewp", "i100usle", "i10", "i 10 i", "g16", "G", "l1024",
            "e+o-l", "d+a", "s 5", "s-1", "bxwpoIcrfmtaMqAZ", "i1ms,g", "e",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in ["xyz", "g0", "l1025", "i10k", "i10m", "s", "sx", "e+", "e+O", "?"] {
            assert_eq!(
                check(bad),
                Err(format!("Bad Instruction Tracing options '{bad}'")),
                "{bad}"
            );
        }
    }
}
