//! [`Package`]: open, inspect, verify, unpack. Sequencing only: the layers
//! below read the headers (`formats`), make the one pass (`pass`), and decide
//! (`verify`); this module puts them in order over one open handle.

mod beside;
mod fwkit_release;
mod nested;
mod profiles;
mod raw;
mod run;

use crate::detect::{detect, FormatKind, HEAD_LEN};
use crate::error::{Error, Result, Setting};
use crate::extract::{Discard, Staging};
use crate::formats::{self, Layout};
use crate::input::{FileSystem, Input, Open, ReadAt, Seekable};
use crate::model::{Check, Layer, Outcome, Report, VendorInfo};
use crate::verify::{self, VerifyOptions};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most levels of packages inside members that `unpack` opens.
pub const MAX_RECURSIVE: usize = 8;

/// Options for [`Package::unpack`].
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    /// Checks to run while unpacking.
    pub verify: VerifyOptions,
    /// Place the tree even when integrity checks fail. Safety checks (names,
    /// links, special files, limits) are never skipped.
    pub no_verify: bool,
    /// Open packages inside members, up to this many levels deep (0: off,
    /// at most [`MAX_RECURSIVE`]). Each is unpacked next to its member as
    /// `<member>.unpacked/` and verified. The limits are one budget for all
    /// layers together, not a fresh one per nested package.
    pub recursive: usize,
}

/// A package whose headers have been read. Nothing of the payload has been
/// read yet; every operation makes one pass over the bytes, through the one
/// handle opened here.
pub struct Package {
    path: PathBuf,
    size: u64,
    layout: Layout,
    /// The package's bytes; `None` for a directory set.
    input: Option<Input>,
    /// How files beside or inside the package are opened (a set's files,
    /// detached signatures, nested packages).
    opener: Arc<dyn Open>,
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("format", &self.layout.format)
            .finish()
    }
}

impl Package {
    /// Open a package (or a directory set) and read its headers. Detection is
    /// by content only.
    ///
    /// `Err` when the file cannot be read or its format is not recognised.
    /// A recognised package with broken headers opens fine; its report
    /// carries the failed structure checks.
    pub fn open(path: impl AsRef<Path>) -> Result<Package> {
        Package::open_with(path, Arc::new(FileSystem))
    }

    /// [`Package::open`], with every file (the package, a set's files,
    /// detached signatures, nested packages) opened through `opener`.
    pub fn open_with(path: impl AsRef<Path>, opener: Arc<dyn Open>) -> Result<Package> {
        let path = path.as_ref();
        if path.is_dir() {
            let mut set = Package::open_set(path, &[])?;
            set.opener = opener;
            return Ok(set);
        }
        let input = Input::open(&*opener, path)?;
        Package::from_input(input, opener)
    }

    /// Read a package from any `Read + Seek` source (a buffer, a pipe spooled
    /// to memory, an archive member). `name` names it in reports and errors;
    /// detached signature files are looked for beside it.
    pub fn from_reader(
        name: impl AsRef<Path>,
        reader: impl Read + Seek + Send + 'static,
    ) -> Result<Package> {
        Package::from_source(name, Arc::new(Seekable::new(reader)))
    }

    /// Read a package from a source of positional reads.
    pub fn from_source(name: impl AsRef<Path>, source: Arc<dyn ReadAt>) -> Result<Package> {
        let input = Input::new(source, name.as_ref())?;
        Package::from_input(input, Arc::new(FileSystem))
    }

    fn from_input(input: Input, opener: Arc<dyn Open>) -> Result<Package> {
        let path = input.path().to_path_buf();
        let head = input
            .read_at(0, HEAD_LEN as u64)
            .map_err(|e| Error::read(&path, e))?;
        let Some(kind) = detect(&head).or_else(|| raw::signed_image(&path)) else {
            return Err(Error::Unrecognised {
                head: verify::hex(head.get(..16).unwrap_or(&head)),
                path,
            });
        };
        let layout = formats::layout(kind, &head, &input).map_err(|e| Error::read(&path, e))?;
        Ok(Package {
            size: input.len(),
            path,
            layout,
            input: Some(input),
            opener,
        })
    }

