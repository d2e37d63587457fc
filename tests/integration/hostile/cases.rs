//! The table of hostile packages: what each holds after the harmless
//! member, which member must be refused and for what.

use std::path::Path;

/// The harmless member every hostile package starts with; it is never
/// refused. Its name sorts first: makeself 2.4.5 takes a directory whose
/// first entry in glob order is not a regular file for empty and archives
/// its files twice.
pub(super) const HARMLESS_NAME: &str = "0-harmless.txt";
pub(super) const HARMLESS: &[u8] = b"harmless\n";
/// The content of every hostile file.
pub(super) const EVIL: &[u8] = b"escaped\n";

/// One entry of a hostile package, after [`HARMLESS_NAME`].
pub(super) enum Entry {
    /// A regular file.
    File(String),
    /// A file whose name comes from a pax `path` record (only a tar has those).
    PaxFile(String),
    Dir(String),
    Symlink(String, String),
    /// A hard link (only a tar has those).
    Hardlink(String, String),
    /// A special file of tar typeflag `3` (character device), `4` (block
    /// device) or `6` (FIFO, which a directory can hold as well).
    Special(u8, String),
}

impl Entry {
    pub(super) fn name(&self) -> &str {
        match self {
            Entry::File(n) | Entry::PaxFile(n) | Entry::Dir(n) => n,
            Entry::Symlink(n, _) | Entry::Hardlink(n, _) | Entry::Special(_, n) => n,
        }
    }
}

fn file(name: &str) -> Entry {
    Entry::File(name.to_owned())
}

fn symlink(name: &str, target: &str) -> Entry {
    Entry::Symlink(name.to_owned(), target.to_owned())
}

fn hardlink(name: &str, target: &str) -> Entry {
    Entry::Hardlink(name.to_owned(), target.to_owned())
}

/// One hostile package and how its refusal must show.
pub(super) struct Case {
    pub(super) what: &'static str,
    pub(super) entries: Vec<Entry>,
    /// The member that must be refused, named as stored (a `./` before it aside).
    pub(super) refused: String,
    /// Its `problem` contains one of these.
    pub(super) problem: &'static [&'static str],
    /// The name itself is refused, so the member has no cleaned `path`.
    pub(super) bad_name: bool,
    /// Judged only after the walk (link chains): a failed safety check of
    /// its own names the member.
    pub(super) own_check: bool,
}

impl Case {
    fn new(
        what: &'static str,
        entries: Vec<Entry>,
        refused: &str,
        problem: &'static [&'static str],
    ) -> Case {
        Case {
            what,
            entries,
            refused: refused.to_owned(),
            problem,
            bad_name: false,
            own_check: false,
        }
    }

    fn bad_name(mut self) -> Case {
        self.bad_name = true;
        self
    }

    fn own_check(mut self) -> Case {
        self.own_check = true;
        self
    }
}

/// A file that a link to `/tmp` would place outside the tree.
pub(super) fn victim() -> String {
    format!("fwkit-hostile-{}-x", std::process::id())
}

