//! Dell Linux Update Packages, `.BIN` (see `formats/dell-dup.md`).
//!
//! A shell script with the package XML between a `#####Startofpackage#####`
//! line and the `#####Startofarchive#####` line; a gzip tar follows the
//! archive marker line to the end of the file.

use super::{shell, Layout};
use crate::detect::{text_prefix, FormatKind, DELL_ARCHIVE_MARKER, DELL_PACKAGE_MARKER};
use crate::input::Input;
use crate::model::{Check, CheckKind, Layer, Outcome, VendorInfo};
use std::io;

/// Largest script fwkit reads looking for the archive marker.
const MAX_SCRIPT: u64 = 16 << 20;
/// The name of every structure check the script decides.
const STRUCTURE: &str = "Dell update package script";

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::DellDup);
    let owned;
    let mut text = text_prefix(head);
    let mut archive = shell::marker_lines(text, DELL_ARCHIVE_MARKER);
    if archive.is_empty() && (head.len() as u64) < source.len() {
        owned = source.read_at(0, MAX_SCRIPT)?;
        text = text_prefix(&owned);
        archive = shell::marker_lines(text, DELL_ARCHIVE_MARKER);
    }
    let (archive_line, offset) = match archive_marker(&archive, source.len()) {
        Ok(marker) => marker,
        Err(problem) => {
            layout
                .checks
                .push(Check::failed(CheckKind::Structure, STRUCTURE, problem));
            return Ok(layout);
        }
    };
    layout.layers.push(Layer {
        kind: "shell script (Dell update package)".to_owned(),
        range: (0, offset),
    });
    read_package_xml(&mut layout, text, archive_line, offset);
    layout.checks.push(
        Check::new(CheckKind::Structure, STRUCTURE, Outcome::Passed)
            .with_range((0, source.len()))
            .with_detail(format!(
                "archive marker on line {archive_line}: payload at byte {offset} to end of file"
            )),
    );
    layout.add_stream(source, (offset, source.len()), "payload".to_owned())?;
    layout.warnings.push(
        "a Dell .BIN carries no checksum of its own; pin the vendor's SHA-256 with --sha256"
            .to_owned(),
    );
    Ok(layout)
}

/// The line of the one archive marker among `archive` and the payload offset
/// after it, inside the `len`-byte file; or why there is none.
fn archive_marker(archive: &[(usize, u64)], len: u64) -> Result<(usize, u64), String> {
    let (archive_line, offset) = match archive {
        [one] => *one,
        [] => return Err("no #####Startofarchive##### line".to_owned()),
        _ => {
            return Err(format!(
                "{} #####Startofarchive##### lines; expected one",
                archive.len()
            ))
        }
    };
    if offset >= len {
        return Err("nothing follows the #####Startofarchive##### line".to_owned());
    }
    Ok((archive_line, offset))
}

/// Reads the package XML between the package marker and the archive marker
/// on line `archive_line` (payload at `offset`) into the vendor block, or
/// warns why there is none.
fn read_package_xml(layout: &mut Layout, text: &[u8], archive_line: usize, offset: u64) {
    let package = shell::marker_lines(text, DELL_PACKAGE_MARKER);
    match package.as_slice() {
        [(line, xml_start)] if *line < archive_line => {
            let xml_end = usize::try_from(offset).unwrap_or(usize::MAX);
            let xml_start = usize::try_from(*xml_start).unwrap_or(usize::MAX);
            let xml = text.get(xml_start..xml_end).unwrap_or_default();
            // The XML ends a line or two before the archive marker.
            let xml = xml
                .strip_suffix(DELL_ARCHIVE_MARKER)
                .or_else(|| xml.strip_suffix(b"#####Startofarchive#####\n"))
                .unwrap_or(xml);
            let xml = xml
                .iter()
                .rposition(|&b| b == b'>')
                .and_then(|p| xml.get(..=p))
                .unwrap_or_default();
            match super::vendor_xml::parse_dell_package(xml) {
                Some(info) => layout.vendor.push(VendorInfo::DellPackage(info)),
                None => layout
                    .warnings
                    .push("the package XML between the markers could not be read".to_owned()),
            }
        }
        [] => layout
            .warnings
            .push("no #####Startofpackage##### line: no package XML in the script".to_owned()),
        _ => layout.warnings.push(
            "#####Startofpackage##### lines are repeated or after the archive; package XML ignored"
                .to_owned(),
        ),
    }
}
