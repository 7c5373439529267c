//! CFI rows read with gimli: whether an FDE covers an address (libunwind
//! falls back to its own heuristics when none does), whether framehop can
//! take the row, and the full evaluation of the rows it cannot take — DWARF
//! expressions, as in PLT stubs (`DW_CFA_def_cfa_expression`) and signal
//! trampolines (`DW_CFA_expression` for every register), which libunwind
//! evaluates.

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, EhFrameOffset, Evaluation, EvaluationResult,
    LittleEndian, Location, RegisterRule, UnwindContext, UnwindSection, UnwindTableRow, Value,
};

use super::file::{HdrTable, UnwindFile};

type R<'a> = gimli::EndianSlice<'a, LittleEndian>;
type Fde<'a> = gimli::FrameDescriptionEntry<R<'a>>;

/// Decoding and searching [`HdrTable`] as gimli's `EhHdrTable` searches
/// the section, which decodes a dozen entries and parses the header again
/// for every lookup.
impl HdrTable {
    /// The table of a `.eh_frame_hdr`, or `None` where gimli's search would
    /// not take it as a whole (no table, an encoding it does not search,
    /// an indirect or unreadable entry): lookups then go to gimli.
    fn decode(hdr: &[u8], bases: &BaseAddresses) -> Option<HdrTable> {
        let parsed = EhFrameHdr::new(hdr, LittleEndian).parse(bases, 8).ok()?;
        let table = parsed.table()?;
        let eh_frame = parsed.eh_frame_ptr().direct().ok()?;
        let mut entries = Vec::new();
        let mut iter = table.iter(bases);
        while let Some((initial, fde)) = iter.next().ok()? {
            entries.push((initial.direct().ok()?, fde.direct().ok()?));
        }
        // gimli's lookup searches fixed-size entries only (it fails for
        // every address otherwise): such a table stays with gimli.
        if !entries.is_empty() && table.lookup(0, bases).is_err() {
            return None;
        }
        Some(HdrTable { entries, eh_frame })
    }

    /// The `.eh_frame` offset of the FDE that gimli's `EhHdrTable::lookup`
    /// picks for `address` (same halving, so the same entry even in a table
    /// out of order); the caller checks that the FDE covers it.
    fn fde_offset(&self, address: u64) -> Option<usize> {
        let (mut at, mut len) = (0, self.entries.len());
        while len > 1 {
            let mid = at + len / 2;
            match self.entries[mid].0.cmp(&address) {
                std::cmp::Ordering::Equal => {
                    at = mid;
                    break;
                }
                std::cmp::Ordering::Less => {
                    at = mid;
                    len -= len / 2;
                }
                std::cmp::Ordering::Greater => len /= 2,
            }
        }
        let (_, fde) = *self.entries.get(at)?;
        usize::try_from(fde.checked_sub(self.eh_frame)?).ok()
    }
}

/// How the CFI treats an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No FDE covers it.
    NoFde,
    /// CFA from the stack or frame pointer, registers saved at CFA offsets:
    /// framehop's rules give libunwind's result. `saved` holds the rule of
    /// each of [`ArchRegs::saved`]: [`SAME`], [`UNDEFINED`], or the CFA
    /// offset / 8 where it is saved.
    Simple { saved: [i8; MAX_SAVED] },
    /// Anything else (expressions, other CFA registers): evaluated here.
    Complex,
    /// A signal trampoline (its CIE has the `S` augmentation): evaluated
    /// here, and libunwind then treats the caller as interrupted, not
    /// called (its address is not decremented, nor looked up minus one).
    Signal,
}

/// A register after one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Undefined,
    Same,
    Value(u64),
    /// Its saved location could not be read (libunwind fails only when the
    /// value is needed).
    Unreadable,
}

/// Registers the evaluation asks about.
pub struct ArchRegs {
    pub sp: u16,
    pub fp: u16,
    pub ra: u16,
    /// Other callee-saved registers whose saved values are tracked (at most
    /// [`MAX_SAVED`]).
    pub saved: &'static [u16],
}

pub const MAX_SAVED: usize = 6;
/// A tracked register keeps its value.
pub const SAME: i8 = 0;
/// A tracked register becomes unknown.
pub const UNDEFINED: i8 = i8::MAX;

impl UnwindFile {
    pub(super) fn bases(&self) -> BaseAddresses {
        let mut bases = BaseAddresses::default();
        if let Some(hdr) = &self.eh_frame_hdr {
            bases = bases.set_eh_frame_hdr(hdr.svma.start);
        }
        if let Some(eh) = &self.eh_frame {
            bases = bases.set_eh_frame(eh.svma.start);
        }
        if let Some(text) = &self.text {
            bases = bases.set_text(text.start);
        }
        bases
    }

