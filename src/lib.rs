//! fwkit: unpack, verify and pack firmware packages without ever executing them.
//!
//! fwkit reads vendor firmware containers (makeself archives, HP `.scexe` smart
//! components, Dell Linux update packages, tarballs), proves every checksum the
//! package carries in a single streaming pass, and only then hands the payload
//! to the caller.
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
//! The library never prints. A failed check is an outcome in a [`Report`];
//! `Err` only means the package could not be read or recognised.
//!
//! # Security
//!
//! Everything in a package is untrusted: header text is parsed as literal
//! assignments and never evaluated, embedded scripts are never run, and
//! extraction goes through one module ([`extract`](crate::unpack)) that refuses
//! unsafe names, links that leave the target and special files.
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

mod detect;
mod error;
mod extract;
mod formats;
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod model;
pub mod pack;
mod package;
mod pass;
pub mod sign;
mod verify;

pub use detect::{detect, Encoding};
pub use error::{Error, Result, Setting};
pub use input::{FileSystem, Open, ReadAt, Seekable};
pub use model::{
    Algorithm, ByteRange, Check, CheckKind, DellPackage, FormatKind, HpComponent, HpDevice,
    HpImage, HpeFwpkg, Layer, Limits, LvfsRelease, MakeselfInfo, Member, MemberKind, MemberName,
    NameError, Nested, NetappSp, Outcome, PeInfo, PeSection, Progress, Report, VendorInfo, Verdict,
};
pub use package::{Package, UnpackOptions, MAX_RECURSIVE};
pub use verify::{fwkit_manifest, hex, parse_sha256, VerifyOptions};
