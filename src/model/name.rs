//! Member names: validated, relative, normalised paths.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Longest member name fwkit accepts, in bytes.
pub const MAX_NAME_LEN: usize = 4096;

/// A member path that is safe to create below a target directory.
///
/// It is relative, has no `..`, `.` or empty components, no NUL, no
/// backslash and no drive prefix, on every host. Leading `./` is removed
/// (makeself archives name their entries `./file`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MemberName(String);

/// Why a raw member name is not a [`MemberName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NameError {
    /// Empty after removing `./` prefixes (the archive root itself).
    #[error("empty name")]
    Empty,
    /// Starts with `/`.
    #[error("absolute path")]
    Absolute,
    /// Has a `..` component.
    #[error("parent directory component '..'")]
    ParentDir,
    /// Contains a NUL byte.
    #[error("NUL byte in name")]
    Nul,
    /// Contains a backslash, which is a separator on Windows.
    #[error("backslash in name")]
    Backslash,
    /// Starts with a drive prefix such as `C:`.
    #[error("drive prefix")]
    Drive,
    /// Not valid UTF-8.
    #[error("name is not UTF-8")]
    NotUtf8,
    /// Longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN).
    #[error("name longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    /// A control character (newline, escape…) that would garble reports.
    #[error("control character in name")]
    Control,
}

impl MemberName {
    /// Validate a raw name from an archive header.
    pub fn parse(raw: &[u8]) -> Result<MemberName, NameError> {
        if raw.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        if raw.contains(&0) {
            return Err(NameError::Nul);
        }
        let text = std::str::from_utf8(raw).map_err(|_| NameError::NotUtf8)?;
        if text.contains('\\') {
            return Err(NameError::Backslash);
        }
        if text.chars().any(char::is_control) {
            return Err(NameError::Control);
        }
        if text.starts_with('/') {
            return Err(NameError::Absolute);
        }
        // Leading `./` (makeself, manifests) dropped before the walk below.
        let mut text = text;
        while let Some(rest) = text.strip_prefix("./") {
            text = rest;
        }
        // Already normal (no empty or `.` component): kept as it is, without
        // collecting and joining its parts (every member name of every
        // package comes through here).
        let mut normal = true;
        let mut any = false;
        for part in text.split('/') {
            // A drive prefix is refused in every component, not only the first:
            // `./C:x` normalises to `C:x`, and on Windows pushing a `C:`
            // component anywhere replaces the path built so far.
            let bytes = part.as_bytes();
            if matches!(bytes, [drive, b':', ..] if drive.is_ascii_alphabetic()) {
                return Err(NameError::Drive);
            }
            match part {
                "" | "." => normal = false,
                ".." => return Err(NameError::ParentDir),
                _ => any = true,
            }
        }
        if !any {
            return Err(NameError::Empty);
        }
        Ok(MemberName(match normal {
            true => text.to_owned(),
            false => text
                .split('/')
                .filter(|part| !matches!(*part, "" | "."))
                .collect::<Vec<_>>()
                .join("/"),
        }))
    }

    /// The name as a `/`-separated string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of path components.
    pub fn depth(&self) -> usize {
        self.0.split('/').count()
    }

    /// The parent name, if the member is not at the top level.
    pub fn parent(&self) -> Option<MemberName> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| MemberName(parent.to_owned()))
    }

    /// Every proper ancestor, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> impl Iterator<Item = MemberName> + '_ {
        self.ancestor_strs().map(|a| MemberName(a.to_owned()))
    }

    /// The proper ancestors whose text `keep` accepts, outermost first;
    /// only those are allocated.
    pub(crate) fn ancestors_where<'a>(
        &'a self,
        keep: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = MemberName> + 'a {
        self.ancestor_strs()
            .filter(move |a| keep(a))
            .map(|a| MemberName(a.to_owned()))
    }

    /// Every proper ancestor as a slice of this name, outermost first.
    pub(crate) fn ancestor_strs(&self) -> impl Iterator<Item = &str> + '_ {
        self.0
            .match_indices('/')
            .filter_map(|(i, _)| self.0.get(..i))
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The path below `root` this member occupies.
    pub fn to_path(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        for part in self.0.split('/') {
            path.push(part);
        }
        path
    }

    /// Resolve a symlink target written in this member's directory, lexically.
    /// `None` when the target is absolute or climbs above the root.
    pub(crate) fn resolve_link(&self, target: &str) -> Option<Vec<String>> {
        if target.starts_with('/') || target.contains('\\') || target.contains('\0') {
            return None;
        }
        let mut parts: Vec<String> = self
            .parent()
            .map(|p| p.0.split('/').map(str::to_owned).collect())
            .unwrap_or_default();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                other => parts.push(other.to_owned()),
            }
        }
        Some(parts)
    }
}

/// A name is looked up by its text (`HashMap<MemberName, _>::get(&str)`):
/// the derived `Hash` and `Eq` are the `String`'s, so they agree.
impl std::borrow::Borrow<str> for MemberName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_dot_prefixes() {
        let name = MemberName::parse(b"./sub//file.bin").unwrap();
        assert_eq!(name.as_str(), "sub/file.bin");
        assert_eq!(name.depth(), 2);
        assert_eq!(name.parent().unwrap().as_str(), "sub");
        assert_eq!(name.file_name(), "file.bin");
    }

    #[test]
    fn refuses_unsafe_names() {
        assert_eq!(MemberName::parse(b"./"), Err(NameError::Empty));
        assert_eq!(MemberName::parse(b"/etc/passwd"), Err(NameError::Absolute));
        assert_eq!(MemberName::parse(b"a/../../x"), Err(NameError::ParentDir));
        assert_eq!(MemberName::parse(b"a\\..\\x"), Err(NameError::Backslash));
        assert_eq!(MemberName::parse(b"C:x"), Err(NameError::Drive));
        // Found by fuzzing: the prefix hid behind `./` and survived normalisation.
        assert_eq!(MemberName::parse(b"./C:x.n.././"), Err(NameError::Drive));
        assert_eq!(MemberName::parse(b"a/d:/x"), Err(NameError::Drive));
        assert_eq!(MemberName::parse(b"a\0b"), Err(NameError::Nul));
        assert_eq!(MemberName::parse(b"a\nb"), Err(NameError::Control));
        assert_eq!(MemberName::parse(&[0xff, 0xfe]), Err(NameError::NotUtf8));
        assert_eq!(
            MemberName::parse(&vec![b'a'; MAX_NAME_LEN + 1]),
            Err(NameError::TooLong)
        );
    }

    #[test]
    fn link_resolution_stays_lexical() {
        let link = MemberName::parse(b"a/b/link").unwrap();
        assert_eq!(link.resolve_link("../c").unwrap(), vec!["a", "c"]);
        assert_eq!(link.resolve_link("../../c").unwrap(), vec!["c"]);
        assert!(link.resolve_link("../../../c").is_none());
        assert!(link.resolve_link("/etc").is_none());
    }
}
