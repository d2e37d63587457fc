//! LVFS metadata (`firmware.xml.gz`, the AppStream `<components>` document
//! fwupd downloads, with `firmware.xml.gz.jcat` beside it): every
//! `<release>` of every `<component>` is one entry, read as a stream of XML
//! events. The entry's file is the basename of the release's `<location>`
//! (or of its binary `<artifact>`'s `<location>`/`<filename>`) in the
//! mirror's directory; its `<checksum target="container">` values (SHA-256,
//! else SHA-1, reported weak) and `<size type="download">` are what the
//! file must match, and the cabinet itself is then verified as
//! `fwkit verify` would. Prose in `formats/dell-catalog.md` ("LVFS metadata").

use super::dell::{Component, DellComponent, Expect};
use super::source::invalid;
use crate::error::{Error, Result};
use quick_xml::events::{BytesStart, Event};
use std::collections::VecDeque;
use std::io::BufRead;

/// Most releases one component lists.
const MAX_RELEASES: usize = 4096;
/// Most bytes of one text field.
const MAX_TEXT: usize = 64 << 10;
/// Deepest element nesting inside one component.
const MAX_DEPTH: usize = 32;

/// The releases of an LVFS metadata document, in document order.
pub struct Stream<R: BufRead> {
    reader: quick_xml::Reader<R>,
    buf: Vec<u8>,
    ready: VecDeque<Component>,
    started: bool,
    done: bool,
}

/// What one release states, while it is read.
#[derive(Default)]
struct Release {
    version: Option<String>,
    date: Option<String>,
    location: Option<String>,
    artifact_location: Option<String>,
    artifact_filename: Option<String>,
    sha256: Option<String>,
    sha1: Option<String>,
    size: Option<String>,
    container_name: Option<String>,
}

/// The component's facts every release shares.
#[derive(Default)]
struct Shared {
    id: Option<String>,
    name: Option<String>,
}

impl<R: BufRead> Stream<R> {
    /// A stream over the UTF-8 metadata text `text`.
    pub fn new(text: R) -> Stream<R> {
        Stream {
            reader: quick_xml::Reader::from_reader(text),
            buf: Vec::with_capacity(4096),
            ready: VecDeque::new(),
            started: false,
            done: false,
        }
    }

