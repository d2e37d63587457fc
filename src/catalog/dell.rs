//! Dell repository catalogues (`Catalog.xml`, `Catalog.xml.gz`, `Catalog.gz`):
//! the `SoftwareComponent` entries and the facts each one states, read as a
//! stream of XML events (no document tree): one component is in memory at a
//! time. Prose in `formats/dell-catalog.md`. Only reads; the checks are in
//! `catalog::entry`.

use crate::error::{Error, Result, Setting};
use crate::model::PciIds;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;
use std::io::BufRead;

/// The facts one `SoftwareComponent` states about its package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellComponent {
    /// `identifier` (a GUID).
    pub identifier: Option<String>,
    /// `packageID`.
    pub package_id: Option<String>,
    /// `releaseID`.
    pub release_id: Option<String>,
    /// `hashMD5`, lower-case hex as written.
    pub hash_md5: Option<String>,
    /// `Cryptography/Hash[@algorithm="SHA256"]`, as written.
    pub sha256: Option<String>,
    /// A SHA-1 of the file (LVFS metadata), as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// `dateTime`.
    pub date_time: Option<String>,
    /// `releaseDate`.
    pub release_date: Option<String>,
    /// `vendorVersion`.
    pub vendor_version: Option<String>,
    /// `dellVersion`.
    pub dell_version: Option<String>,
    /// `packageType` (`LWXP`, `LW64`, `LLXP`, …).
    pub package_type: Option<String>,
    /// `rebootRequired`.
    pub reboot_required: Option<String>,
    /// `size`, in bytes, as written.
    pub size: Option<String>,
    /// `Name/Display`.
    pub name: Option<String>,
    /// `ComponentType@value` (`FRMW`, `BIOS`, `DRVR`, `APAC`, …).
    pub component_type: Option<String>,
    /// `SupportedSystems/Brand/Model@systemID`.
    pub system_ids: Vec<String>,
    /// `SupportedDevices/Device`.
    pub devices: Vec<DellDevice>,
}

/// One `SupportedDevices/Device` and its `PCIInfo`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DellDevice {
    /// `componentID`.
    pub component_id: Option<String>,
    /// `Display`.
    pub name: Option<String>,
    /// Each `PCIInfo`, as a package's own XML gives it.
    pub pci: Vec<PciIds>,
}

/// One entry: the raw `path` and what the component states.
#[derive(Debug, Clone)]
pub struct Component {
    /// `path`, exactly as written (validated later, never trusted).
    pub path: String,
    /// Everything else.
    pub facts: DellComponent,
    /// Whether the file must be a package fwkit verifies.
    pub expect: Expect,
}

/// What an entry's file is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A package: it must open and verify (a Dell catalogue lists only these).
    Package,
    /// A plain file (fwkit's own catalogue says it is not a package): its
    /// size and SHA-256 are the whole check.
    PlainFile,
}

/// Most bytes of one text field (a `Display`, a `Hash`) of a component.
const MAX_TEXT: usize = 64 << 10;
/// Most devices, systems or PCI ids one component lists.
const MAX_LIST: usize = 4096;
/// Deepest element nesting inside one component.
const MAX_DEPTH: usize = 32;

/// The `SoftwareComponent`s of a catalogue, in document order, read from
/// its UTF-8 text as a stream. A DTD is refused (so no entity expansion),
/// the root must be `<Manifest>`, and the whole document must be
/// well-formed: an error ends the stream.
pub struct Stream<R: BufRead> {
    reader: quick_xml::Reader<R>,
    buf: Vec<u8>,
    /// Elements open above the current one (0: before the root).
    depth: usize,
    /// Components read so far.
    count: usize,
    done: bool,
}

/// Text being collected for a field until its element ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Sha256,
    DeviceName,
}

impl<R: BufRead> Stream<R> {
    /// A stream over the UTF-8 catalogue text `text`.
    pub fn new(text: R) -> Stream<R> {
        Stream {
            reader: quick_xml::Reader::from_reader(text),
            buf: Vec::with_capacity(4096),
            depth: 0,
            count: 0,
            done: false,
        }
    }

    fn xml_error(&self, e: &dyn std::fmt::Display) -> Error {
        invalid(format!(
            "the catalogue is not well-formed XML near byte {} of its text: {e}",
            self.reader.error_position()
        ))
    }

