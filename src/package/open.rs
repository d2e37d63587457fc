//! Opening a package and running the pass for inspect, verify and unpack.

use super::{Check, CheckKind, Outcome, Report, UnpackOptions, VendorInfo, VerifyOptions};
use crate::detect::{detect, FormatKind, HEAD_LEN};
use crate::error::{Error, Result};
use crate::extract::Staging;
use crate::formats::{self, Capture, Layout, Source};
use crate::input::{Input, Reads};
use crate::scan::{self, Discard, Sink};
use crate::verify;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A package whose headers have been read. Nothing of the payload has been
/// read yet; every operation makes one pass over the file.
#[derive(Debug)]
pub struct Package {
    path: PathBuf,
    size: u64,
    layout: Layout,
    /// How the file is read: [`Reads::Whole`] except in robustness tests.
    reads: Reads,
}

impl Package {
    /// Open a package and read its headers. Detection is by content only.
    ///
    /// `Err` when the file cannot be read or its format is not recognised.
    /// A recognised package with broken headers opens fine; its report
    /// carries the failed structure checks.
    pub fn open(path: impl AsRef<Path>) -> Result<Package> {
        Package::open_with(path.as_ref(), Reads::Whole)
    }

    /// [`Package::open`], with every later read of the file made as `reads` says.
    pub(crate) fn open_with(path: &Path, reads: Reads) -> Result<Package> {
        if path.is_dir() {
            let mut set = Package::open_set(path, &[])?;
            set.reads = reads;
            return Ok(set);
        }
        let mut file = Input::open(path, reads)?;
        let meta = file.metadata().map_err(|e| Error::read(path, e))?;
        if !meta.is_file() {
            return Err(Error::read(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        let size = meta.len();
        let mut head =
            Vec::with_capacity(HEAD_LEN.min(usize::try_from(size).unwrap_or(usize::MAX)));
        (&mut file)
            .take(HEAD_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::read(path, e))?;
        let Some(kind) = detect(&head) else {
            return Err(Error::Unrecognised {
                path: path.to_path_buf(),
                head: verify::hex(head.get(..16).unwrap_or(&head)),
            });
        };
        let mut source = Source::new(file, size);
        let layout = formats::layout(kind, &head, &mut source).map_err(|e| Error::read(path, e))?;
        Ok(Package {
            path: path.to_path_buf(),
            size,
            layout,
            reads,
        })
    }

    /// Open a directory as a multi-file upgrade set, described by the
    /// manifests at its top level and by `manifests` (files anywhere, whose
    /// listed paths are relative to `dir`).
    pub fn open_set(dir: impl AsRef<Path>, manifests: &[PathBuf]) -> Result<Package> {
        let dir = dir.as_ref();
        let meta = std::fs::metadata(dir).map_err(|e| Error::read(dir, e))?;
        if !meta.is_dir() {
            return Err(Error::InvalidOption {
                option: "--manifest",
                reason: format!(
                    "{} is not a directory; --manifest is for directory sets",
                    dir.display()
                ),
            });
        }
        Ok(Package {
            path: dir.to_path_buf(),
            size: 0,
            layout: crate::formats::set::layout(dir, manifests),
            reads: Reads::Whole,
        })
    }

    /// The detected format.
    pub fn format(&self) -> FormatKind {
        self.layout.format
    }

    /// Layers found in the headers (stub, compressed streams, tar).
    pub fn layers(&self) -> &[super::Layer] {
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

    /// The package file's path.
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
        let dest = dest.as_ref();
        if options.recursive > super::MAX_RECURSIVE {
            return Err(Error::InvalidOption {
                option: "--recursive",
                reason: format!(
                    "{} levels asked; at most {} are opened",
                    options.recursive,
                    super::MAX_RECURSIVE
                ),
            });
        }
        let mut staging = Staging::new(dest)?;
        let mut report = self.run(&options.verify, &mut staging)?;
        if options.recursive > 0 && report.checks.iter().all(|c| !c.outcome.is_failure()) {
            self.unpack_nested(staging.root(), &mut report, options)?;
        }
        let nested_failed = report
            .nested
            .iter()
            .any(|n| !n.report.verdict.is_verified() || n.report.unpacked.is_none());
        if nested_failed {
            let names: Vec<&str> = report
                .nested
                .iter()
                .filter(|n| !n.report.verdict.is_verified())
                .map(|n| n.member.as_str())
                .collect();
            report.checks.push(Check::failed(
                CheckKind::Stream,
                "nested packages",
                format!("not verified: {}", names.join(", ")),
            ));
            report.verdict = verify::verdict(&report.checks, &report.members);
        }
        let unsafe_content = report.checks.iter().any(|c| {
            c.outcome.is_failure()
                && matches!(
                    c.kind,
                    CheckKind::Safety | CheckKind::Limit | CheckKind::Structure
                )
        }) || report.members.iter().any(|m| m.problem.is_some());
        let integrity_failed = report.checks.iter().any(|c| c.outcome.is_failure());
        let place = if unsafe_content {
            false
        } else if integrity_failed {
            options.no_verify
        } else {
            // Verified, or nothing failed but the package has no integrity data.
            true
        };
        if place {
            report.unpacked = Some(staging.commit()?);
        }
        Ok(report)
    }

    /// For a self-extracting package holding a fwkit manifest: is its stub
    /// exactly the one `fwkit pack` writes for that manifest and payload? The
    /// stub is the code that runs, and no checksum inside covers it; this makes
    /// a signature over the manifest cover the stub too. `None` when the package
    /// is not self-extracting or holds no fwkit manifest.
    fn stub_check(&self, layout: &Layout, captured: &[(String, Vec<u8>)]) -> Result<Option<Check>> {
        use crate::formats::fwkit_manifest::{FwkitManifest, MANIFEST_NAME};
        if layout.format != FormatKind::Makeself {
            return Ok(None);
        }
        let Some((_, bytes)) = captured.iter().find(|(n, _)| n == MANIFEST_NAME) else {
            return Ok(None);
        };
        let Ok(manifest) = FwkitManifest::parse(bytes) else {
            return Ok(None);
        };
        let Some(stub_range) = layout.layers.first().map(|l| l.range) else {
            return Ok(None);
        };
        let covers = "self-extracting stub";
        let mut source = Source::new(Input::open(&self.path, self.reads)?, self.size);
        let stub = source
            .read_at(0, stub_range.1)
            .map_err(|e| Error::read(&self.path, e))?;
        let line2 = crate::detect::lines(&stub).nth(1).unwrap_or_default();
        let version = std::str::from_utf8(line2)
            .ok()
            .and_then(|l| l.strip_prefix(crate::pack::stub::GENERATED_BY))
            .and_then(|rest| rest.split(' ').next());
        let Some(version) = version else {
            return Ok(Some(
                Check::new(CheckKind::Digest, covers, Outcome::Info)
                    .with_range(stub_range)
                    .with_detail("the stub was not written by fwkit pack; nothing covers it"),
            ));
        };
        let digest = |algorithm: super::Algorithm| {
            layout
                .digests
                .iter()
                .find(|d| d.algorithm == algorithm)
                .map(|d| d.expected.clone())
        };
        let sha256 = digest(super::Algorithm::Sha256).unwrap_or_default();
        let cksum = digest(super::Algorithm::Cksum)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        // The makeself layout puts the stub's end at most at the end of the file.
        let payload_len = self.size.saturating_sub(stub_range.1);
        let scexe = crate::detect::lines(&stub).any(crate::detect::is_scexe_skip_line);
        let expected = crate::pack::expected_stub(
            &manifest.name,
            &manifest.version,
            manifest.run.as_deref(),
            scexe,
            version,
            (payload_len, &sha256, cksum),
        );
        let mut check =
            Check::new(CheckKind::Digest, covers, Outcome::Passed).with_range(stub_range);
        if expected == stub {
            check.detail = Some(format!(
                "identical to the stub fwkit {version} writes for {MANIFEST_NAME} (name, version, command) and this payload"
            ));
        } else {
            check.outcome = Outcome::Failed;
            check.detail = Some(format!(
                "differs from the stub fwkit {version} writes for {MANIFEST_NAME} (first difference at byte {}): it may run something the manifest does not say",
                expected.iter().zip(&stub).take_while(|(a, b)| a == b).count()
            ));
        }
        Ok(Some(check))
    }

    /// Open every member that is itself a package and unpack it next to the
    /// member, as `<member>.unpacked/`, one level less deep.
    fn unpack_nested(
        &self,
        root: &Path,
        report: &mut Report,
        options: &UnpackOptions,
    ) -> Result<()> {
        let mut inner = UnpackOptions {
            recursive: options.recursive.saturating_sub(1), // called when > 0
            verify: VerifyOptions {
                progress: None,
                // Keys sign the outer package; inner ones are checked on their own terms.
                keys: Vec::new(),
                require_signature: false,
                ..options.verify.clone()
            },
            ..options.clone()
        };
        let files: Vec<super::MemberName> = report
            .members
            .iter()
            .filter(|m| m.kind == super::MemberKind::File && m.problem.is_none())
            .filter_map(|m| m.path.clone())
            .collect();
        for name in files {
            let path = name.to_path(root);
            if !looks_like_package(&path, self.reads) {
                continue;
            }
            let unpacked_as = format!("{name}.unpacked");
            let dest = super::MemberName::parse(unpacked_as.as_bytes())
                .map(|n| n.to_path(root))
                .map_err(|e| Error::InvalidOption {
                    option: "--recursive",
                    reason: format!("{unpacked_as}: {e}"),
                })?;
            if dest.symlink_metadata().is_ok() {
                report.warnings.push(format!(
                    "{name}: not opened, {unpacked_as} is already a member"
                ));
                continue;
            }
            // One budget for every layer: what the outer package and the
            // packages opened so far used is not available to the next one,
            // so nesting (42.zip) cannot multiply the limits.
            let (bytes, entries) = usage(report);
            let limits = &options.verify.limits;
            inner.verify.limits.max_size = limits.max_size.saturating_sub(bytes);
            inner.verify.limits.max_entries = limits.max_entries.saturating_sub(entries);
            let nested = Package::open_with(&path, self.reads)?;
            let mut inner_report = nested.unpack(&dest, &inner)?;
            inner_report.path = PathBuf::from(name.as_str());
            if inner_report.unpacked.is_some() {
                inner_report.unpacked = Some(PathBuf::from(&unpacked_as));
            }
            report.nested.push(super::Nested {
                member: name.to_string(),
                unpacked_as,
                report: Box::new(inner_report),
            });
        }
        Ok(())
    }

    /// What a pass over this package's file reads.
    fn pass_over<'a>(
        &'a self,
        layout: &'a Layout,
        digests: &'a [crate::formats::RangeDigest],
        options: &'a VerifyOptions,
        member_algos: &'a [super::Algorithm],
    ) -> scan::Pass<'a> {
        scan::Pass {
            path: &self.path,
            len: self.size,
            layout,
            digests,
            options,
            member_algos,
            reads: self.reads,
        }
    }

    /// One pass over the file: range digests, streams, members.
    fn pass(
        &self,
        layout: &Layout,
        digests: &[crate::formats::RangeDigest],
        options: &VerifyOptions,
        member_algos: &[super::Algorithm],
        sink: &mut dyn Sink,
    ) -> Result<scan::ScanResult> {
        if let Some(spec) = &layout.set {
            return crate::formats::set::scan(spec, options, self.reads, sink);
        }
        let whole = self.pass_over(layout, digests, options, member_algos);
        if layout.cab.is_none() && layout.zip.is_none() {
            let file = Input::open(&self.path, self.reads)?;
            return scan::scan(&whole, file, sink);
        }
        // A zip or a cabinet is read member by member; digests over byte
        // ranges (e.g. the caller's whole-file SHA-256) run beside it in a
        // plain read of the file.
        std::thread::scope(|scope| {
            let ranges = (!digests.is_empty()).then(|| {
                scope.spawn(|| scan::range_digests(&whole, Input::open(&self.path, self.reads)?))
            });
            let mut result = match &layout.zip {
                Some(spec) => crate::formats::zip::scan(
                    (&self.path, self.reads),
                    spec,
                    layout,
                    options,
                    member_algos,
                    sink,
                )?,
                None => crate::formats::cab::scan(&whole, sink)?,
            };
            if let Some(handle) = ranges {
                let ranges = handle.join().map_err(|_| {
                    Error::read(&self.path, std::io::Error::other("digest thread failed"))
                })??;
                result.checks.extend(ranges);
            }
            Ok(result)
        })
    }

    fn run(&self, options: &VerifyOptions, sink: &mut dyn Sink) -> Result<Report> {
        let layout = &self.layout;
        let mut digests = layout.digests.clone();
        if let Some(sha256) = &options.sha256 {
            digests.push(verify::external_sha256(sha256, self.size));
        }
        // A detached minisign signature signs the file's BLAKE2b-512: compute it
        // in the same pass instead of reading the file again afterwards.
        let detached = layout.set.is_none()
            && !options.keys.is_empty()
            && crate::sign::detached_path(&self.path, "minisig").is_file();
        if detached {
            digests.push(crate::formats::RangeDigest {
                range: (0, self.size),
                algorithm: super::Algorithm::Blake2b512,
                expected: String::new(),
                covers: "whole file (for its detached signature)".to_owned(),
                kind: CheckKind::Signature,
            });
        }
        let broken = layout.checks.iter().any(|c| c.outcome.is_failure());
        let mut checks = layout.checks.clone();
        let mut members = Vec::new();
        let mut warnings = layout.warnings.clone();
        let mut vendor = layout.vendor.clone();
        if broken {
            // The layout is not trustworthy: do not decode; the external digest still runs.
            let file = Input::open(&self.path, self.reads)?;
            let external: Vec<_> = digests
                .into_iter()
                .filter(|d| d.kind == CheckKind::External)
                .collect();
            for d in &layout.digests {
                checks.push(verify::digest_check(d, None).with_detail(
                    "the header is inconsistent, so the declared digest was not checked",
                ));
            }
            let pass = self.pass_over(layout, &external, options, &[]);
            checks.extend(scan::range_digests(&pass, file)?);
        } else {
            let result = self.pass(layout, &digests, options, &[], sink)?;
            // The BLAKE2b-512 is an input to the signature check, not a check.
            let (prehash, pass_checks): (Vec<Check>, Vec<Check>) = result
                .checks
                .into_iter()
                .partition(|c| c.algorithm == Some(super::Algorithm::Blake2b512));
            let prehash = prehash
                .first()
                .and_then(|c| c.computed.as_deref())
                .and_then(verify::parse_blake2b512);
            checks.extend(pass_checks);
            members = result.members;
            warnings.extend(result.warnings);
            let manifests = verify::manifests(&result.captured);
            let missing = verify::missing_member_digests(&manifests, &members);
            if !missing.is_empty() && layout.zip.is_none() {
                // A manifest came after members it lists: hash them in a second pass.
                warnings.push(format!(
                    "a manifest follows members it lists; the payload was read a second time to compute {}",
                    missing.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
                ));
                // Only the missing algorithms: no SHA-256 of every member
                // again, and no second progress bar.
                let second = VerifyOptions {
                    hash_members: false,
                    progress: None,
                    ..options.clone()
                };
                let again = self.pass(layout, &[], &second, &missing, &mut Discard)?;
                for (member, rehashed) in members.iter_mut().zip(again.members) {
                    if member.path == rehashed.path {
                        member.digests.extend(rehashed.digests);
                    }
                }
            }
            let (manifest_checks, listed) = verify::manifest_checks(&manifests, &members);
            if !manifests.is_empty() {
                let listed: Vec<_> = manifests.iter().map(|x| x.listed()).collect();
                let unlisted: Vec<&str> = members
                    .iter()
                    .filter(|m| m.kind == super::MemberKind::File)
                    .filter(|m| {
                        !m.path.as_ref().is_some_and(|p| {
                            manifests
                                .iter()
                                .zip(&listed)
                                .any(|(x, names)| x.is_own_file(p) || names.contains(p))
                        })
                    })
                    .map(|m| m.name.as_str())
                    .collect();
                if !unlisted.is_empty() {
                    warnings.push(format!(
                        "{} member(s) not listed in any manifest: {}",
                        unlisted.len(),
                        unlisted.join(", ")
                    ));
                }
            }
            checks.extend(manifest_checks);
            if layout.set.is_none() {
                checks.extend(verify::member_coverage(
                    &checks,
                    &layout.streams_ranges(),
                    &members,
                    &listed,
                    !manifests.is_empty(),
                ));
            }
            vendor_profiles(&result.captured, &members, &mut vendor, &mut checks);
            // The format is detected by content; the name can only make fwkit
            // stricter: a file called *.fwpkg must carry HPE's component metadata.
            let named_fwpkg = self
                .path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("fwpkg"));
            let has_payload_json = result.captured.iter().any(|(n, _)| {
                n.trim_start_matches("./")
                    .eq_ignore_ascii_case("payload.json")
            });
            if named_fwpkg && !has_payload_json {
                checks.push(Check::failed(
                    CheckKind::Structure,
                    "payload.json",
                    "an HPE .fwpkg must carry payload.json (its component metadata); this one does not",
                ));
            }
            if layout.cab.is_some() {
                crate::formats::cab::lvfs_checks(
                    &result.captured,
                    &members,
                    &mut vendor,
                    &mut checks,
                );
            }
            let stub = self.stub_check(layout, &result.captured)?;
            // A self-extractor's stub is code that runs: unless it is proven
            // to be fwkit's own, no signature inside the payload covers it.
            let self_extracting = matches!(
                layout.format,
                FormatKind::Makeself | FormatKind::HpScexe | FormatKind::DellDup
            );
            let stub_ok = match &stub {
                Some(check) => Some(check.outcome == Outcome::Passed),
                None => self_extracting.then_some(false),
            };
            checks.extend(stub);
            checks.extend(verify::signature::checks(
                (&self.path, self.reads),
                layout.set.is_none(),
                &result.captured,
                &manifests,
                &members,
                options,
                verify::signature::Evidence { stub_ok, prehash },
            )?);
            if layout.capture == Capture::TopLevelXml {
                for (name, bytes) in &result.captured {
                    if let Some(info) = super::parse_hp_component(name, bytes) {
                        vendor.push(VendorInfo::HpComponent(info));
                    }
                }
            }
        }
        let verdict = verify::verdict(&checks, &members);
        let uncovered = verify::uncovered(&checks, self.size);
        Ok(Report {
            path: self.path.clone(),
            size: self.size,
            format: layout.format,
            layers: layout.layers.clone(),
            vendor,
            members,
            checks,
            uncovered,
            warnings,
            verdict,
            unpacked: None,
            nested: Vec::new(),
        })
    }
}

