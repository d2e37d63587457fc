//! The POSIX sh stub of a fwkit self-extracting archive (see `formats/fwkit-sfx.md`).
//!
//! [`render`] writes the whole stub as text; the caller appends the payload (a
//! gzip-compressed tar) directly after it. The header is a set of makeself-style
//! column-0 assignments that fwkit's own makeself reader
//! (`src/formats/makeself.rs`) parses, so `fwkit verify` checks an archive made
//! this way without running it. The script itself is fwkit's, written from the
//! layout facts in `formats/makeself.md`; it contains no makeself code.
//!
//! # Security
//!
//! Every text field is written as a double-quoted shell word with `\`, `"`,
//! `$` and `` ` `` escaped, so assigning it runs nothing; control characters
//! (newline included) become `?` so a field can neither add lines nor hide
//! them. The stub only ever prints the label with `printf '%s'`. `run` is a
//! shell command line by design: the archive runs it after extraction unless
//! `--noexec` is given. Before listing, extracting or running anything, the
//! stub copies the payload out of the archive and checks that copy's size,
//! SHA-256 and cksum, then works only from the checked copy.

/// What [`render`] writes into the stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubSpec<'a> {
    /// Shown by `--info` and `--help`. Untrusted text: stored so that the
    /// shell never interprets it.
    pub label: &'a str,
    /// Command line run (with `sh -c`) inside the extracted directory after
    /// extraction, unless `--noexec`; `None` means extract only.
    pub run: Option<&'a str>,
    /// Directory name used by `--noexec` without `--target`.
    pub target_dir: &'a str,
    /// Bytes of the payload appended directly after the stub.
    pub payload_len: u64,
    /// Lower-case hex SHA-256 of the payload bytes.
    pub sha256: &'a str,
    /// POSIX `cksum` CRC of the payload bytes, as `cksum` prints it.
    pub cksum: u32,
    /// Also write an HP-style `_SKIP=N` line (N = first payload line, 1-based).
    pub scexe: bool,
    /// fwkit version named in the header comment.
    pub version: &'a str,
}

/// The complete stub for `spec`, ending with `\n`; the payload goes right after it.
///
/// The header's `skip="N"` names the number of stub lines. N is found by
/// rendering until the count written equals the count of lines produced.
pub fn render(spec: &StubSpec<'_>) -> Vec<u8> {
    let mut skip = 0usize;
    loop {
        let text = render_with_skip(spec, skip);
        let lines = text.bytes().filter(|&b| b == b'\n').count();
        if lines == skip {
            return text.into_bytes();
        }
        // Fields never wrap, so the line count does not depend on the digits
        // of `skip`; the second round always agrees.
        skip = lines;
    }
}

/// The start of a stub's second line, followed by the fwkit version.
pub(crate) const GENERATED_BY: &str =
    "# This script was generated using Makeself-compatible fwkit ";

/// Which self-extractor a stub is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// makeself-style header only.
    Makeself,
    /// Also an HP-style `_SKIP=N` line.
    Scexe,
}

impl Flavour {
    /// The flavour of an existing stub.
    pub(crate) fn of(stub: &[u8]) -> Flavour {
        match crate::detect::lines(stub).any(crate::detect::is_scexe_skip_line) {
            true => Flavour::Scexe,
            false => Flavour::Makeself,
        }
    }
}

/// What a stub says about its package: the (signed) manifest's name,
/// version and command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub run: Option<&'a str>,
}

/// The stub fwkit pack writes for a package: everything in it follows from
/// the label, the payload's size and sums, the flavour and the fwkit version
/// named in its header.
pub(crate) fn expected_stub(
    label: Label<'_>,
    flavour: Flavour,
    fwkit_version: &str,
    (payload_len, sha256, cksum): (u64, &str, u32),
) -> Vec<u8> {
    let text = format!("{} {}", label.name, label.version);
    render(&StubSpec {
        label: &text,
        run: label.run,
        target_dir: label.name,
        payload_len,
        sha256,
        cksum,
        scexe: flavour == Flavour::Scexe,
        version: fwkit_version,
    })
}

