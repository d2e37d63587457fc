//! Helpers shared by the integration tests: running the real binary, reading
//! its JSON, building tars, gzip streams and shell stubs byte by byte, and
//! comparing directory trees.
//!
//! The archive writers here are deliberately independent of the crates fwkit
//! uses to read (no `tar` or `flate2`), so a bug in a reader cannot hide in a
//! writer that shares its code.

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test.
pub const FWKIT: &str = env!("CARGO_BIN_EXE_fwkit");

/// Exit code of a Rust program that panicked.
pub const PANIC: i32 = 101;

/// The committed samples directory.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// One finished run of `fwkit`.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panic with everything known about the run unless it exited with `code`.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            code,
            "`fwkit {}` exited {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The `--json` report on stdout.
    #[track_caller]
    pub fn json(&self) -> Value {
        let doc: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`fwkit {}` did not print JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            )
        });
        assert_eq!(doc["schema"], 1, "schema version");
        doc
    }
}

/// `s` as an `OsStr`, for argument lists that mix strings and paths.
pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Run `fwkit ARGS` with `cwd` as the working directory, stdin closed.
pub fn fwkit<I, S>(cwd: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    fwkit_env(cwd, &[], args)
}

/// True when `tool` is on PATH. Otherwise print `SKIP: <test> needs <tool>`
/// and return false, or panic when `FWKIT_REQUIRE_TOOLS=1`.
pub fn require_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if found {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    if std::env::var("FWKIT_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test} needs `{tool}`, which is not on PATH, and FWKIT_REQUIRE_TOOLS=1 forbids skipping");
    }
    eprintln!("SKIP: {test} needs {tool}");
    false
}

