//! Command-line arguments (clap derive). Flags become library options in
//! `options.rs`, nowhere else.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  fwkit inspect CP022989.scexe
  fwkit verify CP022989.scexe --sha256 <hex from the vendor's download page>
  fwkit verify installer.run --json | jq .verdict
  fwkit unpack CP022989.scexe -o CP022989
  fwkit unpack Firmware_XXXX_LN_1.00_A00.BIN -o dup --max-size 2G
  fwkit verify cp045678.exe --json
  fwkit verify upgrade-set/ --manifest upgrade-set.sha256

Exit status: 0 verified, 1 not verified (a check failed, unsafe content,
or no integrity data), 2 usage error or unreadable/unrecognised input.
fwkit exec answers with FLASHER's status, or 124-127 (see fwkit exec --help).";

/// Unpack, verify and pack firmware packages without ever executing them.
#[derive(Debug, Parser)]
#[command(name = "fwkit", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a package's format, layers, members, declared checks and vendor metadata.
    #[command(after_help = "Example:\n  fwkit inspect CP022989.scexe --json")]
    Inspect(InspectArgs),
    /// Run every check the package carries in one pass; exit 0 only if all pass.
    #[command(
        after_help = "Examples:\n  fwkit verify pkg.run\n  fwkit verify CP022989.scexe --sha256 0f3c…e1 --json"
    )]
    Verify(VerifyArgs),
    /// Write a new minisign key pair NAME.pub and NAME.key.
    #[command(
        after_help = "Examples:\n  fwkit keygen -o release\n  FWKIT_PASSWORD=... fwkit keygen -o ci\n  fwkit keygen -o test --no-password"
    )]
    Keygen(KeygenArgs),
    /// Sign a file: write FILE.minisig (minisign format, prehashed).
    #[command(
        after_help = "Example:\n  fwkit sign CP022989.scexe --key release.key --trusted-comment 'SAS expander 2.10'"
    )]
    Sign(SignArgs),
    /// Pack a directory into a package that verifies end to end.
    #[command(
        after_help = "Examples:\n  fwkit pack images/ -o expander.scexe --format scexe --name expander --version 2.10 --sign release.key\n  fwkit pack images/ -o sp.zip --format zip\n  fwkit pack images/ -o upgrade-set --format set --sign release.key\n  fwkit pack images/ -o ilo.fwpkg --format fwpkg --device 'iLO 5' --target 4764a662-b342-4fc7-9ce9-258c5d99e815\n\nFormats: scexe, makeself, zip, tar.gz, tar.xz, tar.zst, set, fwpkg.\nOutput is reproducible: SOURCE_DATE_EPOCH sets the timestamps (default 0)."
    )]
    Pack(PackArgs),
    /// Replace the signature of a package fwkit built, without repacking it.
    #[command(after_help = "Example:\n  fwkit resign expander.scexe --key release-2027.key")]
    Resign(ResignArgs),
    /// Verify and unpack the payload into a new directory (never the stub).
    #[command(
        after_help = "Examples:\n  fwkit unpack CP022989.scexe -o CP022989\n  fwkit unpack pkg.run -o out --no-verify"
    )]
    Unpack(UnpackArgs),
    /// Verify a package, then run FLASHER on the very bytes that were verified.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Which packages apply to an inventory, from which version, in which order.
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Examples:\n  fwkit completions bash > /etc/bash_completion.d/fwkit\n  fwkit completions zsh > \"${fpath[1]}/_fwkit\"\n  fwkit completions fish > ~/.config/fish/completions/fwkit.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout.
    #[command(after_help = "Example:\n  fwkit manpage > /usr/local/share/man/man1/fwkit.1")]
    Manpage,
}

/// Who is trusted to sign, and how signatures are judged: the same flags for
/// every command that verifies packages (verify, inspect, unpack, exec, plan).
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A trusted key (repeatable), detected by content: minisign or signify
    /// .pub, OpenPGP public key or keyring (armored or binary), X.509
    /// certificate (PEM or DER); a valid signature by one of the keys must
    /// then cover the whole package.
    #[arg(long, value_name = "PUB")]
    pub key: Vec<PathBuf>,
    /// A directory of trusted keys (every *.pub, *.asc, *.gpg, *.pgp, *.pem,
    /// *.crt, *.cer, *.der in it, each detected by content).
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,
    /// Fail unless a signature is checked (needs --key or --keyring).
    #[arg(long)]
    pub require_signature: bool,
    /// When a signer's certificates must be valid: now, signing-time or
    /// YYYY-MM-DD (default: the verified time stamp's time, else now).
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// Accept SHA-1 digests, DSA and RSA keys under 2048 bits (reported as
    /// legacy).
    #[arg(long)]
    pub allow_legacy_crypto: bool,
}