/// Vendor profiles on top of any container: an HPE `.fwpkg` (`payload.json`
/// at the top; every image it lists must be a member) and a NetApp SP package
/// (`RLM_FW/install/Metadata`).
fn vendor_profiles(
    captured: &[(String, Vec<u8>)],
    members: &[super::Member],
    vendor: &mut Vec<VendorInfo>,
    checks: &mut Vec<Check>,
) {
    for (name, bytes) in captured {
        let lower = name.trim_start_matches("./").to_ascii_lowercase();
        if lower == "payload.json" {
            let Some(fwpkg) = super::parse_fwpkg(bytes) else {
                checks.push(Check::failed(
                    CheckKind::Structure,
                    "payload.json",
                    "not valid JSON: an HPE .fwpkg needs its component metadata",
                ));
                continue;
            };
            for image in fwpkg.devices.iter().flat_map(|d| &d.images) {
                let Some(file) = &image.file_name else {
                    continue;
                };
                let covers = format!("payload.json image {file}");
                let present = super::MemberName::parse(file.as_bytes())
                    .ok()
                    .is_some_and(|want| {
                        members.iter().any(|m| {
                            m.path.as_ref() == Some(&want) && m.kind == super::MemberKind::File
                        })
                    });
                checks.push(if present {
                    Check::new(CheckKind::Structure, covers, Outcome::Passed)
                        .with_detail("listed image is a member")
                } else {
                    Check::failed(
                        CheckKind::Structure,
                        covers,
                        "listed image is missing from the package",
                    )
                });
            }
            vendor.push(VendorInfo::HpeFwpkg(fwpkg));
        } else if lower.ends_with("rlm_fw/install/metadata") {
            vendor.push(VendorInfo::NetappSp(super::parse_netapp_metadata(
                name, bytes,
            )));
        }
    }
}

