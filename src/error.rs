//! The one error type of the library.
//!
//! `Err` means "could not answer": the file could not be read, was not
//! recognised, or the destination could not be written. A package that was
//! read but failed a check is not an error; it is a [`Report`](crate::Report)
//! whose verdict says so.

use std::io;
use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why fwkit could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The package (or a file next to it) could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file being read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// No known format matches the first bytes of the file.
    #[error("{path}: not a recognised firmware package (first bytes: {head}); a bare image is verified (format raw) only with integrity data: --sha256, or a detached signature beside it (PKG.minisig, PKG.sig, PKG.sign or PKG.asc) checked with --key/--keyring")]
    Unrecognised {
        /// The file.
        path: PathBuf,
        /// Hex of the first bytes, for the user to compare with a magic table.
        head: String,
    },
    /// The format is recognised but fwkit does not read it yet.
    #[error("{path}: {format} packages are recognised but not supported yet")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Name of the recognised format.
        format: &'static str,
    },
    /// A bare image (format `raw`) has no members: there is nothing to unpack.
    #[error("{path}: a bare image (format raw) is not a container, so there is nothing to unpack; check it with `fwkit verify` and copy it as it is")]
    RawNotUnpacked {
        /// The file.
        path: PathBuf,
    },
    /// The unpack destination exists already; fwkit never overwrites.
    #[error("destination {path} already exists; fwkit never writes into an existing path")]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },
    /// Writing the unpacked tree failed.
    #[error("cannot write {path}")]
    Write {
        /// The path being written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A setting of the operation has a value fwkit cannot use.
    #[error("invalid {setting}: {reason}")]
    Invalid {
        /// Which setting.
        setting: Setting,
        /// What is wrong with it.
        reason: String,
    },
    /// A manifest given for a directory set is not named like one.
    #[error("{path} is not named like a manifest (SHA256SUMS, MD5SUMS, CHECKSUM, *.sha256, …)")]
    NotAManifest {
        /// The file.
        path: PathBuf,
    },
    /// Verification or safety checks failed, so unpack did not place anything.
    #[error("{path}: not unpacked: {reason}")]
    NotUnpacked {
        /// The package.
        path: PathBuf,
        /// The first failed check.
        reason: String,
    },
}

/// The setting an [`Error::Invalid`] is about: a field of the options of
/// `Package::unpack`, `Package::open_set` or `pack::pack`. A front end
/// names it in its own terms (the CLI as a flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// How many levels of nested packages to open.
    Recursive,
    /// The directory a set is read from.
    SetDirectory,
    /// The source directory of a package to pack.
    Source,
    /// The package's name or version.
    NameOrVersion,
    /// The output format.
    Format,
    /// The device an HPE fwpkg is for.
    Device,
    /// The signing key.
    SigningKey,
    /// A repository catalogue (`fwkit verify --catalog`).
    Catalog,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Recursive => "recursion depth",
            Setting::SetDirectory => "set directory",
            Setting::Source => "source directory",
            Setting::NameOrVersion => "name or version",
            Setting::Format => "format",
            Setting::Device => "device",
            Setting::SigningKey => "signing key",
            Setting::Catalog => "catalogue",
        })
    }
}

impl Error {
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Read {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// True when the error means "the package did not pass", not "could not answer".
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Error::NotUnpacked { .. })
    }
}