/// Run an external tool; panic with its output if it fails.
#[track_caller]
pub fn tool(cwd: &Path, program: &str, args: &[&OsStr]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {:?} failed: {}\n{}",
        args,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `fwkit verify PKG --json` in `dir`: panic unless it exits with `code`;
/// returns the report.
#[track_caller]
pub fn verify_json(dir: &Path, pkg: &Path, code: i32) -> Value {
    fwkit(dir, [os("verify"), pkg.as_os_str(), os("--json")])
        .expect(code)
        .json()
}

/// `fwkit unpack PKG -o OUT` in `dir` must exit with `code` and leave
/// nothing behind (see [`assert_not_unpacked`]).
#[track_caller]
pub fn refused_unpack(dir: &Path, pkg: &Path, out: &Path, code: i32) {
    fwkit(
        dir,
        [os("unpack"), pkg.as_os_str(), os("-o"), out.as_os_str()],
    )
    .expect(code);
    assert_not_unpacked(out);
}

// ---------------------------------------------------------------------------
// Reports

/// The checks of a report.
pub fn checks(doc: &Value) -> &[Value] {
    doc["checks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Checks of `kind` (and `algorithm`, when given) with `outcome`.
pub fn checks_with<'a>(
    doc: &'a Value,
    kind: &str,
    algorithm: Option<&str>,
    outcome: &str,
) -> Vec<&'a Value> {
    checks(doc)
        .iter()
        .filter(|c| c["kind"] == kind && c["outcome"] == outcome)
        .filter(|c| algorithm.is_none_or(|a| c["algorithm"] == a))
        .collect()
}

/// Panic unless some check of `kind`/`algorithm` has `outcome`.
#[track_caller]
pub fn assert_check(doc: &Value, kind: &str, algorithm: Option<&str>, outcome: &str) {
    assert!(
        !checks_with(doc, kind, algorithm, outcome).is_empty(),
        "no {outcome} {kind} check{} in\n{:#}",
        algorithm.map(|a| format!(" ({a})")).unwrap_or_default(),
        doc["checks"]
    );
}

/// The validated member paths of a report.
pub fn member_paths(doc: &Value) -> Vec<String> {
    doc["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Members whose `problem` is set.
pub fn refused_members(doc: &Value) -> Vec<&Value> {
    doc["members"]
        .as_array()
        .map(|ms| ms.iter().filter(|m| !m["problem"].is_null()).collect())
        .unwrap_or_default()
}

/// The byte ranges a report lists as covered by no check.
pub fn uncovered(doc: &Value) -> Vec<(u64, u64)> {
    doc["uncovered"]
        .as_array()
        .expect("uncovered is an array")
        .iter()
        .map(|r| (r[0].as_u64().expect("start"), r[1].as_u64().expect("end")))
        .collect()
}

// ---------------------------------------------------------------------------
// Files and trees

/// Write `data` to `path` with permission bits `mode`, creating parents.
pub fn write_file(path: &Path, data: &[u8], mode: u32) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parents");
    }
    fs::write(path, data).expect("write file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Write every file of `tree` (relative path -> (content, permission bits),
/// as [`tree_files`] reports it) below `root`.
pub fn materialise(root: &Path, tree: &BTreeMap<String, (Vec<u8>, u32)>) {
    for (name, (data, mode)) in tree {
        write_file(&root.join(name), data, *mode);
    }
}

/// Every regular file below `root`: relative path -> (content, permission bits).
/// Symlinks and special files are listed with a marker instead of content.
pub fn tree_files(root: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    for (rel, meta) in walk(root) {
        let path = root.join(&rel);
        if meta.file_type().is_file() {
            let data = fs::read(&path).expect("read file");
            out.insert(rel, (data, meta.permissions().mode() & 0o7777));
        } else if !meta.file_type().is_dir() {
            out.insert(
                rel,
                (b"<not a regular file>".to_vec(), meta.permissions().mode()),
            );
        }
    }
    out
}

/// Every path below `root` (not following links), relative, sorted.
pub fn listing(root: &Path) -> Vec<String> {
    walk(root).into_iter().map(|(rel, _)| rel).collect()
}

fn walk(root: &Path) -> Vec<(String, fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("read_dir entry");
            let child = rel.join(entry.file_name());
            let meta = fs::symlink_metadata(root.join(&child)).expect("lstat");
            if meta.is_dir() {
                stack.push(child.clone());
            }
            out.push((child.to_string_lossy().into_owned(), meta));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Panic unless `dest` does not exist and no staging directory is left next to it.
#[track_caller]
pub fn assert_not_unpacked(dest: &Path) {
    assert!(
        fs::symlink_metadata(dest).is_err(),
        "{} exists after a refused unpack: {:?}",
        dest.display(),
        listing(dest)
    );
    assert_no_staging(dest.parent().expect("dest has a parent"));
}

/// Panic if a `.fwkit-unpack-*` staging directory is left in `parent`.
#[track_caller]
pub fn assert_no_staging(parent: &Path) {
    let left: Vec<String> = fs::read_dir(parent)
        .expect("read parent")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fwkit-unpack-"))
        .collect();
    assert!(
        left.is_empty(),
        "staging directories left in {}: {left:?}",
        parent.display()
    );
}

/// Panic unless the unpacked tree equals `expected` byte for byte, with the
/// same permission bits and no extra files.
#[track_caller]
pub fn assert_same_tree(unpacked: &Path, expected: &BTreeMap<String, (Vec<u8>, u32)>) {
    let got = tree_files(unpacked);
    let got_names: Vec<&String> = got.keys().collect();
    let want_names: Vec<&String> = expected.keys().collect();
    assert_eq!(got_names, want_names, "files in {}", unpacked.display());
    for (name, (data, mode)) in expected {
        let (got_data, got_mode) = &got[name];
        assert!(
            got_data == data,
            "{name}: content differs ({} vs {} bytes)",
            got_data.len(),
            data.len()
        );
        assert_eq!(
            *got_mode, *mode,
            "{name}: mode {got_mode:o}, expected {mode:o}"
        );
    }
}

// ---------------------------------------------------------------------------
// Bytes

/// Deterministic pseudo-random bytes (splitmix64), the same on every run.
pub fn prng(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSIX `cksum` (formats/makeself.md): CRC-32 poly 0x04C11DB7, MSB first,
/// init 0, then the length little-endian in as few bytes as needed, complemented.
pub fn posix_cksum(data: &[u8]) -> u32 {
    fn feed(mut crc: u32, byte: u8) -> u32 {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
        crc
    }
    let mut crc = data.iter().fold(0u32, |c, &b| feed(c, b));
    let mut n = data.len() as u64;
    while n != 0 {
        crc = feed(crc, (n & 0xff) as u8);
        n >>= 8;
    }
    !crc
}

/// CRC-32 as gzip uses it (reflected, poly 0xEDB88320).
fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|mut c| {
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            c
        })
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A valid gzip member holding `data` in stored (uncompressed) deflate blocks.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Byte offset just after the `n`-th `\n` of `data`.
pub fn after_lines(data: &[u8], n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(n - 1)
        .map(|(i, _)| i + 1)
        .expect("enough lines")
}

/// Position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Tar, written header by header

/// A tar archive written by hand, the only tar writer of the tests: every
/// header field is ours to set, so names the `tar` crate's builder refuses
/// (`..`, absolute, NUL) and sizes no archive could hold are possible.
#[derive(Default)]
pub struct Tar {
    buf: Vec<u8>,
}

impl Tar {
    pub fn new() -> Tar {
        Tar::default()
    }

    /// One ustar header: `name` of `typeflag`, link target `link`,
    /// permission bits `mode`, claiming `size` bytes (octal when it fits in
    /// 11 digits, else GNU base-256), with its checksum.
    fn header(name: &[u8], typeflag: u8, link: &[u8], mode: u32, size: u64) -> [u8; 512] {
        assert!(
            name.len() <= 100 && link.len() <= 100,
            "names longer than 100 bytes need a long-name entry"
        );
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        let mut put = |range: std::ops::Range<usize>, text: String| {
            h[range.start..range.start + text.len()].copy_from_slice(text.as_bytes());
        };
        put(100..108, format!("{mode:07o}\0"));
        put(108..116, "0000000\0".to_owned());
        put(116..124, "0000000\0".to_owned());
        if size < 8u64.pow(11) {
            put(124..136, format!("{size:011o}\0"));
        }
        put(136..148, format!("{:011o}\0", 1_700_000_000u64));
        put(257..263, "ustar\0".to_owned());
        put(263..265, "00".to_owned());
        put(265..269, "root".to_owned());
        put(297..301, "root".to_owned());
        put(329..337, "0000000\0".to_owned());
        put(337..345, "0000000\0".to_owned());
        if size >= 8u64.pow(11) {
            h[124] = 0x80;
            h[128..136].copy_from_slice(&size.to_be_bytes());
        }
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link);
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    /// One raw ustar entry.
    pub fn entry(
        &mut self,
        typeflag: u8,
        name: &[u8],
        link: &[u8],
        mode: u32,
        data: &[u8],
    ) -> &mut Tar {
        let header = Tar::header(name, typeflag, link, mode, data.len() as u64);
        self.buf.extend_from_slice(&header);
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    /// A lone header (mode 0644) claiming `size` bytes that do not follow:
    /// for sizes no test could write out.
    pub fn claim(&mut self, name: &[u8], typeflag: u8, size: u64) -> &mut Tar {
        let header = Tar::header(name, typeflag, b"", 0o644, size);
        self.buf.extend_from_slice(&header);
        self
    }

    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Tar {
        self.entry(b'0', name.as_bytes(), b"", mode, data)
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Tar {
        self.entry(b'5', name.as_bytes(), b"", mode, b"")
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Tar {
        self.entry(b'2', name.as_bytes(), target.as_bytes(), 0o777, b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Tar {
        self.entry(b'1', name.as_bytes(), target.as_bytes(), 0o644, b"")
    }

    /// A GNU long-name entry: the next entry takes `name` (any bytes).
    pub fn gnu_long_name(&mut self, name: &[u8]) -> &mut Tar {
        let mut data = name.to_vec();
        data.push(0);
        self.entry(b'L', b"././@LongLink", b"", 0o644, &data)
    }

    /// A GNU long-link entry: the next entry's link target is `target` (any bytes).
    pub fn gnu_long_link(&mut self, target: &[u8]) -> &mut Tar {
        let mut data = target.to_vec();
        data.push(0);
        self.entry(b'K', b"././@LongLink", b"", 0o644, &data)
    }

    /// A pax extended header with one record for the next entry.
    pub fn pax(&mut self, key: &str, value: &[u8]) -> &mut Tar {
        let record = |len: usize| {
            let mut r = format!("{len} {key}=").into_bytes();
            r.extend_from_slice(value);
            r.push(b'\n');
            r
        };
        let mut len = record(0).len();
        while record(len).len() != len {
            len = record(len).len();
        }
        self.entry(b'x', b"PaxHeader/next", b"", 0o644, &record(len))
    }

    /// The entries so far, without the end-of-archive blocks.
    pub fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }

    /// The archive with its two end-of-archive blocks.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.buf.clone();
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

// ---------------------------------------------------------------------------
// makeself archives, built by Debian's `makeself`

/// How [`makeself_archive`] asks `makeself` for an archive.
#[derive(Clone, Copy)]
pub struct Makeself<'a> {
    /// Options before SRC (`--xz`, `--sha256`, `--nomd5`…). The tools an
    /// option makes makeself run are required along with its defaults.
    pub opts: &'a [&'a str],
    /// The archive's label.
    pub label: &'a str,
    /// The startup script named in the header (the tests never run it).
    pub startup: &'a str,
}

impl Default for Makeself<'_> {
    fn default() -> Self {
        Makeself {
            opts: &[],
            label: "fwkit test archive",
            startup: "./setup.sh",
        }
    }
}

/// Build `out` from the staged directory `src` with
/// `makeself --quiet OPTS… SRC OUT LABEL STARTUP`, run in `out`'s directory,
/// and return `out`. `None` (after a visible `SKIP:`, see [`require_tool`])
/// when makeself or a tool it would run is missing; panics if makeself fails.
pub fn makeself_archive(src: &Path, out: &Path, how: Makeself<'_>) -> Option<PathBuf> {
    let mut tools = vec!["makeself", "tar", "gzip", "md5sum", "cksum"];
    tools.extend(how.opts.iter().filter_map(|opt| match *opt {
        "--bzip2" => Some("bzip2"),
        "--xz" => Some("xz"),
        "--zstd" => Some("zstd"),
        "--lz4" => Some("lz4"),
        "--sha256" => Some("sha256sum"),
        "--base64" => Some("base64"),
        _ => None,
    }));
    if !tools.iter().all(|t| require_tool(t)) {
        return None;
    }
    let mut args: Vec<&OsStr> = vec![os("--quiet")];
    args.extend(how.opts.iter().map(|o| os(o)));
    args.extend([
        src.as_os_str(),
        out.as_os_str(),
        os(how.label),
        os(how.startup),
    ]);
    tool(out.parent().expect("out has a parent"), "makeself", &args);
    Some(out.to_owned())
}

// ---------------------------------------------------------------------------
// Shell stubs (layouts from formats/hpe-scexe.md and formats/dell-dup.md)

/// An HP-style `.scexe`: our own stub with `_SKIP=N` (N = the 1-based line
/// where the payload starts), then `payload` to the end of the file.
pub fn scexe(payload: &[u8]) -> Vec<u8> {
    let stub_lines = [
        "#!/bin/sh",
        "# fwkit test component: a stub written by fwkit's integration tests.",
        "# The payload is a gzip tar from line _SKIP to the end of the file.",
        "_SKIP=@",
        "echo \"this fwkit test component installs nothing\" >&2",
        "exit 1",
    ];
    let skip = stub_lines.len() + 1;
    let mut out = stub_lines
        .join("\n")
        .replace("_SKIP=@", &format!("_SKIP={skip}"))
        .into_bytes();
    out.push(b'\n');
    assert_eq!(after_lines(&out, skip - 1), out.len());
    out.extend_from_slice(payload);
    out
}

/// A Dell-style `.BIN`: stub, `#####Startofpackage#####`, the XML, a blank
/// line, `#####Startofarchive#####`, then `payload` to the end of the file.
pub fn dell_bin(xml: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = String::from(
        "#!/bin/sh\n# fwkit test update package: a stub written by fwkit's integration tests.\n\
         echo \"this fwkit test package installs nothing\" >&2\nexit 1\n#####Startofpackage#####\n",
    );
    out.push_str(xml.trim_end());
    out.push_str("\n\n#####Startofarchive#####\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(payload);
    out
}

// ---------------------------------------------------------------------------
// Reference files, Python, and zips written by hand (zip.rs, pe.rs, manifests.rs)

/// True when the reference file `path` exists (a PE from a Debian package,
/// say). Otherwise print `SKIP: <test> needs <path>` and return false, or
/// panic when `FWKIT_REQUIRE_TOOLS=1`.
pub fn require_file(path: &Path) -> bool {
    if path.is_file() {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    if std::env::var("FWKIT_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!(
            "{test} needs {}, which is missing, and FWKIT_REQUIRE_TOOLS=1 forbids skipping",
            path.display()
        );
    }
    eprintln!("SKIP: {test} needs {}", path.display());
    false
}

/// Run `python3 -c SCRIPT ARGS…` in `cwd` (`sys.argv[1:]` are `args`);
/// panic with its output if it fails. Returns its stdout.
#[track_caller]
pub fn python3(cwd: &Path, script: &str, args: &[&OsStr]) -> Vec<u8> {
    let mut all: Vec<&OsStr> = vec![OsStr::new("-c"), OsStr::new(script)];
    all.extend_from_slice(args);
    tool(cwd, "python3", &all)
}

/// CRC-32 as zip uses it (the same as gzip's).
pub fn zip_crc32(data: &[u8]) -> u32 {
    crc32(data)
}

/// A local file header for a stored (method 0) zip member, followed by its data.
pub fn zip_local_entry(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(30 + name.len() + data.len());
    out.extend_from_slice(b"PK\x03\x04");
    out.extend_from_slice(&20u16.to_le_bytes()); // version needed
    out.extend_from_slice(&0u16.to_le_bytes()); // flags
    out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
    out.extend_from_slice(&0u16.to_le_bytes()); // time
    out.extend_from_slice(&0x5021u16.to_le_bytes()); // date: 2020-01-01
    out.extend_from_slice(&zip_crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // extra length
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    out
}

/// A zip written byte by byte from the layout in `formats/zip.md`: stored
/// members, every header field ours to set, so names and offsets that no
/// zip tool would write are possible.
#[derive(Default)]
pub struct RawZip {
    body: Vec<u8>,
    central: Vec<u8>,
    count: u16,
}

impl RawZip {
    pub fn new() -> RawZip {
        RawZip::default()
    }

    /// Append raw bytes to the member area; returns their offset.
    pub fn raw(&mut self, bytes: &[u8]) -> u32 {
        let at = self.body.len() as u32;
        self.body.extend_from_slice(bytes);
        at
    }

    /// Append a local header and data; returns the header's offset.
    pub fn local(&mut self, name: &[u8], data: &[u8]) -> u32 {
        self.raw(&zip_local_entry(name, data))
    }

    /// A central directory entry naming `name`, describing `data` (stored,
    /// mode 0644), whose local header is at `offset`.
    pub fn central(&mut self, name: &[u8], data: &[u8], offset: u32) -> &mut RawZip {
        self.central_with_mode(name, data, offset, 0o100644)
    }

    /// A central directory entry like [`RawZip::central`] with the Unix
    /// `mode` (file type included) in its external attributes.
    fn central_with_mode(
        &mut self,
        name: &[u8],
        data: &[u8],
        offset: u32,
        mode: u32,
    ) -> &mut RawZip {
        let c = &mut self.central;
        c.extend_from_slice(b"PK\x01\x02");
        c.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix, 3.0
        c.extend_from_slice(&20u16.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // flags
        c.extend_from_slice(&0u16.to_le_bytes()); // stored
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&0x5021u16.to_le_bytes());
        c.extend_from_slice(&zip_crc32(data).to_le_bytes());
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        c.extend_from_slice(&(mode << 16).to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name);
        self.count += 1;
        self
    }

    /// A consistent member: local header, data and central entry.
    pub fn file(&mut self, name: &[u8], data: &[u8]) -> &mut RawZip {
        let at = self.local(name, data);
        self.central(name, data, at)
    }

    /// A directory member (`name` ends in `/`), mode 0755.
    pub fn dir(&mut self, name: &[u8]) -> &mut RawZip {
        let at = self.local(name, b"");
        self.central_with_mode(name, b"", at, 0o40755)
    }

    /// A symlink member as Info-ZIP's `zip -y` stores one: the target is the
    /// data, the Unix mode says symlink.
    pub fn symlink(&mut self, name: &[u8], target: &[u8]) -> &mut RawZip {
        let at = self.local(name, target);
        self.central_with_mode(name, target, at, 0o120777)
    }

    /// The archive: members, central directory, end record.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.body.clone();
        out.extend_from_slice(&self.central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]); // disk numbers
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&(self.central.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.body.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        out
    }
}

/// What a zip's central directory says about one member (read here without
/// fwkit's reader, to check that a fixture is what a test claims it is).
#[derive(Debug, Clone)]
pub struct ZipEntryInfo {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    /// Offset of the local header (zip64 extra field applied).
    pub local_offset: u64,
    /// The extra field of the local header.
    pub local_extra: Vec<u8>,
}

/// The little-endian `u16` at `at`.
pub fn le16(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

/// The little-endian `u32` at `at`.
pub fn le32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}

/// True when a zip extra field holds a block with header id `id`.
pub fn zip_extra_has(extra: &[u8], id: u16) -> bool {
    let mut at = 0;
    while at + 4 <= extra.len() {
        if le16(extra, at) == id {
            return true;
        }
        at += 4 + usize::from(le16(extra, at + 2));
    }
    false
}

/// True when the zip has a zip64 end-of-central-directory record.
pub fn zip_has_zip64_end(data: &[u8]) -> bool {
    let eocd = data.len() - 22;
    eocd >= 20 && data[eocd - 20..eocd - 16] == *b"PK\x06\x07"
}

/// The central directory of a plain zip (no prefix, no archive comment).
#[track_caller]
pub fn zip_entries(data: &[u8]) -> Vec<ZipEntryInfo> {
    let eocd = data.len() - 22;
    assert_eq!(
        &data[eocd..eocd + 4],
        b"PK\x05\x06",
        "end record at the end"
    );
    let mut count = u64::from(le16(data, eocd + 10));
    let mut cd = u64::from(le32(data, eocd + 16));
    if zip_has_zip64_end(data) {
        let record = le64(data, eocd - 20 + 8) as usize;
        assert_eq!(&data[record..record + 4], b"PK\x06\x06", "zip64 end record");
        count = le64(data, record + 32);
        cd = le64(data, record + 48);
    }
    let mut at = cd as usize;
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(&data[at..at + 4], b"PK\x01\x02", "central entry at {at}");
        let name_len = usize::from(le16(data, at + 28));
        let extra_len = usize::from(le16(data, at + 30));
        let comment_len = usize::from(le16(data, at + 32));
        let name = String::from_utf8_lossy(&data[at + 46..at + 46 + name_len]).into_owned();
        let extra = &data[at + 46 + name_len..at + 46 + name_len + extra_len];
        let mut local_offset = u64::from(le32(data, at + 42));
        if local_offset == 0xffff_ffff {
            // The zip64 extra holds, in order, whichever of usize, csize and
            // offset are saturated in the fixed fields.
            let mut e = 0;
            while e + 4 <= extra.len() {
                let (id, len) = (le16(extra, e), usize::from(le16(extra, e + 2)));
                if id == 1 {
                    let mut field = e + 4;
                    for fixed in [at + 24, at + 20] {
                        if le32(data, fixed) == 0xffff_ffff {
                            field += 8;
                        }
                    }
                    local_offset = le64(extra, field);
                    break;
                }
                e += 4 + len;
            }
        }
        let lo = local_offset as usize;
        assert_eq!(&data[lo..lo + 4], b"PK\x03\x04", "local header of {name}");
        let local_name_len = usize::from(le16(data, lo + 26));
        let local_extra_len = usize::from(le16(data, lo + 28));
        let extra_at = lo + 30 + local_name_len;
        out.push(ZipEntryInfo {
            name,
            method: le16(data, at + 10),
            flags: le16(data, at + 8),
            local_offset,
            local_extra: data[extra_at..extra_at + local_extra_len].to_vec(),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

// ---------------------------------------------------------------------------
// The environment of a run (pack.rs)

/// Run `fwkit ARGS` like [`fwkit`], with `env` applied on top of the test's
/// environment: `(name, Some(value))` sets a variable, `(name, None)` removes it.
pub fn fwkit_env<I, S>(cwd: &Path, env: &[(&str, Option<&str>)], args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let mut command = Command::new(FWKIT);
    command
        .args(&args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env_remove("RUST_BACKTRACE");
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let out = command.output().expect("spawn fwkit");
    let run = Run {
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(
        run.code, PANIC,
        "fwkit panicked: {:?}\n{}",
        run.args, run.stderr
    );
    assert_ne!(
        run.code, -1,
        "fwkit was killed by a signal: {:?}\n{}",
        run.args, run.stderr
    );
    run
}
