//! The module graph follows the data flow (docs/architecture.md): a stage
//! module uses only modules of lower layers, and no two sibling files of a
//! folder use each other, directly or around a loop. Read from the sources,
//! so a new `use` against the flow fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Layers, lowest first: a module may use only modules of a lower layer.
/// The diagram in docs/architecture.md draws this table.
const LAYERS: &[&[&str]] = &[
    &["error", "cnum", "cache"],
    &[
        "reader",
        "objfile",
        "ordering",
        "traceevent",
        "script_options",
        "progress",
    ],
    &["mappings", "symbolize"],
    &["unwind", "hw"],
    &["frames"],
    &["writers", "report"],
    &["workers"],
    &["pipeline"],
    &["stacks"],
    &["cli"],
];

/// Modules every layer may use (the crate root's own items).
const EVERYWHERE: &[&str] = &["error", "cnum"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and string literals' contents, so
/// a doc line that mentions `crate::x` is not an edge.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment after every `PREFIX::` (`crate::a::b` -> `a`,
/// `crate::{a, b::c}` -> `a`, `b`).
fn first_segments(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let pat = format!("{prefix}::");
    let mut rest = code;
    while let Some(i) = rest.find(&pat) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + pat.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain(std::iter::once(',')) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            found.insert(name);
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a file belongs to (`src/unwind/cfi.rs` -> unwind).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_module_uses_one_of_a_higher_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut against = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let module = module_of(file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            unknown.insert(module);
            continue;
        };
        let code = code_of(&fs::read_to_string(file).unwrap());
        for used in first_segments(&code, "crate") {
            if used == module || EVERYWHERE.contains(&used.as_str()) {
                continue;
            }
            match layer_of(&used) {
                Some(l) if l < own => {}
                Some(_) => against.push(format!(
                    "{} uses crate::{used} (layer {}) from layer {own}",
                    file.strip_prefix(src()).unwrap().display(),
                    layer_of(&used).unwrap()
                )),
                None => {
                    unknown.insert(used);
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS (add them, and to docs/architecture.md): {unknown:?}"
    );
    assert!(
        against.is_empty(),
        "edges against the data flow:\n{}",
        against.join("\n")
    );
}

/// Sibling files of each folder (mod.rs aside, which declares them) as a
/// graph of `use super::x` / `crate::<folder path>::x` edges; no cycle.
#[test]
fn no_circle_between_sibling_files() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut folders: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        if file.file_name().unwrap() == "mod.rs" || file.parent().unwrap() == src() {
            continue;
        }
        folders
            .entry(file.parent().unwrap().to_path_buf())
            .or_default()
            .push(file);
    }
    let mut circles = Vec::new();
    for (folder, files) in &folders {
        let names: BTreeSet<String> = files
            .iter()
            .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let rel = folder.strip_prefix(src()).unwrap();
        let crate_path = format!(
            "crate::{}",
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("::")
        );
        // Items mod.rs re-exports from a sibling (`pub use inline::Lookup;`):
        // `super::Lookup` is an edge to that sibling.
        let mut reexported: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(mod_rs) = fs::read_to_string(folder.join("mod.rs")) {
            for line in code_of(&mod_rs).lines() {
                let Some(path) = line.trim().strip_prefix("pub use ") else {
                    continue;
                };
                let path = path.trim_end_matches(';');
                let Some((file, items)) = path.split_once("::") else {
                    continue;
                };
                if !names.contains(file) {
                    continue;
                }
                let items = items.trim_start_matches('{').trim_end_matches('}');
                for item in items.split(',') {
                    let last = item.trim().rsplit("::").next().unwrap_or("");
                    let last = last.split(" as ").last().unwrap_or("").trim();
                    if !last.is_empty() {
                        reexported.insert(last.to_string(), file.to_string());
                    }
                }
            }
        }
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let me = file.file_stem().unwrap().to_string_lossy().into_owned();
            let code = code_of(&fs::read_to_string(file).unwrap());
            let mut used = first_segments(&code, "super");
            used.extend(first_segments(&code, &crate_path));
            let out = edges.entry(me.clone()).or_default();
            for u in used {
                let target = match reexported.get(&u) {
                    Some(file) => file.clone(),
                    None => u,
                };
                if target != me && names.contains(&target) {
                    out.insert(target);
                }
            }
        }
        // Depth-first search for a cycle.
        fn visit(
            n: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            state: &mut BTreeMap<String, u8>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            match state.get(n) {
                Some(1) => {
                    let at = path.iter().position(|p| p == n).unwrap();
                    let mut cycle = path[at..].to_vec();
                    cycle.push(n.to_string());
                    return Some(cycle);
                }
                Some(_) => return None,
                None => {}
            }
            state.insert(n.to_string(), 1);
            path.push(n.to_string());
            for m in edges.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, edges, state, path) {
                    return Some(c);
                }
            }
            path.pop();
            state.insert(n.to_string(), 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in edges.keys() {
            if let Some(c) = visit(n, &edges, &mut state, &mut Vec::new()) {
                circles.push(format!("{}: {}", rel.display(), c.join(" -> ")));
                break;
            }
        }
    }
    assert!(
        circles.is_empty(),
        "circles between sibling files:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_paths() {
    let code = "use crate::{frames::Frame, mappings::{Machine, Thread}};\nuse crate::unwind::x;";
    let got: Vec<String> = first_segments(code, "crate").into_iter().collect();
    assert_eq!(got, ["frames", "mappings", "unwind"]);
    let code = "// use crate::nope;\nlet a = super::cfi::Row; notcrate::x";
    assert_eq!(first_segments(&code_of(code), "super").len(), 1);
    assert!(first_segments(&code_of(code), "crate").is_empty());
}
