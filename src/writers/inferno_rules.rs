//! How `inferno-collapse-perf` 0.12.8 reads perf script text, restated so
//! perfold folds its own samples to the same bytes (inferno's
//! `src/collapse/perf.rs` and `common.rs`; these functions are private there).
//!
//! Each rule works on the text perf script would print, so names with
//! spaces, parentheses, `->` or Rust hashes fold exactly as inferno folds them.

/// inferno `event_line_parts`: finds the first all-digit word (optionally
/// `pid/tid`) after the first word; the comm is what precedes it, trimmed.
/// Returns (comm, index just past that word and its space).
pub fn event_line_parts(line: &str) -> Option<(&str, usize)> {
    let mut word_start = 0;
    let mut all_digits = false;
    let mut last_was_space = false;
    for (i, c) in line.char_indices() {
        if c == ' ' {
            if all_digits && !last_was_space {
                return Some((line[..word_start - 1].trim(), i + 1));
            }
            word_start = i + 1;
            all_digits = true;
        } else if c == '/' || c.is_ascii_digit() {
            // a '/' keeps a digit word a digit word (pid/tid)
        } else {
            all_digits = false;
        }
        last_was_space = c == ' ';
    }
    None
}

/// The event name and period inferno reads after the tid: the second
/// colon-separated field's last word is the event, the word before it the period.
/// Also returns the third field (text after the event), if any.
pub fn event_and_period(rest: &str) -> (Option<&str>, Option<u64>, Option<&str>) {
    let mut parts = rest.splitn(3, ':').skip(1);
    let mut period = None;
    let event = parts.next().and_then(|p| {
        let mut words = p.rsplit(' ');
        let ev = words.next();
        period = words.next().and_then(|w| w.parse::<u64>().ok());
        ev
    });
    (event, period, parts.next())
}

/// The frame text inferno finds on an event line that also holds the stack
/// (samples without callchain): skip to just past the first ':' or ' '.
pub fn single_line_stack(post_event: &str) -> Option<&str> {
    let start = post_event.find([':', ' ']).map(|i| i + 1).unwrap_or(0);
    let s = post_event[start..].trim();
    (!s.is_empty()).then_some(s)
}

/// inferno `stack_line_parts`: (function text, module) of a stack line, or
/// `None` for a line it calls weird (module not in parentheses).
pub fn stack_line_parts(line: &str) -> Option<(&str, &str)> {
    let mut first = line.trim_start().splitn(2, ' ');
    first.next()?;
    let mut rest = first.next()?.rsplitn(2, ' ');
    let module = rest.next()?;
    if !module.starts_with('(') || !module.ends_with(')') || module.len() < 2 {
        return None;
    }
    let module = &module[1..module.len() - 1];
    let func = match rest.next()?.trim() {
        "" => " ",
        s => s,
    };
    Some((func, module))
}

/// The folded frames inferno makes of one stack line, joined with `;`
/// (one line can give several frames: Java-style `->` inlining), or `None`
/// when it drops the line.
pub fn fold_stack_line(line: &str, java: bool) -> Option<String> {
    let (mut func, module) = stack_line_parts(line)?;
    if let Some(at) = rfind_offset_suffix(func) {
        if func[at + 3..].chars().all(|c| c.is_ascii_hexdigit()) {
            func = &func[..at];
        }
    }
    if func.starts_with('(') {
        return None;
    }
    let func = fix_rust_hash(func);
    let mut out = String::with_capacity(func.len() + 8);
    for (i, piece) in split_arrows(&func).enumerate() {
        if i > 0 {
            out.push(';');
        }
        let start = out.len();
        push_tidy_generic(&mut out, &module_fallback(module, piece));
        if java && out[start..].starts_with('L') && out[start..].contains('/') {
            out.remove(start);
        }
        if i > 0 && !out[start..].contains("_[i]") {
            out.push_str("_[i]");
        }
    }
    Some(out)
}

/// Where `func.rfind("+0x")` is (the last `+` followed by `0x`).
fn rfind_offset_suffix(func: &str) -> Option<usize> {
    let b = func.as_bytes();
    memchr::memrchr_iter(b'+', b).find(|&at| b[at + 1..].starts_with(b"0x"))
}

/// `func.split("->")`, without a substring searcher for the common name
/// that holds no `-`.
fn split_arrows(func: &str) -> impl Iterator<Item = &str> {
    let b = func.as_bytes();
    let mut arrows = memchr::memchr_iter(b'-', b).filter(move |&at| b.get(at + 1) == Some(&b'>'));
    let mut from = Some(0);
    std::iter::from_fn(move || {
        let start = from?;
        match arrows.next() {
            Some(at) => {
                from = Some(at + 2);
                Some(&func[start..at])
            }
            None => {
                from = None;
                Some(&func[start..])
            }
        }
    })
}

/// inferno `with_module_fallback`: `[unknown]` becomes `[<module basename>]`.
fn module_fallback<'a>(module: &str, func: &'a str) -> std::borrow::Cow<'a, str> {
    if func != "[unknown]" || module == "[unknown]" {
        return func.into();
    }
    let base = &module[module.rfind('/').map(|i| i + 1).unwrap_or(0)..];
    format!("[{base}]").into()
}

