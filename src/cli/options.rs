//! Flags become library options here, in one place: limits, keys, the
//! progress bar, unpack and pack settings, and how the outcome is shown.

use super::args::{
    ActionOutput, Common, InspectArgs, KeygenArgs, LimitArgs, PackArgs, ReportOutput, SignArgs,
    UnpackArgs, VerifyArgs,
};
use super::render::{Detail, Mode};
use anyhow::{bail, Context, Result};
use fwkit::pack::{FwpkgDevice, PackFormat, PackOptions};
use fwkit::sign::{SecretKey, SignError, SignOptions};
use fwkit::{Limits, Progress, UnpackOptions, VerifyOptions};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

/// How a report is shown: -q wins over --json, which wins over text.
pub fn report_mode(output: &ReportOutput) -> Mode {
    if output.quiet {
        Mode::Quiet
    } else if output.json {
        Mode::Json
    } else {
        Mode::Text(if output.verbose {
            Detail::Full
        } else {
            Detail::Summary
        })
    }
}

/// How the outcome of keygen, sign, pack or resign is shown.
pub fn action_mode(output: &ActionOutput) -> Mode {
    if output.quiet {
        Mode::Quiet
    } else if output.json {
        Mode::Json
    } else {
        Mode::Text(Detail::Summary)
    }
}

/// Parse a size like `16G`, `512M`, `4096`.
pub fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .with_context(|| format!("'{text}' is not a size"))?;
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => bail!("'{text}' has an unknown unit (use K, M, G or T)"),
    };
    n.checked_mul(1u64 << shift)
        .with_context(|| format!("'{text}' is too large"))
}

fn limits(args: &LimitArgs) -> Result<Limits> {
    Ok(Limits {
        max_size: parse_size(&args.max_size).context("--max-size")?,
        max_entries: args.max_entries,
        max_depth: args.max_depth,
        max_manifest: parse_size(&args.max_manifest).context("--max-manifest")?,
    })
}

/// `inspect`: members are hashed (SHA-256 for the listing); with
/// `--recursive`, the unpack that opens nested packages without verifying.
pub fn inspect_options(args: &InspectArgs) -> Result<(VerifyOptions, Option<UnpackOptions>)> {
    let verify = VerifyOptions {
        hash_members: true,
        ..verify_options(&args.common, None)?
    };
    let unpack = match args.recursive {
        Some(depth) if depth > 0 => Some(UnpackOptions {
            verify: verify.clone(),
            no_verify: true,
            recursive: depth,
        }),
        _ => None,
    };
    Ok((verify, unpack))
}

pub fn verify_command_options(args: &VerifyArgs) -> Result<VerifyOptions> {
    verify_options(&args.common, args.sha256.as_deref())
}

pub fn unpack_options(args: &UnpackArgs) -> Result<UnpackOptions> {
    Ok(UnpackOptions {
        verify: verify_options(&args.common, args.sha256.as_deref())?,
        no_verify: args.no_verify,
        recursive: args.recursive.unwrap_or(0),
    })
}

/// The verify options the common flags and `--sha256` ask for, without
/// `hash_members` (only `inspect` sets it).
fn verify_options(common: &Common, sha256: Option<&str>) -> Result<VerifyOptions> {
    let sha256 = match sha256 {
        Some(text) => Some(
            fwkit::parse_sha256(text)
                .with_context(|| format!("--sha256 '{text}' is not 64 hex digits"))?,
        ),
        None => None,
    };
    let output = &common.show;
    let progress: Option<Arc<dyn Progress>> = if !output.quiet
        && !output.no_progress
        && !output.json
        && std::io::stderr().is_terminal()
    {
        Some(Arc::new(super::render::Bar::new()))
    } else {
        None
    };
    Ok(VerifyOptions {
        sha256,
        limits: limits(&common.limits)?,
        progress,
        hash_members: false,
        ..trust_options(&common.trust)?
    })
}

/// The verify options of `fwkit plan`: those `fwkit verify` takes from the
/// same flags, without a progress bar.
pub fn plan_verify_options(args: &super::args::PlanArgs) -> Result<VerifyOptions> {
    Ok(VerifyOptions {
        limits: limits(&args.limits)?,
        ..trust_options(&args.trust)?
    })
}

/// The trust flags as options: keys and certificates loaded (each detected
/// by content), `--require-signature`, `--at`, `--allow-legacy-crypto`.
fn trust_options(args: &super::args::TrustArgs) -> Result<VerifyOptions> {
    let trust = load_trust(&args.key, args.keyring.as_deref())?;
    Ok(VerifyOptions {
        keys: trust.minisign(),
        anchors: super::trust_x509::anchors(&trust)?,
        trust,
        require_signature: args.require_signature,
        at: args
            .at
            .as_deref()
            .map(super::trust_x509::parse_at)
            .transpose()?,
        allow_legacy_crypto: args.allow_legacy_crypto,
        ..VerifyOptions::default()
    })
}

/// Files of a `--keyring` directory that are read (each detected by content).
const KEYRING_EXTENSIONS: [&str; 8] = ["pub", "asc", "gpg", "pgp", "pem", "crt", "cer", "der"];
/// Largest key or certificate file read.
const MAX_KEY_FILE: u64 = 16 << 20;

