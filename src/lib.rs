//! fwkit: unpack, verify and pack firmware packages without ever executing them.
//!
//! fwkit reads vendor firmware containers, proves every checksum and
//! signature the package carries in a single streaming pass, and only then
//! hands the payload to the caller. Formats ([`FormatKind`]), detected by
//! content, never by name:
//!
//! - makeself self-extracting archives, every generation (`.run`, `.sh`);
//! - HP/HPE Linux smart components (`.scexe`, `_SKIP=` stub + gzip tar);
//! - Dell Linux Update Packages (`.BIN`, marker lines + gzip tar);
//! - tar archives, plain or gzip/bzip2/xz/zstd/lz4-compressed;
//! - zip archives, also behind a prefix: HPE `.fwpkg`, NetApp service
//!   processor `SP_FW.zip`;
//! - PE executables with an appended zip (HPE `cp*.exe`, Dell `.EXE`);
//! - Microsoft cabinets, LVFS `.cab` with metainfo and JCat files;
//! - directory sets described by checksum manifests (`SHA256SUMS`,
//!   `MD5SUMS`, `CHECKSUM`, `*.sha256`, `FWKIT-MANIFEST`).
//!
//! ```no_run
//! use fwkit::{Package, VerifyOptions};
//!
//! let package = Package::open("CP022989.scexe")?;
//! let report = package.verify(&VerifyOptions::default())?;
//! if report.verdict.is_verified() {
//!     println!("{} checks passed", report.checks.len());
//! }
//! # Ok::<(), fwkit::Error>(())
//! ```
//!
//! A package can also be read from any `Read + Seek` source
//! ([`Package::from_reader`]) or positional-read source
//! ([`Package::from_source`]); [`Package::open_with`] decides how every file
//! an operation reads is opened ([`Open`]).
//!
//! The library never prints. A failed check is an outcome in a [`Report`];
//! `Err` only means the package could not be read or recognised.
//!
//! # Security
//!
//! Everything in a package is untrusted: header text is parsed as literal
//! assignments and never evaluated, embedded scripts are never run, and
//! extraction ([`Package::unpack`]) goes through one module that refuses
//! unsafe names, links that leave the target and special files, and places
//! the tree only after every check passed.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod catalog;
mod detect;
mod error;
mod extract;
mod formats;
#[doc(hidden)]
pub mod fuzzing;
pub mod handoff;
mod input;
mod model;
pub mod pack;
mod package;
mod pass;
pub mod plan;
pub use model::FwkitRelease;
pub mod sign;
pub mod trust;
mod verify;

pub use detect::{detect, Encoding, HEAD_LEN};
pub use error::{Error, Result, Setting};
pub use extract::{write_file, Existing};
pub use input::{FileSystem, Open, ReadAt, Seekable};
pub use model::{
    Algorithm, ByteRange, Check, CheckKind, DellPackage, FormatKind, HpComponent, HpDevice,
    HpImage, HpeFwpkg, Layer, Limits, LvfsRelease, MakeselfInfo, Member, MemberKind, MemberName,
    NameError, Nested, NetappSp, Outcome, PeInfo, PeSection, Progress, Report, VendorInfo, Verdict,
    MAX_NAME_LEN,
};
pub use model::{Digests, Signer, SignerId};
pub use package::{Package, UnpackOptions, MAX_RECURSIVE};
pub use verify::{fwkit_manifest, hex, parse_sha256, VerifyOptions};
pub use verify::{x509::anchors_from, x509::Anchor, At};
