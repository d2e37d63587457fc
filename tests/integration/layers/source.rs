//! The shape of src/, read as text: imports that run down the layers, files
//! and functions that stay small. Comments and literals are stripped first
//! ([`code_only`]), so neither can hide or fake an import or a brace.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file below src/: (path relative to src/, text), in name order.
fn sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).expect("read a source file");
                out.push((
                    path.strip_prefix(&src).expect("below src/").to_owned(),
                    text,
                ));
            }
        }
    }
    out.sort();
    out
}

/// `text` with each comment removed and each string or character literal
/// reduced to `""`, but for the newlines in them: lines and braces still
/// line up.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let end = match (c[i], at(i + 1)) {
            ('/', '/') => i + c[i..].iter().take_while(|&&ch| ch != '\n').count(),
            ('/', '*') => block_comment_end(&c, i),
            ('r', '"' | '#') if raw_string_at(&c, i) => raw_string_end(&c, i),
            ('"', _) => string_end(&c, i),
            ('\'', '\\') => char_end(&c, i),
            ('\'', _) if at(i + 2) == '\'' => i + 3,
            _ => {
                out.push(c[i]);
                i += 1;
                continue;
            }
        };
        let end = end.min(c.len());
        let newlines = c[i..end].iter().filter(|&&ch| ch == '\n');
        if c[i] == '/' {
            out.extend(newlines);
        } else {
            out.push('"');
            out.extend(newlines);
            out.push('"');
        }
        i = end;
    }
    out
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// The index after the `*/` that closes the (nested) block comment at `i`.
fn block_comment_end(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i + 1 < c.len() {
        match (c[i], c[i + 1]) {
            ('/', '*') => depth += 1,
            ('*', '/') => depth -= 1,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
        if depth == 0 {
            return i;
        }
    }
    c.len()
}

/// Whether the `r` at `i` starts a raw string (`r"…"`, `r#"…"#`, `br"…"`).
fn raw_string_at(c: &[char], i: usize) -> bool {
    let before = |k: usize| i >= k && is_ident(c[i - k]);
    let prefix_ok = !before(1) || (c[i - 1] == 'b' && !before(2));
    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
    prefix_ok && c.get(i + 1 + hashes) == Some(&'"')
}

fn raw_string_end(c: &[char], i: usize) -> usize {
    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
    let mut j = i + hashes + 2;
    while j < c.len() {
        if c[j] == '"'
            && c[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return j + 1 + hashes;
        }
        j += 1;
    }
    c.len()
}

fn string_end(c: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < c.len() && c[j] != '"' {
        j += if c[j] == '\\' { 2 } else { 1 };
    }
    j + 1
}

/// The end of an escaped character literal (`'\n'`, `'\u{1F600}'`).
fn char_end(c: &[char], i: usize) -> usize {
    let mut j = i + 3;
    while j < c.len() && c[j] != '\'' {
        j += 1;
    }
    j + 1
}

/// The top module a file of src/ belongs to: `formats/zip.rs` -> `formats`,
/// `package.rs` -> `package`, `lib.rs` -> `lib`.
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().expect("a file below src/");
    let first = first.as_os_str().to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_owned()
}

/// The identifier starting at `i`, if one does.
fn ident_at(c: &[char], i: usize) -> Option<String> {
    let word: String = c[i..].iter().take_while(|&&ch| is_ident(ch)).collect();
    (!word.is_empty()).then_some(word)
}