/// Read the trusted keys and certificates named on the command line:
/// minisign/signify public keys, OpenPGP keys or keyrings, X.509
/// certificates, each detected by content.
pub fn load_trust(
    files: &[std::path::PathBuf],
    keyring: Option<&std::path::Path>,
) -> Result<fwkit::trust::TrustStore> {
    use std::io::Read as _;
    let mut paths: Vec<std::path::PathBuf> = files.to_vec();
    if let Some(dir) = keyring {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("--keyring {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| KEYRING_EXTENSIONS.contains(&x))
            })
            .collect();
        found.sort();
        if found.is_empty() {
            bail!(
                "--keyring {}: no key files in it (*.{})",
                dir.display(),
                KEYRING_EXTENSIONS.join(", *.")
            );
        }
        paths.extend(found);
    }
    let mut store = fwkit::trust::TrustStore::default();
    for path in &paths {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_KEY_FILE).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read key file {}", path.display()))?;
        store.add(&path.display().to_string(), &bytes)?;
    }
    Ok(store)
}

/// `pack`'s flags; reads (and may ask the passphrase of) the `--sign` key.
pub fn pack_options(args: &PackArgs) -> Result<PackOptions> {
    let format = PackFormat::parse(&args.format).with_context(|| {
        format!(
            "--format {}: use scexe, makeself, zip, tar.gz, tar.xz, tar.zst, set or fwpkg",
            args.format
        )
    })?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => std::fs::canonicalize(&args.source)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "package".to_owned()),
    };
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH '{text}' is not a number of seconds"))?,
        Err(_) => 0,
    };
    let device = match (&args.device, &args.target) {
        (Some(name), Some(target)) => Some(FwpkgDevice {
            name: name.clone(),
            target: target.clone(),
        }),
        (None, None) => None,
        _ => bail!("--device and --target go together"),
    };
    let sign = match &args.sign {
        Some(path) => Some(secret_key(path)?),
        None => None,
    };
    Ok(PackOptions {
        format,
        name,
        version: args.version.clone(),
        created,
        sign,
        run: args.run.clone(),
        device,
        provides: args.provides.clone(),
        requires: args.requires.clone(),
    })
}

/// `sign`'s flags: the trusted comment (minisign's default when not given).
pub fn sign_options(args: &SignArgs) -> SignOptions {
    SignOptions {
        trusted_comment: args
            .trusted_comment
            .clone()
            .unwrap_or_else(|| default_trusted_comment(&args.file)),
        ..SignOptions::default()
    }
}

/// minisign's default trusted comment: when and what was signed.
fn default_trusted_comment(file: &Path) -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("timestamp:{now}\tfile:{name}\thashed")
}

/// Read a minisign secret key, asking for the passphrase only when it is encrypted.
pub fn secret_key(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read secret key {}", path.display()))?;
    match SecretKey::parse(&text, None) {
        Ok(key) => Ok(key),
        Err(SignError::PasswordRequired) => {
            let password = password(&format!("Passphrase for {}: ", path.display()), Ask::Once)?;
            Ok(SecretKey::parse(&text, Some(&password))
                .with_context(|| format!("secret key {}", path.display()))?)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("secret key {}", path.display()))),
    }
}

/// `keygen`'s passphrase: none with `--no-password`, else asked (twice).
pub fn keygen_password(args: &KeygenArgs) -> Result<Option<String>> {
    if args.no_password {
        return Ok(None);
    }
    Ok(Some(password(
        "Passphrase for the new secret key: ",
        Ask::Twice,
    )?))
}

/// How often a terminal prompt asks for a passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// Once: the passphrase of an existing key.
    Once,
    /// Twice, both answers the same: a new key's passphrase.
    Twice,
}

/// The passphrase for a secret key: FWKIT_PASSWORD, else a terminal prompt.
fn password(prompt: &str, ask: Ask) -> Result<String> {
    if let Ok(p) = std::env::var("FWKIT_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: set FWKIT_PASSWORD or run on a terminal (or use --no-password)");
    }
    let first = rpassword::prompt_password(prompt).context("reading the passphrase")?;
    if ask == Ask::Twice {
        let again = rpassword::prompt_password("Again: ").context("reading the passphrase")?;
        if again != first {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

/// `exec`'s flags: the checks of `verify`, and how members are handed.
pub fn exec_options(args: &super::args::ExecArgs) -> Result<fwkit::handoff::HandoffOptions> {
    Ok(fwkit::handoff::HandoffOptions {
        verify: verify_options(&args.common, args.sha256.as_deref())?,
        as_files: args.as_files,
        max_memory: parse_size(&args.max_memory).context("--max-memory")?,
    })
}

/// A catalogue's options from the verify options the flags made: the trust
/// material (`--key`, `--keyring`) and `--sha256` check the catalogue
/// itself; each package is then covered by the digest the catalogue states
/// for it, so its own options carry no keys. `max_catalog` and
/// `max_entries` are `--max-catalog` and `--max-catalog-entries`.
pub fn catalog_options(
    mut verify: VerifyOptions,
    sha256: Option<[u8; 32]>,
    max_catalog: &str,
    max_entries: usize,
) -> Result<fwkit::catalog::CatalogOptions> {
    verify.progress = None;
    verify.sha256 = None;
    Ok(fwkit::catalog::CatalogOptions {
        keys: std::mem::take(&mut verify.keys),
        trust: std::mem::take(&mut verify.trust),
        anchors: std::mem::take(&mut verify.anchors),
        sha256,
        max_catalog: parse_size(max_catalog)
            .with_context(|| format!("--max-catalog {max_catalog}"))?,
        max_entries,
        verify,
        ..fwkit::catalog::CatalogOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("16G").unwrap(), 16 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