/// Bytes and entries a report's members take, nested packages included.
fn usage(report: &Report) -> (u64, u64) {
    let own = report.members.iter().fold((0u64, 0u64), |(b, e), m| {
        (b.saturating_add(m.size), e.saturating_add(1))
    });
    report.nested.iter().fold(own, |(b, e), n| {
        let (nb, ne) = usage(&n.report);
        (b.saturating_add(nb), e.saturating_add(ne))
    })
}

/// True when a file is a package worth opening: a recognised container, and
/// for a compressed stream, one that holds a tar (a lone `image.bin.gz` is data).
fn looks_like_package(path: &Path, reads: Reads) -> bool {
    let Ok(mut file) = Input::try_open(path, reads) else {
        return false;
    };
    let mut head = Vec::new();
    if (&mut file)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    match detect(&head) {
        None | Some(FormatKind::Set) => false,
        Some(FormatKind::Tar) => {
            let encoding = crate::detect::Encoding::sniff(&head);
            let Ok(mut decoder) = crate::formats::tar::Decoder::new(encoding, &head[..]) else {
                return false;
            };
            let mut block = [0u8; 512];
            decoder.read_exact(&mut block).is_ok() && block.get(257..262) == Some(b"ustar")
        }
        Some(_) => true,
    }
}
