//! `fwkit keygen`, `sign`, `pack`, `resign` and `verify --key` end to end
//! (issue 4), always through the real binary.
//!
//! Every package is made at test time by `fwkit pack` from a tree written
//! here (a subdirectory, an executable `flash.sh`, 300 KiB of pseudo-random
//! bytes) and signed with a key from `fwkit keygen --no-password`. Foreign
//! keys and signatures come from `minisign -G/-S` and `signify-openbsd
//! -G/-S`, foreign self-extractors from Debian's `makeself`. Tampered
//! packages are rebuilt with the real tools (GNU tar and gzip, Info-ZIP
//! `zip`/`unzip`, coreutils `sha256sum`), with `SHA256SUMS` and every
//! checksum in the stub made to agree, so only the signed manifest can
//! tell them from the original. Nothing is committed.
//!
//! Submodules: `pack/roundtrip.rs` (round trips, key policy,
//! reproducibility, never overwriting), `pack/tamper.rs`, `pack/interop.rs`
//! (real tools, password keys, detached signatures, running our
//! self-extractors) and `pack/resign.rs`.

mod interop;
mod resign;
mod roundtrip;
mod tamper;

use crate::util::{fwkit_env, prng, require_tool, tree_files, write_file, Run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// Every `--format` of `fwkit pack`.
const FORMATS: [&str; 8] = [
    "scexe", "makeself", "zip", "tar.gz", "tar.xz", "tar.zst", "set", "fwpkg",
];

/// The metadata `fwkit pack` adds to a signed package.
const METADATA: [&str; 3] = ["FWKIT-MANIFEST", "FWKIT-MANIFEST.minisig", "SHA256SUMS"];

/// Relative path -> (content, permission bits).
type Tree = BTreeMap<String, (Vec<u8>, u32)>;

/// `flash.sh` leaves a marker where `$MARKER` says, with its arguments.
const FLASH: &str = "#!/bin/sh\n\
# fwkit pack test: prove that this ran, and with which arguments.\n\
if [ -n \"${MARKER:-}\" ]; then echo \"flashed $*\" > \"$MARKER\"; fi\n";

/// A temporary directory with the source tree `src/` and the key pair `k`.
struct Work {
    _tmp: TempDir,
    dir: PathBuf,
    /// `src/` as written.
    tree: Tree,
}

impl Work {
    fn new() -> Work {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_owned();
        let src = dir.join("src");
        write_file(&src.join("flash.sh"), FLASH.as_bytes(), 0o755);
        write_file(&src.join("readme.txt"), b"fwkit pack test set\n", 0o644);
        write_file(&src.join("sub/big.bin"), &prng(0x9ac4, 300 << 10), 0o644);
        write_file(
            &src.join("sub/deeper/note.txt"),
            b"a file two levels down\n",
            0o644,
        );
        let tree = tree_files(&src);
        let work = Work {
            _tmp: tmp,
            dir,
            tree,
        };
        work.keygen("k");
        work
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `fwkit ARGS` in the work directory, with no `SOURCE_DATE_EPOCH` or
    /// `FWKIT_PASSWORD` from the test's environment.
    fn fwkit(&self, args: &[&str]) -> Run {
        self.fwkit_env(&[], args)
    }

    fn fwkit_env(&self, env: &[(&str, Option<&str>)], args: &[&str]) -> Run {
        let mut all = vec![("SOURCE_DATE_EPOCH", None), ("FWKIT_PASSWORD", None)];
        all.extend_from_slice(env);
        fwkit_env(&self.dir, &all, args)
    }

    /// `NAME.pub` and `NAME.key`, no password.
    fn keygen(&self, name: &str) {
        self.fwkit(&["keygen", "-o", name, "--no-password"])
            .expect(0);
    }

    /// `fwkit pack src -o OUT --format F --name n --version 1.2 EXTRA…`
    /// (plus `--device`/`--target` for fwpkg); must succeed.
    fn pack(&self, format: &str, out: &str, extra: &[&str]) {
        self.pack_env(&[], format, out, extra).expect(0);
    }

    fn pack_env(
        &self,
        env: &[(&str, Option<&str>)],
        format: &str,
        out: &str,
        extra: &[&str],
    ) -> Run {
        let mut args = vec![
            "pack",
            "src",
            "-o",
            out,
            "--format",
            format,
            "--name",
            "n",
            "--version",
            "1.2",
        ];
        if format == "fwpkg" {
            args.extend([
                "--device",
                "Test NIC",
                "--target",
                "4764a662-b342-4fc7-9ce9-258c5d99e815",
            ]);
        }
        args.extend_from_slice(extra);
        self.fwkit_env(env, &args)
    }

    /// `fwkit verify PKG --json ARGS…`: the run and its report.
    fn verify(&self, pkg: &str, args: &[&str]) -> (Run, Value) {
        let mut all = vec!["verify", pkg, "--json"];
        all.extend_from_slice(args);
        let run = self.fwkit(&all);
        let doc = run.json();
        (run, doc)
    }
}

/// True when every tool is on PATH (see `util::require_tool`).
fn have(tools: &[&str]) -> bool {
    tools.iter().all(|t| require_tool(t))
}

/// `program ARGS` in `cwd` with `env` added, stdin closed.
fn run_tool(cwd: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

/// `program ARGS` must succeed; its stdout.
#[track_caller]
fn ok_tool(cwd: &Path, program: &str, args: &[&str]) -> String {
    let out = run_tool(cwd, program, args, &[]);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The checks of a report with `kind` and `outcome`.
fn checks<'a>(doc: &'a Value, kind: &str, outcome: &str) -> Vec<&'a Value> {
    crate::util::checks_with(doc, kind, None, outcome)
}

/// The single check whose `covers` starts with `prefix`, with `outcome`.
#[track_caller]
fn check_on<'a>(doc: &'a Value, prefix: &str, outcome: &str) -> &'a Value {
    let found: Vec<&Value> = crate::util::checks(doc)
        .iter()
        .filter(|c| c["outcome"] == outcome)
        .filter(|c| c["covers"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "want one {outcome} check on `{prefix}…` in\n{:#}",
        doc["checks"]
    );
    found[0]
}

/// Panic unless `got` (an unpacked or extracted tree) is the source tree
/// plus exactly the metadata files `extra`.
#[track_caller]
fn assert_tree_is_source_plus(got: &Path, work: &Work, extra: &[&str]) {
    let mut got = tree_files(got);
    for name in extra {
        assert!(
            got.remove(*name).is_some(),
            "{name} missing from {:?}",
            got.keys()
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        work.tree.keys().collect::<Vec<_>>()
    );
    for (name, (data, mode)) in &work.tree {
        let (got_data, got_mode) = &got[name];
        assert!(got_data == data, "{name}: content differs");
        assert_eq!(got_mode, mode, "{name}: mode {got_mode:o}, want {mode:o}");
    }
}

/// The bytes of a file, or the `tree_files` of a directory, for comparing outputs.
fn snapshot(path: &Path) -> Tree {
    if path.is_dir() {
        tree_files(path)
    } else {
        let mut one = Tree::new();
        one.insert(String::new(), (fs::read(path).expect("read output"), 0));
        one
    }
}
