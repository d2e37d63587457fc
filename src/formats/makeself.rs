//! makeself self-extracting archives, every generation (see `formats/makeself.md`).
//!
//! The header is read as text: literal assignments and literal numbers in
//! commands. Nothing is evaluated and the startup script is never run.

use super::shell::{self, Assignment};
use super::Layout;
use crate::detect::{lines, text_prefix, FormatKind, MAKESELF_MARKER};
use crate::input::Input;
use crate::model::RangeDigest;
use crate::model::{Algorithm, Check, CheckKind, Layer, MakeselfInfo, Outcome, VendorInfo};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::io;

/// Largest stub fwkit reads looking for the payload offset.
const MAX_STUB: u64 = 16 << 20;
/// Most payload chunks (`filesizes` entries) read from one archive.
const MAX_CHUNKS: usize = 1024;
/// The name of every structure check the header decides.
const STRUCTURE: &str = "makeself header";

/// How the payload offset is written in the stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffsetRule {
    /// 2.4.2+: `skip="N"`; the payload follows the first N lines.
    SkipVariable(u64),
    /// 2.1 to 2.4.1: `head -n N "$0"`; the payload follows the first N lines.
    HeadLines(u64),
    /// 2.0: `tail +N`; the payload starts on 1-based line N.
    TailFrom(u64),
    /// 1.x: `skip=N` on line 2; the payload starts on 1-based line N.
    Legacy(u64),
}

impl OffsetRule {
    fn lines_before_payload(self) -> Option<u64> {
        match self {
            OffsetRule::SkipVariable(n) | OffsetRule::HeadLines(n) => Some(n),
            OffsetRule::TailFrom(n) | OffsetRule::Legacy(n) => n.checked_sub(1),
        }
    }

    fn describe(self) -> String {
        match self {
            OffsetRule::SkipVariable(n) => format!("skip=\"{n}\" (makeself 2.4.2+)"),
            OffsetRule::HeadLines(n) => format!("head -n {n} (makeself 2.1 to 2.4.1)"),
            OffsetRule::TailFrom(n) => format!("tail +{n} (makeself 2.0)"),
            OffsetRule::Legacy(n) => format!("skip={n} (makeself 1.x)"),
        }
    }
}

fn offset_rule(text: &[u8], vars: &[Assignment]) -> Option<OffsetRule> {
    if let Some(skip) = shell::first(vars, "skip") {
        if let Ok(n) = skip.value.parse() {
            if skip.quoted {
                return Some(OffsetRule::SkipVariable(n));
            }
            if skip.line <= 3 {
                return Some(OffsetRule::Legacy(n));
            }
        }
    }
    let quoted_args: [&[u8]; 4] = [b" \"$0\"", b" \"$1\"", b" $0", b" $1"];
    // 2.1.2 to 2.4.1 write `head -n N "$0"`; 2.1.0 and 2.1.1 write `head -N "$0"`.
    let mut head = shell::literal_numbers(text, b"head -n ", &quoted_args);
    head.extend(shell::literal_numbers(text, b"head -", &quoted_args));
    if let Some(&n) = head.first() {
        // Every occurrence must name the same line count, or the stub is ambiguous.
        return head
            .iter()
            .all(|&m| m == n)
            .then_some(OffsetRule::HeadLines(n));
    }
    let tail = shell::literal_numbers(text, b"tail +", &quoted_args);
    let tail = if tail.is_empty() {
        shell::literal_numbers(text, b"tail -n +", &quoted_args)
    } else {
        tail
    };
    tail.first().map(|&n| OffsetRule::TailFrom(n))
}

fn numbers(value: &str) -> Result<Vec<u64>, String> {
    value
        .split_whitespace()
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("'{v}' is not a number"))
        })
        .collect()
}

