//! Interop of `fwkit::sign` with the real `minisign` and `signify-openbsd`.
//!
//! Every key and signature here is made at test time in a temporary
//! directory, by the tools or by fwkit; nothing is committed. Each test
//! skips with a visible `SKIP:` line when a tool is missing, and fails
//! instead when `FWKIT_REQUIRE_TOOLS=1`.
//!
//! Self-contained on purpose (no `util.rs`), so it also builds on its own.

use crate::util::require_tool;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fwkit::sign::{
    self, KdfLimits, PublicKey, SecretKey, SignError, SignOptions, Signature, Verified,
};

const MINISIGN: &str = "minisign";
const SIGNIFY: &str = "signify-openbsd";
const PASSWORD: &str = "fwkit test password";

/// Run `program args` in `dir` with `stdin` as its input.
fn run(dir: &Path, program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Run a tool and panic with its output unless it succeeds.
#[track_caller]
fn ok(dir: &Path, program: &str, args: &[&str], stdin: &str) -> Output {
    let out = run(dir, program, args, stdin);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run a tool that must fail.
#[track_caller]
fn fails(dir: &Path, program: &str, args: &[&str]) {
    let out = run(dir, program, args, "");
    assert!(
        !out.status.success(),
        "`{program} {}` accepted what it should refuse\n--- stdout\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("read {}: {e}", path.as_ref().display()))
}

/// A data file of `len` bytes that are not all alike; returns its path.
fn data_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// `path`'s bytes with the byte at `at` changed.
fn changed_copy(path: &Path, at: usize) -> Vec<u8> {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    bytes
}

fn verify_file(sig: &Path, keys: &[PublicKey], data: &Path) -> Result<Verified, SignError> {
    let signature = Signature::parse(&read(sig)).unwrap();
    sign::verify(&signature, keys, fs::File::open(data).unwrap())
}

fn options(trusted: &str, prehashed: bool) -> SignOptions {
    SignOptions {
        prehashed,
        trusted_comment: trusted.to_owned(),
        ..SignOptions::default()
    }
}

#[test]
fn minisign_key_signs_with_fwkit_and_minisign_verifies() {
    if !require_tool(MINISIGN) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        MINISIGN,
        &["-G", "-W", "-p", "x.pub", "-s", "x.key"],
        "",
    );
    let secret = SecretKey::parse(&read(dir.join("x.key")), None).unwrap();
    let public = PublicKey::parse(&read(dir.join("x.pub"))).unwrap();
    assert_eq!(secret.public_key().key, public.key);
    assert_eq!(secret.key_id(), public.key_id);

    let data = data_file(dir, "image.bin", 300_001);
    for (prehashed, sig) in [(true, "hashed.minisig"), (false, "legacy.minisig")] {
        let trusted = format!("fwkit test\tprehashed:{prehashed}");
        let signature = sign::sign(
            &secret,
            fs::File::open(&data).unwrap(),
            &options(&trusted, prehashed),
        )
        .unwrap();
        fs::write(dir.join(sig), signature.to_file_string()).unwrap();
        let out = ok(
            dir,
            MINISIGN,
            &["-V", "-p", "x.pub", "-x", sig, "-m", "image.bin"],
            "",
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(&trusted), "{stdout}");
        let verified = verify_file(&dir.join(sig), std::slice::from_ref(&public), &data).unwrap();
        assert_eq!(verified.trusted_comment.as_deref(), Some(trusted.as_str()));
        assert_eq!(verified.prehashed, prehashed);

        // minisign refuses the same signature over a changed file.
        fs::write(dir.join("changed.bin"), changed_copy(&data, 150_000)).unwrap();
        fails(
            dir,
            MINISIGN,
            &["-V", "-p", "x.pub", "-x", sig, "-m", "changed.bin"],
        );
    }
}

#[test]
fn minisign_encrypted_key_is_read_with_its_password() {
    if !require_tool(MINISIGN) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // minisign asks twice; its default (sensitive) scrypt limits apply.
    let twice = format!("{PASSWORD}\n{PASSWORD}\n");
    ok(dir, MINISIGN, &["-G", "-p", "e.pub", "-s", "e.key"], &twice);
    let text = read(dir.join("e.key"));
    assert!(matches!(
        SecretKey::parse(&text, None),
        Err(SignError::PasswordRequired)
    ));
    // One scrypt run at minisign's default cost (1 GiB; slow in a debug
    // build): the wrong-password path is covered with cheaper keys.
    let secret = SecretKey::parse(&text, Some(PASSWORD)).unwrap();
    let public = PublicKey::parse(&read(dir.join("e.pub"))).unwrap();
    assert_eq!(secret.public_key().key, public.key);

    let data = data_file(dir, "a.bin", 1000);
    let signature =
        sign::sign(&secret, &fs::read(&data).unwrap()[..], &options("t", true)).unwrap();
    fs::write(dir.join("a.bin.minisig"), signature.to_file_string()).unwrap();
    ok(dir, MINISIGN, &["-V", "-p", "e.pub", "-m", "a.bin"], "");
}

#[test]
fn fwkit_keys_work_in_minisign() {
    if !require_tool(MINISIGN) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (secret, public) = SecretKey::generate().unwrap();
    fs::write(dir.join("our.pub"), public.to_minisign_string()).unwrap();
    fs::write(
        dir.join("plain.key"),
        secret.to_minisign_string(None).unwrap(),
    )
    .unwrap();
    fs::write(
        dir.join("locked.key"),
        secret
            .to_minisign_string_with_limits(PASSWORD, KdfLimits::INTERACTIVE)
            .unwrap(),
    )
    .unwrap();
    let data = data_file(dir, "fw.bin", 70_000);

    // Our signatures, both kinds, verified by minisign.
    for (prehashed, sig) in [(true, "ours.minisig"), (false, "ours-legacy.minisig")] {
        let signature = sign::sign(
            &secret,
            fs::File::open(&data).unwrap(),
            &options("made by fwkit", prehashed),
        )
        .unwrap();
        fs::write(dir.join(sig), signature.to_file_string()).unwrap();
        ok(
            dir,
            MINISIGN,
            &["-V", "-p", "our.pub", "-x", sig, "-m", "fw.bin"],
            "",
        );
    }
    // The bare base64 key works as minisign's -P too.
    ok(
        dir,
        MINISIGN,
        &[
            "-V",
            "-P",
            &public.to_base64(),
            "-x",
            "ours.minisig",
            "-m",
            "fw.bin",
        ],
        "",
    );

    // minisign signs with our secret keys, unencrypted and encrypted.
    for (key, stdin, sig) in [
        ("plain.key", String::new(), "plain.minisig"),
        ("locked.key", format!("{PASSWORD}\n"), "locked.minisig"),
    ] {
        ok(
            dir,
            MINISIGN,
            &[
                "-S",
                "-s",
                key,
                "-x",
                sig,
                "-m",
                "fw.bin",
                "-t",
                "by minisign",
            ],
            &stdin,
        );
        ok(
            dir,
            MINISIGN,
            &["-V", "-p", "our.pub", "-x", sig, "-m", "fw.bin"],
            "",
        );
        let verified = verify_file(&dir.join(sig), std::slice::from_ref(&public), &data).unwrap();
        assert_eq!(verified.trusted_comment.as_deref(), Some("by minisign"));
        assert!(verified.prehashed);
    }
    // minisign refuses our encrypted key with a wrong password.
    let out = run(
        dir,
        MINISIGN,
        &[
            "-S",
            "-s",
            "locked.key",
            "-x",
            "wrong.minisig",
            "-m",
            "fw.bin",
        ],
        "not the password\n",
    );
    assert!(!out.status.success());

    // minisign recreates our public key from our secret key.
    ok(
        dir,
        MINISIGN,
        &["-R", "-s", "plain.key", "-p", "again.pub"],
        "",
    );
    // minisign 0.11 writes the key id in its comment without leading zeros, so
    // compare the key itself, not the untrusted comment.
    let again = PublicKey::parse(&read(dir.join("again.pub"))).unwrap();
    assert_eq!((again.key_id, again.key), (public.key_id, public.key));
}

#[test]
fn fwkit_key_with_minisigns_default_limits_works_in_minisign() {
    if !require_tool(MINISIGN) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (secret, public) = SecretKey::generate().unwrap();
    let text = secret.to_minisign_string(Some(PASSWORD)).unwrap();
    fs::write(dir.join("our.key"), &text).unwrap();
    fs::write(dir.join("our.pub"), public.to_minisign_string()).unwrap();
    data_file(dir, "fw.bin", 10);
    ok(
        dir,
        MINISIGN,
        &["-S", "-s", "our.key", "-m", "fw.bin"],
        &format!("{PASSWORD}\n"),
    );
    ok(dir, MINISIGN, &["-V", "-p", "our.pub", "-m", "fw.bin"], "");
}

#[test]
fn minisign_signatures_verify_in_fwkit() {
    if !require_tool(MINISIGN) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        MINISIGN,
        &["-G", "-W", "-p", "a.pub", "-s", "a.key"],
        "",
    );
    ok(
        dir,
        MINISIGN,
        &["-G", "-W", "-p", "b.pub", "-s", "b.key"],
        "",
    );
    let a = PublicKey::parse(&read(dir.join("a.pub"))).unwrap();
    let b = PublicKey::parse(&read(dir.join("b.pub"))).unwrap();
    let data = data_file(dir, "fw.bin", 200_000);
    let other = data_file(dir, "other.bin", 200_000 - 1);
    fs::write(dir.join("changed.bin"), changed_copy(&data, 123_456)).unwrap();

    for (legacy, sig) in [(false, "fw.minisig"), (true, "fw-legacy.minisig")] {
        let mut args = vec!["-S", "-s", "a.key", "-x", sig, "-m", "fw.bin"];
        args.extend(["-t", "release 1.2\tfile:fw.bin"]);
        if legacy {
            args.push("-l");
        }
        ok(dir, MINISIGN, &args, "");
        let sig = dir.join(sig);

        let verified = verify_file(&sig, &[b.clone(), a.clone()], &data).unwrap();
        assert_eq!(verified.key_id, a.key_id);
        assert_eq!(verified.prehashed, !legacy);
        assert_eq!(
            verified.trusted_comment.as_deref(),
            Some("release 1.2\tfile:fw.bin")
        );
        assert_eq!(
            verified.untrusted_comment,
            "signature from minisign secret key"
        );

        // Another key: refused on the key id, before any crypto.
        match verify_file(&sig, std::slice::from_ref(&b), &data) {
            Err(SignError::NoKeyForKeyId { found, known }) => {
                assert_eq!(found, a.key_id);
                assert_eq!(known, vec![b.key_id]);
            }
            other => panic!("expected NoKeyForKeyId, got {other:?}"),
        }
        // Another file, or one changed byte.
        for wrong in [&other, &dir.join("changed.bin")] {
            assert!(matches!(
                verify_file(&sig, std::slice::from_ref(&a), wrong),
                Err(SignError::BadSignature { .. })
            ));
        }
        // A changed trusted comment.
        let forged = read(&sig).replace("release 1.2", "release 9.9");
        assert!(matches!(
            sign::verify(
                &Signature::parse(&forged).unwrap(),
                std::slice::from_ref(&a),
                fs::File::open(&data).unwrap()
            ),
            Err(SignError::BadTrustedComment { .. })
        ));
    }
}

#[test]
fn signify_signatures_verify_in_fwkit() {
    if !require_tool(SIGNIFY) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        SIGNIFY,
        &["-G", "-n", "-p", "s.pub", "-s", "s.sec"],
        "",
    );
    ok(
        dir,
        SIGNIFY,
        &["-G", "-n", "-p", "t.pub", "-s", "t.sec"],
        "",
    );
    let s = PublicKey::parse(&read(dir.join("s.pub"))).unwrap();
    let t = PublicKey::parse(&read(dir.join("t.pub"))).unwrap();
    assert_eq!(s.kind, sign::KeyKind::Signify);
    let data = data_file(dir, "fw.bin", 100_000);
    let other = data_file(dir, "other.bin", 100_001);
    fs::write(dir.join("changed.bin"), changed_copy(&data, 0)).unwrap();
    ok(
        dir,
        SIGNIFY,
        &["-S", "-s", "s.sec", "-m", "fw.bin", "-x", "fw.bin.sig"],
        "",
    );
    let sig = dir.join("fw.bin.sig");

    let verified = verify_file(&sig, &[t.clone(), s.clone()], &data).unwrap();
    assert_eq!(verified.key_id, s.key_id);
    assert_eq!(verified.trusted_comment, None);
    assert!(!verified.prehashed);
    assert_eq!(verified.untrusted_comment, "verify with s.pub");

    assert!(matches!(
        verify_file(&sig, std::slice::from_ref(&t), &data),
        Err(SignError::NoKeyForKeyId { found, .. }) if found == s.key_id
    ));
    for wrong in [&other, &dir.join("changed.bin")] {
        assert!(matches!(
            verify_file(&sig, std::slice::from_ref(&s), wrong),
            Err(SignError::BadSignature { .. })
        ));
    }
}

#[test]
fn signify_verifies_fwkit_legacy_signatures() {
    if !require_tool(SIGNIFY) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (secret, public) = SecretKey::generate().unwrap();
    fs::write(dir.join("our.pub"), public.to_minisign_string()).unwrap();
    let data = data_file(dir, "fw.bin", 5000);
    let mut signature =
        sign::sign(&secret, fs::File::open(&data).unwrap(), &options("", false)).unwrap();
    signature.trusted = None;
    signature.untrusted_comment = "verify with our.pub".to_owned();
    fs::write(dir.join("fw.bin.sig"), signature.to_file_string()).unwrap();
    ok(
        dir,
        SIGNIFY,
        &["-V", "-p", "our.pub", "-x", "fw.bin.sig", "-m", "fw.bin"],
        "",
    );
    fs::write(dir.join("changed.bin"), changed_copy(&data, 4999)).unwrap();
    fails(
        dir,
        SIGNIFY,
        &[
            "-V",
            "-p",
            "our.pub",
            "-x",
            "fw.bin.sig",
            "-m",
            "changed.bin",
        ],
    );
}
