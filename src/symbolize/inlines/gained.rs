//! The ranges a unit adds to the unit search once its line table and DIEs
//! are read (BFD adds every line sequence and function range to its unit
//! lookup trie): [`GainedRange`], the [`Cover`] check that keeps only those
//! reaching outside the unit's root ranges, and [`merge_by_low`], which
//! places them where BFD's one-by-one inserts do. Used by `unit.rs`.

/// A range a unit gained from its line table or DIEs.
#[derive(Clone, Copy)]
pub(super) struct GainedRange {
    pub(super) low: u64,
    pub(super) high: u64,
    pub(super) unit: u32,
}

/// Whether a range lies inside one of a unit's root ranges, answered by
/// binary search (a unit of a Rust or C++ program can have thousands of
/// root ranges, and every line sequence and function range is checked).
pub(super) struct Cover {
    /// The ranges by low end.
    by_low: Vec<(u64, u64)>,
    /// The highest high end up to each of them.
    max_high: Vec<u64>,
}

impl Cover {
    pub(super) fn of(ranges: &[(u64, u64)]) -> Cover {
        let mut by_low = ranges.to_vec();
        by_low.sort_unstable();
        let mut top = 0;
        let max_high = by_low
            .iter()
            .map(|&(_, b)| {
                top = top.max(b);
                top
            })
            .collect();
        Cover { by_low, max_high }
    }

    /// Some range [a, b) has a <= low and high <= b.
    pub(super) fn covers(&self, low: u64, high: u64) -> bool {
        let n = self.by_low.partition_point(|&(a, _)| a <= low);
        n > 0 && self.max_high[n - 1] >= high
    }
}

/// `old` and `new` (each sorted by low) as one list sorted by low, `old`'s
/// entries first among equal lows.
pub(super) fn merge_by_low(old: Vec<GainedRange>, new: Vec<GainedRange>) -> Vec<GainedRange> {
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        if x.low <= y.low {
            out.extend(a.next());
        } else {
            out.extend(b.next());
        }
    }
    out.extend(a);
    out.extend(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift).
    fn next(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn cover_answers_as_a_scan_of_the_ranges() {
        let mut x = 0x2545_f491_4f6c_dd1d;
        for n in 0..40 {
            let ranges: Vec<(u64, u64)> = (0..n)
                .map(|_| {
                    let a = next(&mut x) % 200;
                    (a, a + next(&mut x) % 50)
                })
                .collect();
            let cover = Cover::of(&ranges);
            for _ in 0..200 {
                let l = next(&mut x) % 260;
                let h = l + next(&mut x) % 60;
                let scan = ranges.iter().any(|&(a, b)| a <= l && h <= b);
                assert_eq!(cover.covers(l, h), scan, "[{l}, {h}) in {ranges:?}");
            }
        }
    }

    #[test]
    fn merged_ranges_are_where_one_by_one_inserts_put_them() {
        let mut x = 0x9e37_79b9_7f4a_7c15;
        let range = |x: &mut u64, unit: u32| GainedRange {
            low: next(x) % 16,
            high: 100,
            unit,
        };
        for _ in 0..200 {
            let mut old: Vec<GainedRange> = (0..next(&mut x) % 10).map(|_| range(&mut x, 0)).collect();
            old.sort_by_key(|e| e.low);
            let new: Vec<GainedRange> = (0..next(&mut x) % 10)
                .map(|i| range(&mut x, i as u32 + 1))
                .collect();
            let mut one_by_one = old.clone();
            for e in &new {
                let at = one_by_one.partition_point(|o| o.low <= e.low);
                one_by_one.insert(at, *e);
            }
            let mut sorted = new.clone();
            sorted.sort_by_key(|e| e.low);
            let merged = merge_by_low(old, sorted);
            let key = |v: &[GainedRange]| v.iter().map(|e| (e.low, e.unit)).collect::<Vec<_>>();
            assert_eq!(key(&merged), key(&one_by_one));
        }
    }
}
