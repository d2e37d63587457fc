//! Tampered packages, rebuilt with the real tools so that everything but
//! the signed manifest agrees: `SHA256SUMS` is regenerated with
//! `sha256sum`, archives are re-created with GNU tar and Info-ZIP zip, and a
//! self-extractor gets a stub whose `SHA`, `CRCsum` and sizes match the new
//! payload (its own `--check` passes).

use super::{check_on, checks, have, ok_tool, Work};
use crate::util::{posix_cksum, sha256_hex, write_file};
use std::fs;
use std::path::Path;

#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// One byte of `sub/big.bin` changed, `SHA256SUMS` regenerated.
    Change,
    /// `extra.txt` added.
    Extra,
    /// `readme.txt` removed.
    Remove,
    /// The version line of `FWKIT-MANIFEST` edited.
    EditManifest,
    /// `FWKIT-MANIFEST.minisig` removed: a downgrade to an unsigned package.
    StripSignature,
}

const ALL: [Tamper; 5] = [
    Tamper::Change,
    Tamper::Extra,
    Tamper::Remove,
    Tamper::EditManifest,
    Tamper::StripSignature,
];

/// Apply `how` to an unpacked tree (or a set) in `dir`.
fn tamper_tree(dir: &Path, how: Tamper) {
    match how {
        Tamper::Change => {
            let path = dir.join("sub/big.bin");
            let mut data = fs::read(&path).unwrap();
            data[100_000] ^= 0x20;
            fs::write(&path, data).unwrap();
            // Regenerate SHA256SUMS with the same names, so it agrees again.
            let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
            let mut args = vec!["--"];
            args.extend(sums.lines().map(|l| &l[66..]));
            let fresh = ok_tool(dir, "sha256sum", &args);
            assert_ne!(fresh, sums);
            fs::write(dir.join("SHA256SUMS"), fresh).unwrap();
        }
        Tamper::Extra => write_file(&dir.join("extra.txt"), b"not in the manifest\n", 0o644),
        Tamper::Remove => fs::remove_file(dir.join("readme.txt")).unwrap(),
        Tamper::StripSignature => fs::remove_file(dir.join("FWKIT-MANIFEST.minisig")).unwrap(),
        Tamper::EditManifest => {
            let path = dir.join("FWKIT-MANIFEST");
            let text = fs::read_to_string(&path).unwrap();
            let edited = text.replace("\nversion 1.2\n", "\nversion 1.3\n");
            assert_ne!(edited, text);
            fs::write(&path, edited).unwrap();
        }
    }
}

/// The top-level names of `dir`, fwkit's metadata first, for tar and zip.
fn top_level(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by_key(|n| (!n.starts_with("FWKIT-") && n != "SHA256SUMS", n.clone()));
    names
}

/// `tar -czf OUT -C DIR names…` (GNU tar and gzip).
fn targz(cwd: &Path, dir: &str, out: &str) {
    let names = top_level(&cwd.join(dir));
    let mut args = vec!["-czf", out, "-C", dir];
    args.extend(names.iter().map(String::as_str));
    ok_tool(cwd, "tar", &args);
}

/// A self-extractor for `payload` with `stub`'s text and the header values
/// that make its own checks pass.
fn restub(stub: &[u8], payload: &[u8]) -> Vec<u8> {
    let size = payload.len().to_string();
    let text = String::from_utf8(stub.to_vec()).unwrap();
    // Values change, lines do not: the stub keeps its line count and `skip`.
    let out: String = text
        .split_inclusive('\n')
        .map(|line| {
            let value = match line.split_once('=') {
                Some(("SHA", _)) => sha256_hex(payload),
                Some(("CRCsum", _)) => posix_cksum(payload).to_string(),
                Some(("filesizes" | "totalsize", _)) => size.clone(),
                _ => return line.to_owned(),
            };
            format!("{}=\"{value}\"\n", line.split_once('=').unwrap().0)
        })
        .collect();
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// The stub length (after the `skip="N"` lines) of one of our self-extractors.
fn stub_len(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(&data[..data.len().min(64 << 10)]);
    let skip: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("skip=\""))
        .and_then(|v| v.trim_end_matches('"').parse().ok())
        .expect("skip= line");
    crate::util::after_lines(data, skip)
}

/// Make `bad` from the signed package `good` of `format`, tampered `how`,
/// with the real tools.
fn tampered_copy(work: &Work, format: &str, good: &str, bad: &str, how: Tamper) {
    let cwd = &work.dir;
    let tree = format!("{bad}.tree");
    match (format, how) {
        ("set", _) => {
            ok_tool(cwd, "cp", &["-a", good, bad]);
            tamper_tree(&work.path(bad), how);
        }
        ("zip", Tamper::Extra) => {
            fs::copy(work.path(good), work.path(bad)).unwrap();
            fs::write(work.path("extra.txt"), b"not in the manifest\n").unwrap();
            ok_tool(cwd, "zip", &["-q", bad, "extra.txt"]);
        }
        ("zip", Tamper::Remove | Tamper::StripSignature) => {
            fs::copy(work.path(good), work.path(bad)).unwrap();
            let name = match how {
                Tamper::Remove => "readme.txt",
                _ => "FWKIT-MANIFEST.minisig",
            };
            ok_tool(cwd, "zip", &["-q", "-d", bad, name]);
        }
        ("zip", _) => {
            ok_tool(cwd, "unzip", &["-q", good, "-d", &tree]);
            tamper_tree(&work.path(&tree), how);
            let dir = work.path(&tree);
            let mut args = vec!["-qrX".to_owned(), format!("../{bad}")];
            args.extend(top_level(&dir));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok_tool(&dir, "zip", &args);
        }
        ("tar.gz", _) => {
            fs::create_dir(work.path(&tree)).unwrap();
            ok_tool(cwd, "tar", &["-xzf", good, "-C", &tree]);
            tamper_tree(&work.path(&tree), how);
            targz(cwd, &tree, bad);
        }
        ("scexe", _) => {
            let data = fs::read(work.path(good)).unwrap();
            let split = stub_len(&data);
            fs::write(work.path("payload.tgz"), &data[split..]).unwrap();
            fs::create_dir(work.path(&tree)).unwrap();
            ok_tool(cwd, "tar", &["-xzf", "payload.tgz", "-C", &tree]);
            tamper_tree(&work.path(&tree), how);
            let payload = format!("{bad}.tgz");
            targz(cwd, &tree, &payload);
            let bytes = restub(&data[..split], &fs::read(work.path(&payload)).unwrap());
            write_file(&work.path(bad), &bytes, 0o755);
            // The forged stub's own checks pass: only the manifest can tell.
            ok_tool(cwd, "sh", &[bad, "--check"]);
        }
        _ => unreachable!("{format}"),
    }
}