/// Index of the first non-whitespace character at or after `i`.
fn skip_space(c: &[char], mut i: usize) -> usize {
    while i < c.len() && c[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The first path segment after every `crate::` (and `$crate::`) in
/// `code`, with its line: `crate::a::b` names `a`, `crate::{a::x, b}` names
/// `a` and `b`.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let c: Vec<char> = code.chars().collect();
    let line_of = |i: usize| c[..i].iter().filter(|&&ch| ch == '\n').count() + 1;
    let mut out = Vec::new();
    for i in (0..c.len()).filter(|&i| c[i] == 'c') {
        let word_start = i == 0 || !is_ident(c[i - 1]);
        if !word_start || ident_at(&c, i).as_deref() != Some("crate") {
            continue;
        }
        let j = skip_space(&c, i + 5);
        if c.get(j..j + 2) != Some(&[':', ':']) {
            continue;
        }
        let j = skip_space(&c, j + 2);
        if c.get(j) != Some(&'{') {
            out.extend(ident_at(&c, j).map(|m| (line_of(i), m)));
            continue;
        }
        // A group: the first segment of each item at depth 1.
        let (mut depth, mut k, mut item_start) = (1, j + 1, true);
        while k < c.len() && depth > 0 {
            match c[k] {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 1 => item_start = true,
                ch if item_start && depth == 1 && is_ident(ch) => {
                    out.extend(ident_at(&c, k).map(|m| (line_of(k), m)));
                    item_start = false;
                }
                _ => {}
            }
            k += 1;
        }
    }
    out
}

/// The layers of src/, lowest first. A module may name only modules of
/// lower layers; within a layer, layer 1 allows none, the others no cycle.
const LAYERS: [&[&str]; 8] = [
    &["error", "model"],
    &["input", "detect", "sign", "extract"],
    &["trust", "verify"],
    &["pass"],
    &["formats"],
    &["package"],
    &["pack", "handoff", "plan", "catalog"],
    &["cli", "fuzzing", "lib", "main"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// What `lib.rs` re-exports at the crate root, by the module it comes from:
/// `pub use detect::{detect, FormatKind}` maps `detect` and `FormatKind` to
/// `detect`. Anything else named at the root is lib.rs's own.
fn root_items(lib: &str) -> BTreeMap<String, String> {
    let code = code_only(lib);
    let mut out = BTreeMap::new();
    for statement in code.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, tree)) = rest.split_once("::") else {
            continue;
        };
        let leaves = tree
            .split([',', '{', '}'])
            .filter_map(|item| {
                let item = item.trim();
                let leaf = item.rsplit_once(" as ").map_or(item, |(_, alias)| alias);
                let leaf = leaf.rsplit("::").next().unwrap_or(leaf).trim();
                (!leaf.is_empty() && leaf != "self").then(|| leaf.to_owned())
            })
            .collect::<Vec<_>>();
        let module = module.trim().trim_start_matches("crate::").to_owned();
        for leaf in leaves {
            out.insert(leaf, module.clone());
        }
        if !tree.contains(['{', ',']) {
            out.insert(tree.trim().to_owned(), module.clone());
        }
    }
    out
}

/// The layers of src/, read from the text of every file (ignoring comments
/// and literals): each `crate::<name>` in a `use` line or a path anywhere is
/// mapped to its top module (a root item re-exported by lib.rs to the module
/// it comes from, any other root item to `lib`), and no module may name a
/// module of a higher layer. Within a layer, the modules of layer 1
/// (`input`, `detect`, `sign`, `extract`) name none of each other; in the
/// others two modules may not name each other both ways. A module the table
/// does not place fails the test until it is placed.
#[test]
fn imports_run_down_the_layers() {
    let files = sources();
    let modules: HashSet<String> = files.iter().map(|(rel, _)| top_module(rel)).collect();
    let lib = files
        .iter()
        .find(|(rel, _)| rel == Path::new("lib.rs"))
        .map(|(_, text)| root_items(text))
        .unwrap_or_default();
    let resolve = |name: &str| {
        if modules.contains(name) {
            name.to_owned()
        } else {
            lib.get(name).cloned().unwrap_or_else(|| "lib".to_owned())
        }
    };
    // (file, line, from, to)
    let mut edges = Vec::new();
    for (rel, text) in &files {
        let from = top_module(rel);
        for (line, name) in crate_paths(&code_only(text)) {
            let to = resolve(&name);
            if to != from {
                edges.push((rel.display().to_string(), line, from.clone(), to));
            }
        }
    }
    let both_ways: HashSet<(&str, &str)> = edges
        .iter()
        .map(|(_, _, f, t)| (f.as_str(), t.as_str()))
        .collect();
    let mut unplaced: Vec<String> = modules
        .iter()
        .filter(|m| layer_of(m).is_none())
        .map(|m| format!("module `{m}` (src/{m}…) is in no layer: place it in LAYERS"))
        .collect();
    unplaced.sort();
    let mut offences = Vec::new();
    for (file, line, from, to) in &edges {
        let (Some(lf), Some(lt)) = (layer_of(from), layer_of(to)) else {
            continue;
        };
        let why = if lt > lf {
            format!("layer {lt} above {from}'s {lf}")
        } else if lt == lf && lf == 1 {
            "the same layer 1".to_owned()
        } else if lt == lf && both_ways.contains(&(to.as_str(), from.as_str())) {
            format!("{to} names {from} too")
        } else {
            continue;
        };
        let offence = format!("src/{file} names crate::{to} ({why}), first at line {line}");
        if !offences
            .iter()
            .any(|o: &String| o.starts_with(&format!("src/{file} names crate::{to} ")))
        {
            offences.push(offence);
        }
    }
    let all: Vec<String> = unplaced.into_iter().chain(offences).collect();
    assert!(
        all.is_empty(),
        "imports that do not run down the layers ({}):\n{}",
        all.len(),
        all.join("\n")
    );
}