#[derive(Debug, Args)]
pub struct Common {
    /// The package file, or a directory holding a multi-file upgrade set.
    pub package: PathBuf,
    /// A checksum manifest describing a directory set (repeatable); listed
    /// paths are relative to the directory.
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    #[command(flatten)]
    pub show: ReportOutput,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// How a report is shown (inspect, verify, unpack).
#[derive(Debug, Args)]
pub struct ReportOutput {
    /// Print the complete report as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on stdout (errors still go to stderr): the exit status
    /// answers. Wins over --json.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// List every check, member and warning in full (the text report is
    /// otherwise bounded to fit a screen).
    #[arg(long, short)]
    pub verbose: bool,
    /// Never draw a progress bar (it is drawn on stderr, on a terminal only).
    #[arg(long)]
    pub no_progress: bool,
}

/// How the outcome of keygen, sign, pack and resign is shown.
#[derive(Debug, Args)]
pub struct ActionOutput {
    /// Print what was done as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on stdout (errors still go to stderr): the exit status
    /// answers. Wins over --json.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Most bytes of member content to read or write (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "16G")]
    pub max_size: String,
    /// Most members to read.
    #[arg(long, value_name = "N", default_value_t = 250_000)]
    pub max_entries: u64,
    /// Most path components in a member name.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_depth: usize,
    /// Most bytes of one checksum manifest (SHA256SUMS…); a larger one fails
    /// as a whole. 64M holds about 700,000 SHA-256 lines.
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    pub max_manifest: String,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub common: Common,
    /// Also open packages inside members (an .scexe in a zip, a zip in a PE…),
    /// up to DEPTH levels (default 3, at most 8); unpacks into a temporary directory.
    #[arg(long, value_name = "DEPTH", num_args = 0..=1, require_equals = true, default_missing_value = "3",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=fwkit::MAX_RECURSIVE as u64))]
    pub recursive: Option<usize>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: Common,
    /// The SHA-256 of the whole file you trust (e.g. from the vendor's download page);
    /// with --catalog, of the catalogue file.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

/// `fwkit verify --catalog CATALOG DIR`: a mirror checked against its catalogue.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// A repository catalogue (Dell Catalog.xml, .xml.gz, .gz); PACKAGE is then
    /// the mirror's directory and every entry is checked in it.
    #[arg(long, value_name = "CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Packages verified at once (default: one per core).
    #[arg(long, value_name = "N", requires = "catalog")]
    pub jobs: Option<usize>,
    /// Verify only shard I of N (0-based) of the entries, chosen by a hash of
    /// their path, so a batch engine can share the work.
    #[arg(long, value_name = "I/N", requires = "catalog")]
    pub shard: Option<String>,
    /// Files in the directory that no entry names fail the catalogue.
    #[arg(long, requires = "catalog")]
    pub strict: bool,
    #[command(flatten)]
    pub limits: CatalogLimits,
}

/// The caps on a catalogue (`verify --catalog`, `plan --catalog`).
#[derive(Debug, Args)]
pub struct CatalogLimits {
    /// With --catalog: most bytes of the catalogue, compressed and
    /// decompressed (K, M, G).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "512M",
        requires = "catalog"
    )]
    pub max_catalog: String,
    /// With --catalog: most entries in the catalogue (more is refused, exit 2).
    #[arg(
        long,
        value_name = "N",
        default_value_t = fwkit::catalog::DEFAULT_MAX_ENTRIES,
        requires = "catalog"
    )]
    pub max_catalog_entries: usize,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    #[command(flatten)]
    pub common: Common,
    /// The SHA-256 of the whole file you trust.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Directory to create; it must not exist.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Place the files even when integrity checks fail (safety checks still apply).
    #[arg(long)]
    pub no_verify: bool,
    /// Also unpack packages inside members, next to each as MEMBER.unpacked/,
    /// up to DEPTH levels (default 3, at most 8); every layer must verify, and the
    /// limits hold for all layers together.
    #[arg(long, value_name = "DEPTH", num_args = 0..=1, require_equals = true, default_missing_value = "3",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=fwkit::MAX_RECURSIVE as u64))]
    pub recursive: Option<usize>,
}