/// A per-chunk digest list (`CRCsum`, `MD5`, `SHA`), all-zero entries absent.
fn digest_list(
    vars: &[Assignment],
    name: &str,
    algorithm: Algorithm,
    chunks: usize,
) -> Result<Vec<Option<String>>, String> {
    let Some(var) = shell::first(vars, name) else {
        return Ok(vec![None; chunks]);
    };
    let values: Vec<&str> = var.value.split_whitespace().collect();
    if values.is_empty() {
        return Ok(vec![None; chunks]);
    }
    if values.len() != chunks {
        return Err(format!(
            "{name} lists {} values for {chunks} chunk(s)",
            values.len()
        ));
    }
    values
        .into_iter()
        .map(|v| {
            if v.bytes().all(|b| b == b'0') {
                return Ok(None);
            }
            let ok = match algorithm {
                Algorithm::Cksum => v.len() <= 10 && v.parse::<u32>().is_ok(),
                Algorithm::Md5 => v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()),
                Algorithm::Sha256 => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
                _ => false,
            };
            if ok {
                let normal = match algorithm {
                    Algorithm::Cksum => v.trim_start_matches('0').to_owned(),
                    _ => v.to_ascii_lowercase(),
                };
                Ok(Some(normal))
            } else {
                Err(format!(
                    "{name} value '{v}' is not a valid {}",
                    algorithm.name()
                ))
            }
        })
        .collect()
}

/// The stub as read so far: its text, its assignments, the offset rule it
/// uses and the payload offset that rule gives.
struct Stub<'a> {
    text: &'a [u8],
    vars: Vec<Assignment>,
    rule: Option<OffsetRule>,
    offset: Option<u64>,
}

impl<'a> Stub<'a> {
    /// Reads the stub from `bytes`, the first bytes of the file.
    fn read(bytes: &'a [u8]) -> Stub<'a> {
        let text = text_prefix(bytes);
        let vars = shell::assignments(text);
        let rule = offset_rule(text, &vars);
        let offset = rule
            .and_then(OffsetRule::lines_before_payload)
            .and_then(|n| shell::offset_after_lines(bytes, n));
        Stub {
            text,
            vars,
            rule,
            offset,
        }
    }
}

/// The payload as the header declares it, once every layout field agrees.
struct Chunks {
    sizes: Vec<u64>,
    /// Each algorithm's expected digest per chunk; `None` where absent.
    digests: [(Algorithm, Vec<Option<String>>); 3],
}

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::Makeself);
    let len = source.len();
    let owned: Vec<u8>;
    let mut stub = Stub::read(head);
    if stub.offset.is_none() && (head.len() as u64) < len {
        // A long licence text can push the end of the stub past the head.
        owned = source.read_at(0, MAX_STUB)?;
        stub = Stub::read(&owned);
    }
    let info = header_info(stub.text, &stub.vars, stub.rule);
    let (rule, offset) = match locate_payload(&stub, len) {
        Ok(found) => found,
        Err(problem) => {
            layout
                .checks
                .push(Check::failed(CheckKind::Structure, STRUCTURE, problem));
            layout.vendor.push(VendorInfo::Makeself(info));
            return Ok(layout);
        }
    };
    layout.layers.push(Layer {
        kind: format!(
            "shell stub (makeself {})",
            info.version.as_deref().unwrap_or("unknown version")
        ),
        range: (0, offset),
    });
    let payload_len = len.saturating_sub(offset); // offset <= len
    let chunks = match read_chunks(&stub, offset, payload_len) {
        Ok(chunks) => chunks,
        Err(problems) => {
            for problem in problems {
                layout.checks.push(
                    Check::failed(CheckKind::Structure, STRUCTURE, problem).with_range((0, len)),
                );
            }
            layout.vendor.push(VendorInfo::Makeself(info));
            return Ok(layout);
        }
    };
    layout.checks.push(
        Check::new(CheckKind::Structure, STRUCTURE, Outcome::Passed)
            .with_range((0, len))
            .with_detail(format!(
                "payload at byte {offset} by {}, {} chunk(s) ending at end of file",
                rule.describe(),
                chunks.sizes.len()
            )),
    );
    let legacy_range = match rule {
        // 1.x sums cover everything from line 6 to the end of the file.
        OffsetRule::Legacy(_) => shell::offset_after_lines(stub.text, 5).map(|start| (start, len)),
        _ => None,
    };
    add_chunks(&mut layout, source, &chunks, offset, legacy_range)?;
    signature(&stub.vars, (offset, len), &mut layout);
    if let Some(cmd) = &info.decrypt_cmd {
        layout.warnings.push(format!(
            "header declares decrypt_cmd '{cmd}'; fwkit never runs it"
        ));
    }
    layout.vendor.push(VendorInfo::Makeself(info));
    Ok(layout)
}

