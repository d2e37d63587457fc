//! PE-wrapped packages: HPE `cp*.exe`, Dell Windows update packages and
//! other self-extracting zips (see `formats/pe.md`).
//!
//! The PE headers are parsed with goblin; the overlay is everything after the
//! last section's raw data, up to the Authenticode certificate table when it
//! sits at the end. A zip inside the overlay becomes the next layer.

use super::{zip, Layout};
use crate::detect::FormatKind;
use crate::input::Input;
use crate::model::{Check, CheckKind, Layer, PeInfo, PeSection, VendorInfo};
use std::io;

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::Pe);
    let structure = "PE headers";
    let header = match goblin::pe::header::Header::parse(head) {
        Ok(header) => header,
        Err(e) => {
            layout.checks.push(Check::failed(
                CheckKind::Structure,
                structure,
                format!("not a valid PE: {e}"),
            ));
            return Ok(layout);
        }
    };
    let coff = header.coff_header;
    let mut offset = usize::try_from(header.dos_header.pe_pointer)
        .unwrap_or(usize::MAX)
        .saturating_add(4 + goblin::pe::header::SIZEOF_COFF_HEADER)
        .saturating_add(usize::from(coff.size_of_optional_header));
    let sections = match coff.sections(head, &mut offset) {
        Ok(sections) => sections,
        Err(e) => {
            layout.checks.push(Check::failed(
                CheckKind::Structure,
                structure,
                format!("section table unreadable: {e}"),
            ));
            return Ok(layout);
        }
    };
    let len = source.len();
    let mut image_end = u64::try_from(offset).unwrap_or(u64::MAX);
    let mut shown = Vec::new();
    for section in &sections {
        let start = u64::from(section.pointer_to_raw_data);
        let end = start.saturating_add(u64::from(section.size_of_raw_data));
        if section.size_of_raw_data > 0 {
            image_end = image_end.max(end);
        }
        shown.push(PeSection {
            name: section.name().unwrap_or("?").to_owned(),
            range: (start, end),
        });
    }
    if image_end > len {
        layout.checks.push(Check::failed(
            CheckKind::Structure,
            structure,
            format!("section data ends at byte {image_end}, past the end of the {len}-byte file"),
        ));
        return Ok(layout);
    }
    // The certificate table's "virtual address" is a file offset.
    let certificate = header
        .optional_header
        .and_then(|o| o.data_directories.get_certificate_table().copied())
        .map(|d| {
            let start = u64::from(d.virtual_address);
            // Two 32-bit fields: the sum cannot overflow a u64.
            (start, start.saturating_add(u64::from(d.size)))
        });
    let overlay_end = match certificate {
        Some((start, end)) if start >= image_end && end <= len => start,
        _ => len,
    };
    match certificate {
        Some((start, end)) if start < image_end || end > len => layout.checks.push(
            Check::failed(
                CheckKind::Structure,
                structure,
                format!(
                    "the certificate table at bytes {start}..{end} is not inside bytes {image_end}..{len}, the space between the image and the end of the file"
                ),
            ),
        ),
        Some((_, end)) if end < len => layout.checks.push(
            Check::failed(
                CheckKind::Structure,
                structure,
                format!(
                    "{} bytes follow the certificate table (bytes {end}..{len}): data appended after signing",
                    len.saturating_sub(end)
                ),
            )
            .with_range((end, len)),
        ),
        _ => {}
    }
    layout.layers.push(Layer {
        kind: format!(
            "PE image ({}, {} sections)",
            goblin::pe::header::machine_to_str(coff.machine),
            sections.len()
        ),
        range: (0, image_end),
    });
    if let Some(range) = certificate {
        layout.layers.push(Layer {
            kind: "Authenticode certificate table (not checked)".to_owned(),
            range,
        });
        layout.checks.push(
            crate::model::Check::new(
                CheckKind::Signature,
                "PE image",
                crate::model::Outcome::Info,
            )
            .with_range(range)
            .with_detail("Authenticode signature present, not checked"),
        );
    }
    layout.vendor.push(VendorInfo::Pe(PeInfo {
        machine: goblin::pe::header::machine_to_str(coff.machine).to_owned(),
        sections: shown,
        overlay: (image_end, overlay_end),
        authenticode: certificate.is_some(),
    }));
    if image_end >= overlay_end {
        layout.checks.push(Check::failed(
            CheckKind::Structure,
            "PE overlay",
            "the PE carries no appended data: not a self-extracting package",
        ));
        return Ok(layout);
    }
    layout.layers.push(Layer {
        kind: "overlay".to_owned(),
        range: (image_end, overlay_end),
    });
    zip::add_archive(&mut layout, source, image_end, overlay_end)?;
    Ok(layout)
}
