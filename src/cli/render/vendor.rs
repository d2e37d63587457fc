//! Vendor metadata in the text report (`inspect`): makeself headers, HP and
//! HPE component descriptions, PE wrappers, Dell, NetApp and LVFS releases.

use super::text::safe;
use fwkit::{DellPackage, HpComponent, HpeFwpkg, LvfsRelease, MakeselfInfo, PeInfo, VendorInfo};
use std::io::{self, Write};

pub fn vendor(out: &mut impl Write, info: &VendorInfo) -> io::Result<()> {
    match info {
        VendorInfo::Makeself(m) => makeself(out, m),
        VendorInfo::HpComponent(c) => hp_component(out, c),
        VendorInfo::Pe(pe) => pe_wrapper(out, pe),
        VendorInfo::HpeFwpkg(f) => hpe_fwpkg(out, f),
        VendorInfo::NetappSp(n) => {
            writeln!(
                out,
                "NetApp Service Processor package ({}):",
                safe(&n.source)
            )?;
            writeln!(out, "  version: {}", opt(&n.version))
        }
        VendorInfo::DellPackage(p) => dell_package(out, p),
        VendorInfo::Lvfs(r) => lvfs_release(out, r),
        _ => Ok(()),
    }
}

/// A value, or `-` when the package does not say; shown safely.
fn opt(v: &Option<String>) -> String {
    v.as_deref()
        .map_or_else(|| "-".to_owned(), |v| safe(v).into_owned())
}

/// The variables of a makeself header.
fn makeself(out: &mut impl Write, m: &MakeselfInfo) -> io::Result<()> {
    writeln!(out, "makeself header:")?;
    writeln!(out, "  version: {}", opt(&m.version))?;
    writeln!(out, "  payload offset rule: {}", m.offset_rule)?;
    writeln!(out, "  label: {}", opt(&m.label))?;
    writeln!(
        out,
        "  script: {} {} (never run by fwkit)",
        opt(&m.script),
        safe(m.script_args.as_deref().unwrap_or_default())
    )?;
    writeln!(out, "  compression: {}", opt(&m.compression))?;
    writeln!(
        out,
        "  signed: {}",
        if m.signed {
            "yes (gpg, not checked)"
        } else {
            "no"
        }
    )
}

/// An HP smart component's XML description.
fn hp_component(out: &mut impl Write, c: &HpComponent) -> io::Result<()> {
    writeln!(out, "HP smart component ({}):", safe(&c.source))?;
    writeln!(out, "  name: {}", opt(&c.name))?;
    writeln!(
        out,
        "  version: {} revision {}",
        opt(&c.version),
        opt(&c.revision)
    )?;
    writeln!(out, "  release date: {}", opt(&c.release_date))?;
    if !c.products.is_empty() {
        writeln!(out, "  products: {}", safe(&c.products.join(", ")))?;
    }
    for other in &c.other_products {
        writeln!(out, "  product without rom: {}", safe(other))?;
    }
    devices(out, &c.devices)
}

/// A PE wrapper's sections, overlay and Authenticode presence.
fn pe_wrapper(out: &mut impl Write, pe: &PeInfo) -> io::Result<()> {
    writeln!(out, "PE wrapper:")?;
    writeln!(out, "  machine: {}", pe.machine)?;
    for s in &pe.sections {
        writeln!(
            out,
            "  section {:<8} bytes {}..{}",
            safe(&s.name),
            s.range.0,
            s.range.1
        )?;
    }
    writeln!(out, "  overlay: bytes {}..{}", pe.overlay.0, pe.overlay.1)?;
    writeln!(
        out,
        "  authenticode: {}",
        if pe.authenticode {
            "present (not checked)"
        } else {
            "absent"
        }
    )
}

/// An HPE `.fwpkg`'s `payload.json`.
fn hpe_fwpkg(out: &mut impl Write, f: &HpeFwpkg) -> io::Result<()> {
    writeln!(out, "HPE firmware package (payload.json):")?;
    writeln!(out, "  package format: {}", opt(&f.package_format))?;
    writeln!(out, "  updatable by: {}", safe(&f.updatable_by.join(", ")))?;
    devices(out, &f.devices)
}

/// A Dell update package's `package.xml`.
fn dell_package(out: &mut impl Write, p: &DellPackage) -> io::Result<()> {
    writeln!(out, "Dell update package:")?;
    writeln!(out, "  name: {}", opt(&p.name))?;
    writeln!(
        out,
        "  package id: {} release id: {}",
        opt(&p.package_id),
        opt(&p.release_id)
    )?;
    writeln!(
        out,
        "  version: {} (Dell {})",
        opt(&p.vendor_version),
        opt(&p.dell_version)
    )?;
    writeln!(out, "  release date: {}", opt(&p.release_date))?;
    for s in &p.systems {
        writeln!(
            out,
            "  system: {} ({} {})",
            safe(&s.system_id),
            opt(&s.brand),
            opt(&s.model)
        )?;
    }
    for d in &p.devices {
        let pci = d.pci.as_ref().map(|p| {
            [
                &p.vendor,
                &p.device,
                &p.subsystem_vendor,
                &p.subsystem_device,
            ]
            .iter()
            .map(|v| v.as_deref().unwrap_or("-"))
            .collect::<Vec<_>>()
            .join(":")
        });
        writeln!(
            out,
            "  device: {} componentID {} PCI {}",
            opt(&d.name),
            opt(&d.component_id),
            opt(&pci)
        )?;
    }
    Ok(())
}

/// One release of an LVFS cabinet's metainfo.
fn lvfs_release(out: &mut impl Write, r: &LvfsRelease) -> io::Result<()> {
    writeln!(out, "LVFS release ({}):", safe(&r.source))?;
    writeln!(out, "  component: {}", opt(&r.component_id))?;
    writeln!(out, "  name: {}", opt(&r.name))?;
    writeln!(out, "  version: {} ({})", opt(&r.version), opt(&r.date))?;
    writeln!(
        out,
        "  payload: {} (installed size {})",
        safe(&r.payload),
        opt(&r.installed_size)
    )?;
    if !r.devices.is_empty() {
        writeln!(out, "  devices: {}", safe(&r.devices.join(", ")))?;
    }
    Ok(())
}

/// The devices and firmware images of an HP component or `.fwpkg`.
fn devices(out: &mut impl Write, devices: &[fwkit::HpDevice]) -> io::Result<()> {
    for d in devices {
        writeln!(
            out,
            "  device: {} target {} version {}",
            opt(&d.name),
            opt(&d.target),
            opt(&d.version)
        )?;
        for image in &d.images {
            writeln!(
                out,
                "    image: {} (reset required: {})",
                opt(&image.file_name),
                opt(&image.reset_required)
            )?;
        }
    }
    Ok(())
}