    /// The `.eh_frame` FDE covering `svma`, found through the
    /// `.eh_frame_hdr` table (libunwind's `dwarf_search_unwind_table`), with
    /// its section and bases; `None` without those sections or FDE.
    pub(super) fn eh_frame_fde(
        &self,
        svma: u64,
    ) -> Option<(EhFrame<R<'_>>, BaseAddresses, Fde<'_>)> {
        let (Some(hdr), Some(eh)) = (&self.eh_frame_hdr, &self.eh_frame) else {
            return None;
        };
        let bases = self.bases();
        let eh = EhFrame::new(&eh.bytes, LittleEndian);
        let table = self
            .hdr_table
            .get_or_init(|| HdrTable::decode(&hdr.bytes, &bases));
        let fde = match table {
            Some(table) => {
                let offset = table.fde_offset(svma)?;
                let fde = eh
                    .fde_from_offset(&bases, EhFrameOffset(offset), EhFrame::cie_from_offset)
                    .ok()?;
                fde.contains(svma).then_some(fde)?
            }
            None => EhFrameHdr::new(&hdr.bytes, LittleEndian)
                .parse(&bases, 8)
                .ok()?
                .table()?
                .fde_for_address(&eh, &bases, svma, EhFrame::cie_from_offset)
                .ok()?,
        };
        Some((eh, bases, fde))
    }

    /// The CFI row of `svma` as libunwind uses it, from `.eh_frame` through
    /// `.eh_frame_hdr`; `None` when no FDE covers it.
    pub fn row(&self, svma: u64, regs: &ArchRegs) -> Option<Row> {
        let (eh, bases, fde) = self.eh_frame_fde(svma)?;
        let mut ctx = UnwindContext::new();
        let row = fde
            .unwind_info_for_address(&eh, &bases, &mut ctx, svma)
            .ok()?;
        Some(Row {
            kind: classify(row, fde.cie().is_signal_trampoline(), regs),
            cfa: row.cfa().clone(),
            rules: row
                .registers()
                .map(|(r, rule)| (r.0, rule.clone()))
                .collect(),
        })
    }

    /// Evaluates `row` (of this file) with the current register values
    /// (`reg`, `None` when unknown) and memory (`read`): the CFA, and in
    /// `out` the rule result for each register of `wanted`.
    pub fn evaluate(
        &self,
        row: &Row,
        reg: &dyn Fn(u16) -> Option<u64>,
        read: &dyn Fn(u64) -> Option<u64>,
        wanted: &[u16],
        out: &mut [Rule],
    ) -> Option<u64> {
        let eh = EhFrame::new(&self.eh_frame.as_ref()?.bytes, LittleEndian);
        let cfa = match &row.cfa {
            CfaRule::RegisterAndOffset { register, offset } => {
                reg(register.0)?.wrapping_add(*offset as u64)
            }
            CfaRule::Expression(e) => eval(e.get(&eh).ok()?, None, reg, read)?,
        };
        for (i, &r) in wanted.iter().enumerate() {
            out[i] = match row.rule(r) {
                RegisterRule::Undefined => Rule::Undefined,
                RegisterRule::SameValue => Rule::Same,
                RegisterRule::Offset(o) => {
                    read(cfa.wrapping_add(o as u64)).map_or(Rule::Unreadable, Rule::Value)
                }
                RegisterRule::ValOffset(o) => Rule::Value(cfa.wrapping_add(o as u64)),
                RegisterRule::Register(other) => reg(other.0).map_or(Rule::Unreadable, Rule::Value),
                RegisterRule::Expression(e) => match eval(e.get(&eh).ok()?, Some(cfa), reg, read) {
                    Some(address) => read(address).map_or(Rule::Unreadable, Rule::Value),
                    None => Rule::Unreadable,
                },
                RegisterRule::ValExpression(e) => eval(e.get(&eh).ok()?, Some(cfa), reg, read)
                    .map_or(Rule::Unreadable, Rule::Value),
                RegisterRule::Constant(v) => Rule::Value(v),
                _ => Rule::Unreadable,
            };
        }
        Some(cfa)
    }
}

/// One CFI row, read once per (DSO, address) and kept.
pub struct Row {
    pub kind: Kind,
    cfa: CfaRule<usize>,
    rules: Box<[(u16, RegisterRule<usize>)]>,
}

impl Row {
    /// The CFA rule.
    pub fn cfa_rule(&self) -> &CfaRule<usize> {
        &self.cfa
    }

    /// A register's rule as the row states it, `None` where it says
    /// nothing (gimli's `UnwindTableRow::register`).
    pub fn stated_rule(&self, r: u16) -> Option<&RegisterRule<usize>> {
        self.rules
            .iter()
            .find(|(reg, _)| *reg == r)
            .map(|(_, rule)| rule)
    }

    /// A register's rule; registers the CFI does not mention keep their
    /// value (libunwind starts every column as "same value").
    fn rule(&self, r: u16) -> RegisterRule<usize> {
        self.rules
            .iter()
            .find(|(reg, _)| *reg == r)
            .map_or(RegisterRule::SameValue, |(_, rule)| rule.clone())
    }
}

