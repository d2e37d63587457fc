//! Each entry's file is opened once below the mirror, without following
//! links: a link inside the mirror (to a file or a directory that is also
//! inside) is refused, and a FIFO is reported as not a regular file without
//! the run waiting on it.

use super::{component, entry_for, good_mirror, lines, verified, Hash};
use crate::util::{os, require_tool, tool};

#[test]
fn links_inside_the_mirror_and_fifos_are_refused_without_hanging() {
    if !require_tool("mkfifo") {
        return;
    }
    let Some((m, pkgs, mut components)) = good_mirror() else {
        return;
    };
    let (path, data) = &pkgs[1];
    let dir = m.dir();
    // A link to a listed file, and a link to the directory holding it.
    std::os::unix::fs::symlink(dir.join(path), dir.join("same.zip")).unwrap();
    let (top, rest) = path.split_once('/').unwrap();
    std::os::unix::fs::symlink(dir.join(top), dir.join("dirlink")).unwrap();
    tool(&dir, "mkfifo", &[os("pipe.bin")]);
    let via_dir = format!("dirlink/{rest}");
    for (i, p) in ["same.zip", via_dir.as_str(), "pipe.bin"]
        .iter()
        .enumerate()
    {
        components.push(component(30 + i, p, data, Hash::Both));
    }
    let cat = m.catalogue(&components);
    let run = m.verify(&cat, &["--json", "--jobs", "2"]);
    run.expect(1);
    let (entries, summary) = lines(&run);
    for p in ["same.zip", via_dir.as_str()] {
        let e = entry_for(&entries, p);
        assert!(!verified(e), "{e}");
        let check = &e["checks"][0];
        assert_eq!(check["kind"], "safety", "{e}");
        assert_eq!(check["outcome"], "failed", "{e}");
        let detail = check["detail"].as_str().unwrap();
        assert!(detail.contains("refused: a symbolic link"), "{detail}");
        assert!(e["size"].is_null(), "never read: {e}");
    }
    let fifo = entry_for(&entries, "pipe.bin");
    assert!(!verified(fifo));
    assert!(fifo.to_string().contains("not a regular file"), "{fifo}");
    // The real files still verify.
    assert_eq!(summary["verified"], pkgs.len());
}