/// The source reader sees through comments and literals, and finds each
/// `crate::` path, grouped or not, and each function's extent.
#[test]
fn source_reader_reads_code_only() {
    let text = r##"use crate::{a::X, b, c::{d, e}};
// use crate::commented;
/* block /* nested */ crate::blocked */
fn f() -> &'static str {
    let s = "crate::in_a_string {";
    let r = r#"crate::raw " {"#;
    let ch = '{';
    let esc = '\'';
    crate::g::call(s, r, ch, esc)
}
pub(crate) fn h<'a>(x: &'a str) -> &'a str { x }
fn declared();
"##;
    let code = code_only(text);
    assert_eq!(code.lines().count(), text.lines().count(), "{code}");
    let names: Vec<(usize, String)> = crate_paths(&code);
    let want = [(1, "a"), (1, "b"), (1, "c"), (9, "g")];
    let want: Vec<(usize, String)> = want.iter().map(|&(l, n)| (l, n.to_owned())).collect();
    assert_eq!(names, want, "{code}");
    let fns = functions(&code);
    assert_eq!(
        fns,
        [(4, "f".to_owned(), 7), (11, "h".to_owned(), 1)],
        "{code}"
    );
}

/// Lines a file may have, and lines a function may span.
const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

/// The line (0-based) where `code`'s test module starts, when the file ends
/// with one: `#[cfg(test)]` then `mod tests {`, whose closing brace is the
/// last code of the file.
fn trailing_test_module(code: &str) -> Option<usize> {
    let lines: Vec<&str> = code.lines().collect();
    let cfg = lines.iter().rposition(|l| l.trim() == "#[cfg(test)]")?;
    let module = (cfg + 1..lines.len()).find(|&i| !lines[i].trim_start().starts_with("#["))?;
    let item = lines[module].trim_start();
    let item = ["pub(crate) ", "pub(super) ", "pub "]
        .iter()
        .find_map(|v| item.strip_prefix(v))
        .unwrap_or(item);
    let opens = item.strip_prefix("mod tests")?;
    if opens.trim() != "{" {
        return None;
    }
    let start: usize = lines[..module].iter().map(|l| l.len() + 1).sum();
    let close = matching_brace(code, start + lines[module].find('{')?)?;
    code[close + 1..].trim().is_empty().then_some(cfg)
}

/// The byte index of the `}` matching the `{` at `open`.
fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, ch) in code[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Every function with a body in `code`: (first line, name, lines from the
/// `fn` line to its closing brace), lines 1-based.
fn functions(code: &str) -> Vec<(usize, String, usize)> {
    let line_at = |i: usize| code[..i].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let mut rest = line.trim_start();
        let qualifiers = ["pub(crate) ", "pub(super) ", "pub(self) ", "pub ", "const "];
        let qualifiers = [
            &qualifiers[..],
            &["async ", "unsafe ", "extern \"\" ", "default "],
        ];
        while let Some(q) = qualifiers
            .concat()
            .into_iter()
            .find(|q| rest.starts_with(q))
        {
            rest = &rest[q.len()..];
        }
        if let Some(after) = rest.strip_prefix("fn ") {
            let name: String = after.chars().take_while(|&ch| is_ident(ch)).collect();
            let at = offset + (line.len() - rest.len());
            let body = code[at..].find(['{', ';']).map(|i| at + i);
            if let Some(open) = body.filter(|&i| code[i..].starts_with('{')) {
                let close = matching_brace(code, open).unwrap_or(code.len() - 1);
                out.push((line_at(at), name, line_at(close) - line_at(at) + 1));
            }
        }
        offset += line.len();
    }
    out
}

/// src/ stays in pieces a reader can hold: no file over 600 lines and no
/// function over 80 (from its `fn` line to its closing brace), and no
/// `too_many_arguments` allowed anywhere. Test code is not counted against
/// a file: neither a `#[cfg(test)] mod tests { … }` block that ends the file
/// nor a `tests.rs` file such a module lives in (`#[cfg(test)] mod tests;`);
/// the function limit holds everywhere. Read as text, comments and literals
/// ignored; functions are matched brace to brace.
#[test]
fn source_files_and_functions_stay_small() {
    let mut offences = Vec::new();
    for (rel, text) in sources() {
        let code = code_only(&text);
        let file = format!("src/{}", rel.display());
        let is_test_file = rel.file_name().is_some_and(|n| n == "tests.rs");
        let counted = match trailing_test_module(&code) {
            _ if is_test_file => 0,
            Some(tests) => tests,
            None => text.lines().count(),
        };
        if counted > MAX_FILE_LINES {
            offences.push(format!(
                "{file}: {counted} lines (at most {MAX_FILE_LINES})"
            ));
        }
        for (line, name, lines) in functions(&code) {
            if lines > MAX_FN_LINES {
                offences.push(format!(
                    "{file}:{line}: fn {name} spans {lines} lines (at most {MAX_FN_LINES})"
                ));
            }
        }
        for (i, line) in code.lines().enumerate() {
            if line.contains("too_many_arguments") {
                offences.push(format!("{file}:{}: allows too_many_arguments", i + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "src/ has grown past its limits ({}):\n{}",
        offences.len(),
        offences.join("\n")
    );
}