    fn event(&mut self) -> Result<Event<'static>> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(Event::DocType(_)) => Err(invalid(
                "the LVFS metadata has a DTD (refused: LVFS metadata carries none)".to_owned(),
            )),
            Ok(event) => Ok(event.into_owned()),
            Err(quick_xml::Error::Io(io)) => {
                Err(invalid(format!("cannot read the LVFS metadata: {io}")))
            }
            Err(e) => Err(self.xml_error(&e)),
        }
    }

    fn xml_error(&self, e: &dyn std::fmt::Display) -> Error {
        invalid(format!(
            "the LVFS metadata is not well-formed XML near byte {} of its text: {e}",
            self.reader.error_position()
        ))
    }

    /// Read up to the next component with releases; false at the end.
    fn fill(&mut self) -> Result<bool> {
        loop {
            match self.event()? {
                Event::Start(e) if !self.started => {
                    root(&e)?;
                    self.started = true;
                }
                Event::Empty(e) if !self.started => {
                    root(&e)?;
                    return Ok(false);
                }
                Event::Start(e) if e.local_name().as_ref() == b"component" => {
                    self.component()?;
                    if !self.ready.is_empty() {
                        return Ok(true);
                    }
                }
                Event::Start(_) => self.skip()?,
                Event::End(_) => return Ok(false),
                Event::Eof => {
                    return Err(invalid(
                        "the LVFS metadata ends before its <components> is closed".to_owned(),
                    ))
                }
                _ => {}
            }
        }
    }

    /// Skip the rest of an element that was just opened.
    fn skip(&mut self) -> Result<()> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.event()? {
                Event::Start(_) => depth = depth.saturating_add(1),
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Eof => return Err(invalid("the LVFS metadata ends early".to_owned())),
                _ => {}
            }
        }
        Ok(())
    }

    /// One `<component>`: its releases queued as entries.
    fn component(&mut self) -> Result<()> {
        let mut stack: Vec<Vec<u8>> = Vec::new();
        let mut shared = Shared::default();
        let mut release: Option<Release> = None;
        let mut releases: Vec<Release> = Vec::new();
        let mut text = String::new();
        loop {
            match self.event()? {
                Event::Start(_) | Event::Empty(_) if stack.len() >= MAX_DEPTH => {
                    return Err(invalid(
                        "an LVFS <component> nests elements too deeply".to_owned(),
                    ))
                }
                Event::Start(e) => {
                    stack.push(marked_name(&e));
                    text.clear();
                    if stack_is(&stack, &[b"releases", b"release"]) {
                        if releases.len() >= MAX_RELEASES {
                            return Err(invalid(
                                "an LVFS <component> lists over 4096 releases".to_owned(),
                            ));
                        }
                        release = Some(self.release_start(&e)?);
                    } else if let Some(r) = release.as_mut() {
                        self.release_attributes(r, &stack, &e)?;
                    }
                }
                Event::Empty(e) => {
                    stack.push(marked_name(&e));
                    if let Some(r) = release.as_mut() {
                        self.release_attributes(r, &stack, &e)?;
                    }
                    stack.pop();
                }
                Event::Text(t) => {
                    text.push_str(&t.unescape().map_err(|e| self.xml_error(&e))?);
                }
                Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c.into_inner())),
                Event::End(_) if stack.is_empty() => break,
                Event::End(_) => {
                    let value = text.trim().to_owned();
                    text.clear();
                    if stack_is(&stack, &[b"releases", b"release"]) {
                        releases.extend(release.take());
                    } else if let Some(r) = release.as_mut() {
                        release_text(r, &stack, value);
                    } else {
                        shared_text(&mut shared, &stack, value);
                    }
                    stack.pop();
                }
                Event::Eof => {
                    return Err(invalid(
                        "the LVFS metadata ends inside a <component>".to_owned(),
                    ))
                }
                _ => {}
            }
            if text.len() > MAX_TEXT {
                return Err(invalid(
                    "an LVFS <component> has a text field over 64 KiB".to_owned(),
                ));
            }
        }
        for r in releases {
            self.ready.push_back(entry(&shared, r));
        }
        Ok(())
    }

    fn release_start(&self, e: &BytesStart) -> Result<Release> {
        Ok(Release {
            version: self.attr(e, b"version")?,
            date: match self.attr(e, b"date")? {
                Some(date) => Some(date),
                None => self.attr(e, b"timestamp")?,
            },
            ..Release::default()
        })
    }

    /// Attributes inside a release: which checksum or size an element is.
    fn release_attributes(&self, r: &mut Release, stack: &[Vec<u8>], e: &BytesStart) -> Result<()> {
        if stack.len() == 3 && e.local_name().as_ref() == b"checksum" {
            let container = self.attr(e, b"target")?.as_deref() == Some("container");
            if container && r.container_name.is_none() {
                r.container_name = self.attr(e, b"filename")?;
            }
        }
        Ok(())
    }

    fn attr(&self, e: &BytesStart, name: &[u8]) -> Result<Option<String>> {
        super::source::attribute(e, name, |err| self.xml_error(err))
    }
}

/// What the text of the element at `stack` (inside a release) states;
/// checksums and sizes carry their type in their stack name
/// ([`marked_name`]).
fn release_text(r: &mut Release, stack: &[Vec<u8>], value: String) {
    let names: Vec<&[u8]> = stack.iter().map(Vec::as_slice).collect();
    match names.as_slice() {
        [b"releases", b"release", b"location"] if r.location.is_none() => r.location = Some(value),
        [b"releases", b"release", b"artifacts", b"artifact", b"location"]
            if r.artifact_location.is_none() =>
        {
            r.artifact_location = Some(value)
        }
        [b"releases", b"release", b"artifacts", b"artifact", b"filename"]
            if r.artifact_filename.is_none() =>
        {
            r.artifact_filename = Some(value)
        }
        [b"releases", b"release", marked] => {
            if let Some(m) = Marked::parse(marked) {
                m.store(r, value);
            }
        }
        [b"releases", b"release", b"artifacts", b"artifact", marked] => {
            if let Some(m) = Marked::parse(marked) {
                m.store(r, value);
            }
        }
        _ => {}
    }
}