/// Every case, with absolute names below the arena at `root`.
pub(super) fn cases(root: &Path) -> Vec<Case> {
    let root = root.display();
    let absolute = format!("{root}/abs/evil");
    let outside = format!("{root}/outside");
    const DOTDOT: &[&str] = &["'..'"];
    const CONTROL: &[&str] = &["control character"];
    const NUL: &[&str] = &["NUL byte"];
    const OUTSIDE: &[&str] = &["points outside"];
    const SPECIAL: &[&str] = &["never creates special files"];
    vec![
        Case::new("parent directory", vec![file("../evil")], "../evil", DOTDOT).bad_name(),
        Case::new(
            "'..' after a directory",
            vec![Entry::Dir("a/".into()), file("a/../../evil")],
            "a/../../evil",
            DOTDOT,
        )
        .bad_name(),
        Case::new(
            "absolute name",
            vec![file(&absolute)],
            &absolute,
            &["absolute"],
        )
        .bad_name(),
        // A cabinet reads `\` as its separator: there the name is a `..` escape.
        Case::new(
            "backslash",
            vec![file("a\\..\\evil")],
            "a\\..\\evil",
            &["backslash", "'..'"],
        )
        .bad_name(),
        Case::new(
            "drive prefix",
            vec![file("C:evil")],
            "C:evil",
            &["drive prefix"],
        )
        .bad_name(),
        Case::new(
            "newline: a forged report line",
            vec![file("evil\nverdict: verified")],
            "evil\nverdict: verified",
            CONTROL,
        )
        .bad_name(),
        Case::new(
            "escape sequence",
            vec![file("evil\x1b[2J")],
            "evil\x1b[2J",
            CONTROL,
        )
        .bad_name(),
        Case::new(
            "NUL in the name",
            vec![file("evil\0.txt")],
            "evil\0.txt",
            NUL,
        )
        .bad_name(),
        Case::new(
            "NUL in a pax path",
            vec![Entry::PaxFile("evil\0.txt".into())],
            "evil\0.txt",
            NUL,
        )
        .bad_name(),
        Case::new(
            "'..' in a pax path",
            vec![Entry::PaxFile("../evil-pax".into())],
            "../evil-pax",
            DOTDOT,
        )
        .bad_name(),
        Case::new(
            "symlink to an absolute directory outside",
            vec![symlink("link", &outside)],
            "link",
            OUTSIDE,
        ),
        Case::new(
            "symlink to an absolute directory, then a file through it",
            vec![symlink("link", &outside), file("link/x")],
            "link",
            OUTSIDE,
        ),
        Case::new(
            "symlink to /tmp, then a file through it",
            vec![symlink("link", "/tmp"), file(&format!("link/{}", victim()))],
            "link",
            OUTSIDE,
        ),
        Case::new(
            "symlink climbing out, then a file through it",
            vec![symlink("up", "../.."), file("up/evil")],
            "up",
            OUTSIDE,
        ),
        Case::new(
            "a file through a symlink inside the tree",
            vec![
                Entry::Dir("sub/".into()),
                symlink("s", "sub"),
                file("s/evil"),
            ],
            "s/evil",
            &["through symlink"],
        ),
        // `q -> .` then `p -> q/..`: each target looks contained on its own,
        // but `p` resolves to the parent of the target directory.
        Case::new(
            "symlink chain climbing out",
            vec![symlink("q", "."), symlink("p", "q/..")],
            "p",
            &["climbs out"],
        )
        .own_check(),
        Case::new(
            "hard link to /etc/passwd",
            vec![hardlink("passwd", "/etc/passwd")],
            "passwd",
            OUTSIDE,
        ),
        Case::new(
            "hard link to a directory outside",
            vec![hardlink("evil-link", "../outside")],
            "evil-link",
            OUTSIDE,
        ),
        Case::new(
            "hard link to a file outside",
            vec![hardlink("evil-link", "../../secret")],
            "evil-link",
            OUTSIDE,
        ),
        Case::new(
            "hard link to an absolute file outside",
            vec![hardlink("evil-link", &format!("{root}/secret"))],
            "evil-link",
            OUTSIDE,
        ),
        Case::new(
            "hard link to a member that is not there",
            vec![hardlink("evil-link", "missing.bin")],
            "evil-link",
            &["not an earlier regular file"],
        ),
        Case::new(
            "duplicate names",
            vec![file("dup.bin"), file("dup.bin")],
            "dup.bin",
            &["duplicate name"],
        ),
        Case::new(
            "a file, then a child of it",
            vec![file("file"), file("file/evil")],
            "file/evil",
            &["is a file"],
        ),
        Case::new(
            "FIFO",
            vec![Entry::Special(b'6', "evil-fifo".into())],
            "evil-fifo",
            SPECIAL,
        ),
        Case::new(
            "character device",
            vec![Entry::Special(b'3', "evil-tty".into())],
            "evil-tty",
            SPECIAL,
        ),
        Case::new(
            "block device",
            vec![Entry::Special(b'4', "evil-sda".into())],
            "evil-sda",
            SPECIAL,
        ),
    ]
}
