//! The fwkit manifest: one small text file that lists every member of a
//! package fwkit built, with size, mode and SHA-256 (see
//! `formats/fwkit-manifest.md`). Signing its bytes signs the whole set: a
//! missing, extra or changed member is detected.
//!
//! ```text
//! fwkit-manifest 1
//! name expander-fw
//! version 2.10
//! created 1700000000
//! file 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 4 0644 PUF21000.bin
//! ```

use crate::model::MemberName;
use std::fmt::Write as _;

/// The manifest's member name, at the top of every package fwkit builds.
pub const MANIFEST_NAME: &str = "FWKIT-MANIFEST";
/// Its detached minisign signature, next to it.
pub const SIGNATURE_NAME: &str = "FWKIT-MANIFEST.minisig";
/// The first line.
const MAGIC: &str = "fwkit-manifest 1";

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path inside the package.
    pub path: MemberName,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (`0o777` mask).
    pub mode: u32,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// A parsed or to-be-written fwkit manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FwkitManifest {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Creation time, seconds since the epoch (`SOURCE_DATE_EPOCH` or 0 for
    /// reproducible builds).
    pub created: u64,
    /// For self-extracting packages: the command the stub runs after
    /// extraction. Signing it lets verify prove the stub is fwkit's own.
    pub run: Option<String>,
    /// What the package flashes (`provides <GUID>`): signed applicability
    /// read by `fwkit plan`.
    pub provides: Vec<String>,
    /// What must hold first (`requires <compare> <version> [<GUID>]`):
    /// the device's own version, or another device's with a GUID.
    pub requires: Vec<String>,
    /// Files, sorted by path.
    pub files: Vec<FileEntry>,
}

fn clean(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

impl FwkitManifest {
    /// The manifest's bytes. Files are written sorted by path.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        if !clean(&self.name) || !clean(&self.version) || !self.run.as_deref().is_none_or(clean) {
            return Err("name and version must not contain control characters".to_owned());
        }
        let mut files: Vec<&FileEntry> = self.files.iter().collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut out = String::new();
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "name {}", self.name);
        let _ = writeln!(out, "version {}", self.version);
        let _ = writeln!(out, "created {}", self.created);
        if let Some(run) = &self.run {
            let _ = writeln!(out, "run {run}");
        }
        for p in &self.provides {
            check_provides(p)?;
            let _ = writeln!(out, "provides {p}");
        }
        for r in &self.requires {
            check_requires(r)?;
            let _ = writeln!(out, "requires {r}");
        }
        for f in files {
            let _ = writeln!(
                out,
                "file {} {} {:04o} {}",
                f.sha256,
                f.size,
                f.mode & 0o777,
                f.path
            );
        }
        Ok(out.into_bytes())
    }

    /// Parse manifest bytes strictly: every line must be understood.
    pub fn parse(bytes: &[u8]) -> Result<FwkitManifest, String> {
        Self::parse_with_lines(bytes).map(|(manifest, _)| manifest)
    }

    /// [`FwkitManifest::parse`], and the 1-based line of each entry of
    /// `files` (after `run`, `provides` and `requires` lines, so no fixed
    /// offset gives it).
    pub fn parse_with_lines(bytes: &[u8]) -> Result<(FwkitManifest, Vec<usize>), String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        let mut lines = text.split('\n').enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => return Err(format!("first line is not '{MAGIC}'")),
        }
        let mut manifest = FwkitManifest::default();
        let (mut name, mut version, mut created, mut run) = (None, None, None, None);
        let mut seen = std::collections::HashSet::new();
        let mut file_lines = Vec::new();
        for (i, line) in lines {
            let line_no = i.saturating_add(1);
            if line.is_empty() {
                continue;
            }
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let once = |slot: &mut Option<String>, value: &str| {
                if slot.replace(value.to_owned()).is_some() {
                    Err(format!("line {line_no}: '{key}' given twice"))
                } else {
                    Ok(())
                }
            };
            match key {
                "name" => once(&mut name, rest)?,
                "version" => once(&mut version, rest)?,
                "created" => once(&mut created, rest)?,
                "run" => once(&mut run, rest)?,
                "provides" => {
                    check_provides(rest).map_err(|e| format!("line {line_no}: {e}"))?;
                    manifest.provides.push(rest.to_owned());
                }
                "requires" => {
                    check_requires(rest).map_err(|e| format!("line {line_no}: {e}"))?;
                    manifest.requires.push(rest.to_owned());
                }
                "file" => {
                    let entry = parse_file(rest).map_err(|e| format!("line {line_no}: {e}"))?;
                    if !seen.insert(entry.path.clone()) {
                        return Err(format!("line {line_no}: {} listed twice", entry.path));
                    }
                    // One manifest, one byte sequence: file lines are in path order.
                    if manifest
                        .files
                        .last()
                        .is_some_and(|last| last.path > entry.path)
                    {
                        return Err(format!("line {line_no}: {} is out of order", entry.path));
                    }
                    manifest.files.push(entry);
                    file_lines.push(line_no);
                }
                other => return Err(format!("line {line_no}: unknown key '{other}'")),
            }
        }
        manifest.run = run;
        manifest.name = name.ok_or("no 'name' line")?;
        manifest.version = version.ok_or("no 'version' line")?;
        manifest.created = created
            .ok_or("no 'created' line")?
            .parse()
            .map_err(|_| "'created' is not a number".to_owned())?;
        Ok((manifest, file_lines))
    }
}