/// A checksum or size element, renamed on the stack by its attributes
/// (see [`marked_name`]): only container checksums and download sizes.
enum Marked {
    Sha256,
    Sha1,
    Size,
}

impl Marked {
    fn parse(name: &[u8]) -> Option<Marked> {
        match name {
            b"checksum:sha256" => Some(Marked::Sha256),
            b"checksum:sha1" => Some(Marked::Sha1),
            b"size:download" => Some(Marked::Size),
            _ => None,
        }
    }

    fn store(self, r: &mut Release, value: String) {
        let slot = match self {
            Marked::Sha256 => &mut r.sha256,
            Marked::Sha1 => &mut r.sha1,
            Marked::Size => &mut r.size,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
}

/// The name a `<checksum>` or `<size>` element gets on the stack: its
/// type when it is about the container (the file in the mirror).
fn marked_name(e: &BytesStart) -> Vec<u8> {
    let name = e.local_name().as_ref().to_vec();
    let attr = |key: &[u8]| {
        e.try_get_attribute(key)
            .ok()
            .flatten()
            .map(|a| a.value.to_ascii_lowercase())
    };
    match name.as_slice() {
        b"checksum" => {
            let target = attr(b"target");
            // An artifact's checksums have no target and are the file's.
            if target.is_none() || target.as_deref() == Some(b"container".as_slice()) {
                let mut marked = b"checksum:".to_vec();
                marked.extend(attr(b"type").unwrap_or_default());
                return marked;
            }
            name
        }
        b"size" if attr(b"type").as_deref() == Some(b"download".as_slice()) => {
            b"size:download".to_vec()
        }
        _ => name,
    }
}

fn shared_text(shared: &mut Shared, stack: &[Vec<u8>], value: String) {
    if stack_is(stack, &[b"id"]) && shared.id.is_none() {
        shared.id = Some(value);
    } else if stack_is(stack, &[b"name"]) && shared.name.is_none() {
        shared.name = Some(value);
    }
}

fn stack_is(stack: &[Vec<u8>], names: &[&[u8]]) -> bool {
    stack.len() == names.len() && stack.iter().zip(names).all(|(a, b)| a.as_slice() == *b)
}

/// The basename of a URL or path (what a mirror stores the file as).
fn basename(location: &str) -> String {
    let location = location.split(['?', '#']).next().unwrap_or(location);
    location.rsplit('/').next().unwrap_or(location).to_owned()
}

fn entry(shared: &Shared, r: Release) -> Component {
    let name = r
        .location
        .as_deref()
        .or(r.artifact_location.as_deref())
        .map(basename)
        .or(r.artifact_filename)
        .or(r.container_name)
        .unwrap_or_default();
    Component {
        path: name,
        facts: DellComponent {
            identifier: shared.id.clone(),
            name: shared.name.clone(),
            vendor_version: r.version,
            release_date: r.date,
            sha256: r.sha256,
            sha1: r.sha1,
            size: r.size,
            package_type: Some("cab".to_owned()),
            ..DellComponent::default()
        },
        expect: Expect::Package,
    }
}

/// The root element must be `<components>`.
fn root(e: &BytesStart) -> Result<()> {
    if e.local_name().as_ref() == b"components" {
        return Ok(());
    }
    Err(invalid(format!(
        "the root element is <{}>, not LVFS <components>",
        String::from_utf8_lossy(e.local_name().as_ref())
    )))
}

impl<R: BufRead> Iterator for Stream<R> {
    type Item = Result<Component>;

    fn next(&mut self) -> Option<Result<Component>> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return Some(Ok(next));
            }
            if self.done {
                return None;
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