pub fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        // `fwkit exec` leaves the other statuses to FLASHER: its own usage
        // errors exit 125, like env's and timeout's.
        Err(e) if e.use_stderr() && std::env::args_os().nth(1).is_some_and(|a| a == "exec") => {
            let _ = e.print();
            std::process::exit(125)
        }
        Err(e) => e.exit(),
    }
}

const EXEC_HELP: &str = "\
Each argument token {MEMBER} (a member path: {PUF21000.bin}, {payload/rom.bin})
becomes /dev/fd/N, a sealed memfd (read-only, cannot be truncated) holding the
bytes that were hashed; only those descriptors are inherited. With --as-files
(or members over --max-memory) it becomes the path of a read-only file in a
private directory, and {} that directory; the files are hashed again after
FLASHER exits and the directory is removed. {{ and }} are literal braces.
{inner.zip/fw.bin} names fw.bin inside the member inner.zip, itself a
package (opened from the handed bytes; it must verify too). A bare image
(img.bin with img.bin.minisig beside it) is the one member {img.bin}, its
file name, handed like any member: a sealed memfd, or a read-only file with
--as-files or over --max-memory (copied once, verified from that copy). FLASHER runs only when the package is verified (or with
--no-verify, which never skips safety checks or --require-signature) and,
with --inventory, when `fwkit plan` would apply it. SIGINT and SIGTERM are
passed on to FLASHER, and fwkit waits for it.

Example:
  fwkit exec CP022989.scexe --sha256 0f3c…e1 -- \\
    sg_write_buffer --mode=dmc_offs_defer --bpw=4096 --in={PUF21000.bin} /dev/sg1

Exit status:
  FLASHER's own status when it ran (128+N when it was killed by signal N)
  124  FLASHER exited 0, but a file handed with --as-files changed meanwhile
       (or could not be removed)
  125  FLASHER never ran: not verified, rejected by the plan (--inventory),
       usage error (unknown member, a directory, bad braces or flags, an
       unreadable inventory or policy), unreadable package, or fwkit failed
  126  FLASHER was found but could not be executed
  127  FLASHER was not found
  --dry-run: 0 when FLASHER would run, 125 when not.";

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub common: Common,
    /// The SHA-256 of the whole file you trust.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Run FLASHER even when integrity checks fail (safety checks and
    /// --require-signature still apply).
    #[arg(long)]
    pub no_verify: bool,
    /// Hand read-only files in a private directory instead of sealed memfds.
    #[arg(long)]
    pub as_files: bool,
    /// Most bytes of handed members held in memory (K, M, G suffixes);
    /// members beyond it are handed as files.
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    pub max_memory: String,
    /// Print the command line and what each descriptor or file holds; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also plan the package against this inventory as `fwkit plan` does
    /// (from the report of the same pass); FLASHER never runs (125) when the
    /// plan rejects it: another system or device, no path, a failed rule.
    #[arg(long, value_name = "INV.json")]
    pub inventory: Option<PathBuf>,
    /// With --inventory: a pipeline policy (TOML), as for `fwkit plan`.
    #[arg(long, value_name = "POLICY.toml", requires = "inventory")]
    pub policy: Option<PathBuf>,
    /// With --inventory: allow an older release than the device runs.
    #[arg(long, requires = "inventory")]
    pub allow_downgrade: bool,
    /// With --inventory: allow the release the device runs already.
    #[arg(long, requires = "inventory")]
    pub allow_reinstall: bool,
    /// The program to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "FLASHER")]
    pub command: Vec<std::ffi::OsString>,
}

