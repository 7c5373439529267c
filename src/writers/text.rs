//! perf script's text of a sample, rendered in one place for the script
//! writer and the folder: the header line (`perf_sample__fprintf_start`,
//! `process_event`), a frame's symbol and DSO (`sample__fprintf_sym`), the
//! callchain lines (`sample__fprintf_callchain`) and a cache of frame texts.
//! perf 6.1 `builtin-script.c` and `util/evsel_fprintf.c`.

use super::layout::EventLayout;
use super::{fmt, Header, Names, SampleView};
use crate::frames::{Frame, FrameKey};
use crate::hw::memory::MemoryColumns;
use crate::mappings::DsoKind;

/// Appends the sample's first line up to and including `<event>: ` (and,
/// for callchains, the newline); frames follow.
pub fn header_line(
    out: &mut Vec<u8>,
    ev: &EventLayout,
    name_width: usize,
    h: &Header,
    memo: &mut HeaderMemo,
) {
    // "%s " when the sample prints a callchain, "%16s " otherwise.
    if ev.ip && ev.callchain {
        out.extend_from_slice(h.comm);
        out.push(b' ');
    } else {
        fmt::str_padded(out, h.comm, 16);
        out.push(b' ');
    }
    if ev.tid {
        let slot = h.tid as u32 as usize % memo.tids.len();
        memo.tids[slot].append(out, h.tid as i64 as u64, |out| {
            fmt::signed_padded(out, h.tid as i64, 5);
            out.push(b' ');
        });
    }
    if ev.cpu {
        out.push(b'[');
        fmt::dec_padded(out, h.cpu as u64, 3, b'0');
        out.extend_from_slice(b"] ");
    }
    if ev.time {
        let secs = h.time / 1_000_000_000;
        let usecs = (h.time % 1_000_000_000) / 1_000;
        memo.secs.append(out, secs, |out| {
            // "%12s" of "<secs>.<usecs>": pad by the width the digits take.
            let secs_digits = secs.checked_ilog10().unwrap_or(0) as usize + 1;
            for _ in (secs_digits + 7)..12 {
                out.push(b' ');
            }
            fmt::dec_padded(out, secs, 0, b' ');
            out.push(b'.');
        });
        fmt::dec6(out, usecs);
        out.extend_from_slice(b": ");
    }
    if ev.period {
        memo.period.append(out, h.period, |out| {
            fmt::dec_padded(out, h.period, 10, b' ');
            out.push(b' ');
        });
    }
    fmt::str_padded(out, ev.name.as_bytes(), name_width);
    out.extend_from_slice(b": ");
}

/// The text of the numbers header lines printed last: samples in a row
/// mostly share the second and the period, and come from a few threads
/// (one text kept per tid modulo 64), so each is copied instead of
/// formatted again.
pub struct HeaderMemo {
    tids: [Memo; 64],
    secs: Memo,
    period: Memo,
}

impl Default for HeaderMemo {
    fn default() -> HeaderMemo {
        HeaderMemo {
            tids: std::array::from_fn(|_| Memo::default()),
            secs: Memo::default(),
            period: Memo::default(),
        }
    }
}

/// One number's last text.
#[derive(Default)]
struct Memo {
    value: u64,
    len: usize,
    text: [u8; 24],
}

impl Memo {
    /// Appends `value`'s text: the remembered one, or what `render`
    /// appends (then remembered).
    fn append(&mut self, out: &mut Vec<u8>, value: u64, render: impl FnOnce(&mut Vec<u8>)) {
        if self.len > 0 && self.value == value {
            out.extend_from_slice(&self.text[..self.len]);
            return;
        }
        let start = out.len();
        render(out);
        let new = &out[start..];
        self.len = 0;
        if new.len() <= self.text.len() {
            self.text[..new.len()].copy_from_slice(new);
            self.len = new.len();
            self.value = value;
        }
    }
}

/// The `+0x...` offset perf prints after a frame's symbol of `[start, end)`:
/// past the symbol's end it is taken from the map start.
pub fn symbol_offset(f: &Frame, start: u64, end: u64) -> u64 {
    if f.addr < end {
        f.addr.wrapping_sub(start)
    } else {
        f.addr.wrapping_sub(f.map_start).wrapping_sub(start)
    }
}

/// Appends what perf prints for a frame's symbol (`__symbol__fprintf_symname_offs`)
/// and, if `with_dso`, ` (<dso>)`.
pub fn frame_text(out: &mut Vec<u8>, f: &Frame, names: &Names) {
    match f.sym {
        Some(id) => {
            let sym = names.symbols.get(id);
            out.extend_from_slice(sym.name.as_bytes());
            out.extend_from_slice(b"+0x");
            fmt::hex(out, symbol_offset(f, sym.start, sym.end));
        }
        None => out.extend_from_slice(b"[unknown]"),
    }
    if f.inlined {
        // perf prints no DSO for an inline frame, then " (inlined)".
        out.extend_from_slice(b" (inlined)");
        return;
    }
    out.extend_from_slice(b" (");
    match f.dso {
        Some(d) => out.extend_from_slice(&names.machine.dsos.get(d).name),
        None => out.extend_from_slice(b"[unknown]"),
    }
    out.push(b')');
}

