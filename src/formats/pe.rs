//! PE-wrapped packages: HPE `cp*.exe`, Dell Windows update packages and
//! other self-extracting zips (see `formats/pe.md`).
//!
//! The PE headers are parsed with goblin; the overlay is everything after the
//! last section's raw data, up to the Authenticode certificate table when it
//! sits at the end. A zip inside the overlay becomes the next layer.

use super::{zip, Layout};
use crate::detect::FormatKind;
use crate::input::Input;
use crate::model::{Check, CheckKind, Layer, Outcome, PeInfo, PeSection, VendorInfo};
use std::io;

/// The name of every structure check the PE headers decide.
const STRUCTURE: &str = "PE headers";

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::Pe);
    let len = source.len();
    let image = match read_image(head, len) {
        Ok(image) => image,
        Err(detail) => {
            layout
                .checks
                .push(Check::failed(CheckKind::Structure, STRUCTURE, detail));
            return Ok(layout);
        }
    };
    let overlay_end = check_certificate(&mut layout, &image, len);
    let image_end = image.end;
    describe_image(&mut layout, image, overlay_end);
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

/// What the PE headers say about the image: its sections, where their raw
/// data ends, and where the certificate table claims to be.
struct Image {
    machine: u16,
    sections: Vec<PeSection>,
    /// The end of the headers or of the last section's raw data, whichever is later.
    end: u64,
    /// The certificate table's file range, when the data directory has one.
    certificate: Option<(u64, u64)>,
}

/// Reads the headers and section table from `head`; the failed structure
/// check's detail when they are unreadable or the sections run past the
/// `len`-byte file.
fn read_image(head: &[u8], len: u64) -> Result<Image, String> {
    let header =
        goblin::pe::header::Header::parse(head).map_err(|e| format!("not a valid PE: {e}"))?;
    let coff = header.coff_header;
    let mut offset = usize::try_from(header.dos_header.pe_pointer)
        .unwrap_or(usize::MAX)
        .saturating_add(4 + goblin::pe::header::SIZEOF_COFF_HEADER)
        .saturating_add(usize::from(coff.size_of_optional_header));
    let sections = coff
        .sections(head, &mut offset)
        .map_err(|e| format!("section table unreadable: {e}"))?;
    let mut end = u64::try_from(offset).unwrap_or(u64::MAX);
    let mut shown = Vec::new();
    for section in &sections {
        let start = u64::from(section.pointer_to_raw_data);
        let section_end = start.saturating_add(u64::from(section.size_of_raw_data));
        if section.size_of_raw_data > 0 {
            end = end.max(section_end);
        }
        shown.push(PeSection {
            name: section.name().unwrap_or("?").to_owned(),
            range: (start, section_end),
        });
    }
    if end > len {
        return Err(format!(
            "section data ends at byte {end}, past the end of the {len}-byte file"
        ));
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
    Ok(Image {
        machine: coff.machine,
        sections: shown,
        end,
        certificate,
    })
}

/// Checks that the certificate table sits between the image and the end of
/// the file with nothing after it; returns where the overlay ends.
fn check_certificate(layout: &mut Layout, image: &Image, len: u64) -> u64 {
    let image_end = image.end;
    match image.certificate {
        Some((start, end)) if start < image_end || end > len => layout.checks.push(
            Check::failed(
                CheckKind::Structure,
                STRUCTURE,
                format!(
                    "the certificate table at bytes {start}..{end} is not inside bytes {image_end}..{len}, the space between the image and the end of the file"
                ),
            ),
        ),
        Some((_, end)) if end < len => layout.checks.push(
            Check::failed(
                CheckKind::Structure,
                STRUCTURE,
                format!(
                    "{} bytes follow the certificate table (bytes {end}..{len}): data appended after signing",
                    len.saturating_sub(end)
                ),
            )
            .with_range((end, len)),
        ),
        _ => {}
    }
    match image.certificate {
        Some((start, end)) if start >= image_end && end <= len => start,
        _ => len,
    }
}

/// Adds the image and certificate layers, the Authenticode note and the PE
/// vendor block, the overlay being bytes `image.end..overlay_end`.
fn describe_image(layout: &mut Layout, image: Image, overlay_end: u64) {
    let machine = goblin::pe::header::machine_to_str(image.machine);
    layout.layers.push(Layer {
        kind: format!("PE image ({machine}, {} sections)", image.sections.len()),
        range: (0, image.end),
    });
    if let Some(range) = image.certificate {
        layout.layers.push(Layer {
            kind: "Authenticode certificate table (not checked)".to_owned(),
            range,
        });
        layout.checks.push(
            Check::new(CheckKind::Signature, "PE image", Outcome::Info)
                .with_range(range)
                .with_detail("Authenticode signature present, not checked"),
        );
    }
    layout.vendor.push(VendorInfo::Pe(PeInfo {
        machine: machine.to_owned(),
        sections: image.sections,
        overlay: (image.end, overlay_end),
        authenticode: image.certificate.is_some(),
    }));
}