#[test]
fn tampered_packages_fail_on_the_signed_manifest() {
    if !have(&["tar", "gzip", "zip", "unzip", "sha256sum", "cp", "sh"]) {
        return;
    }
    let work = Work::new();
    for format in ["tar.gz", "zip", "set", "scexe"] {
        let good = format!("good.{format}");
        work.pack(format, &good, &["--sign", "k.key"]);
        for how in ALL {
            let bad = format!("{how:?}.{format}");
            tampered_copy(&work, format, &good, &bad, how);
            let (run, doc) = work.verify(&bad, &["--key", "k.pub"]);
            run.expect(1);
            assert_eq!(doc["verdict"]["status"], "not-verified");
            let what = format!("{format} {how:?}");
            match how {
                Tamper::Change => {
                    let failed = check_on(
                        &doc,
                        "member sub/big.bin (listed in FWKIT-MANIFEST",
                        "failed",
                    );
                    assert_eq!(failed["algorithm"], "sha256", "{what}");
                    // SHA256SUMS was regenerated: it agrees, the manifest does not.
                    check_on(&doc, "member sub/big.bin (listed in SHA256SUMS", "passed");
                }
                Tamper::Extra => {
                    let failed = check_on(&doc, "member extra.txt", "failed");
                    assert!(
                        failed["detail"]
                            .as_str()
                            .is_some_and(|d| d.contains("extra member")),
                        "{what}: {failed}"
                    );
                }
                Tamper::Remove => {
                    let failed = check_on(
                        &doc,
                        "member readme.txt (listed in FWKIT-MANIFEST",
                        "failed",
                    );
                    assert!(
                        failed["detail"]
                            .as_str()
                            .is_some_and(|d| d.contains("missing")),
                        "{what}: {failed}"
                    );
                }
                Tamper::EditManifest => {
                    let failed = check_on(&doc, "member FWKIT-MANIFEST", "failed");
                    assert_eq!(failed["kind"], "signature", "{what}");
                    assert!(
                        failed["detail"]
                            .as_str()
                            .is_some_and(|d| d.contains("does not match")),
                        "{what}: bad signature expected: {failed}"
                    );
                    // The edited manifest still matches every member (a
                    // self-extractor's stub, rendered from the manifest's
                    // name and version, may differ from it now).
                    let members = checks(&doc, "digest", "failed")
                        .into_iter()
                        .filter(|c| {
                            c["covers"]
                                .as_str()
                                .is_some_and(|s| s.starts_with("member "))
                        })
                        .count();
                    assert_eq!(members, 0, "{what}");
                }
                Tamper::StripSignature => {
                    // Every member matches; only the missing signature fails.
                    assert!(checks(&doc, "digest", "failed").is_empty(), "{what}");
                    assert!(checks(&doc, "signature", "passed").is_empty(), "{what}");
                    assert!(!checks(&doc, "signature", "failed").is_empty(), "{what}");
                }
            }
            if !matches!(how, Tamper::EditManifest | Tamper::StripSignature) {
                // The manifest is intact and still signed by k: the member
                // checks alone refuse the package.
                check_on(&doc, "member FWKIT-MANIFEST", "passed");
            }
            // Nothing else (stream, stub checksums) noticed: the forgery is consistent.
            for kind in ["stream", "structure", "safety"] {
                assert!(checks(&doc, kind, "failed").is_empty(), "{what}: {kind}");
            }
        }
    }
}

#[test]
fn a_signed_self_extractor_with_an_edited_stub_is_not_verified() {
    if !have(&["sh", "sha256sum", "cksum"]) {
        return;
    }
    let work = Work::new();
    for format in ["scexe", "makeself"] {
        let good = format!("good.{format}");
        work.pack(format, &good, &["--sign", "k.key", "--run", "./flash.sh"]);
        let text = fs::read(work.path(&good)).unwrap();
        let split = stub_len(&text);
        let stub = String::from_utf8(text[..split].to_vec()).unwrap();
        let edited = stub.replace("\nscript=\"./flash.sh\"\n", "\nscript=\"touch pwned\"\n");
        assert_ne!(edited, stub);
        let mut bytes = edited.into_bytes();
        bytes.extend_from_slice(&text[split..]);
        let bad = format!("edited.{format}");
        write_file(&work.path(&bad), &bytes, 0o755);
        // The stub's own checks cannot see it: they cover the payload only.
        ok_tool(&work.dir, "sh", &[&bad, "--check"]);

        let (run, doc) = work.verify(&bad, &["--key", "k.pub", "--require-signature"]);
        assert_eq!(
            run.code, 1,
            "{format}: an unsigned stub passed as signed; uncovered {}",
            doc["uncovered"]
        );
    }
}