/// Appends the sample's frame when it shares the header line (an event
/// printed without callchain): ` <ip> sym+0xoff (dso)`.
pub fn ip_suffix(out: &mut Vec<u8>, s: &SampleView, names: &Names) {
    out.push(b' ');
    fmt::hex_padded(out, s.ip_frame.ip, 16);
    out.push(b' ');
    frame_text(out, &s.ip_frame, names);
}

/// The callchain line of each (DSO, address) pair, rendered once and then
/// copied: indexed by the frame's slot, no hashing. The line is
/// `\t<addr> sym+0xoff (dso)\n`; the address perf prints is the
/// DSO-relative one for a user-space frame (the same for every frame of
/// the slot) but the raw one for a kernel frame, so a kernel frame of
/// another raw address takes only the text after the line's address. Also
/// carries the memory columns, whose data-source width perf grows over the
/// run.
#[derive(Default)]
pub struct FrameTexts {
    /// By slot: the line's place in `arena` (`len == u32::MAX`: not
    /// rendered yet).
    lines: Vec<CachedLine>,
    arena: Vec<u8>,
    memory: MemoryColumns,
    header: HeaderMemo,
}

#[derive(Clone, Copy)]
struct CachedLine {
    start: u32,
    len: u32,
    /// The raw address of the frame the line was rendered for.
    ip: u64,
    /// The line prints the DSO-relative address (a user-space DSO): every
    /// frame of the slot prints it.
    relative: bool,
}

/// The bytes of `\t<addr> ` before a frame's text.
const ADDRESS_PREFIX: usize = 18;

impl FrameTexts {
    /// Appends frame `f`'s callchain line.
    fn append_line(&mut self, out: &mut Vec<u8>, f: &Frame, names: &Names) {
        // Most frames: a line of the slot printing this frame's address
        // (the slot fixes the DSO, the symbol and the DSO-relative address).
        if let FrameKey::Slot(slot) = f.key {
            if let Some(c) = self.lines.get(slot as usize) {
                if c.len != u32::MAX && (c.relative || c.ip == f.ip) {
                    out.extend_from_slice(&self.arena[c.start as usize..(c.start + c.len) as usize]);
                    return;
                }
            }
        }
        let kernel = f.dso.is_some_and(|d| {
            matches!(
                names.machine.dsos.get(d).kind,
                DsoKind::Kernel | DsoKind::Module
            )
        });
        let addr = f.printed_addr(kernel);
        // The offset of an address past its symbol's end depends on the map
        // (perf's rule), so only the usual case is cached.
        let slot = match f.key {
            FrameKey::Slot(slot)
                if f.sym.is_none_or(|id| f.addr < names.symbols.get(id).end)
                    && self.arena.len() < u32::MAX as usize / 2 =>
            {
                slot as usize
            }
            _ => {
                address_prefix(out, addr);
                frame_text(out, f, names);
                out.push(b'\n');
                return;
            }
        };
        if let Some(c) = self.lines.get(slot).filter(|c| c.len != u32::MAX) {
            // A kernel frame of another raw address than the line's.
            let line = &self.arena[c.start as usize..(c.start + c.len) as usize];
            address_prefix(out, addr);
            out.extend_from_slice(&line[ADDRESS_PREFIX..]);
            return;
        }
        let start = self.arena.len();
        address_prefix(&mut self.arena, addr);
        frame_text(&mut self.arena, f, names);
        self.arena.push(b'\n');
        let len = self.arena.len() - start;
        if self.lines.len() <= slot {
            let empty = CachedLine {
                start: 0,
                len: u32::MAX,
                ip: 0,
                relative: false,
            };
            self.lines.resize(slot + 1, empty);
        }
        self.lines[slot] = CachedLine {
            start: start as u32,
            len: len as u32,
            ip: f.ip,
            relative: f.dso.is_some() && !kernel,
        };
        out.extend_from_slice(&self.arena[start..]);
    }
}

/// `\t<addr> `, the start of a callchain line (`%16lx`).
fn address_prefix(out: &mut Vec<u8>, addr: u64) {
    out.push(b'\t');
    fmt::hex_padded(out, addr, 16);
    out.push(b' ');
}

/// Appends the whole text of one sample to `out`.
pub fn render_sample(out: &mut Vec<u8>, texts: &mut FrameTexts, s: &SampleView, names: &Names) {
    let formats = names.formats;
    let ev = &formats.events[s.event];
    header_line(out, ev, formats.name_width, &s.header, &mut texts.header);
    if let Some(trace) = s.trace {
        out.extend_from_slice(trace);
    }
    texts.memory.before_ip(out, &ev.memory, &s.memory);
    if ev.ip {
        if ev.callchain {
            out.push(b'\n');
            for f in s.frames {
                texts.append_line(out, f, names);
            }
        } else {
            ip_suffix(out, s, names);
        }
    }
    MemoryColumns::after_ip(out, &ev.memory, &s.memory);
    out.push(b'\n');
}