/// The offset rule and the payload offset inside the `len`-byte file, or why
/// the stub has none.
fn locate_payload(stub: &Stub, len: u64) -> Result<(OffsetRule, u64), String> {
    let Some(rule) = stub.rule else {
        return Err("no payload offset found (no skip=\"N\", head -n N or tail +N)".to_owned());
    };
    match stub.offset.filter(|&o| o <= len) {
        Some(offset) => Ok((rule, offset)),
        None => Err(format!(
            "{} puts the payload past the end of the {len}-byte file",
            rule.describe()
        )),
    }
}

/// Checks the header's layout fields against each other and against the
/// `payload_len` bytes after the `offset`-byte stub: the chunks, or every
/// problem found.
fn read_chunks(stub: &Stub, offset: u64, payload_len: u64) -> Result<Chunks, Vec<String>> {
    let vars = &stub.vars;
    let mut problems = field_problems(vars);
    let sizes = chunk_sizes(vars, payload_len, &mut problems);
    let declared = sizes.iter().try_fold(0u64, |acc, &s| acc.checked_add(s));
    match declared {
        Some(total) if total == payload_len => {}
        Some(total) if !sizes.is_empty() => problems.push(format!(
            "filesizes declares {total} payload bytes but {payload_len} follow the {offset}-byte stub ({})",
            if total > payload_len { "truncated" } else { "trailing bytes" }
        )),
        None => problems.push("filesizes overflows".to_owned()),
        _ => {}
    }
    if let Some(var) = shell::first(vars, "totalsize") {
        match var.value.trim().parse::<u64>() {
            Ok(total) if total == payload_len => {}
            Ok(total) => problems.push(format!(
                "totalsize declares {total} bytes but {payload_len} follow the stub"
            )),
            Err(_) => problems.push(format!("totalsize '{}' is not a number", var.value)),
        }
    }
    if let Some(check) = scexe_consistency(stub.text, offset) {
        problems.push(check);
    }
    let digests = [
        ("CRCsum", Algorithm::Cksum),
        ("MD5", Algorithm::Md5),
        ("SHA", Algorithm::Sha256),
    ]
    .map(|(name, algorithm)| {
        (
            algorithm,
            digest_list(vars, name, algorithm, sizes.len()).unwrap_or_else(|e| {
                problems.push(e);
                vec![None; sizes.len()]
            }),
        )
    });
    if problems.is_empty() {
        Ok(Chunks { sizes, digests })
    } else {
        Err(problems)
    }
}

/// Problems with the header's fields themselves: no checksum field, or a
/// layout field assigned twice with different values.
fn field_problems(vars: &[Assignment]) -> Vec<String> {
    let mut problems = Vec::new();
    if shell::first(vars, "CRCsum").is_none() && shell::first(vars, "MD5").is_none() {
        problems
            .push("no CRCsum= or MD5= assignment: not a makeself header fwkit can read".to_owned());
    }
    // A layout field assigned twice with different values makes the header ambiguous.
    for name in ["skip", "filesizes", "totalsize", "CRCsum", "MD5", "SHA"] {
        let mut values = vars.iter().filter(|a| a.name == name).map(|a| &a.value);
        if let Some(first) = values.next() {
            if values.any(|v| v != first) {
                problems.push(format!(
                    "{name} is assigned more than once with different values"
                ));
            }
        }
    }
    problems
}

/// The chunk sizes: `filesizes`, or one chunk of `payload_len` bytes for 1.x
/// and 2.0; empty, with a problem pushed, when `filesizes` is unusable.
fn chunk_sizes(vars: &[Assignment], payload_len: u64, problems: &mut Vec<String>) -> Vec<u64> {
    let Some(var) = shell::first(vars, "filesizes") else {
        return vec![payload_len];
    };
    match numbers(&var.value) {
        // Each chunk is one compressed archive (`--append` adds one):
        // never empty, and a stub of millions would be millions of layers.
        Ok(sizes) if sizes.len() > MAX_CHUNKS => {
            problems.push(format!(
                "filesizes lists {} chunks; fwkit reads at most {MAX_CHUNKS}",
                sizes.len()
            ));
            Vec::new()
        }
        Ok(sizes) if sizes.contains(&0) => {
            problems.push("filesizes lists an empty chunk".to_owned());
            Vec::new()
        }
        Ok(sizes) if !sizes.is_empty() => sizes,
        Ok(_) => {
            problems.push("filesizes is empty".to_owned());
            Vec::new()
        }
        Err(e) => {
            problems.push(format!("filesizes: {e}"));
            Vec::new()
        }
    }
}