/// Whether framehop's rules give libunwind's result for `row`.
fn classify(row: &UnwindTableRow<usize>, signal: bool, regs: &ArchRegs) -> Kind {
    if signal {
        return Kind::Signal;
    }
    let cfa_simple = matches!(row.cfa(), CfaRule::RegisterAndOffset { register, .. }
        if register.0 == regs.sp || register.0 == regs.fp);
    let plain = |r: RegisterRule<usize>| {
        matches!(
            r,
            RegisterRule::Undefined | RegisterRule::SameValue | RegisterRule::Offset(_)
        )
    };
    let regs_simple = plain(rule(row, regs.fp))
        && plain(rule(row, regs.ra))
        && matches!(
            rule(row, regs.sp),
            RegisterRule::Undefined | RegisterRule::SameValue
        );
    let mut saved = [SAME; MAX_SAVED];
    for (slot, &r) in saved.iter_mut().zip(regs.saved) {
        *slot = match rule(row, r) {
            RegisterRule::SameValue => SAME,
            RegisterRule::Undefined => UNDEFINED,
            RegisterRule::Offset(o) if o % 8 == 0 && (-1016..0).contains(&o) => (o / 8) as i8,
            _ => return Kind::Complex,
        };
    }
    if cfa_simple && regs_simple {
        Kind::Simple { saved }
    } else {
        Kind::Complex
    }
}

/// A register's rule; registers the CFI does not mention keep their value
/// (libunwind starts every column as "same value").
fn rule(row: &UnwindTableRow<usize>, r: u16) -> RegisterRule<usize> {
    row.register(gimli::Register(r))
        .unwrap_or(RegisterRule::SameValue)
}

/// Bound on the steps of one expression (hostile CFI must not hang).
const MAX_EVAL_STEPS: usize = 256;

/// Expression evaluation without heap storage (libunwind's CFI
/// expressions are short: a few stack entries, one result).
struct OnStack;

impl<'a> gimli::EvaluationStorage<R<'a>> for OnStack {
    type Stack = [Value; 64];
    type ExpressionStack = [(R<'a>, R<'a>); 4];
    type Result = [gimli::Piece<R<'a>>; 1];
}

/// The address an expression computes (its single memory location).
fn eval(
    expr: gimli::Expression<R<'_>>,
    initial: Option<u64>,
    reg: &dyn Fn(u16) -> Option<u64>,
    read: &dyn Fn(u64) -> Option<u64>,
) -> Option<u64> {
    let encoding = gimli::Encoding {
        address_size: 8,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut ev: Evaluation<R<'_>, OnStack> = Evaluation::new_in(expr.0, encoding);
    if let Some(v) = initial {
        ev.set_initial_value(v);
    }
    let mut result = ev.evaluate().ok()?;
    for _ in 0..MAX_EVAL_STEPS {
        result = match result {
            EvaluationResult::Complete => {
                return match ev.as_result().first()?.location {
                    Location::Address { address } => Some(address),
                    _ => None,
                };
            }
            EvaluationResult::RequiresRegister { register, .. } => ev
                .resume_with_register(Value::Generic(reg(register.0)?))
                .ok()?,
            EvaluationResult::RequiresMemory { address, .. } => {
                ev.resume_with_memory(Value::Generic(read(address)?)).ok()?
            }
            _ => return None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoded table finds the same FDE as gimli's search of the
    /// section, at every 7th address of the text (and around it) of this
    /// test binary and of libc.
    #[test]
    fn decoded_table_finds_what_gimli_finds() {
        let exe = std::env::current_exe().unwrap();
        let libc = std::path::Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        for path in [exe.as_path(), libc].into_iter().filter(|p| p.exists()) {
            let file = UnwindFile::load(path, &[]).unwrap();
            let (Some(hdr), Some(eh)) = (&file.eh_frame_hdr, &file.eh_frame) else {
                continue;
            };
            let bases = file.bases();
            let table = HdrTable::decode(&hdr.bytes, &bases).expect("a decodable table");
            assert!(table.entries.len() > 100, "{}", path.display());
            let eh = EhFrame::new(&eh.bytes, LittleEndian);
            let parsed = EhFrameHdr::new(&hdr.bytes, LittleEndian).parse(&bases, 8).unwrap();
            let text = file.text.clone().unwrap();
            let mut found = 0;
            for svma in (text.start.saturating_sub(64)..text.end + 64).step_by(7) {
                let by_gimli = parsed
                    .table()
                    .unwrap()
                    .fde_for_address(&eh, &bases, svma, EhFrame::cie_from_offset)
                    .ok()
                    .map(|f| f.offset());
                let ours = file.eh_frame_fde(svma).map(|(_, _, f)| f.offset());
                assert_eq!(ours, by_gimli, "{} at {svma:#x}", path.display());
                found += usize::from(ours.is_some());
            }
            assert!(found > 1000, "{}: {found}", path.display());
        }
    }
}