fn render_with_skip(spec: &StubSpec<'_>, skip: usize) -> String {
    let quoted = |value: &str| double_quoted(value);
    let mut text = String::with_capacity(BODY.len().saturating_add(1024));
    text.push_str("#!/bin/sh\n");
    text.push_str(&format!(
        "{GENERATED_BY}{} (not makeself's code)\n",
        inert(spec.version)
    ));
    text.push_str(concat!(
        "# fwkit self-extracting archive (fwkit-sfx): this POSIX sh stub, then a\n",
        "# gzip-compressed tar from the line after the first `skip` lines to the end\n",
        "# of the file. The payload's size, SHA-256 and cksum are checked before\n",
        "# anything is listed, extracted or run. Options: run with --help.\n",
    ));
    let fields = [
        ("CRCsum", spec.cksum.to_string()),
        ("MD5", "0".repeat(32)),
        ("SHA", spec.sha256.to_ascii_lowercase()),
        ("label", spec.label.to_owned()),
        ("script", spec.run.unwrap_or_default().to_owned()),
        ("scriptargs", String::new()),
        ("targetdir", spec.target_dir.to_owned()),
        ("filesizes", spec.payload_len.to_string()),
        ("totalsize", spec.payload_len.to_string()),
        ("skip", skip.to_string()),
    ];
    for (name, value) in fields {
        text.push_str(name);
        text.push('=');
        text.push_str(&quoted(&value));
        text.push('\n');
    }
    if spec.scexe {
        text.push_str(&format!("_SKIP={}\n", skip.saturating_add(1)));
    }
    text.push_str(BODY);
    text
}

/// `value` as one double-quoted sh word that expands to itself (after [`inert`]).
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len().saturating_add(2));
    out.push('"');
    for c in inert(value).chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `value` with every control character (newline, carriage return, NUL, ...)
