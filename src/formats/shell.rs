//! Reading shell stubs as text, never as programs.
//!
//! Shared by makeself, HP `.scexe` and Dell `.BIN`: top-level literal
//! assignments, line offsets, marker lines.

use crate::detect::lines;

/// A top-level `NAME=value` line of a shell stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub name: String,
    pub value: String,
    /// Whether the value was in double or single quotes.
    pub quoted: bool,
    /// 1-based line number of the assignment.
    pub line: usize,
}

/// Every assignment that starts in column 0, in file order. Quoted values may
/// span lines. Nothing is expanded: `$(cmd)` stays text.
pub(crate) fn assignments(text: &[u8]) -> Vec<Assignment> {
    let mut out = Vec::new();
    let mut all = lines(text).enumerate();
    while let Some((index, line)) = all.next() {
        let line_no = index.saturating_add(1);
        let mut parts = line.splitn(2, |&b| b == b'=');
        let (Some(name), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        let valid_name = name
            .first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
            && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if !valid_name {
            continue;
        }
        let (value, quoted) = match rest {
            [q @ (b'"' | b'\''), after_quote @ ..] => {
                let q = *q;
                let mut value = Vec::new();
                let mut current = after_quote;
                loop {
                    if let Some(end) = closing_quote(current, q) {
                        value
                            .extend_from_slice(&unquote(current.get(..end).unwrap_or_default(), q));
                        break;
                    }
                    value.extend_from_slice(&unquote(current, q));
                    // The value goes on on the next line; give up at end of text.
                    match all.next() {
                        Some((_, next)) => {
                            value.push(b'\n');
                            current = next;
                        }
                        None => break,
                    }
                }
                (value, true)
            }
            _ => {
                let word = rest
                    .split(|b| matches!(b, b' ' | b'\t' | b';'))
                    .next()
                    .unwrap_or_default();
                (word.to_vec(), false)
            }
        };
        out.push(Assignment {
            name: String::from_utf8_lossy(name).into_owned(),
            value: String::from_utf8_lossy(&value).into_owned(),
            quoted,
            line: line_no,
        });
    }
    out
}

/// Index of the quote that closes a value: in double quotes a backslash
/// escapes the next byte (`\"` does not close), in single quotes nothing does.
fn closing_quote(text: &[u8], quote: u8) -> Option<usize> {
    let mut bytes = text.iter().enumerate();
    while let Some((i, &b)) = bytes.next() {
        if b == b'\\' && quote == b'"' {
            bytes.next();
        } else if b == quote {
            return Some(i);
        }
    }
    None
}

/// Remove the backslashes that escape `"`, `\`, `$` and `` ` `` in double quotes.
fn unquote(text: &[u8], quote: u8) -> Vec<u8> {
    if quote != b'"' {
        return text.to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().peekable();
    while let Some(&b) = bytes.next() {
        match (b, bytes.peek()) {
            (b'\\', Some(&&next @ (b'"' | b'\\' | b'$' | b'`'))) => {
                out.push(next);
                bytes.next();
            }
            _ => out.push(b),
        }
    }
    out
}

/// The first assignment of `name`.
pub(crate) fn first<'a>(assignments: &'a [Assignment], name: &str) -> Option<&'a Assignment> {
    assignments.iter().find(|a| a.name == name)
}

/// Byte offset just after the `n`-th newline of `data`; `Some(0)` for `n == 0`.
pub(crate) fn offset_after_lines(data: &[u8], n: u64) -> Option<u64> {
    if n == 0 {
        return Some(0);
    }
    let mut seen = 0u64;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            seen = seen.saturating_add(1); // at most `data.len()`
            if seen == n {
                return u64::try_from(i).ok()?.checked_add(1);
            }
        }
    }
    None
}

/// 1-based line numbers and end offsets (just after the `\n`) of the lines that
/// equal `marker` exactly (a trailing `\r` is allowed).
pub(crate) fn marker_lines(text: &[u8], marker: &[u8]) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    // Offsets within `text` (at most one past its end): they never saturate.
    let mut start = 0usize;
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let end = start.saturating_add(line.len());
        let bare = line.strip_suffix(b"\r").unwrap_or(line);
        // Only lines that really end with a newline count.
        if bare == marker && end < text.len() {
            out.push((number.saturating_add(1), end.saturating_add(1) as u64));
        }
        start = end.saturating_add(1);
    }
    out
}

/// Find every literal number that follows `prefix` and precedes `suffix`
/// (e.g. `head -n 714 "$0"`). Used for stubs that bake offsets into commands.
pub(crate) fn literal_numbers(text: &[u8], prefix: &[u8], suffixes: &[&[u8]]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = find(rest, prefix) {
        // Just after the prefix found at `pos`.
        let Some(tail) = rest.get(pos..).and_then(|r| r.get(prefix.len()..)) else {
            break;
        };
        let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        let Some((number, after)) = tail.split_at_checked(digits) else {
            break;
        };
        if digits > 0 && digits <= 19 && suffixes.iter().any(|s| after.starts_with(s)) {
            if let Some(n) = std::str::from_utf8(number)
                .ok()
                .and_then(|s| s.parse().ok())
            {
                out.push(n);
            }
        }
        rest = tail;
    }
    out
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_literal() {
        let text = b"#!/bin/sh\nlabel=\"x $(touch /tmp/x)\"\nlicensetxt=\"say \\\"yes\\\"\nskip=\\\"5\\\"\"\n  keep=y\nskip=142\nMD5=abc; echo\n";
        let a = assignments(text);
        assert_eq!(first(&a, "label").unwrap().value, "x $(touch /tmp/x)");
        assert_eq!(
            first(&a, "licensetxt").unwrap().value,
            "say \"yes\"\nskip=\"5\""
        );
        assert!(
            first(&a, "keep").is_none(),
            "indented lines are not top level"
        );
        let skip = first(&a, "skip").unwrap();
        assert_eq!(
            (skip.value.as_str(), skip.quoted, skip.line),
            ("142", false, 6)
        );
        assert_eq!(first(&a, "MD5").unwrap().value, "abc");
    }

    #[test]
    fn offsets_and_markers() {
        let data = b"a\nbb\nccc\nrest";
        assert_eq!(offset_after_lines(data, 0), Some(0));
        assert_eq!(offset_after_lines(data, 2), Some(5));
        assert_eq!(offset_after_lines(data, 4), None);
        let text = b"x\n#####M#####\r\n  #####M#####\n#####M#####";
        assert_eq!(marker_lines(text, b"#####M#####"), vec![(2, 15)]);
        let nums = literal_numbers(
            b"head -n 714 \"$0\" | x; head -n 9 $0",
            b"head -n ",
            &[b" \"$0\""],
        );
        assert_eq!(nums, vec![714]);
    }
}
