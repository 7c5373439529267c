//! perf's `/tmp/perf-<pid>.map` JIT symbol files (`dso__load_perf_map`):
//! `<hex start> <hex size> <name>` lines, inserted as given — no end
//! fix-ups, no alias removal, no demangling.

use super::rbtree::SymTree;
use super::symtab::to_name;
use crate::objfile::elf::STB_GLOBAL;
use std::path::Path;

/// perf's `strtoull(s, &end, 16)` of a perf-map field.
fn strtoull_hex(s: &[u8]) -> (u64, usize) {
    crate::cnum::strtoull_end(s, 16)
}

/// Parses perf-map text into a symbol tree (`None` if unreadable).
pub fn parse_perf_map(data: &[u8]) -> SymTree {
    let mut tree = SymTree::new();
    for raw in data.split_inclusive(|&c| c == b'\n') {
        // `line[--line_len] = '\0'` drops the last byte, newline or not.
        let line = &raw[..raw.len() - 1];
        let line = match line.iter().position(|&c| c == 0) {
            Some(n) => &line[..n],
            None => line,
        };
        let line_len = raw.len() - 1;
        let (start, n) = strtoull_hex(line);
        let mut len = n + 1;
        if len + 2 >= line_len {
            continue;
        }
        let (size, n) = strtoull_hex(line.get(len..).unwrap_or(b""));
        len += n + 1;
        if len + 2 >= line_len {
            continue;
        }
        let name = line.get(len..).unwrap_or(b"");
        tree.insert(start, size, STB_GLOBAL, to_name(name));
    }
    tree
}

pub fn load_perf_map(path: &Path) -> Option<SymTree> {
    let data = std::fs::read(path).ok()?;
    Some(parse_perf_map(&data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_map_lines() {
        let t = parse_perf_map(b"7f00 10 jit_a\n0x7f10 0x20 LFoo;bar\nbad\n7f40 8 last");
        let v: Vec<_> = t
            .in_order()
            .into_iter()
            .map(|i| {
                (
                    t.node(i).sym.start,
                    t.node(i).sym.end,
                    t.node(i).sym.name.to_string(),
                )
            })
            .collect();
        assert_eq!(
            v,
            vec![
                (0x7f00, 0x7f10, "jit_a".into()),
                (0x7f10, 0x7f30, "LFoo;bar".into()),
                (0x7f40, 0x7f48, "las".into()),
            ]
        );
        assert_eq!(strtoull_hex(b"  -1 x"), (u64::MAX, 4));
        assert_eq!(strtoull_hex(b"zz"), (0, 0));
    }
}