/// except tab replaced by `?`, so it stays on one line of the stub.
fn inert(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// Everything after the header: option parsing, the checks, extraction.
///
/// Rules that keep fwkit's header reader and the scexe detector happy: no
/// column-0 assignment to a header name, no line starting with `_SKIP=`.
const BODY: &str = r##"
set -u
sfx_name=fwkit-sfx
sfx_work=
sfx_made=no
sfx_tool=none
sfx_sum=
sfx_out=
sfx_n=
sfx_crc=skipped
sfx_self=$0
case $sfx_self in
  /*) ;;
  *) sfx_self=./$sfx_self ;;
esac

sfx_note() {
  printf '%s: %s\n' "$sfx_name" "$*" >&2
}
sfx_die() {
  printf '%s: error: %s\n' "$sfx_name" "$*" >&2
  exit 1
}
sfx_usage() {
  printf '%s\n' "$label"
  printf 'Usage: %s [OPTION]... [-- ARGUMENT...]\n' "$0"
  printf '%s\n' \
    '  --check         check the payload (size, SHA-256, cksum): exit 0 intact, 1 not' \
    '  --list          check, then list the files in the payload' \
    '  --info          show the label, command, sizes and checksums' \
    '  --noexec        extract without running the command' \
    '  --target DIR    extract into DIR (created; must be absent or empty)' \
    '  --unpack=DIR    the same as --noexec --target DIR' \
    '  -h, --help      show this help' \
    '  --              pass the remaining arguments to the command' \
    'Without options: check, extract into a new temporary directory, run the' \
    'command there, remove the directory. With --noexec and no --target, or' \
    'when there is no command: extract into the default directory, which must' \
    'not exist yet. Nothing is listed, extracted or run unless the checks pass;' \
    'with no SHA-256 tool (sha256sum, shasum, openssl, busybox) nothing is.'
}
sfx_usage_error() {
  printf '%s: error: %s\n' "$sfx_name" "$*" >&2
  sfx_usage >&2
  exit 2
}
sfx_cleanup() {
  if [ -n "$sfx_work" ] && [ -d "$sfx_work" ]; then
    chmod -R u+w "$sfx_work" 2>/dev/null
    rm -rf "$sfx_work"
  fi
}
sfx_path() {
  case $1 in
    /*) sfx_out=$1 ;;
    *) sfx_out=./$1 ;;
  esac
}
sfx_count() {
  sfx_n=${sfx_n##* }
  case $sfx_n in
    '' | *[!0-9]*) sfx_die "cannot measure $1" ;;
  esac
}
sfx_info() {
  printf 'Label: %s\n' "$label"
  printf 'Command: %s\n' "${script:-(none)}"
  printf 'Default directory: %s\n' "$targetdir"
  echo Compression: gzip
  printf 'Stub lines: %s\n' "$skip"
  printf 'Payload bytes: %s\n' "$totalsize"
  printf 'Payload SHA-256: %s\n' "$SHA"
  printf 'Payload cksum: %s\n' "$CRCsum"
}
sfx_locate() {
  sfx_n=$(head -n "$skip" "$sfx_self" | wc -c)
  sfx_count "the stub of $sfx_self"
  sfx_offset=$sfx_n
  sfx_n=$(wc -c < "$sfx_self")
  sfx_count "$sfx_self"
  if [ "$sfx_n" -ne "$((sfx_offset + totalsize))" ]; then
    sfx_die "$sfx_self is $sfx_n bytes, expected $((sfx_offset + totalsize)) ($sfx_offset of stub, $totalsize of payload): truncated or altered"
  fi
}
sfx_sha256() {
  sfx_sum=
  if command -v sha256sum >/dev/null 2>&1; then
    sfx_tool=sha256sum
    sfx_out=$(sha256sum < "$1") && sfx_sum=${sfx_out%% *}
  elif command -v shasum >/dev/null 2>&1; then
    sfx_tool='shasum -a 256'
    sfx_out=$(shasum -a 256 < "$1") && sfx_sum=${sfx_out%% *}
  elif command -v openssl >/dev/null 2>&1; then
    sfx_tool='openssl dgst -sha256'
    sfx_out=$(openssl dgst -sha256 < "$1") && sfx_sum=${sfx_out##* }
  elif command -v busybox >/dev/null 2>&1; then
    sfx_tool='busybox sha256sum'
    sfx_out=$(busybox sha256sum < "$1") && sfx_sum=${sfx_out%% *}
  else
    return 1
  fi
  return 0
}
sfx_verify() {
  sfx_n=$(wc -c < "$1")
  sfx_count "the payload copy"
  if [ "$sfx_n" -ne "$totalsize" ]; then
    sfx_die "read $sfx_n payload bytes, expected $totalsize"
  fi
  if ! sfx_sha256 "$1"; then
    sfx_die "no SHA-256 tool found (sha256sum, shasum, openssl or busybox): refusing to use an unchecked payload"
  fi
  if [ "$sfx_sum" != "$SHA" ]; then
    sfx_die "payload SHA-256 mismatch: expected $SHA, $sfx_tool gave ${sfx_sum:-nothing}"
  fi
  if command -v cksum >/dev/null 2>&1; then
    sfx_out=$(cksum < "$1") || sfx_out=
    sfx_sum=${sfx_out%% *}
    if [ "$sfx_sum" != "$CRCsum" ]; then
      sfx_die "payload cksum mismatch: expected $CRCsum, got ${sfx_sum:-nothing}"
    fi
    sfx_crc=checked
  else
    sfx_note "cksum not found: CRC not checked (SHA-256 was)"
  fi
}
sfx_no_same_owner() {
  case $(tar --help 2>&1) in
    *--no-same-owner*) return 0 ;;
  esac
  return 1
}
sfx_unpack() {
  sfx_flag=$sfx_work/gzip-failed
  if sfx_no_same_owner; then
    { gzip -dc < "$sfx_payload" || : > "$sfx_flag"; } | tar -xf - --no-same-owner -C "$1"
  else
    { gzip -dc < "$sfx_payload" || : > "$sfx_flag"; } | tar -xf - -C "$1"
  fi
  sfx_n=$?
  if [ "$sfx_n" -ne 0 ] || [ -e "$sfx_flag" ]; then
    if [ "$sfx_made" = yes ]; then
      chmod -R u+w "$1" 2>/dev/null
      rm -rf "$1"
    fi
    sfx_die "extracting into $1 failed"
  fi
}
sfx_list() {
  sfx_flag=$sfx_work/gzip-failed
  { gzip -dc < "$sfx_payload" || : > "$sfx_flag"; } | tar -tf -
  sfx_n=$?
  if [ "$sfx_n" -ne 0 ] || [ -e "$sfx_flag" ]; then
    sfx_die "listing the payload failed"
  fi
}
sfx_is_empty() {
  for sfx_f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -e "$sfx_f" ] || [ -h "$sfx_f" ]; then
      return 1
    fi
  done
  return 0
}
sfx_prepare() {
  if [ -e "$1" ] || [ -h "$1" ]; then
    if [ "$2" != empty-ok ]; then
      sfx_die "$1 already exists: not extracting over it (choose another with --target DIR)"
    fi
    if [ ! -d "$1" ]; then
      sfx_die "$1 exists and is not a directory"
    fi
    if ! sfx_is_empty "$1"; then
      sfx_die "$1 is not empty: not extracting over it"
    fi
  else
    mkdir -p "$1" || sfx_die "cannot create $1"
    sfx_made=yes
  fi
}

sfx_mode=run
sfx_noexec=no
sfx_target=
sfx_target_set=no
while [ "$#" -gt 0 ]; do
  case $1 in
    --check | --list | --info)
      if [ "$sfx_mode" != run ]; then
        sfx_usage_error "choose one of --check, --list and --info"
      fi
      sfx_mode=${1#--}
      ;;
    --noexec) sfx_noexec=yes ;;
    --target)
      if [ "$#" -lt 2 ]; then
        sfx_usage_error "--target needs a directory"
      fi
      sfx_target=$2
      sfx_target_set=yes
      shift
      ;;
    --target=*)
      sfx_target=${1#--target=}
      sfx_target_set=yes
      ;;
    --unpack=*)
      sfx_target=${1#--unpack=}
      sfx_target_set=yes
      sfx_noexec=yes
      ;;
    -h | --help)
      sfx_usage
      exit 0
      ;;
    --)
      shift
      break
      ;;
    *) sfx_usage_error "unknown option: $1" ;;
  esac
  shift
done
if [ "$sfx_target_set" = yes ] && [ -z "$sfx_target" ]; then
  sfx_usage_error "the target directory is empty"
fi
if [ "$sfx_mode" = info ]; then
  sfx_info
  exit 0
fi

sfx_locate
sfx_work=$(mktemp -d "${TMPDIR:-/tmp}/fwkit-sfx.XXXXXXXX") || sfx_work=
if [ -z "$sfx_work" ] || [ ! -d "$sfx_work" ]; then
  sfx_work=
  sfx_die "cannot create a temporary directory (mktemp -d)"
fi
trap sfx_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
sfx_payload=$sfx_work/payload
if ! tail -c +"$((sfx_offset + 1))" "$sfx_self" > "$sfx_payload"; then
  sfx_die "cannot copy the payload out of $sfx_self"
fi
sfx_verify "$sfx_payload"
case $sfx_mode in
  check)
    printf '%s: payload intact: %s bytes, SHA-256 matches (%s), cksum %s\n' \
      "$sfx_name" "$totalsize" "$sfx_tool" "$sfx_crc"
    exit 0
    ;;
  list)
    sfx_list
    exit 0
    ;;
esac

if [ -z "$script" ]; then
  sfx_noexec=yes
fi
if [ "$sfx_target_set" = yes ]; then
  sfx_path "$sfx_target"
  sfx_dest=$sfx_out
  sfx_prepare "$sfx_dest" empty-ok
elif [ "$sfx_noexec" = yes ]; then
  sfx_path "$targetdir"
  sfx_dest=$sfx_out
  sfx_prepare "$sfx_dest" must-not-exist
else
  sfx_dest=$sfx_work/root
  mkdir "$sfx_dest" || sfx_die "cannot create $sfx_dest"
fi
sfx_unpack "$sfx_dest"
rm -f "$sfx_payload"
if [ "$sfx_noexec" = yes ]; then
  sfx_note "extracted into $sfx_dest"
  exit 0
fi
sfx_note "running $script in $sfx_dest"
(cd "$sfx_dest" && exec sh -c "$script \"\$@\"" "$script" "$@")
exit "$?"
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{detect, is_scexe_skip_line, lines, FormatKind};
    use crate::formats::shell;

    fn spec(label: &str) -> StubSpec<'_> {
        StubSpec {
            label,
            run: Some("./setup.sh --quiet"),
            target_dir: "fw-files",
            payload_len: 1234,
            sha256: "ab".repeat(32).leak(),
            cksum: 4_294_967_295,
            scexe: false,
            version: "0.1.0",
        }
    }

    fn field<'a>(vars: &'a [shell::Assignment], name: &str) -> &'a str {
        &shell::first(vars, name).expect("field present").value
    }

    #[test]
    fn header_reads_back_literally() {
        let label = "fw $(touch /tmp/x) `id` \"q\" 'q' \\ \\\" ${HOME} $((1+1)) end\\";
        let stub = render(&spec(label));
        assert!(stub.starts_with(b"#!/bin/sh\n# This script was generated using Makeself"));
        assert_eq!(stub.last(), Some(&b'\n'));
        assert_eq!(detect(&stub), Some(FormatKind::Makeself));
        let vars = shell::assignments(&stub);
        assert_eq!(field(&vars, "label"), label);
        assert_eq!(field(&vars, "script"), "./setup.sh --quiet");
        assert_eq!(field(&vars, "targetdir"), "fw-files");
        assert_eq!(field(&vars, "CRCsum"), "4294967295");
        assert_eq!(field(&vars, "SHA"), "ab".repeat(32));
        assert_eq!(field(&vars, "totalsize"), "1234");
        assert_eq!(field(&vars, "filesizes"), "1234");
        let lines = stub.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(field(&vars, "skip"), lines.to_string());
        for name in [
            "skip",
            "filesizes",
            "totalsize",
            "CRCsum",
            "MD5",
            "SHA",
            "label",
        ] {
            assert_eq!(
                vars.iter().filter(|a| a.name == name).count(),
                1,
                "{name} assigned once"
            );
        }
        assert!(!lines_of(&stub).any(is_scexe_skip_line));
    }

    fn lines_of(stub: &[u8]) -> impl Iterator<Item = &[u8]> {
        lines(stub)
    }

    #[test]
    fn control_characters_cannot_add_lines() {
        let plain = render(&spec("x"));
        let hostile = render(&spec("a\nskip=\"1\"\n_SKIP=2\r\0b"));
        let count = |s: &[u8]| s.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(count(&plain), count(&hostile));
        assert!(!hostile.contains(&0));
        let vars = shell::assignments(&hostile);
        assert_eq!(field(&vars, "label"), "a?skip=\"1\"?_SKIP=2??b");
        assert!(!lines_of(&hostile).any(is_scexe_skip_line));
    }

    #[test]
    fn scexe_line_names_first_payload_line() {
        let stub = render(&StubSpec {
            scexe: true,
            ..spec("hp")
        });
        let lines = stub.iter().filter(|&&b| b == b'\n').count();
        let vars = shell::assignments(&stub);
        assert_eq!(field(&vars, "skip"), lines.to_string());
        let skip_lines: Vec<&[u8]> = lines_of(&stub).filter(|l| is_scexe_skip_line(l)).collect();
        assert_eq!(skip_lines, vec![format!("_SKIP={}", lines + 1).as_bytes()]);
    }

    #[test]
    fn no_run_command_and_long_fields() {
        let long = "L".repeat(10_000);
        let stub = render(&StubSpec {
            run: None,
            payload_len: u64::MAX,
            ..spec(&long)
        });
        let vars = shell::assignments(&stub);
        assert_eq!(field(&vars, "script"), "");
        assert_eq!(field(&vars, "label"), long);
        assert_eq!(field(&vars, "totalsize"), u64::MAX.to_string());
    }
}