/// The clap definition itself, for completions and the manual page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Base name: writes NAME.pub and NAME.key (neither may exist).
    #[arg(short, long, value_name = "NAME")]
    pub output: PathBuf,
    /// Store the secret key unencrypted (otherwise a passphrase is asked on the
    /// terminal, or read from FWKIT_PASSWORD).
    #[arg(long)]
    pub no_password: bool,
    #[command(flatten)]
    pub show: ActionOutput,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// The secret key (minisign format).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Text signed along with the file and shown as trusted when verifying.
    #[arg(long, value_name = "TEXT")]
    pub trusted_comment: Option<String>,
    /// Replace an existing FILE.minisig.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub show: ActionOutput,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The directory to pack (regular files and directories only).
    pub source: PathBuf,
    /// Output file (or directory for --format set); it must not exist.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// scexe, makeself, zip, tar.gz, tar.xz, tar.zst, set or fwpkg; or catalog (a
    /// signed index of every file in SOURCE, for fwkit verify --catalog).
    #[arg(long, value_name = "FORMAT")]
    pub format: String,
    /// Package name (default: the source directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Package version.
    #[arg(long, default_value = "0")]
    pub version: String,
    /// Sign the manifest with this minisign secret key.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Self-extracting formats: command run after extraction (e.g. ./flash.sh).
    #[arg(long, value_name = "CMD")]
    pub run: Option<String>,
    /// fwpkg: the device name written to payload.json.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// A device GUID the package flashes, signed in the manifest (repeatable;
    /// read by `fwkit plan`).
    #[arg(long, value_name = "GUID")]
    pub provides: Vec<String>,
    /// What must hold before it is applied, signed in the manifest
    /// (repeatable): 'ge E.02.26' (the device itself) or 'ge 1.4 GUID'.
    #[arg(long, value_name = "'CMP VERSION [GUID]'")]
    pub requires: Vec<String>,
    /// fwpkg: the device's target GUID.
    #[arg(long, value_name = "GUID")]
    pub target: Option<String>,
    #[command(flatten)]
    pub show: ActionOutput,
}

#[derive(Debug, Args)]
pub struct ResignArgs {
    /// A package made by fwkit pack.
    pub package: PathBuf,
    /// The new minisign secret key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub show: ActionOutput,
}

/// `fwkit plan`'s exit codes and an example.
const PLAN_HELP: &str = "Examples:\n  fwkit plan cabinets/ --inventory inventory.json\n  fwupdmgr get-devices --json > devices.json && fwkit plan --inventory-from-fwupd devices.json > inventory.json\n  fwkit plan --inventory-from-redfish firmware-inventory.json > inventory.json\n\nExit: 0 a plan is found and every rule holds; 1 not verified, not applicable, no path; 2 usage, or an unreadable inventory.";

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Packages, or directories whose every entry is a package.
    #[arg(
        value_name = "PKG_OR_DIR",
        required_unless_present_any = ["inventory_from_fwupd", "inventory_from_redfish"]
    )]
    pub packages: Vec<PathBuf>,
    /// The inventory: the system and its devices with their versions (JSON).
    #[arg(
        long,
        value_name = "INV.json",
        required_unless_present_any = ["inventory_from_fwupd", "inventory_from_redfish"]
    )]
    pub inventory: Option<PathBuf>,
    /// Print the inventory made from `fwupdmgr get-devices --json` output and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "inventory")]
    pub inventory_from_fwupd: Option<PathBuf>,
    /// Print the inventory made from a Redfish FirmwareInventory collection
    /// (`GET /redfish/v1/UpdateService/FirmwareInventory?$expand=.`) and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["inventory", "inventory_from_fwupd"])]
    pub inventory_from_redfish: Option<PathBuf>,
    /// A pipeline policy (TOML): required signers, allowed formats,
    /// require-signature, forbid-downgrade, minimum versions per device.
    #[arg(long, value_name = "POLICY.toml")]
    pub policy: Option<PathBuf>,
    /// Apply an older release when no newer one exists.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Apply the release the device runs already.
    #[arg(long)]
    pub allow_reinstall: bool,
    /// Also write a JUnit XML report: one testcase per package and rule.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// A repository catalogue (Dell Catalog.xml(.gz), LVFS firmware.xml.gz,
    /// fwkit's own): PKG_OR_DIR is then the one mirror directory it lists,
    /// checked as verify --catalog checks it, and each entry that verifies
    /// is planned with the catalogue's facts.
    #[arg(long, value_name = "CATALOG")]
    pub catalog: Option<PathBuf>,
    /// With --catalog: the SHA-256 of the catalogue file (hex).
    #[arg(long, value_name = "HEX", requires = "catalog")]
    pub sha256: Option<String>,
    #[command(flatten)]
    pub catalog_limits: CatalogLimits,
    #[command(flatten)]
    pub show: ActionOutput,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}
