//! fwkit's own catalogue: `fwkit pack --format catalog DIR -o CAT --sign KEY`
//! over a tree of an Info-ZIP zip, a Debian makeself archive and a plain
//! file, checked by `fwkit verify --catalog CAT DIR --key PUB` and by the
//! real `minisign`.

use super::{entry_for, lines, verified};
use crate::util::{fwkit, os, prng, require_tool, tool, Makeself};
use std::fs;
use tempfile::TempDir;

#[test]
fn a_signed_fwkit_catalogue_verifies_its_tree_and_catches_tampering() {
    for t in ["zip", "makeself", "tar", "gzip"] {
        if !require_tool(t) {
            return;
        }
    }
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    let src = root.join("src");
    let tree = root.join("tree");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(tree.join("nic")).unwrap();
    fs::write(src.join("rom.bin"), prng(5, 50 << 10)).unwrap();
    fs::write(src.join("setup.sh"), "#!/bin/sh\necho installs nothing\n").unwrap();
    tool(
        &src,
        "zip",
        &[
            os("-q"),
            os("-r"),
            tree.join("nic/fw.zip").as_os_str(),
            os("."),
        ],
    );
    crate::util::makeself_archive(&src, &tree.join("bmc.run"), Makeself::default()).unwrap();
    fs::write(tree.join("README"), "release notes\n").unwrap();
    fwkit(root, ["keygen", "-o", "k", "--no-password"]).expect(0);
    fwkit(root, ["keygen", "-o", "other", "--no-password"]).expect(0);
    // A package fwkit built, stating the version it installs.
    #[rustfmt::skip]
    fwkit(root, ["pack", "src", "-o", "tree/nic/own.zip", "--format", "zip", "--version", "2.10", "--sign", "k.key",
        "--provides", "2d5b1c1e-8e55-4f7c-9b0e-6a1d2c3b4a59"]).expect(0);
    fwkit(
        root,
        [
            "pack", "tree", "-o", "cat.json", "--format", "catalog", "--sign", "k.key",
        ],
    )
    .expect(0);
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("cat.json")).unwrap()).unwrap();
    assert_eq!(index["fwkit-catalog"], 1);
    let paths: Vec<&str> = index["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["README", "bmc.run", "nic/fw.zip", "nic/own.zip"]);
    // The version an entry records is the one the package states for the
    // firmware: fwkit's manifest says 2.10; a makeself header's version is
    // makeself's own, so that entry records none.
    let version = |path: &str| {
        let entries = index["entries"].as_array().unwrap();
        let entry = entries.iter().find(|e| e["path"] == path).unwrap();
        entry["version"].as_str().map(str::to_owned)
    };
    assert_eq!(version("nic/own.zip").as_deref(), Some("2.10"));
    assert_eq!(version("bmc.run"), None);
    if require_tool("minisign") {
        tool(
            root,
            "minisign",
            &[os("-Vm"), os("cat.json"), os("-p"), os("k.pub")],
        );
    }
    let verify = |key: &str| {
        fwkit(
            root,
            [
                "verify",
                "--catalog",
                "cat.json",
                "tree",
                "--key",
                key,
                "--json",
            ],
        )
    };
    let run = verify("k.pub");
    run.expect(0);
    let (entries, summary) = lines(&run);
    assert_eq!(summary["kind"], "fwkit");
    assert_eq!(summary["checks"][0]["kind"], "signature");
    assert_eq!(summary["checks"][0]["outcome"], "passed");
    assert!(entries.iter().all(verified));
    assert_eq!(entry_for(&entries, "nic/fw.zip")["format"], "zip");
    assert_eq!(entry_for(&entries, "bmc.run")["format"], "makeself");
    // Another key, or none: the catalogue is not trusted.
    verify("other.pub").expect(1);
    let run = fwkit(root, ["verify", "--catalog", "cat.json", "tree", "--json"]);
    run.expect(1);
    assert_eq!(lines(&run).1["checks"][0]["outcome"], "not-run");
    // A flipped byte in a package, then in a plain file.
    let zip = tree.join("nic/fw.zip");
    let good = fs::read(&zip).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 3] ^= 1;
    fs::write(&zip, &bad).unwrap();
    let run = verify("k.pub");
    run.expect(1);
    assert!(!verified(entry_for(&lines(&run).0, "nic/fw.zip")));
    fs::write(&zip, &good).unwrap();
    fs::write(tree.join("README"), "release notez\n").unwrap();
    let run = verify("k.pub");
    run.expect(1);
    assert!(!verified(entry_for(&lines(&run).0, "README")));
    fs::write(tree.join("README"), "release notes\n").unwrap();
    verify("k.pub").expect(0);
    // The catalogue edited after signing.
    let text = fs::read_to_string(root.join("cat.json")).unwrap();
    fs::write(
        root.join("cat.json"),
        text.replace("\"README\"", "\"README2\""),
    )
    .unwrap();
    let run = verify("k.pub");
    run.expect(1);
    assert_eq!(lines(&run).1["checks"][0]["outcome"], "failed");
}
