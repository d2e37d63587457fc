//! Checksum manifests found inside packages and upgrade sets: `SHA256SUMS`,
//! `SHA512SUMS`, `SHA1SUMS`, `MD5SUMS`, `CHECKSUM`, and `*.md5`, `*.sha1`,
//! `*.sha256`, `*.sha512` files (see `formats/set.md`).
//!
//! Two line formats are read: coreutils (`<hex>  <name>` or `<hex> *<name>`,
//! with `\`-escaped names) and BSD (`SHA256 (<name>) = <hex>`). A one-line
//! `X.md5` holding only a digest covers `X`.

use super::parallel::in_parallel;
use crate::model::{Algorithm, MemberName};
use std::borrow::Cow;
use std::collections::HashSet;

/// The default manifest size limit, as `usize`; also the most bytes of the
/// FWKIT-MANIFEST `fwkit resign` reads.
pub(crate) const MAX_MANIFEST: usize = crate::model::DEFAULT_MAX_MANIFEST as usize;

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The path as listed, resolved against the manifest's directory;
    /// `Err` with the listed text when it escapes.
    pub path: Result<MemberName, String>,
    pub algorithm: Algorithm,
    /// Lower-case hex.
    pub digest: String,
    pub line: usize,
    /// Size and permission bits, when the manifest records them (fwkit manifests).
    pub size: Option<u64>,
    pub mode: Option<u32>,
}

/// A parsed manifest.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// The member or file it came from.
    pub source: MemberName,
    pub entries: Vec<Entry>,
    /// Lines that could not be read, with their numbers.
    pub bad_lines: Vec<(usize, String)>,
    /// The manifest lists every member (a fwkit manifest): extras fail.
    pub complete: bool,
}

impl Manifest {
    /// The member paths its entries list, for lookups.
    pub(crate) fn listed(&self) -> HashSet<&MemberName> {
        self.entries
            .iter()
            .filter_map(|e| e.path.as_ref().ok())
            .collect()
    }

    /// The manifest itself or one of its signature files
    /// (`<manifest>.minisig`, `<manifest>.sig`), which it cannot list.
    pub(crate) fn is_own_file(&self, path: &MemberName) -> bool {
        let source = self.source.as_str();
        match path.as_str().strip_prefix(source) {
            Some(rest) => matches!(rest, "" | ".minisig" | ".sig"),
            None => false,
        }
    }
}

/// The algorithm a manifest's file name implies, `None` when the name is not
/// a manifest name. `Some(None)` means "from each digest's length" (`CHECKSUM`).
pub(crate) fn manifest_kind(name: &MemberName) -> Option<Option<Algorithm>> {
    // Asked of every member: compared without allocating a folded copy.
    let file = name.file_name();
    if name.as_str() == super::fwkit_manifest::MANIFEST_NAME {
        return Some(Some(Algorithm::Sha256));
    }
    let named = [
        ("SHA256SUMS", Some(Algorithm::Sha256)),
        ("SHA512SUMS", Some(Algorithm::Sha512)),
        ("SHA1SUMS", Some(Algorithm::Sha1)),
        ("MD5SUMS", Some(Algorithm::Md5)),
        ("CHECKSUM", None),
        ("CHECKSUMS", None),
    ];
    if let Some((_, algorithm)) = named.iter().find(|(n, _)| file.eq_ignore_ascii_case(n)) {
        return Some(*algorithm);
    }
    let (_, ext) = file.rsplit_once('.')?;
    let by_ext = [
        ("md5", Algorithm::Md5),
        ("sha1", Algorithm::Sha1),
        ("sha256", Algorithm::Sha256),
        ("sha512", Algorithm::Sha512),
    ];
    by_ext
        .iter()
        .find(|(e, _)| ext.eq_ignore_ascii_case(e))
        .map(|(_, algorithm)| Some(*algorithm))
}

