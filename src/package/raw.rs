//! Bare images (format `raw`): a file that is no recognised container,
//! verified as a whole. It opens as `raw` only when it has integrity data:
//! a detached signature beside it (opened by [`Package::open`]), or the
//! caller's SHA-256 ([`Package::open_raw`]). It is never unpacked.

use super::Package;
use crate::detect::{detect, FormatKind, HEAD_LEN};
use crate::error::{Error, Result};
use crate::formats::Layout;
use crate::input::{FileSystem, Input, Open};
use crate::sign;
use std::path::Path;
use std::sync::Arc;

/// Extensions of the detached signature files looked for beside a package.
pub(crate) const DETACHED: [&str; 4] = ["minisig", "sig", "sign", "asc"];

/// `Some(Raw)` when a detached signature file sits beside `path`.
pub(super) fn signed_image(path: &Path) -> Option<FormatKind> {
    (DETACHED
        .iter()
        .any(|ext| sign::detached_path(path, ext).is_file())
        || super::beside::present(path))
    .then_some(FormatKind::Raw)
}

impl Package {
    /// [`Package::open`], but a file whose content is no recognised
    /// container opens as a bare image (format `raw`) even without a
    /// detached signature: for a caller that checks it with its own
    /// SHA-256 (`VerifyOptions::sha256`). A raw package without any
    /// integrity data verifies as nothing; the CLI refuses it before.
    pub fn open_raw(path: impl AsRef<Path>) -> Result<Package> {
        let path = path.as_ref();
        if path.is_dir() {
            return Package::open(path);
        }
        let opener: Arc<dyn Open> = Arc::new(FileSystem);
        let input = Input::open(&*opener, path)?;
        let head = input
            .read_at(0, HEAD_LEN as u64)
            .map_err(|e| Error::read(path, e))?;
        if detect(&head).is_some() {
            // The handle already open, not the path again: what was looked
            // at is what is read.
            return Package::from_input(input, opener);
        }
        Ok(Package {
            size: input.len(),
            path: path.to_path_buf(),
            layout: Layout::new(FormatKind::Raw),
            input: Some(input),
            opener,
        })
    }
}

impl Package {
    /// The same bare image, its bytes read from `source` instead of its
    /// file (same headers, same detached signatures beside it): `fwkit
    /// exec` copies a raw image once into a sealed memfd and verifies that.
    pub(crate) fn reread(&self, source: Arc<dyn crate::input::ReadAt>) -> Result<Package> {
        Ok(Package {
            input: Some(Input::new(source, &self.path)?),
            size: self.size,
            path: self.path.clone(),
            layout: self.layout.clone(),
            opener: Arc::clone(&self.opener),
        })
    }

    /// Read `n` bytes of the package's file at `offset` (fewer at its end).
    pub(crate) fn read_bytes(&self, offset: u64, n: u64) -> Result<Vec<u8>> {
        match &self.input {
            Some(input) => input
                .read_at(offset, n)
                .map_err(|e| Error::read(&self.path, e)),
            None => Ok(Vec::new()),
        }
    }

    /// The size of the package's file in bytes.
    pub(crate) fn file_size(&self) -> u64 {
        self.size
    }
}
