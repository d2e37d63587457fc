//! Flags become library options here, in one place.

use super::args::{Common, LimitArgs};
use anyhow::{bail, Context, Result};
use fwkit::{Limits, Progress, VerifyOptions};
use std::io::IsTerminal;
use std::sync::Arc;

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
    })
}

pub fn verify_options(
    common: &Common,
    sha256: Option<&str>,
    hash_members: bool,
) -> Result<VerifyOptions> {
    let sha256 = match sha256 {
        Some(text) => Some(
            fwkit::parse_sha256(text)
                .with_context(|| format!("--sha256 '{text}' is not 64 hex digits"))?,
        ),
        None => None,
    };
    let progress: Option<Arc<dyn Progress>> =
        if !common.quiet && !common.json && std::io::stderr().is_terminal() {
            Some(Arc::new(super::render::Bar::new()))
        } else {
            None
        };
    Ok(VerifyOptions {
        sha256,
        limits: limits(&common.limits)?,
        progress,
        hash_members,
        keys: load_keys(&common.key, common.keyring.as_deref())?,
        require_signature: common.require_signature,
    })
}

/// Read the trusted public keys named on the command line.
pub fn load_keys(
    files: &[std::path::PathBuf],
    keyring: Option<&std::path::Path>,
) -> Result<Vec<fwkit::sign::PublicKey>> {
    let mut paths: Vec<std::path::PathBuf> = files.to_vec();
    if let Some(dir) = keyring {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("--keyring {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pub"))
            .collect();
        found.sort();
        if found.is_empty() {
            bail!("--keyring {}: no *.pub files in it", dir.display());
        }
        paths.extend(found);
    }
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read public key {}", path.display()))?;
            fwkit::sign::PublicKey::parse(&text).with_context(|| {
                format!("{} is not a minisign or signify public key", path.display())
            })
        })
        .collect()
}

/// The passphrase for a secret key: FWKIT_PASSWORD, else a terminal prompt.
pub fn password(prompt: &str, confirm: bool) -> Result<String> {
    if let Ok(p) = std::env::var("FWKIT_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: set FWKIT_PASSWORD or run on a terminal (or use --no-password)");
    }
    let first = rpassword::prompt_password(prompt).context("reading the passphrase")?;
    if confirm {
        let again = rpassword::prompt_password("Again: ").context("reading the passphrase")?;
        if again != first {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
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