    fn read_error(&self, e: &quick_xml::Error) -> Error {
        match e {
            quick_xml::Error::Io(io) => invalid(format!("cannot read the catalogue: {io}")),
            other => self.xml_error(other),
        }
    }

    /// The next XML event, owned (the buffer is reused for the next one).
    fn event(&mut self) -> Result<Event<'static>> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => Ok(event.into_owned()),
            Err(e) => Err(self.read_error(&e)),
        }
    }

    /// The next component, or `None` after the root element's end.
    fn next_component(&mut self) -> Result<Option<Component>> {
        loop {
            let event = self.event()?;
            match event {
                Event::DocType(_) => {
                    return Err(invalid(
                        "the catalogue has a DTD (refused: Dell catalogues carry none)".to_owned(),
                    ))
                }
                Event::Start(e) if self.depth == 0 => {
                    root(&e)?;
                    self.depth = 1;
                }
                Event::Empty(e) if self.depth == 0 => {
                    root(&e)?;
                    return Ok(None);
                }
                Event::Start(e) if self.depth == 1 && is_component(&e) => {
                    let component = self.start(&e)?;
                    return self.body(component).map(Some);
                }
                Event::Empty(e) if self.depth == 1 && is_component(&e) => {
                    return self.start(&e).map(Some);
                }
                Event::Start(_) => self.depth = self.depth.saturating_add(1),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Ok(None);
                    }
                }
                Event::Eof => {
                    return Err(invalid(
                        "the catalogue ends before its <Manifest> is closed".to_owned(),
                    ))
                }
                _ => {}
            }
        }
    }

    /// A component's attributes.
    fn start(&mut self, e: &BytesStart) -> Result<Component> {
        self.count = self.count.saturating_add(1);
        let mut path = None;
        let mut facts = DellComponent::default();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.xml_error(&err))?;
            let value = attr
                .unescape_value()
                .map_err(|err| self.xml_error(&err))?
                .into_owned();
            let slot = match attr.key.local_name().as_ref() {
                b"path" => &mut path,
                b"identifier" => &mut facts.identifier,
                b"packageID" => &mut facts.package_id,
                b"releaseID" => &mut facts.release_id,
                b"hashMD5" => &mut facts.hash_md5,
                b"dateTime" => &mut facts.date_time,
                b"releaseDate" => &mut facts.release_date,
                b"vendorVersion" => &mut facts.vendor_version,
                b"dellVersion" => &mut facts.dell_version,
                b"packageType" => &mut facts.package_type,
                b"rebootRequired" => &mut facts.reboot_required,
                b"size" => &mut facts.size,
                _ => continue,
            };
            *slot = Some(value);
        }
        let Some(path) = path else {
            return Err(invalid(format!(
                "SoftwareComponent {} (near byte {} of the catalogue text) has no path",
                self.count,
                self.reader.buffer_position()
            )));
        };
        Ok(Component {
            path,
            facts,
            expect: Expect::Package,
        })
    }

    /// The elements inside a component, up to its end tag.
    fn body(&mut self, mut component: Component) -> Result<Component> {
        let mut stack: Vec<Vec<u8>> = Vec::new();
        let mut field: Option<(Field, usize, String)> = None;
        loop {
            let event = self.event()?;
            match event {
                Event::Start(_) | Event::Empty(_) if stack.len() >= MAX_DEPTH => {
                    return Err(self.too_much(&component.path, "elements nested too deeply"));
                }
                Event::Start(e) => {
                    stack.push(e.local_name().as_ref().to_vec());
                    if let Some(f) = self.element(&mut component, &stack, &e)? {
                        field = Some((f, stack.len(), String::new()));
                    }
                }
                Event::Empty(e) => {
                    stack.push(e.local_name().as_ref().to_vec());
                    if let Some(f) = self.element(&mut component, &stack, &e)? {
                        store(&mut component.facts, f, String::new());
                    }
                    stack.pop();
                }
                Event::Text(t) => {
                    if let Some((_, _, text)) = field.as_mut() {
                        text.push_str(&t.unescape().map_err(|e| self.xml_error(&e))?);
                    }
                }
                Event::CData(c) => {
                    if let Some((_, _, text)) = field.as_mut() {
                        text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                    }
                }
                Event::End(_) if stack.is_empty() => return Ok(component),
                Event::End(_) => {
                    if let Some((f, depth, text)) = field.take() {
                        if depth == stack.len() {
                            store(&mut component.facts, f, text);
                        } else {
                            field = Some((f, depth, text));
                        }
                    }
                    stack.pop();
                }
                Event::Eof => {
                    return Err(invalid(format!(
                        "the catalogue ends inside the SoftwareComponent for {}",
                        component.path
                    )))
                }
                _ => {}
            }
            if field.as_ref().is_some_and(|(_, _, t)| t.len() > MAX_TEXT) {
                return Err(self.too_much(&component.path, "a text field over 64 KiB"));
            }
        }
    }

    /// What the element at `stack` (inside a component) states; the field
    /// its text is, if it is one.
    fn element(
        &self,
        component: &mut Component,
        stack: &[Vec<u8>],
        e: &BytesStart,
    ) -> Result<Option<Field>> {
        let facts = &mut component.facts;
        let names: Vec<&[u8]> = stack.iter().map(Vec::as_slice).collect();
        let attr = |name: &[u8]| super::source::attribute(e, name, |err| self.xml_error(err));
        let full = |list_len: usize| list_len >= MAX_LIST;
        match names.as_slice() {
            [b"Name", b"Display"] if facts.name.is_none() => return Ok(Some(Field::Name)),
            [b"ComponentType"] if facts.component_type.is_none() => {
                facts.component_type = attr(b"value")?;
            }
            [b"SupportedSystems", b"Brand", b"Model"] => {
                if full(facts.system_ids.len()) {
                    return Err(self.too_much(&component.path, "over 4096 systems"));
                }
                facts.system_ids.extend(attr(b"systemID")?);
            }
            [b"SupportedDevices", b"Device"] => {
                if full(facts.devices.len()) {
                    return Err(self.too_much(&component.path, "over 4096 devices"));
                }
                facts.devices.push(DellDevice {
                    component_id: attr(b"componentID")?,
                    ..DellDevice::default()
                });
            }
            [b"SupportedDevices", b"Device", b"Display"]
                if facts.devices.last().is_some_and(|d| d.name.is_none()) =>
            {
                return Ok(Some(Field::DeviceName));
            }
            [b"SupportedDevices", b"Device", b"PCIInfo"] => {
                // Trimmed, an empty id absent: as a package's own XML is read.
                let id = |name: &[u8]| -> Result<Option<String>> {
                    Ok(attr(name)?
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty()))
                };
                let ids = PciIds {
                    vendor: id(b"vendorID")?,
                    device: id(b"deviceID")?,
                    subsystem_vendor: id(b"subVendorID")?,
                    subsystem_device: id(b"subDeviceID")?,
                };
                if let Some(device) = facts.devices.last_mut() {
                    if full(device.pci.len()) {
                        return Err(self.too_much(&component.path, "over 4096 PCI ids"));
                    }
                    device.pci.push(ids);
                }
            }
            [b"Cryptography", b"Hash"] if facts.sha256.is_none() => {
                let algorithm = attr(b"algorithm")?.unwrap_or_default();
                if algorithm.replace('-', "").eq_ignore_ascii_case("sha256") {
                    return Ok(Some(Field::Sha256));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn too_much(&self, path: &str, what: &str) -> Error {
        invalid(format!(
            "the SoftwareComponent for {path} (near byte {} of the catalogue text) has {what}, more than a catalogue entry may hold",
            self.reader.buffer_position()
        ))
    }
}

impl<R: BufRead> Iterator for Stream<R> {
    type Item = Result<Component>;

    fn next(&mut self) -> Option<Result<Component>> {
        if self.done {
            return None;
        }
        let next = self.next_component();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// The root element must be a Dell `<Manifest>`.
fn root(e: &BytesStart) -> Result<()> {
    let name = e.local_name();
    if name.as_ref() == b"Manifest" {
        return Ok(());
    }
    Err(invalid(format!(
        "the root element is <{}>, not a Dell <Manifest>",
        String::from_utf8_lossy(name.as_ref())
    )))
}

fn is_component(e: &BytesStart) -> bool {
    e.local_name().as_ref() == b"SoftwareComponent"
}

fn store(facts: &mut DellComponent, field: Field, text: String) {
    let text = text.trim().to_owned();
    match field {
        Field::Name => facts.name = Some(text),
        Field::Sha256 => facts.sha256 = Some(text),
        Field::DeviceName => {
            if let Some(device) = facts.devices.last_mut() {
                device.name = Some(text);
            }
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::Invalid {
        setting: Setting::Catalog,
        reason,
    }
}