/// Adds one stream per chunk from byte `offset` on, with the digests each
/// chunk must match; a 1.x header's sums cover `legacy_range` instead.
fn add_chunks(
    layout: &mut Layout,
    source: &Input,
    chunks: &Chunks,
    offset: u64,
    legacy_range: Option<(u64, u64)>,
) -> io::Result<()> {
    // The chunk sizes add up to `len - offset` without overflow,
    // so `start + size` stays within the file.
    let mut start = offset;
    let count = chunks.sizes.len();
    for (i, &size) in chunks.sizes.iter().enumerate() {
        let end = start.saturating_add(size);
        let range = (start, end);
        let label = if count == 1 {
            "payload".to_owned()
        } else {
            format!("payload chunk {} of {count}", i.saturating_add(1))
        };
        for (algorithm, values) in &chunks.digests {
            if let Some(Some(expected)) = values.get(i) {
                layout.digests.push(RangeDigest {
                    skip: Vec::new(),
                    range: legacy_range.unwrap_or(range),
                    algorithm: *algorithm,
                    suffix: Vec::new(),
                    expected: expected.clone(),
                    covers: if legacy_range.is_some() {
                        "stub line 6 to end of file (makeself 1.x)".to_owned()
                    } else {
                        label.clone()
                    },
                    kind: CheckKind::Digest,
                });
            }
        }
        layout.add_stream(source, range, label)?;
        start = end;
    }
    Ok(())
}

/// makeself 2.4.5 `--sign`: `gpg --detach-sig` of the compressed payload
/// (every chunk, from the end of the stub to the end of the file), base64
/// without line breaks, in `SIGNATURE="..."`; kept for the OpenPGP checks.
fn signature(vars: &[Assignment], range: crate::model::ByteRange, layout: &mut Layout) {
    let signature = shell::first(vars, "SIGNATURE").map(|a| a.value.clone());
    match signature
        .filter(|v| !v.is_empty())
        .map(|v| BASE64.decode(v.trim()))
    {
        Some(Ok(bytes)) => layout.openpgp.push((
            "payload (makeself SIGNATURE=, gpg detached signature)".to_owned(),
            range,
            bytes,
        )),
        Some(Err(e)) => layout.checks.push(
            Check::new(CheckKind::Signature, "payload", Outcome::Info)
                .with_range(range)
                .with_detail(format!("SIGNATURE= is not base64 ({e}); not checked")),
        ),
        None => {}
    }
}

/// A stub that also carries an HP-style `_SKIP=N` line must agree with itself.
fn scexe_consistency(text: &[u8], offset: u64) -> Option<String> {
    let skip = lines(text)
        .filter(|l| crate::detect::is_scexe_skip_line(l))
        .find_map(|l| {
            let l = crate::detect::trim_start(l);
            std::str::from_utf8(l.get(b"_SKIP=".len()..)?)
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        })?;
    let scexe_offset = skip
        .checked_sub(1)
        .and_then(|n| shell::offset_after_lines(text, n));
    (scexe_offset != Some(offset))
        .then(|| format!("_SKIP={skip} disagrees with the makeself offset {offset}"))
}

fn header_info(text: &[u8], vars: &[Assignment], rule: Option<OffsetRule>) -> MakeselfInfo {
    let get = |name: &str| {
        shell::first(vars, name)
            .map(|a| a.value.clone())
            .filter(|v| !v.is_empty())
    };
    let after = |prefix: &[u8]| {
        lines(text).find_map(|l| {
            let l = crate::detect::trim_start(l);
            l.strip_prefix(prefix)
                .map(|rest| String::from_utf8_lossy(rest).trim().to_owned())
        })
    };
    let version = after(MAKESELF_MARKER)
        .map(|v| match v.strip_prefix("-compatible ") {
            // A stub written by `fwkit pack`, not by makeself.
            Some(ours) => ours.to_owned(),
            None => v,
        })
        .or_else(|| after(b"echo Built with Makeself version"));
    MakeselfInfo {
        version: version.filter(|v| !v.is_empty()),
        offset_rule: rule.map(OffsetRule::describe).unwrap_or_default(),
        label: get("label"),
        script: get("script"),
        script_args: get("scriptargs"),
        target_dir: get("targetdir"),
        compression: after(b"echo Compression:"),
        filesizes: shell::first(vars, "filesizes")
            .and_then(|a| numbers(&a.value).ok())
            .unwrap_or_default(),
        signed: get("SIGNATURE").is_some(),
        decrypt_cmd: get("decrypt_cmd"),
    }
}