    /// Open a directory as a multi-file upgrade set, described by the
    /// manifests at its top level and by `manifests` (files anywhere, whose
    /// listed paths are relative to `dir`).
    pub fn open_set(dir: impl AsRef<Path>, manifests: &[PathBuf]) -> Result<Package> {
        let dir = dir.as_ref();
        let meta = std::fs::metadata(dir).map_err(|e| Error::read(dir, e))?;
        if !meta.is_dir() {
            return Err(Error::Invalid {
                setting: Setting::SetDirectory,
                reason: format!(
                    "{} is not a directory; manifests are given for directory sets",
                    dir.display()
                ),
            });
        }
        Ok(Package {
            path: dir.to_path_buf(),
            size: 0,
            layout: formats::set::layout(dir, manifests),
            input: None,
            opener: Arc::new(FileSystem),
        })
    }

    /// The detected format.
    pub fn format(&self) -> FormatKind {
        self.layout.format
    }

    /// Layers found in the headers (stub, compressed streams, tar).
    pub fn layers(&self) -> &[Layer] {
        &self.layout.layers
    }

    /// Vendor metadata found in the headers (members are read by a pass).
    pub fn vendor(&self) -> &[VendorInfo] {
        &self.layout.vendor
    }

    /// The checks the headers declare, with their expected values, before
    /// any byte of the payload is read: structure results, declared digests
    /// (outcome `not-run` until a pass computes them), signatures.
    pub fn declared_checks(&self) -> Vec<Check> {
        let mut checks = self.layout.checks.clone();
        for d in &self.layout.digests {
            let mut check =
                Check::new(d.kind, d.covers.clone(), Outcome::NotRun).with_range(d.range);
            check.algorithm = Some(d.algorithm);
            check.expected = Some(d.expected.clone());
            checks.push(check);
        }
        checks
    }

    /// The package's path (or name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the whole package once: list members, read vendor metadata and
    /// run every check. The same pass as [`Package::verify`].
    pub fn inspect(&self, options: &VerifyOptions) -> Result<Report> {
        self.verify(options)
    }

    /// Run every check the package carries, plus the caller's `sha256`, in
    /// one streaming pass. Failures are in the report's verdict.
    pub fn verify(&self, options: &VerifyOptions) -> Result<Report> {
        self.run(options, &mut Discard)
    }

    /// Verify and unpack the payload members into `dest`, which must not
    /// exist. The tree is staged next to `dest` and renamed into place only
    /// when every check passed (or, with `no_verify`, when only integrity
    /// checks failed). Otherwise `dest` is not created and the report says why.
    ///
    /// # Security
    ///
    /// Member names, links and types are checked before anything is written;
    /// see the `extract` module. Safety checks are never skipped.
    pub fn unpack(&self, dest: impl AsRef<Path>, options: &UnpackOptions) -> Result<Report> {
        if self.layout.format == FormatKind::Raw {
            return Err(Error::RawNotUnpacked {
                path: self.path.clone(),
            });
        }
        if options.recursive > MAX_RECURSIVE {
            return Err(Error::Invalid {
                setting: Setting::Recursive,
                reason: format!(
                    "{} levels asked; at most {MAX_RECURSIVE} are opened",
                    options.recursive
                ),
            });
        }
        let mut staging = Staging::new(dest.as_ref())?;
        let mut report = self.run(&options.verify, &mut staging)?;
        if options.recursive > 0 && report.checks.iter().all(|c| !c.outcome.is_failure()) {
            nested::unpack(self, staging.root(), &mut report, options)?;
        }
        if place(&report, options) && !signature_refused(&report, options) {
            report.unpacked = Some(staging.commit()?);
        }
        Ok(report)
    }
}

/// `--no-verify` never skips `--require-signature`: with it, a failed
/// signature check (a bad signature, or the policy finding none that covers
/// the package) keeps the tree from being placed.
fn signature_refused(report: &Report, options: &UnpackOptions) -> bool {
    options.verify.require_signature && report.signature_refused()
}

impl Package {
    /// The one pass of `verify`, with member content written to `sink`
    /// (`handoff`: the members a program is given).
    pub(crate) fn run_into(
        &self,
        options: &VerifyOptions,
        sink: &mut dyn crate::extract::Sink,
    ) -> Result<Report> {
        self.run(options, sink)
    }
}

/// Is the staged tree placed? Never when a member is unsafe or a limit or
/// structure check failed; with failed integrity checks only on `no_verify`;
/// otherwise (verified, or nothing failed but there is no integrity data) yes.
fn place(report: &Report, options: &UnpackOptions) -> bool {
    let integrity_failed = report.checks.iter().any(|c| c.outcome.is_failure());
    !report.unsafe_content() && (!integrity_failed || options.no_verify)
}
