//! The one data path from bytes to verdict, for inspect, verify and unpack:
//!
//! 1. the digests to compute over byte ranges (declared, `--sha256`, the
//!    BLAKE2b-512 a detached minisign signature signs);
//! 2. one pass over the input: payload streams, or a zip, cabinet or set
//!    read member by member, with the range digests beside it;
//! 3. manifests found in the pass checked against the members (a second
//!    read only for algorithms a late manifest asked for);
//! 4. coverage, vendor rules, the self-extractor's stub, signatures;
//! 5. the verdict.

use super::profiles::{self, Findings};
use super::Package;
use crate::error::{Error, Result};
use crate::extract::{Discard, Sink};
use crate::formats::cab::CabPass;
use crate::formats::set::SetPass;
use crate::formats::zip::ZipPass;
use crate::formats::{cab, set, zip, Container};
use crate::input::{read_capped, Input};
use crate::model::{
    Algorithm, Check, CheckKind, FormatKind, MemberKind, Outcome, RangeDigest, Report,
};
use crate::pass::{self, Pass, ScanResult};
use crate::sign;
use crate::verify::manifest::Manifest;
use crate::verify::openpgp::PgpFile;
use crate::verify::signature::{self, Carried, Detached, Evidence, MAX_SIGNATURE_FILE};
use crate::verify::{self, authenticode, VerifyOptions};
use std::io::BufReader;

/// Most bytes of member content hashed with SHA-256 before a manifest asks.
const SPECULATIVE_SHA256: u64 = 256 << 20;

impl Package {
    pub(super) fn run(&self, options: &VerifyOptions, sink: &mut dyn Sink) -> Result<Report> {
        let layout = &self.layout;
        let beside = self.beside()?;
        let signature_files = self.signature_files()?;
        let mut openpgp = self.openpgp_files(&signature_files);
        openpgp.extend(beside.pgp_files());
        let mut digests = self.range_digests(options);
        digests.extend(verify::openpgp::range_digests(&openpgp, options));
        digests.extend(beside.range_digests());
        let mut checks = layout.checks.clone();
        if let Some(table) = layout.authenticode.as_ref() {
            if options.anchors.is_empty() {
                checks.extend(table.without_anchors.iter().cloned());
            }
        }
        let mut report = Report {
            path: self.path.clone(),
            size: self.size,
            format: layout.format,
            layers: layout.layers.clone(),
            vendor: layout.vendor.clone(),
            members: Vec::new(),
            checks: Vec::new(),
            uncovered: Vec::new(),
            warnings: layout.warnings.clone(),
            verdict: crate::model::Verdict::Verified,
            unpacked: None,
            nested: Vec::new(),
        };
        if checks.iter().any(|c| c.outcome.is_failure()) {
            checks.extend(self.broken(&digests, options)?);
        } else {
            let result = self.pass(&digests, options, &[], sink)?;
            let found = Found {
                result,
                openpgp,
                beside,
                signature_files,
            };
            self.decide(found, options, &mut checks, &mut report)?;
        }
        report.verdict = verify::verdict(&checks, &report.members);
        report.uncovered = verify::uncovered(&checks, self.size);
        report.checks = checks;
        Ok(report)
    }

    /// The digests over byte ranges this pass computes.
    fn range_digests(&self, options: &VerifyOptions) -> Vec<RangeDigest> {
        let mut digests = self.layout.digests.clone();
        if let Some(sha256) = &options.sha256 {
            digests.push(verify::external_sha256(sha256, self.size));
        }
        if let Some((algorithm, expected)) = &options.stated {
            let covers = "whole file (a stated digest)";
            digests.push(verify::external(
                *algorithm,
                expected.clone(),
                covers,
                self.size,
            ));
        }
        // A detached minisign signature signs the file's BLAKE2b-512: compute
        // it in the same pass instead of reading the file again afterwards.
        let detached = self.input.is_some()
            && !options.keys.is_empty()
            && sign::detached_path(&self.path, "minisig").is_file();
        if let Some(table) = self.layout.authenticode.as_ref() {
            if !options.anchors.is_empty() {
                digests.extend(authenticode::image_digests(table, self.size));
            }
        }
        if detached {
            digests.push(RangeDigest {
                range: (0, self.size),
                skip: Vec::new(),
                algorithm: Algorithm::Blake2b512,
                expected: String::new(),
                covers: "whole file (for its detached signature)".to_owned(),
                kind: CheckKind::Signature,
                suffix: Vec::new(),
            });
        }
        digests
    }