/// The comparisons a `requires` line may use (fwupd's names).
const COMPARES: [&str; 8] = ["eq", "ne", "lt", "le", "gt", "ge", "glob", "regex"];

/// A `provides` value: one token, at most 128 bytes, no control characters.
fn check_provides(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 128 || value.contains(' ') || !clean(value) {
        return Err(format!(
            "provides '{value}' is not one word of at most 128 printable bytes"
        ));
    }
    Ok(())
}

/// A `requires` value: `<compare> <version> [<device>]`.
fn check_requires(value: &str) -> Result<(), String> {
    let words: Vec<&str> = value.split(' ').collect();
    let well_formed = matches!(words.len(), 2 | 3)
        && words.first().is_some_and(|c| COMPARES.contains(c))
        && words.iter().all(|w| !w.is_empty() && w.len() <= 256)
        && clean(value);
    if !well_formed {
        return Err(format!(
            "requires '{value}' is not '<{}> <version> [<device GUID>]'",
            COMPARES.join("|")
        ));
    }
    Ok(())
}

fn parse_file(rest: &str) -> Result<FileEntry, String> {
    let mut parts = rest.splitn(4, ' ');
    let (Some(sha), Some(size), Some(mode), Some(path)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected 'file <sha256> <size> <mode> <path>'".to_owned());
    };
    if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err("sha256 is not 64 lower-case hex digits".to_owned());
    }
    let size = size
        .parse()
        .map_err(|_| format!("size '{size}' is not a number"))?;
    let mode = u32::from_str_radix(mode, 8)
        .ok()
        .filter(|m| *m <= 0o777 && mode.len() <= 4)
        .ok_or_else(|| format!("mode '{mode}' is not octal permission bits"))?;
    let listed = path;
    let path = MemberName::parse(listed.as_bytes()).map_err(|e| format!("path '{listed}': {e}"))?;
    if path.as_str() != listed {
        return Err(format!("path '{listed}' is not in normal form ('{path}')"));
    }
    Ok(FileEntry {
        path,
        size,
        mode,
        sha256: sha.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FwkitManifest {
        FwkitManifest {
            name: "expander fw".to_owned(),
            version: "2.10".to_owned(),
            created: 0,
            run: None,
            provides: Vec::new(),
            requires: Vec::new(),
            files: vec![
                FileEntry {
                    path: MemberName::parse(b"sub/b.bin").unwrap(),
                    size: 3,
                    mode: 0o755,
                    sha256: "b".repeat(64),
                },
                FileEntry {
                    path: MemberName::parse(b"a file.bin").unwrap(),
                    size: 4,
                    mode: 0o644,
                    sha256: "a".repeat(64),
                },
            ],
        }
    }

    #[test]
    fn round_trip_sorted() {
        let bytes = sample().to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("fwkit-manifest 1\nname expander fw\n"));
        assert!(text.find("a file.bin").unwrap() < text.find("sub/b.bin").unwrap());
        let parsed = FwkitManifest::parse(&bytes).unwrap();
        assert_eq!(parsed.files.len(), 2);
        assert_eq!(parsed.files[0].path.as_str(), "a file.bin");
        assert_eq!(parsed.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn strict_parsing() {
        let good = String::from_utf8(sample().to_bytes().unwrap()).unwrap();
        assert!(FwkitManifest::parse(
            good.replace("fwkit-manifest 1", "fwkit-manifest 2")
                .as_bytes()
        )
        .is_err());
        assert!(FwkitManifest::parse(format!("{good}extra line\n").as_bytes()).is_err());
        assert!(FwkitManifest::parse(format!("{good}name again\n").as_bytes()).is_err());
        let dup = good.lines().last().unwrap();
        assert!(FwkitManifest::parse(format!("{good}{dup}\n").as_bytes()).is_err());
        assert!(FwkitManifest::parse(good.replace("sub/b.bin", "../b.bin").as_bytes()).is_err());
        assert!(FwkitManifest::parse(good.replace(" 0755 ", " 4755 ").as_bytes()).is_err());
        let mut lines: Vec<&str> = good.lines().collect();
        let n = lines.len();
        lines.swap(n - 1, n - 2);
        assert!(FwkitManifest::parse(format!("{}\n", lines.join("\n")).as_bytes()).is_err());
    }

    #[test]
    fn provides_and_requires_round_trip_and_are_checked() {
        let mut m = sample();
        m.provides = vec!["2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59".to_owned()];
        m.requires = vec![
            "ge E.02.26".to_owned(),
            "ge 1.4 0a1b2c3d-0000-4000-8000-000000000001".to_owned(),
        ];
        let bytes = m.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("\nprovides 2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59\nrequires ge E.02.26\n")
        );
        let parsed = FwkitManifest::parse(&bytes).unwrap();
        assert_eq!(
            (&parsed.provides, &parsed.requires),
            (&m.provides, &m.requires)
        );
        assert_eq!(parsed.to_bytes().unwrap(), bytes);
        // An old manifest (no such lines) still parses, to no provides.
        let old = FwkitManifest::parse(&sample().to_bytes().unwrap()).unwrap();
        assert!(old.provides.is_empty() && old.requires.is_empty());
        for bad in [
            "requires ge",
            "requires newer 1.2",
            "requires ge 1 2 3",
            "provides a b",
            "provides ",
        ] {
            let doc = text.replacen("requires ge E.02.26", bad, 1);
            assert!(FwkitManifest::parse(doc.as_bytes()).is_err(), "{bad}");
        }
        m.requires = vec!["about 1.2".to_owned()];
        assert!(m.to_bytes().is_err());
    }
}