fn algorithm_for_len(len: usize) -> Option<Algorithm> {
    match len {
        32 => Some(Algorithm::Md5),
        40 => Some(Algorithm::Sha1),
        64 => Some(Algorithm::Sha256),
        128 => Some(Algorithm::Sha512),
        _ => None,
    }
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parse a manifest member of at most `max` bytes. `None` when the name is
/// not a manifest name.
pub(crate) fn parse(source: &MemberName, bytes: &[u8], max: u64) -> Option<Manifest> {
    let named = manifest_kind(source)?;
    let mut manifest = Manifest {
        source: source.clone(),
        entries: Vec::new(),
        bad_lines: Vec::new(),
        complete: false,
    };
    if bytes.len() as u64 > max {
        manifest.bad_lines.push((
            0,
            format!(
                "more than {max} bytes, the manifest size limit (raise it with --max-manifest); not read, so nothing it lists is checked"
            ),
        ));
        return Some(manifest);
    }
    if source.as_str() == super::fwkit_manifest::MANIFEST_NAME {
        manifest.complete = true;
        match super::fwkit_manifest::FwkitManifest::parse_with_lines(bytes) {
            Ok((parsed, lines)) => {
                manifest.entries = parsed
                    .files
                    .into_iter()
                    .zip(lines)
                    .map(|(f, line)| Entry {
                        path: Ok(f.path),
                        algorithm: Algorithm::Sha256,
                        digest: f.sha256,
                        line,
                        size: Some(f.size),
                        mode: Some(f.mode),
                    })
                    .collect();
            }
            Err(why) => manifest.bad_lines.push((0, why)),
        }
        return Some(manifest);
    }
    let text = String::from_utf8_lossy(bytes);
    let dir = source.parent();
    let lines = Lines {
        source,
        named,
        dir: dir.as_ref(),
    };
    // A 50,000-line SHA256SUMS is parsed in runs of whole lines, one per core.
    let runs = line_runs(&text, RUN_BYTES);
    for (entries, bad_lines) in in_parallel(&runs, 1, |&(first, run)| lines.parse(first, run))
        .into_iter()
        .flatten()
    {
        manifest.entries.extend(entries);
        manifest.bad_lines.extend(bad_lines);
    }
    Some(manifest)
}

/// Bytes of manifest text per run of lines parsed on a thread of its own.
const RUN_BYTES: usize = 1 << 20;

/// `text` cut after a newline into runs of about `size` bytes or more,
/// each with the number of its first line.
fn line_runs(text: &str, size: usize) -> Vec<(usize, &str)> {
    let mut runs = Vec::new();
    let (mut rest, mut line) = (text, 1usize);
    while !rest.is_empty() {
        let cut = rest
            .as_bytes()
            .get(size..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
            .map_or(rest.len(), |at| size.saturating_add(at).saturating_add(1));
        // After a newline (ASCII) or at the end: a character boundary.
        let Some((run, tail)) = rest.split_at_checked(cut) else {
            runs.push((line, rest));
            break;
        };
        runs.push((line, run));
        line = line.saturating_add(run.bytes().filter(|&b| b == b'\n').count());
        rest = tail;
    }
    runs
}

/// What every line of one manifest is read against.
struct Lines<'a> {
    source: &'a MemberName,
    named: Option<Algorithm>,
    dir: Option<&'a MemberName>,
}

impl Lines<'_> {
    /// The entries and unreadable lines of `run`, whose first line is `first`.
    #[allow(clippy::type_complexity)]
    fn parse(&self, first: usize, run: &str) -> (Vec<Entry>, Vec<(usize, String)>) {
        let (mut entries, mut bad_lines) = (Vec::new(), Vec::new());
        for (i, raw) in run.lines().enumerate() {
            let line_no = first.saturating_add(i);
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((algorithm, digest, listed)) = parse_line(line, self.named) else {
                bad_lines.push((line_no, line.chars().take(80).collect()));
                continue;
            };
            let listed = match listed {
                Some(listed) => listed,
                // A bare digest in `X.md5` covers `X`.
                None => match self.source.file_name().rsplit_once('.') {
                    Some((stem, _)) if !stem.is_empty() => Cow::Borrowed(stem),
                    _ => {
                        bad_lines.push((line_no, "digest without a file name".to_owned()));
                        continue;
                    }
                },
            };
            entries.push(Entry {
                path: resolve(self.dir, &listed),
                algorithm,
                digest,
                line: line_no,
                size: None,
                mode: None,
            });
        }
        (entries, bad_lines)
    }
}