    /// The headers are not trustworthy: nothing is decoded; the caller's
    /// digest over the whole file still runs.
    fn broken(&self, digests: &[RangeDigest], options: &VerifyOptions) -> Result<Vec<Check>> {
        let mut checks: Vec<Check> = self
            .layout
            .digests
            .iter()
            .map(|d| {
                verify::digest_check(d, None).with_detail(
                    "the header is inconsistent, so the declared digest was not checked",
                )
            })
            .collect();
        let Some(input) = &self.input else {
            return Ok(checks);
        };
        let external: Vec<RangeDigest> = digests
            .iter()
            .filter(|d| d.kind == CheckKind::External)
            .cloned()
            .collect();
        let only = self.pass_over(input, &external, options, &[]);
        checks.extend(pass::range_digests(&only)?);
        Ok(checks)
    }

    fn pass_over<'a>(
        &'a self,
        input: &'a Input,
        digests: &'a [RangeDigest],
        options: &'a VerifyOptions,
        member_algos: &'a [Algorithm],
    ) -> Pass<'a> {
        // A package that declares no digest of its own has only a manifest
        // inside for integrity: members are hashed with SHA-256 in the first
        // pass, so a SHA256SUMS after them costs no second read. Bounded:
        // SHA-256 runs at about 1.5 GB/s here, a quarter of a gzip decode.
        let speculate_sha256 = match self.layout.digests.is_empty() && member_algos.is_empty() {
            true => SPECULATIVE_SHA256,
            false => 0,
        };
        Pass {
            input,
            streams: self.layout.streams(),
            digests,
            options,
            capture: self.layout.capture,
            member_algos,
            speculate_sha256,
        }
    }

    /// One pass over the package: range digests, streams or members.
    fn pass(
        &self,
        digests: &[RangeDigest],
        options: &VerifyOptions,
        member_algos: &[Algorithm],
        sink: &mut dyn Sink,
    ) -> Result<ScanResult> {
        let layout = &self.layout;
        let input = match (&layout.container, &self.input) {
            (Container::Set(spec), _) => {
                let opener = &*self.opener;
                let mut result = set::scan(
                    &SetPass {
                        spec,
                        options,
                        opener,
                    },
                    sink,
                )?;
                // A set is many files, not one range of bytes: a digest asked
                // of it (`--sha256`) cannot run, which is a failure, never a
                // silent pass.
                result.checks.extend(digests.iter().map(|d| {
                    let mut check = verify::digest_check(d, None).with_detail(
                        "a directory set is many files, not one: a digest of one file's bytes cannot be computed over it",
                    );
                    // No byte range of a file: a set has none.
                    check.range = None;
                    check
                }));
                return Ok(result);
            }
            (_, Some(input)) => input,
            (_, None) => return Ok(ScanResult::default()),
        };
        let whole = self.pass_over(input, digests, options, member_algos);
        let capture = layout.capture;
        // A zip or a cabinet is read member by member; digests over byte
        // ranges (e.g. the caller's whole-file SHA-256) run beside it, on
        // another thread over the same handle.
        std::thread::scope(|scope| {
            let ranges = match &layout.container {
                Container::Streams(_) | Container::Set(_) => return pass::run(&whole, sink),
                _ if digests.is_empty() => None,
                _ => Some(scope.spawn(|| pass::range_digests(&whole))),
            };
            let mut result = match &layout.container {
                Container::Zip(spec) => {
                    let zp = ZipPass {
                        input,
                        spec,
                        options,
                        capture,
                    };
                    zip::scan(&zp, sink)?
                }
                Container::Cab(spec) => {
                    let cp = CabPass {
                        input,
                        spec,
                        options,
                        capture,
                    };
                    cab::scan(&cp, sink)?
                }
                Container::Streams(_) | Container::Set(_) => ScanResult::default(),
            };
            if let Some(handle) = ranges {
                let joined = handle.join().map_err(|_| {
                    Error::read(input.path(), std::io::Error::other("digest thread failed"))
                })?;
                result.checks.extend(joined?);
            }
            Ok(result)
        })
    }

    /// Everything decided after the pass: manifests, coverage, vendor
    /// rules, the stub, signatures.
    fn decide(
        &self,
        found: Found,
        options: &VerifyOptions,
        checks: &mut Vec<Check>,
        report: &mut Report,
    ) -> Result<()> {
        let layout = &self.layout;
        let Found {
            mut result,
            openpgp,
            beside,
            signature_files,
        } = found;
        let beside_digests = super::beside::take_digests(&mut result.checks);
        let inputs = signature_inputs(&mut result.checks);
        checks.append(&mut result.checks);
        report.members = result.members;
        report.warnings.extend(result.warnings);
        let captured = result.captured;
        let manifests = result.manifests;
        let links = verify::Links::new(&manifests, &report.members);
        self.late_digests(&manifests, &links, options, report)?;
        let covered = verify::manifest_checks(&manifests, &report.members, &links, checks);
        if let Some(warning) = unlisted(&manifests, &links, report) {
            report.warnings.push(warning);
        }
        if !matches!(layout.container, Container::Set(_)) {
            checks.extend(verify::member_coverage(
                checks,
                &layout.streams_ranges(),
                &report.members,
                &covered,
                !manifests.is_empty(),
            ));
        }
        let mut findings = Findings {
            captured: &captured,
            members: &report.members,
            vendor: &mut report.vendor,
            checks,
            options,
            signatures: Vec::new(),
        };
        profiles::apply(&self.path, layout, &mut findings);
        let mut others = findings.signatures;
        let (structure, signatures) = beside.checks(&beside_digests, options);
        checks.extend(structure);
        others.extend(signatures);
        let stub_ok = self.stub(&captured, checks)?;
        let carried = Carried {
            captured: &captured,
            manifests: &manifests,
            members: &report.members,
            detached: self.detached(&signature_files),
            authenticode: match (&layout.authenticode, options.anchors.is_empty()) {
                (Some(table), false) => authenticode::checks(table, &inputs.image_digests, options),
                _ => Vec::new(),
            },
            others,
        };
        let evidence = Evidence {
            stub_ok,
            prehash: inputs.prehash,
            openpgp,
            openpgp_digests: inputs.openpgp_digests,
        };
        checks.extend(signature::checks(carried, options, evidence));
        Ok(())
    }

    /// The self-extractor's stub check (added to `checks`): is the stub
    /// proven fwkit's own? `None` when the package has no stub.
    fn stub(
        &self,
        captured: &[(crate::model::MemberName, Vec<u8>)],
        checks: &mut Vec<Check>,
    ) -> Result<Option<bool>> {
        let layout = &self.layout;
        let stub = match &self.input {
            Some(input) => profiles::stub_check(input, layout, captured)?,
            None => None,
        };
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
        Ok(stub_ok)
    }

    /// A manifest came after members it lists (a tar): hash them with the
    /// algorithms the pass did not know yet, in a second read.
    fn late_digests(
        &self,
        manifests: &[Manifest],
        links: &verify::Links,
        options: &VerifyOptions,
        report: &mut Report,
    ) -> Result<()> {
        let missing = verify::missing_member_digests(manifests, &report.members, links);
        if missing.is_empty() || !matches!(self.layout.container, Container::Streams(_)) {
            return Ok(());
        }
        report.warnings.push(format!(
            "a manifest follows members it lists; the payload was read a second time to compute {}",
            missing
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // Only the missing algorithms: no SHA-256 of every member again,
        // and no second progress bar.
        let second = VerifyOptions {
            hash_members: false,
            progress: None,
            ..options.clone()
        };
        let again = self.pass(&[], &second, &missing, &mut Discard)?;
        for (member, rehashed) in report.members.iter_mut().zip(again.members) {
            if member.path == rehashed.path {
                member.digests.extend(rehashed.digests);
            }
        }
        Ok(())
    }

    /// The detached signature files beside the package (`PKG.minisig`,
    /// `PKG.sig`, `PKG.sign`, `PKG.asc`), each read once: (extension, path,
    /// content).
    fn signature_files(&self) -> Result<Vec<SignatureFile>> {
        let mut found = Vec::new();
        if self.input.is_none() {
            return Ok(found);
        }
        for extension in ["minisig", "sig", "sign", "asc"] {
            let path = sign::detached_path(&self.path, extension);
            if path.is_file() {
                let text = read_capped(&*self.opener, &path, MAX_SIGNATURE_FILE)?;
                found.push((extension, path, text));
            }
        }
        Ok(found)
    }

    /// Minisign and signify signatures among the signature files
    /// (`PKG.minisig`, a `PKG.sig` that is not OpenPGP), each with a reader
    /// of the package's bytes over the one open handle.
    fn detached(&self, files: &[SignatureFile]) -> Vec<Detached<BufReader<crate::input::Cursor>>> {
        let Some(input) = &self.input else {
            return Vec::new();
        };
        ["minisig", "sig"]
            .iter()
            .filter_map(|wanted| files.iter().find(|(extension, _, _)| extension == wanted))
            // An OpenPGP `.sig`: see `openpgp_files`.
            .filter(|(_, _, text)| !crate::trust::openpgp::is_signature(text))
            .map(|(_, path, text)| Detached {
                name: path.display().to_string(),
                text: text.clone(),
                data: (BufReader::new(input.cursor(input.len())), input.len()),
            })
            .collect()
    }
}

/// A detached signature file beside the package: (extension, path, content).
type SignatureFile = (&'static str, std::path::PathBuf, Vec<u8>);

/// What the pass found, with what the signature checks need beside it.
struct Found {
    result: ScanResult,
    openpgp: Vec<PgpFile>,
    beside: super::beside::Beside,
    /// The detached signature files, read once.
    signature_files: Vec<SignatureFile>,
}

impl Package {
    /// Detached OpenPGP signatures among the signature files: `PKG.sign`
    /// (Dell), `PKG.asc`, and a `PKG.sig` whose content is OpenPGP (a
    /// minisign or signify `.sig` is `detached`'s); and those the layout
    /// found embedded.
    fn openpgp_files(&self, files: &[SignatureFile]) -> Vec<PgpFile> {
        let mut found = Vec::new();
        let ordered = ["sign", "asc", "sig"]
            .iter()
            .filter_map(|wanted| files.iter().find(|(extension, _, _)| extension == wanted));
        for (extension, path, text) in ordered {
            let openpgp = match *extension {
                "sign" | "asc" => true,
                "sig" => crate::trust::openpgp::is_signature(text),
                _ => false,
            };
            if openpgp {
                found.push(PgpFile::detached(
                    &path.display().to_string(),
                    text,
                    self.size,
                ));
            }
        }
        if self.input.is_some() {
            for (covers, range, bytes) in &self.layout.openpgp {
                found.push(PgpFile::embedded(covers, *range, bytes));
            }
        }
        found
    }
}

/// What the pass computed for the signature checks rather than as checks of
/// its own: the BLAKE2b-512 a detached minisign signature signs, the
/// OpenPGP data digests, the Authenticode image digests.
struct SignatureInputs {
    prehash: Option<[u8; 64]>,
    openpgp_digests: Vec<Check>,
    image_digests: Vec<(Algorithm, String)>,
}

/// Take the signature inputs out of the pass's checks.
fn signature_inputs(checks: &mut Vec<Check>) -> SignatureInputs {
    let (openpgp_digests, rest): (Vec<Check>, Vec<Check>) = std::mem::take(checks)
        .into_iter()
        .partition(verify::openpgp::is_digest);
    let (prehash, mut rest): (Vec<Check>, Vec<Check>) = rest
        .into_iter()
        .partition(|c| c.algorithm == Some(Algorithm::Blake2b512));
    let image_digests = authenticode::take_computed(&mut rest);
    *checks = rest;
    SignatureInputs {
        prehash: prehash
            .first()
            .and_then(|c| c.computed.as_deref())
            .and_then(verify::parse_blake2b512),
        openpgp_digests,
        image_digests,
    }
}

/// A warning naming the file members no manifest lists, when there are
/// manifests at all.
fn unlisted(manifests: &[Manifest], links: &verify::Links, report: &Report) -> Option<String> {
    if manifests.is_empty() {
        return None;
    }
    let listed = links.listed(manifests, &report.members);
    let unlisted: Vec<&str> = report
        .members
        .iter()
        .zip(listed)
        .filter(|(m, listed)| m.kind == MemberKind::File && !listed)
        .map(|(m, _)| m.name.as_str())
        .collect();
    (!unlisted.is_empty()).then(|| {
        format!(
            "{} member(s) not listed in any manifest: {}",
            unlisted.len(),
            unlisted.join(", ")
        )
    })
}
