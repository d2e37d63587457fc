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
use crate::verify::authenticode::Table;
use std::io;

/// The name of every structure check the PE headers decide.
const STRUCTURE: &str = "PE headers";

pub(crate) fn layout(head: &[u8], source: &Input) -> io::Result<Layout> {
    let mut layout = Layout::new(FormatKind::Pe);
    // An HPE Smart Component `cp*.exe` carries its `cpq_package` XML at
    // the top of the zip after the image, as a `.scexe` does.
    layout.capture = crate::pass::Capture::TopLevelXml;
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
    let failed_before = layout.checks.len();
    if let Some(range) = image.certificate {
        layout.authenticode = Some(authenticode_table(&image, source, range)?);
    }
    describe_image(&mut layout, image, overlay_end);
    payload(&mut layout, source, (image_end, overlay_end), failed_before)?;
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
    /// The file offset of the PE signature, and whether the optional header
    /// is PE32+: where the checksum and the certificate table's directory
    /// entry are, which the Authenticode digest leaves out.
    pe_pointer: u64,
    pe32_plus: bool,
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
    let pe32_plus = header
        .optional_header
        .is_some_and(|o| o.standard_fields.magic == goblin::pe::optional_header::MAGIC_64);
    Ok(Image {
        machine: coff.machine,
        sections: shown,
        end,
        certificate,
        pe_pointer: u64::from(header.dos_header.pe_pointer),
        pe32_plus,
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

/// Adds the image and certificate layers and the PE vendor block, the
/// overlay being bytes `image.end..overlay_end`.
fn describe_image(layout: &mut Layout, image: Image, overlay_end: u64) {
    let machine = goblin::pe::header::machine_to_str(image.machine);
    layout.layers.push(Layer {
        kind: format!("PE image ({machine}, {} sections)", image.sections.len()),
        range: (0, image.end),
    });
    if let Some(range) = image.certificate {
        layout.layers.push(Layer {
            kind: "Authenticode certificate table".to_owned(),
            range,
        });
    }
    layout.vendor.push(VendorInfo::Pe(PeInfo {
        machine: machine.to_owned(),
        sections: image.sections,
        overlay: (image.end, overlay_end),
        authenticode: image.certificate.is_some(),
    }));
}

/// The overlay's zip, if any. A signed PE without a zip is a signed image:
/// its Authenticode signature alone can verify it when the caller gives
/// anchors, so the missing payload fails only without them.
fn payload(
    layout: &mut Layout,
    source: &Input,
    (image_end, overlay_end): (u64, u64),
    failed_before: usize,
) -> io::Result<()> {
    if image_end >= overlay_end {
        layout.checks.push(Check::failed(
            CheckKind::Structure,
            "PE overlay",
            "the PE carries no appended data: not a self-extracting package",
        ));
    } else {
        layout.layers.push(Layer {
            kind: "overlay".to_owned(),
            range: (image_end, overlay_end),
        });
        let padding = match layout.authenticode {
            Some(_) => alignment_padding(source, image_end, overlay_end)?,
            None => 0,
        };
        zip::add_archive(
            layout,
            source,
            image_end,
            overlay_end.saturating_sub(padding),
        )?;
    }
    if let Some(table) = layout.authenticode.as_mut() {
        // Only "there is no zip" moves: a zip that is there but broken
        // still fails the package, anchors or not.
        let payload: Vec<Check> = layout.checks.drain(failed_before..).collect();
        let (absent, kept): (Vec<Check>, Vec<Check>) = payload.into_iter().partition(|c| {
            c.outcome.is_failure()
                && c.detail.as_deref().is_some_and(|d| {
                    d.contains("carries no appended data")
                        || d.contains("no end-of-central-directory record")
                })
        });
        table.without_anchors.extend(absent);
        layout.checks.extend(kept);
    }
    Ok(())
}

/// Largest certificate table read (real ones are a few KiB).
const MAX_CERTIFICATE_TABLE: u64 = 4 << 20;

/// The certificate table's bytes and the two fields the Authenticode image
/// digest leaves out: the optional header's checksum and the table's own
/// data directory entry.
fn authenticode_table(image: &Image, source: &Input, range: (u64, u64)) -> io::Result<Table> {
    let optional = image
        .pe_pointer
        .saturating_add(4)
        .saturating_add(goblin::pe::header::SIZEOF_COFF_HEADER as u64);
    let pe32_plus = image.pe32_plus;
    // Data directory 4 (certificate table), 8 bytes an entry.
    let directories = optional.saturating_add(if pe32_plus { 112 } else { 96 });
    let entry = directories.saturating_add(4 * 8);
    let checksum = optional.saturating_add(64);
    let size = range.1.saturating_sub(range.0);
    let mut table = Table {
        range,
        bytes: Vec::new(),
        skip: vec![
            (checksum, checksum.saturating_add(4)),
            (entry, entry.saturating_add(8)),
        ],
        without_anchors: vec![Check::new(
            CheckKind::Signature,
            "PE image",
            crate::model::Outcome::Info,
        )
        .with_range(range)
        .with_detail(
            "Authenticode signature present, not checked (give --key with a trusted CA certificate to check it)",
        )],
    };
    if size > MAX_CERTIFICATE_TABLE {
        table.without_anchors.clear();
        table.without_anchors.push(
            Check::new(CheckKind::Signature, "PE image", crate::model::Outcome::NotRun)
                .with_range(range)
                .with_detail(format!(
                    "the {size}-byte certificate table is larger than {MAX_CERTIFICATE_TABLE} bytes; not read"
                )),
        );
        return Ok(table);
    }
    table.bytes = source.read_at(range.0, size)?;
    Ok(table)
}

/// Zero bytes a signing tool put between an overlay zip's end record and
/// the certificate table, which starts 8-byte aligned: the count (under 8)
/// for which the bytes before them end a zip end record with no comment.
fn alignment_padding(source: &Input, image_end: u64, overlay_end: u64) -> io::Result<u64> {
    const EOCD: u64 = 22;
    let window = overlay_end
        .saturating_sub(image_end)
        .min(EOCD.saturating_add(7));
    let tail = source.read_at(overlay_end.saturating_sub(window), window)?;
    for padding in 1..8usize {
        let Some(end) = tail.len().checked_sub(padding) else {
            break;
        };
        let zeros = tail.get(end..).is_some_and(|p| p.iter().all(|&b| b == 0));
        let record = end
            .checked_sub(22)
            .and_then(|start| tail.get(start..end))
            .is_some_and(|r| r.starts_with(b"PK\x05\x06") && r.ends_with(&[0, 0]));
        if !zeros {
            break;
        }
        if record {
            return Ok(padding as u64);
        }
    }
    Ok(0)
}
