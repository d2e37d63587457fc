//! The binary's glue: run a command, render its report, choose the exit code.

pub mod args;
mod options;
mod render;

use anyhow::{Context, Result};
use args::{Cli, Command};
use fwkit::{Package, UnpackOptions};

/// Exit codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Verified = 0,
    NotVerified = 1,
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

pub fn run(cli: Cli) -> Result<Code> {
    match cli.command {
        Command::Inspect(args) => {
            let options = options::verify_options(&args.common, None, true)?;
            let package = open(&args.common)?;
            let report = match args.recursive {
                Some(depth) if depth > 0 => {
                    // Nested packages are read from their unpacked bytes; the
                    // temporary tree is removed afterwards.
                    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
                    let unpack = UnpackOptions {
                        verify: options,
                        no_verify: true,
                        recursive: depth,
                    };
                    let mut report = package.unpack(tmp.path().join("package"), &unpack)?;
                    report.unpacked = None;
                    report
                }
                _ => package.inspect(&options)?,
            };
            shown(render::emit(&report, "inspect", args.common.json))?;
            Ok(Code::Verified)
        }
        Command::Verify(args) => {
            let options = options::verify_options(&args.common, args.sha256.as_deref(), false)?;
            let package = open(&args.common)?;
            let report = package.verify(&options)?;
            shown(render::emit(&report, "verify", args.common.json))?;
            Ok(if report.verdict.is_verified() {
                Code::Verified
            } else {
                Code::NotVerified
            })
        }
        Command::Keygen(args) => {
            keygen(&args)?;
            Ok(Code::Verified)
        }
        Command::Sign(args) => {
            sign(&args)?;
            Ok(Code::Verified)
        }
        Command::Pack(args) => {
            pack(&args)?;
            Ok(Code::Verified)
        }
        Command::Resign(args) => {
            let key = load_secret(&args.key)?;
            let report = fwkit::pack::resign(&args.package, &key)
                .with_context(|| format!("re-signing {}", args.package.display()))?;
            println!(
                "re-signed {} with key id {} (manifest sha256 {})",
                args.package.display(),
                key.key_id(),
                report.manifest_sha256
            );
            Ok(Code::Verified)
        }
        Command::Unpack(args) => {
            let verify = options::verify_options(&args.common, args.sha256.as_deref(), false)?;
            let package = open(&args.common)?;
            let options = UnpackOptions {
                verify,
                no_verify: args.no_verify,
                recursive: args.recursive.unwrap_or(0),
            };
            let report = package
                .unpack(&args.output, &options)
                .with_context(|| format!("unpacking {}", args.common.package.display()))?;
            shown(render::emit(&report, "unpack", args.common.json))?;
            Ok(if report.unpacked.is_some() {
                Code::Verified
            } else {
                Code::NotVerified
            })
        }
    }
}

/// A reader that went away (`fwkit verify x | head -1`) does not change the answer.
fn shown(result: Result<()>) -> Result<()> {
    match result {
        Err(err) if is_broken_pipe(&err) => Ok(()),
        other => other,
    }
}

fn open(common: &args::Common) -> Result<Package> {
    if common.manifest.is_empty() {
        Ok(Package::open(&common.package)?)
    } else {
        Ok(Package::open_set(&common.package, &common.manifest)?)
    }
}

/// A write to a closed pipe (`fwkit inspect x | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Write `bytes` to a new file; never replaces one unless `force`.
fn write_new(path: &std::path::Path, bytes: &[u8], secret: bool, force: bool) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = secret;
    let mut file = options.open(path).with_context(|| {
        if path.exists() && !force {
            format!("{} exists; fwkit never overwrites it", path.display())
        } else {
            format!("cannot write {}", path.display())
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn keygen(args: &args::KeygenArgs) -> Result<()> {
    let public_path = fwkit::sign::detached_path(&args.output, "pub");
    let secret_path = fwkit::sign::detached_path(&args.output, "key");
    for path in [&public_path, &secret_path] {
        if path.exists() {
            anyhow::bail!("{} exists; fwkit never overwrites a key", path.display());
        }
    }
    let password = if args.no_password {
        None
    } else {
        Some(options::password(
            "Passphrase for the new secret key: ",
            true,
        )?)
    };
    let (secret, public) = fwkit::sign::SecretKey::generate()?;
    let secret_text = secret.to_minisign_string(password.as_deref())?;
    write_new(&secret_path, secret_text.as_bytes(), true, false)?;
    write_new(
        &public_path,
        public.to_minisign_string().as_bytes(),
        false,
        false,
    )?;
    println!(
        "key id {}: public key {}, secret key {}{}",
        public.key_id,
        public_path.display(),
        secret_path.display(),
        if password.is_none() {
            " (not encrypted)"
        } else {
            ""
        }
    );
    Ok(())
}

/// Read a minisign secret key, asking for the passphrase only when it is encrypted.
fn load_secret(path: &std::path::Path) -> Result<fwkit::sign::SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read secret key {}", path.display()))?;
    match fwkit::sign::SecretKey::parse(&text, None) {
        Ok(key) => Ok(key),
        Err(fwkit::sign::SignError::PasswordRequired) => {
            let password =
                options::password(&format!("Passphrase for {}: ", path.display()), false)?;
            Ok(fwkit::sign::SecretKey::parse(&text, Some(&password))
                .with_context(|| format!("secret key {}", path.display()))?)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("secret key {}", path.display()))),
    }
}

/// minisign's default trusted comment: when and what was signed.
pub fn default_trusted_comment(file: &std::path::Path) -> String {
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

fn sign(args: &args::SignArgs) -> Result<()> {
    let secret = load_secret(&args.key)?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let options = fwkit::sign::SignOptions {
        trusted_comment: args
            .trusted_comment
            .clone()
            .unwrap_or_else(|| default_trusted_comment(&args.file)),
        ..fwkit::sign::SignOptions::default()
    };
    let signature = fwkit::sign::sign(&secret, std::io::BufReader::new(file), &options)?;
    let out = fwkit::sign::detached_path(&args.file, "minisig");
    write_new(
        &out,
        signature.to_file_string().as_bytes(),
        false,
        args.force,
    )?;
    println!(
        "signed {} with key id {}: {}",
        args.file.display(),
        secret.key_id(),
        out.display()
    );
    Ok(())
}

fn pack(args: &args::PackArgs) -> Result<()> {
    let format = fwkit::pack::PackFormat::parse(&args.format).with_context(|| {
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
    let sign = match &args.sign {
        Some(path) => Some(load_secret(path)?),
        None => None,
    };
    let device = match (&args.device, &args.target) {
        (Some(name), Some(target)) => Some(fwkit::pack::FwpkgDevice {
            name: name.clone(),
            target: target.clone(),
        }),
        (None, None) => None,
        _ => anyhow::bail!("--device and --target go together"),
    };
    let options = fwkit::pack::PackOptions {
        format,
        name,
        version: args.version.clone(),
        created,
        sign,
        run: args.run.clone(),
        device,
    };
    let report = fwkit::pack::pack(&args.source, &args.output, &options)
        .with_context(|| format!("packing {}", args.source.display()))?;
    println!(
        "packed {} file(s) into {} (manifest sha256 {}{})",
        report.files,
        report.output.display(),
        report.manifest_sha256,
        report
            .signed_by
            .map(|k| format!(", signed by key id {k}"))
            .unwrap_or_default()
    );
    Ok(())
}
