//! `--verbose`: at the end of a run, per DSO, how many frames got no symbol
//! and every place perf's search order looked for that DSO's symbols, so a
//! user learns what to install (a debug package, a build-id cache entry).

use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use crate::frames::{Frame, SymbolTable};
use crate::mappings::{DsoId, DsoKind, Machine};
use crate::objfile::locate::Outcome;

/// Frame counts per DSO (and for addresses in no map).
#[derive(Default)]
pub struct SymbolReport {
    /// (frames, frames without a symbol) per DSO.
    by_dso: FxHashMap<DsoId, (u64, u64)>,
    unmapped: u64,
    samples_with_unknown: u64,
}

impl SymbolReport {
    /// Counts the frames one sample printed.
    pub fn add(&mut self, frames: &[Frame]) {
        let mut any_unknown = false;
        for f in frames {
            match f.dso {
                Some(d) => {
                    let e = self.by_dso.entry(d).or_default();
                    e.0 += 1;
                    if f.sym.is_none() {
                        e.1 += 1;
                        any_unknown = true;
                    }
                }
                None => {
                    self.unmapped += 1;
                    any_unknown = true;
                }
            }
        }
        self.samples_with_unknown += u64::from(any_unknown);
    }

    /// The report, one line per DSO and one per place searched.
    pub fn render(&self, machine: &Machine, symbols: &SymbolTable) -> String {
        let mut rows: Vec<_> = self.by_dso.iter().filter(|(_, c)| c.1 > 0).collect();
        rows.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0 .0.cmp(&b.0 .0)));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "perfold: {} with frames without a symbol; by DSO:",
            plural(self.samples_with_unknown, "sample")
        );
        if rows.is_empty() && self.unmapped == 0 {
            out.clear();
            out.push_str("perfold: every frame has a symbol\n");
            return out;
        }
        for (&dso, &(frames, unknown)) in rows {
            let d = machine.dsos.get(dso);
            let name = String::from_utf8_lossy(&d.name);
            let _ = writeln!(
                out,
                "  {name}: {unknown} of {} without a symbol",
                plural(frames, "frame")
            );
            match d.kind {
                DsoKind::Kernel => match symbols.symbolizer.kernel_build_id_note() {
                    Some(note) => {
                        let _ = writeln!(out, "    build-id mismatch: {note}");
                    }
                    None => {
                        let _ = writeln!(
                                out,
                                "    kernel symbols come from --kallsyms, or /proc/kallsyms when no --symfs is given"
                            );
                    }
                },
                DsoKind::Module => {
                    let _ = writeln!(
                        out,
                        "    kernel module symbols are not read (see docs/parity.md)"
                    );
                }
                DsoKind::NoFile => {
                    let _ = writeln!(out, "    memory without a file: no symbols to find");
                }
                DsoKind::File => {
                    let Some((trail, build_id)) = symbols.search_trail(dso) else {
                        continue;
                    };
                    if let Some(bid) = build_id {
                        let hex: String = bid.iter().map(|b| format!("{b:02x}")).collect();
                        let _ = writeln!(out, "    recorded build-id {hex}");
                    }
                    if trail.is_empty() {
                        let _ = writeln!(out, "    (a JIT map or an image perf reads in full)");
                    }
                    for place in trail {
                        let what = match place.outcome {
                            Outcome::Missing => "not there",
                            Outcome::NotElf => "not a readable ELF file",
                            Outcome::BuildIdMismatch => {
                                "build-id mismatch: another build of this file, not used"
                            }
                            Outcome::NoSymbolTable => "no symbol table",
                            Outcome::Used { symtab: true } => "used (.symtab)",
                            Outcome::Used { symtab: false } => {
                                "used (.dynsym only: no full symbol table)"
                            }
                        };
                        let _ = writeln!(out, "    {}: {what}", place.path.display());
                    }
                }
            }
        }
        if self.unmapped > 0 {
            let _ = writeln!(
                out,
                "  [unknown]: {} at addresses no recorded mapping covers",
                plural(self.unmapped, "frame")
            );
        }
        out
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