/// inferno `tidy_generic`, appended to `out`: `;` becomes `:`, and a
/// top-level parameter list is cut, except Go's `.(` and C++'s
/// `(anonymous namespace)`. The scan goes by bytes: every character it
/// looks for is ASCII, which no byte of a longer UTF-8 character equals.
fn push_tidy_generic(out: &mut String, func: &str) {
    let b = func.as_bytes();
    let mut depth: i64 = 0;
    let mut after_dot = None;
    let mut cut = b.len();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'<' | b'{' | b'[' => depth += 1,
            b'>' | b'}' | b']' | b')' => depth -= 1,
            b'(' => {
                if depth == 0
                    && after_dot != Some(i)
                    && !b[i..].starts_with(b"(anonymous namespace)")
                {
                    cut = i;
                    break;
                }
                depth += 1;
            }
            b'.' => after_dot = Some(i + 1),
            _ => {}
        }
    }
    let mut pieces = func[..cut].split(';');
    out.push_str(pieces.next().unwrap_or(""));
    for piece in pieces {
        out.push(':');
        out.push_str(piece);
    }
}

/// inferno `fix_partially_demangled_rust_symbol`: a trailing `h<16 hex>`
/// hash is removed and legacy `$..$` escapes and `..` are decoded.
fn fix_rust_hash(sym: &str) -> std::borrow::Cow<'_, str> {
    const HASH_LEN: usize = 17;
    let n = sym.len();
    if n < HASH_LEN || !sym.is_char_boundary(n - HASH_LEN) {
        return sym.into();
    }
    let tail = &sym[n - HASH_LEN..];
    if !(tail.starts_with('h') && tail[1..].chars().all(|c| c.is_ascii_hexdigit())) {
        return sym.into();
    }
    let mut rest = &sym[..n - HASH_LEN];
    rest = rest.strip_suffix("::").unwrap_or(rest);
    if rest.starts_with("_$") {
        rest = &rest[1..];
    }
    const ESCAPES: [(&str, &str); 19] = [
        ("$SP$", "@"),
        ("$BP$", "*"),
        ("$RF$", "&"),
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$u7e$", "~"),
        ("$u20$", " "),
        ("$u27$", "'"),
        ("$u3d$", "="),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$u3b$", ";"),
        ("$u2b$", "+"),
        ("$u21$", "!"),
    ];
    let mut out = String::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            out.push_str("::");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            out.push('.');
            rest = r;
        } else if rest.starts_with('$') {
            if rest.starts_with("$u22$") {
                out.push('"');
                rest = &rest[5..];
                continue;
            }
            match ESCAPES.iter().find(|(k, _)| rest.starts_with(k)) {
                Some((k, v)) => {
                    out.push_str(v);
                    rest = &rest[k.len()..];
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        } else {
            let end = rest.find(['$', '.']).unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out.into()
}

/// inferno-collapse-perf's line state machine (`process_single_stack`,
/// `on_event_line`, `on_stack_line`, `after_event`), for samples whose text
/// does not have perf's default shape (tracepoints, missing fields). It reads
/// the text exactly as inferno does, including its confusions: a tracepoint's
/// fields read as a weird stack line, its frames then read as event lines,
/// and the junk stacks with an empty comm that follow.
#[derive(Default)]
pub struct LineFolder {
    in_event: bool,
    skip: bool,
    pname: String,
    period: Option<u64>,
    /// Root first.
    stack: std::collections::VecDeque<String>,
}

impl LineFolder {
    /// Feeds one sample's text (its lines and the blank line ending it);
    /// `emit` gets each finished stack and its weight.
    pub fn feed(
        &mut self,
        text: &str,
        filter: &mut Option<String>,
        emit: &mut dyn FnMut(String, u64),
    ) {
        for line in text.split_inclusive('\n') {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim_end();
            if line.is_empty() {
                self.after_event(emit);
            } else if self.in_event {
                self.on_stack_line(line);
            } else {
                self.on_event_line(line, filter);
                if !self.stack.is_empty() {
                    self.after_event(emit);
                }
            }
        }
    }

    /// inferno at the end of its input: a stack still open (a sample whose
    /// text ends without a blank line, e.g. after perf's phys-addr line) is counted.
    pub fn finish(&mut self, emit: &mut dyn FnMut(String, u64)) {
        if !self.stack.is_empty() {
            self.after_event(emit);
        }
    }

    /// No stack is open: the next sample's text starts a new one.
    pub fn is_idle(&self) -> bool {
        !self.in_event && self.stack.is_empty()
    }

    fn on_event_line(&mut self, line: &str, filter: &mut Option<String>) {
        self.in_event = true;
        let Some((comm, end)) = event_line_parts(line) else {
            self.in_event = false;
            return;
        };
        let mut parts = line[end..].splitn(3, ':').skip(1);
        let event = parts.next().map(|p| {
            let mut words = p.rsplit(' ');
            let ev = words.next().unwrap_or("");
            self.period = words.next().and_then(|w| w.parse().ok());
            ev
        });
        if let Some(event) = event {
            match filter {
                Some(f) if f != event => {
                    self.skip = true;
                    return;
                }
                Some(_) => {}
                None => *filter = Some(event.to_string()),
            }
        }
        let single = parts.next().and_then(single_line_stack);
        self.pname = comm.replace(' ', "_");
        if let Some(stack) = single {
            self.on_stack_line(stack);
            self.in_event = false;
        }
    }

    fn on_stack_line(&mut self, line: &str) {
        if self.skip {
            return;
        }
        let java = self.pname.starts_with("java");
        if let Some(folded) = fold_stack_line(line, java) {
            for f in folded.rsplit(';') {
                self.stack.push_front(f.to_string());
            }
        }
    }

    fn after_event(&mut self, emit: &mut dyn FnMut(String, u64)) {
        if !self.stack.is_empty() {
            let mut s = self.pname.clone();
            for f in self.stack.drain(..) {
                s.push(';');
                s.push_str(&f);
            }
            emit(s, self.period.unwrap_or(1));
        }
        self.in_event = false;
        self.skip = false;
        self.stack.clear();
        self.period = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines() {
        let l = "a  2306    57.079503:    1001001 cpu-clock: ";
        let (comm, end) = event_line_parts(l).unwrap();
        assert_eq!(comm, "a");
        let (ev, period, _) = event_and_period(&l[end..]);
        assert_eq!((ev, period), (Some("cpu-clock"), Some(1001001)));
        // A digit word inside the comm ends the comm early, as in inferno.
        let (comm, _) = event_line_parts("web 2 17 1.0: 1 cpu-clock: ").unwrap();
        assert_eq!(comm, "web");
        assert!(event_line_parts("nodigits here").is_none());
    }

    #[test]
    fn stack_lines() {
        assert_eq!(
            fold_stack_line("11d7 leaf+0x17 (/tmp/w/a)", false).unwrap(),
            "leaf"
        );
        assert_eq!(
            fold_stack_line("0 [unknown] ([unknown])", false).unwrap(),
            "[unknown]"
        );
        assert_eq!(
            fold_stack_line("7f [unknown] (/usr/lib/libc.so.6)", false).unwrap(),
            "[libc.so.6]"
        );
        assert_eq!(
            fold_stack_line("1 std::unique_ptr<int>::operator->+0x4 (/a)", false).unwrap(),
            "std::unique_ptr<int>::operator;_[i]"
        );
        assert_eq!(
            fold_stack_line("1 (anonymous namespace)::f(int)+0x1 (/a)", false),
            None
        );
        assert_eq!(
            fold_stack_line("1 ns::(anonymous namespace)::f(int)+0x1 (/a)", false).unwrap(),
            "ns::(anonymous namespace)::f"
        );
        assert_eq!(fold_stack_line("1 a;b+0x1 (/my lib)", false), None);
        assert_eq!(
            fold_stack_line("1 foo::h0123456789abcdef+0x1 (/a)", false).unwrap(),
            "foo"
        );
    }

    /// Frames and the folded text inferno-collapse-perf 0.12.8 printed for
    /// them (one stack per comm, fed to the real binary).
    #[test]
    fn stack_lines_fold_as_inferno_folded_them() {
        let cases = [
            ("1 a->b->c+0x1 (/a)", false, "a;b_[i];c_[i]"),
            ("2 x::f<int;long>(char)+0x2 (/a)", false, "x::f<int:long>"),
            ("3 ns::g(.(h)+0x3 (/a)", false, "ns::g"),
            ("4 \u{e9}t\u{e9}(int)+0xz (/a)", false, "\u{e9}t\u{e9}"),
            ("5 p->q_[i]+0x10 (/a)", false, "p;q_[i]"),
            ("6 [unknown] (/usr/lib/libz.so)", false, "[libz.so]"),
            ("1 Lcom/x/Y;.m->Lcom/z/W;.n (/a)", true, "com/x/Y:.m;com/z/W:.n_[i]"),
            ("2 Lfoo;.bar (/a)", true, "Lfoo:.bar"),
            ("3 Lp/q;->r (/a)", true, "p/q:;r_[i]"),
        ];
        for (line, java, folded) in cases {
            assert_eq!(fold_stack_line(line, java).as_deref(), Some(folded), "{line}");
        }
    }

    #[test]
    fn tracepoint_text_reads_as_inferno_reads_it() {
        let text = "sh 14793 [001]  3223.913279: sched:sched_switch: prev_comm=sh prev_pid=14793 ==> next_comm=sh\n\tffffffff821facd8 __schedule+0x618 ([kernel.kallsyms])\n\t            1234 main+0x10 (/bin/x)\n\t            5678 start+0x1 (/bin/x)\n\n";
        let mut filter = None;
        let mut got = Vec::new();
        LineFolder::default().feed(text, &mut filter, &mut |s, w| got.push((s, w)));
        // The fields are a weird stack line; the kernel frame a weird event
        // line; "1234 main..." an event line with an empty comm, whose
        // following frame is its stack.
        assert_eq!(filter.as_deref(), Some("sched"));
        assert_eq!(got, vec![(";start".to_string(), 1)]);
    }
}
