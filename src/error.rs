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
    #[error("{path}: not a recognised firmware package (first bytes: {head})")]
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
    /// An option has a value fwkit cannot use.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name as the user wrote it.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
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
