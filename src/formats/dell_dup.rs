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

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::DellDup);
    let structure = "Dell update package script";
    let owned;
    let mut text = text_prefix(head);
    let mut archive = shell::marker_lines(text, DELL_ARCHIVE_MARKER);
    if archive.is_empty() && (head.len() as u64) < source.len() {
        owned = source.read_at(0, MAX_SCRIPT)?;
        text = text_prefix(&owned);
        archive = shell::marker_lines(text, DELL_ARCHIVE_MARKER);
    }
    let (archive_line, offset) = match archive.as_slice() {
        [one] => *one,
        [] => {
            layout.checks.push(Check::failed(
                CheckKind::Structure,
                structure,
                "no #####Startofarchive##### line",
            ));
            return Ok(layout);
        }
        _ => {
            layout.checks.push(Check::failed(
                CheckKind::Structure,
                structure,
                format!(
                    "{} #####Startofarchive##### lines; expected one",
                    archive.len()
                ),
            ));
            return Ok(layout);
        }
    };
    if offset >= source.len() {
        layout.checks.push(Check::failed(
            CheckKind::Structure,
            structure,
            "nothing follows the #####Startofarchive##### line",
        ));
        return Ok(layout);
    }
    layout.layers.push(Layer {
        kind: "shell script (Dell update package)".to_owned(),
        range: (0, offset),
    });
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
    layout.checks.push(
        Check::new(CheckKind::Structure, structure, Outcome::Passed)
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