/// One line: (algorithm, hex digest, listed name or `None` for a bare digest).
fn parse_line(
    line: &str,
    named: Option<Algorithm>,
) -> Option<(Algorithm, String, Option<Cow<'_, str>>)> {
    // The two forms never both match: a coreutils line starts with a hex
    // digest, a BSD line with a tag that is not hex. The common one first.
    coreutils_line(line, named).or_else(|| bsd_line(line))
}

/// BSD: `SHA256 (name) = hex`.
fn bsd_line(line: &str) -> Option<(Algorithm, String, Option<Cow<'_, str>>)> {
    let (tag, rest) = line.split_once(" (")?;
    let (name, hex) = rest.rsplit_once(") = ")?;
    let algorithm = match tag.trim().to_ascii_uppercase().as_str() {
        "MD5" => Algorithm::Md5,
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        _ => return None,
    };
    let hex = hex.trim();
    (is_hex(hex) && algorithm_for_len(hex.len()) == Some(algorithm)).then(|| {
        (
            algorithm,
            hex.to_ascii_lowercase(),
            Some(Cow::Borrowed(name)),
        )
    })
}

/// coreutils: `hex  name` or `hex *name`; an optional leading `\` marks an
/// escaped name.
fn coreutils_line(
    line: &str,
    named: Option<Algorithm>,
) -> Option<(Algorithm, String, Option<Cow<'_, str>>)> {
    let (escaped, body) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hex, rest) = match body.split_once([' ', '\t']) {
        Some((hex, rest)) => (hex, Some(rest)),
        None => (body.trim(), None),
    };
    if !is_hex(hex) {
        return None;
    }
    let by_len = algorithm_for_len(hex.len())?;
    let algorithm = match named {
        Some(named) if named != by_len => return None,
        _ => by_len,
    };
    let name = match rest {
        None => None,
        Some(rest) => {
            // `hex  name` (text mode) or `hex *name` (binary mode); a single
            // separator space is also seen in hand-written files.
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let rest = rest.strip_prefix('*').unwrap_or(rest);
            if rest.is_empty() {
                return None;
            }
            Some(if escaped {
                Cow::Owned(unescape(rest)?)
            } else {
                Cow::Borrowed(rest)
            })
        }
    };
    Some((algorithm, hex.to_ascii_lowercase(), name))
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Resolve a listed path against the manifest's directory; refuse escapes.
fn resolve(dir: Option<&MemberName>, listed: &str) -> Result<MemberName, String> {
    let joined = match dir {
        Some(dir) if !listed.starts_with('/') => Cow::Owned(format!("{dir}/{listed}")),
        _ => Cow::Borrowed(listed),
    };
    // Most listed paths are plain already: a name that parses as it stands
    // has no empty, `.` or `..` part to resolve (nor `/`, `\` or NUL).
    if let Ok(name) = MemberName::parse(joined.as_bytes()) {
        return Ok(name);
    }
    // `..` inside the set is allowed as long as the result stays inside.
    let mut parts: Vec<&str> = Vec::new();
    if joined.starts_with('/') || joined.contains('\\') || joined.contains('\0') {
        return Err(listed.to_owned());
    }
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(listed.to_owned());
                }
            }
            other => parts.push(other),
        }
    }
    MemberName::parse(parts.join("/").as_bytes()).map_err(|_| listed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MemberName {
        MemberName::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn a_manifest_parsed_in_runs_keeps_every_line_and_its_number() {
        let sha = "b".repeat(64);
        let bad = 25_000;
        let text: String = (1..=30_000)
            .map(|n| match n {
                n if n == bad => "not a line\r\n".to_owned(),
                n => format!("{sha}  ./d/{n}.bin\n"),
            })
            .collect();
        assert!(text.len() > 2 * RUN_BYTES, "more than one run");
        let m = parse(&name("SHA256SUMS"), text.as_bytes(), u64::MAX).unwrap();
        assert_eq!(m.bad_lines, vec![(bad, "not a line".to_owned())]);
        assert_eq!(m.entries.len(), 29_999);
        for e in &m.entries {
            let listed = format!("d/{}.bin", e.line);
            assert_eq!(e.path.as_ref().map(MemberName::as_str), Ok(listed.as_str()));
        }
        let runs = line_runs(&text, RUN_BYTES);
        assert!(runs.len() >= 2);
        assert_eq!(runs.iter().map(|(_, r)| r.len()).sum::<usize>(), text.len());
    }

    #[test]
    fn coreutils_and_bsd_lines() {
        let sha = "a".repeat(64);
        let text = format!(
            "{sha}  a.bin\n{sha} *sub/b.bin\nSHA256 (c d.bin) = {sha}\n\\{sha}  back\\\\slash\nnot a line\n"
        );
        let m = parse(&name("fw/SHA256SUMS"), text.as_bytes(), MAX_MANIFEST as u64).unwrap();
        let paths: Vec<_> = m.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths[0], Ok(name("fw/a.bin")));
        assert_eq!(paths[1], Ok(name("fw/sub/b.bin")));
        assert_eq!(paths[2], Ok(name("fw/c d.bin")));
        assert_eq!(m.entries.len(), 4);
        assert_eq!(m.bad_lines.len(), 1);
    }

    #[test]
    fn every_manifest_kind_is_capped_in_size() {
        let big = vec![b'#'; 4097];
        for manifest_name in ["SHA256SUMS", "fw.bin.md5", "FWKIT-MANIFEST"] {
            let m = parse(&name(manifest_name), &big, 4096).unwrap();
            assert!(m.entries.is_empty() && !m.complete, "{manifest_name}");
            assert_eq!(m.bad_lines.len(), 1, "{manifest_name}");
            assert!(m.bad_lines[0].1.starts_with("more than 4096 bytes"));
            assert!(m.bad_lines[0].1.contains("--max-manifest"));
        }
    }

    #[test]
    fn bare_digest_covers_the_stem() {
        let md5 = "0123456789abcdef0123456789ABCDEF";
        let m = parse(
            &name("SP_FW_1.0.bin.md5"),
            md5.as_bytes(),
            MAX_MANIFEST as u64,
        )
        .unwrap();
        assert_eq!(m.entries[0].path, Ok(name("SP_FW_1.0.bin")));
        assert_eq!(m.entries[0].algorithm, Algorithm::Md5);
        assert_eq!(m.entries[0].digest, md5.to_ascii_lowercase());
    }

    #[test]
    fn escapes_and_wrong_lengths_are_refused() {
        let sha = "b".repeat(64);
        let m = parse(
            &name("SHA256SUMS"),
            format!("{sha}  ../../etc/passwd\n").as_bytes(),
            MAX_MANIFEST as u64,
        )
        .unwrap();
        assert!(m.entries[0].path.is_err());
        let m = parse(
            &name("SHA256SUMS"),
            format!("{}  x\n", "c".repeat(32)).as_bytes(),
            MAX_MANIFEST as u64,
        )
        .unwrap();
        assert!(m.entries.is_empty(), "an md5 in SHA256SUMS is a bad line");
        assert!(parse(&name("README"), b"x", MAX_MANIFEST as u64).is_none());
        let m = parse(
            &name("CHECKSUM"),
            format!("{}  x\n", "d".repeat(40)).as_bytes(),
            MAX_MANIFEST as u64,
        )
        .unwrap();
        assert_eq!(m.entries[0].algorithm, Algorithm::Sha1);
    }
}
