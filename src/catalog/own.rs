//! fwkit's own catalogue (`fwkit pack --format catalog DIR`): a JSON index
//! of every file in a tree (path, size, SHA-256, format, version), signed
//! with minisign beside it (`CATALOG.minisig`), so a team publishes its own
//! mirror the way a vendor does. `fwkit verify --catalog CATALOG DIR --key`
//! reads it with the same checks as a Dell catalogue.

use super::dell::{Component, DellComponent, Expect};
use crate::error::{Error, Result, Setting};
use crate::input::{walk_sorted, Step};
use crate::model::VendorInfo;
use crate::package::Package;
use crate::verify::{hex, VerifyOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::Path;

/// The document: `{"fwkit-catalog": 1, "entries": [...]}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Index {
    /// The layout version, 1.
    #[serde(rename = "fwkit-catalog")]
    pub version: u32,
    /// One entry per file, in path order.
    pub entries: Vec<IndexEntry>,
}

/// One file of the tree.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
    /// The package format fwkit detected, if it is one.
    pub format: Option<String>,
    /// The version the package states about itself, when it states one.
    pub version: Option<String>,
}

/// Index every regular file below `dir` (links and special files refused).
pub fn index(dir: &Path) -> Result<Index> {
    let mut entries = Vec::new();
    let mut failure = None;
    walk_sorted(dir, |found| {
        if found.meta.is_dir() {
            return Ok(Step::Descend);
        }
        if !found.meta.is_file() {
            failure = Some(invalid(format!(
                "{}: not a regular file (a catalogue lists files only)",
                found.path.display()
            )));
            return Ok(Step::Stop);
        }
        entries.push(entry(&found.path, found.rel)?);
        Ok(Step::Next)
    })?;
    match failure {
        Some(err) => Err(err),
        None => Ok(Index {
            version: 1,
            entries,
        }),
    }
}

fn entry(path: &Path, rel: String) -> Result<IndexEntry> {
    // One handle for the digest and the format: what the index says of a
    // path is about one file, even if the path is replaced meanwhile.
    let file = std::sync::Arc::new(std::fs::File::open(path).map_err(|e| Error::read(path, e))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = crate::input::ReadAt::read_at(&*file, &mut buf, size)
            .map_err(|e| Error::read(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size = size.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    let report =
        Package::from_source(path, file).and_then(|p| p.inspect(&VerifyOptions::default()));
    let (format, version) = match report {
        Ok(report) => (
            Some(report.format.name().to_owned()),
            report
                .vendor
                .iter()
                .find_map(VendorInfo::release_version)
                .map(str::to_owned),
        ),
        Err(_) => (None, None),
    };
    Ok(IndexEntry {
        path: rel,
        size,
        sha256: hex(&hasher.finalize()),
        format,
        version,
    })
}

/// The entries of a catalogue `text` fwkit wrote, as components, in order.
/// (fwkit's own catalogue is JSON and parsed whole: its text is held once.)
pub fn components(text: &str) -> Result<Vec<Component>> {
    let index: Index =
        serde_json::from_str(text).map_err(|e| invalid(format!("not an fwkit catalogue: {e}")))?;
    if index.version != 1 {
        return Err(invalid(format!(
            "fwkit catalogue layout {} (this fwkit reads 1)",
            index.version
        )));
    }
    Ok(index
        .entries
        .into_iter()
        .map(|entry| {
            let expect = if entry.format.is_some() {
                Expect::Package
            } else {
                Expect::PlainFile
            };
            let facts = DellComponent {
                sha256: Some(entry.sha256),
                size: Some(entry.size.to_string()),
                vendor_version: entry.version,
                package_type: entry.format,
                ..DellComponent::default()
            };
            Component {
                path: entry.path,
                facts,
                expect,
            }
        })
        .collect())
}

fn invalid(reason: String) -> Error {
    Error::Invalid {
        setting: Setting::Catalog,
        reason,
    }
}
