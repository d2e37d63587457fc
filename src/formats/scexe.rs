//! HP/HPE Linux smart components, `.scexe` (see `formats/hpe-scexe.md`).
//!
//! A shell stub with a `_SKIP=N` line; the payload (a gzip tar) starts on
//! 1-based line N and runs to the end of the file. No checksum is embedded.

use super::{shell, Layout};
use crate::detect::Encoding;
use crate::detect::{is_scexe_skip_line, lines, text_prefix, trim_start, FormatKind, SCEXE_SKIP};
use crate::input::Input;
use crate::model::{Check, CheckKind, Layer, Outcome};
use crate::pass::Capture;
use std::io;

/// The name of every structure check the stub decides.
const STRUCTURE: &str = "scexe stub";

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::HpScexe);
    layout.capture = Capture::TopLevelXml;
    let skip = match skip_line(text_prefix(head)) {
        Ok(skip) => skip,
        Err(problem) => {
            layout
                .checks
                .push(Check::failed(CheckKind::Structure, STRUCTURE, problem));
            return Ok(layout);
        }
    };
    let offset = skip
        .checked_sub(1)
        .and_then(|n| shell::offset_after_lines(head, n))
        .filter(|&o| o < source.len());
    let Some(offset) = offset else {
        layout.checks.push(Check::failed(
            CheckKind::Structure,
            STRUCTURE,
            format!(
                "_SKIP={skip} points past the end of the stub text or of the {}-byte file",
                source.len()
            ),
        ));
        return Ok(layout);
    };
    layout.layers.push(Layer {
        kind: "shell stub (HP smart component)".to_owned(),
        range: (0, offset),
    });
    layout.checks.push(
        Check::new(CheckKind::Structure, STRUCTURE, Outcome::Passed)
            .with_range((0, source.len()))
            .with_detail(format!(
                "_SKIP={skip}: payload at byte {offset} to end of file"
            )),
    );
    layout.add_stream(source, (offset, source.len()), "payload".to_owned())?;
    if layout
        .streams()
        .iter()
        .any(|s| s.encoding != Encoding::Gzip)
    {
        layout
            .warnings
            .push("HP smart components carry a gzip tar; this payload is not gzip".to_owned());
    }
    layout.warnings.push(
        "an HP .scexe carries no checksum or signature of its own; pin the SHA-256 HPE publishes with --sha256"
            .to_owned(),
    );
    Ok(layout)
}

/// The 1-based payload line every `_SKIP=N` line in the stub `text` names,
/// or why there is no one such line number.
fn skip_line(text: &[u8]) -> Result<u64, &'static str> {
    let values: Vec<Option<u64>> = lines(text)
        .filter(|l| is_scexe_skip_line(l))
        .map(|l| {
            // Only digits may follow `_SKIP=` (trailing blanks aside), at most nine.
            let value = trim_start(l).get(SCEXE_SKIP.len()..)?;
            let value = std::str::from_utf8(value).ok()?.trim_end();
            let digits_only =
                !value.is_empty() && value.len() <= 9 && value.bytes().all(|b| b.is_ascii_digit());
            digits_only.then(|| value.parse().ok()).flatten()
        })
        .collect();
    match values.as_slice() {
        [Some(n)] => Ok(*n),
        [] => Err("no _SKIP=N line"),
        [first @ Some(n), rest @ ..] if rest.iter().all(|v| v == first) => Ok(*n),
        [None] => Err("_SKIP= is not followed by a line number of at most nine digits"),
        _ => Err("several _SKIP lines that disagree, or one that is not a number"),
    }
}
