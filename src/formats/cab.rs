//! Microsoft cabinet files (`MSCF`), the container of LVFS firmware (see
//! `formats/cab.md`).
//!
//! The `cab` crate decompresses the data (stored, MSZIP, LZX) and checks the
//! CFDATA checksum of every data block it loads. This module adds what a
//! verifier needs on top, from its own parse of the headers ([`parse`]):
//!
//! - the header's cabinet size is the file's size, and every byte of the file
//!   belongs to the header, the folder table, the file table or one data
//!   block: no hidden bytes, no two structures sharing bytes;
//! - every file lies inside its folder, and the files of a folder tile the
//!   folder's decompressed bytes exactly (no overlapping files, no bytes that
//!   belong to no file);
//! - each folder is decompressed once, front to back, so every data block's
//!   checksum is checked and a cabinet of many files costs one pass.
//!
//! The crate reads a file by name and starts every read at the start of the
//! file's folder. To read each folder once, the crate is shown a view of the
//! cabinet whose file table is replaced by one entry per folder
//! ([`FolderView`]); this module splits the folder's bytes into the files.
//!
//! Cabinet names use `\` as separator (they come from Windows). Here, and only
//! here, `\` becomes `/` before a name is checked, so `drivers\a.sys` unpacks
//! as `drivers/a.sys`, while `..\x`, `\x` and `C:\x` are still refused as a
//! parent-directory, absolute or drive-prefixed name.
//!
//! # Security
//!
//! Header values are checked before the crate sees the file, so the crate
//! only decodes cabinets whose block chains, folder sizes and file ranges
//! agree: the conditions under which its indexing is in bounds. A panic in
//! the crate is still caught and reported as a failed check.

mod lvfs;

pub(crate) use lvfs::lvfs_checks;

use super::{Layout, Source};
use crate::error::{Error, Result};
use crate::package::{
    Algorithm, ByteRange, Check, CheckKind, Layer, Member, MemberKind, MemberName, Outcome,
};
use crate::scan::{self, Discard, Sink, Stop};
use crate::verify::safety::{Admission, Tree};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

const SIGNATURE: &[u8; 4] = b"MSCF";
/// The fixed part of the header.
const HEADER_LEN: u64 = 36;
const FLAG_PREV_CABINET: u16 = 0x0001;
const FLAG_NEXT_CABINET: u16 = 0x0002;
const FLAG_RESERVE_PRESENT: u16 = 0x0004;
/// Largest header reserve the format allows.
const MAX_HEADER_RESERVE: u64 = 60_000;
/// Largest decompressed size of one data block.
const MAX_BLOCK: u64 = 0x8000;
/// Longest file name, without its NUL.
const MAX_NAME: usize = 255;
/// Data blocks fwkit walks in one cabinet. A 2 GiB cabinet of full 32 KiB
/// blocks has 65,536; the cap stops a header that claims millions of tiny
/// ones from turning the walk into millions of reads.
const MAX_BLOCKS: u64 = 1 << 20;
/// Problems listed in one structure check.
const MAX_PROBLEMS: usize = 8;

/// How a folder's data is compressed (the low bits of `typeCompress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    MsZip,
    /// Recognised; the `cab` crate cannot decode it.
    Quantum,
    /// LZX with a window of 2^n bytes.
    Lzx(u16),
}

impl Compression {
    fn name(self) -> String {
        match self {
            Compression::None => "stored".to_owned(),
            Compression::MsZip => "MSZIP".to_owned(),
            Compression::Quantum => "Quantum".to_owned(),
            Compression::Lzx(window) => format!("LZX (window 2^{window})"),
        }
    }
}

/// A folder: data blocks decompressed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folder {
    pub compression: Compression,
    pub blocks: u16,
    /// Decompressed size: the sum of its blocks' declared sizes.
    pub size: u64,
}

/// One file entry (CFFILE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The stored name, `\`-separated.
    pub raw: Vec<u8>,
    pub size: u64,
    /// Where the file starts in its folder's decompressed bytes.
    pub offset: u64,
    pub folder: usize,
    pub attributes: u16,
}

/// What the headers of a cabinet say, once checked against the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CabSpec {
    /// From the first data block's header to the end of the last block.
    pub data: ByteRange,
    pub folders: Vec<Folder>,
    pub files: Vec<Entry>,
    /// Data blocks in all, and those whose checksum field is 0 (none).
    pub blocks: u64,
    pub unchecked: u64,
}

/// Read and check the headers of a cabinet.
pub(crate) fn layout(source: &mut Source) -> io::Result<Layout> {
    let mut layout = Layout::new(crate::detect::FormatKind::Cab);
    let len = source.len;
    match parse(source)? {
        Ok(spec) => {
            layout.layers.push(Layer {
                kind: "cabinet (MSCF 1.3)".to_owned(),
                range: (0, len),
            });
            layout.layers.push(Layer {
                kind: format!(
                    "cabinet data: {} folder(s) ({}), {} block(s)",
                    spec.folders.len(),
                    compressions(&spec),
                    spec.blocks
                ),
                range: spec.data,
            });
            layout.checks.push(
                Check::new(CheckKind::Structure, "cabinet structure", Outcome::Passed).with_detail(
                    format!(
                        "{} file(s) in {} folder(s), {} data block(s): sizes and offsets agree, every byte belongs to one structure",
                        spec.files.len(),
                        spec.folders.len(),
                        spec.blocks
                    ),
                ),
            );
            layout.cab = Some(spec);
        }
        Err(problems) => layout.checks.push(Check::failed(
            CheckKind::Structure,
            "cabinet structure",
            problems.join("; "),
        )),
    }
    Ok(layout)
}

fn compressions(spec: &CabSpec) -> String {
    let mut names: Vec<String> = Vec::new();
    for folder in &spec.folders {
        let name = folder.compression.name();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Why parsing stopped: the file could not be read, or its headers are bad.
enum Bad {
    Io(io::Error),
    Format(String),
}

impl From<io::Error> for Bad {
    fn from(e: io::Error) -> Self {
        Bad::Io(e)
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |x| u16::from_le_bytes([x[0], x[1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// Exactly `n` bytes at `at`, or a format error naming `what`.
fn exact(source: &mut Source, at: u64, n: u64, what: &str) -> std::result::Result<Vec<u8>, Bad> {
    let end = at.checked_add(n).unwrap_or(u64::MAX);
    if end > source.len {
        return Err(Bad::Format(format!(
            "{what} (bytes {at}..{end}) runs past the end of the file at byte {}",
            source.len
        )));
    }
    let bytes = source.read_at(at, n)?;
    if bytes.len() as u64 != n {
        return Err(Bad::Format(format!(
            "{what}: the file ended early while it was read"
        )));
    }
    Ok(bytes)
}

/// Parse the headers and check them against the file: `Err` lists the
/// problems found.
pub(crate) fn parse(source: &mut Source) -> io::Result<std::result::Result<CabSpec, Vec<String>>> {
    let mut problems = Vec::new();
    match parse_inner(source, &mut problems) {
        Ok(spec) if problems.is_empty() => Ok(Ok(spec)),
        Ok(_) => Ok(Err(trim(problems))),
        Err(Bad::Io(e)) => Err(e),
        Err(Bad::Format(why)) => {
            problems.insert(0, why);
            Ok(Err(trim(problems)))
        }
    }
}

fn trim(mut problems: Vec<String>) -> Vec<String> {
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(format!("and {more} more"));
    }
    problems
}

fn parse_inner(
    source: &mut Source,
    problems: &mut Vec<String>,
) -> std::result::Result<CabSpec, Bad> {
    let len = source.len;
    let head = exact(source, 0, HEADER_LEN, "the cabinet header")?;
    if head.get(..4) != Some(SIGNATURE.as_slice()) {
        return Err(Bad::Format("no MSCF signature".to_owned()));
    }
    let cabinet_size = u64::from(le32(&head, 8));
    let files_at = u64::from(le32(&head, 16));
    let (minor, major) = (head[24], head[25]);
    let folder_count = usize::from(le16(&head, 26));
    let file_count = usize::from(le16(&head, 28));
    let flags = le16(&head, 30);
    if major != 1 || minor > 3 {
        return Err(Bad::Format(format!(
            "cabinet format version {major}.{minor}; fwkit reads 1.0 to 1.3"
        )));
    }
    if flags & (FLAG_PREV_CABINET | FLAG_NEXT_CABINET) != 0 {
        return Err(Bad::Format(
            "the cabinet is part of a set that continues in other files; fwkit reads single cabinets"
                .to_owned(),
        ));
    }
    if flags & !(FLAG_PREV_CABINET | FLAG_NEXT_CABINET | FLAG_RESERVE_PRESENT) != 0 {
        problems.push(format!("unknown header flags {flags:#06x}"));
    }
    if cabinet_size > len {
        return Err(Bad::Format(format!(
            "truncated: the header says the cabinet is {cabinet_size} bytes, the file has {len}"
        )));
    }
    if cabinet_size < len {
        problems.push(format!(
            "{} bytes follow the end of the cabinet (its header says it is {cabinet_size} bytes)",
            len - cabinet_size
        ));
    }
    let mut header_end = HEADER_LEN;
    let (folder_reserve, data_reserve) = if flags & FLAG_RESERVE_PRESENT != 0 {
        let sizes = exact(source, HEADER_LEN, 4, "the reserve sizes")?;
        let header_reserve = u64::from(le16(&sizes, 0));
        if header_reserve > MAX_HEADER_RESERVE {
            return Err(Bad::Format(format!(
                "header reserve of {header_reserve} bytes (at most {MAX_HEADER_RESERVE})"
            )));
        }
        header_end = HEADER_LEN + 4 + header_reserve;
        (u64::from(sizes[2]), u64::from(sizes[3]))
    } else {
        (0, 0)
    };
    let mut regions: Vec<(u64, u64, String)> = vec![(0, header_end, "the header".to_owned())];

    // Folders and the chain of data blocks of each.
    let folder_len = 8 + folder_reserve;
    let table_len = folder_len * folder_count as u64;
    let table = exact(source, header_end, table_len, "the folder table")?;
    regions.push((
        header_end,
        header_end + table_len,
        "the folder table".to_owned(),
    ));
    let mut folders = Vec::with_capacity(folder_count);
    let mut blocks = 0u64;
    let mut unchecked = 0u64;
    let mut data: Option<ByteRange> = None;
    for index in 0..folder_count {
        let at = index * folder_len as usize;
        let first = u64::from(le32(&table, at));
        let count = le16(&table, at + 4);
        let kind = le16(&table, at + 6);
        let compression = match kind & 0x000f {
            0 => Compression::None,
            1 => Compression::MsZip,
            2 => Compression::Quantum,
            3 => {
                let window = (kind >> 8) & 0x1f;
                if !(15..=21).contains(&window) {
                    return Err(Bad::Format(format!(
                        "folder {index}: LZX window 2^{window} (must be 2^15 to 2^21)"
                    )));
                }
                Compression::Lzx(window)
            }
            other => {
                return Err(Bad::Format(format!(
                    "folder {index}: unknown compression type {other}"
                )))
            }
        };
        let mut pos = first;
        let mut size = 0u64;
        for block in 0..count {
            blocks += 1;
            if blocks > MAX_BLOCKS {
                return Err(Bad::Format(format!("more than {MAX_BLOCKS} data blocks")));
            }
            let what = format!("data block {block} of folder {index}");
            let head = exact(source, pos, 8 + data_reserve, &what)?;
            let checksum = le32(&head, 0);
            let stored = u64::from(le16(&head, 4));
            let unpacked = u64::from(le16(&head, 6));
            if checksum == 0 {
                unchecked += 1;
            }
            if unpacked == 0 || unpacked > MAX_BLOCK {
                return Err(Bad::Format(format!(
                    "{what} at byte {pos}: decompressed size {unpacked} (must be 1 to {MAX_BLOCK})"
                )));
            }
            if compression == Compression::None && stored != unpacked {
                return Err(Bad::Format(format!(
                    "{what} at byte {pos}: stored block of {stored} bytes declares {unpacked}"
                )));
            }
            let end = pos + 8 + data_reserve + stored;
            if end > cabinet_size {
                return Err(Bad::Format(format!(
                    "{what} (bytes {pos}..{end}) runs past the end of the cabinet at byte {cabinet_size}"
                )));
            }
            regions.push((pos, end, what));
            data = Some(match data {
                Some((a, b)) => (a.min(pos), b.max(end)),
                None => (pos, end),
            });
            size += unpacked;
            pos = end;
        }
        folders.push(Folder {
            compression,
            blocks: count,
            size,
        });
    }

    // Files.
    let window = (file_count as u64 * (16 + MAX_NAME as u64 + 1)).min(len.saturating_sub(files_at));
    let table = if file_count == 0 {
        Vec::new()
    } else {
        exact(source, files_at, window, "the file table")?
    };
    let mut files = Vec::with_capacity(file_count);
    let mut at = 0usize;
    for index in 0..file_count {
        let Some(fixed) = table.get(at..at + 16) else {
            return Err(Bad::Format(format!(
                "file entry {index} at byte {} runs past the end of the file",
                files_at + at as u64
            )));
        };
        let size = u64::from(le32(fixed, 0));
        let offset = u64::from(le32(fixed, 4));
        let folder = usize::from(le16(fixed, 8));
        let attributes = le16(fixed, 14);
        let rest = table.get(at + 16..).unwrap_or_default();
        let limit = rest.len().min(MAX_NAME + 1);
        let Some(name_len) = rest[..limit].iter().position(|&b| b == 0) else {
            return Err(Bad::Format(if rest.len() <= MAX_NAME {
                format!("the name of file entry {index} runs past the end of the file")
            } else {
                format!("the name of file entry {index} is longer than {MAX_NAME} bytes")
            }));
        };
        let raw = rest[..name_len].to_vec();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        if folder >= 0xfffd {
            return Err(Bad::Format(format!(
                "file {shown} continues from or into another cabinet; fwkit reads single cabinets"
            )));
        }
        match folders.get(folder) {
            None => problems.push(format!(
                "file {shown} names folder {folder}; the cabinet has {folder_count}"
            )),
            Some(f) if offset + size > f.size => problems.push(format!(
                "file {shown} spans bytes {offset}..{} of folder {folder}, which holds {}",
                offset + size,
                f.size
            )),
            Some(_) => {}
        }
        files.push(Entry {
            raw,
            size,
            offset,
            folder,
            attributes,
        });
        at += 16 + name_len + 1;
    }
    if file_count > 0 {
        regions.push((files_at, files_at + at as u64, "the file table".to_owned()));
    }

    // The files of each folder tile its bytes.
    for (index, folder) in folders.iter().enumerate() {
        let mut inside: Vec<&Entry> = files.iter().filter(|f| f.folder == index).collect();
        inside.sort_by_key(|f| (f.offset, f.size));
        let mut cursor = 0u64;
        let mut previous: Option<&Entry> = None;
        for file in inside {
            if file.offset < cursor {
                problems.push(format!(
                    "files {} and {} share bytes {}..{cursor} of folder {index}",
                    previous.map_or_else(String::new, |p| String::from_utf8_lossy(&p.raw)
                        .into_owned()),
                    String::from_utf8_lossy(&file.raw),
                    file.offset
                ));
            } else if file.offset > cursor {
                problems.push(format!(
                    "bytes {cursor}..{} of folder {index} belong to no file",
                    file.offset
                ));
            }
            cursor = cursor.max(file.offset + file.size);
            previous = Some(file);
        }
        if cursor < folder.size {
            problems.push(format!(
                "bytes {cursor}..{} of folder {index} belong to no file",
                folder.size
            ));
        }
    }

    // Every byte of the cabinet belongs to exactly one structure.
    regions.sort_by_key(|r| (r.0, r.1));
    let mut cursor = 0u64;
    let mut last = String::new();
    for (start, end, what) in regions {
        if start < cursor {
            problems.push(format!("{what} (bytes {start}..{end}) overlaps {last}"));
        } else if start > cursor {
            problems.push(format!(
                "bytes {cursor}..{start} belong to no header, file entry or data block"
            ));
        }
        if end >= cursor {
            cursor = end;
            last = what;
        }
    }
    if cursor < cabinet_size {
        problems.push(format!(
            "bytes {cursor}..{cabinet_size} belong to no header, file entry or data block"
        ));
    }
    let data = data.unwrap_or((cabinet_size, cabinet_size));
    Ok(CabSpec {
        data,
        folders,
        files,
        blocks,
        unchecked,
    })
}

/// The cabinet as the `cab` crate is shown it: the file as it is, except
/// that the header's file count and file-table offset point at a table placed
/// just past the end of the file, with one entry per folder that spans the
/// folder's whole content and is named by the folder's index. Reading file
/// `"3"` then decompresses folder 3 once, front to back.
struct FolderView {
    file: BufReader<File>,
    /// Where `file` is positioned.
    file_pos: u64,
    len: u64,
    pos: u64,
    /// Header bytes replaced: (offset, bytes).
    patches: Vec<(u64, Vec<u8>)>,
    /// The file table, at offset `len`.
    table: Vec<u8>,
}

impl FolderView {
    fn new(file: File, len: u64, spec: &CabSpec) -> io::Result<FolderView> {
        let too_big = || io::Error::new(io::ErrorKind::InvalidData, "cabinet too large");
        let table_at = u32::try_from(len).map_err(|_| too_big())?;
        let count = u16::try_from(spec.folders.len()).map_err(|_| too_big())?;
        let mut table = Vec::new();
        for (index, folder) in spec.folders.iter().enumerate() {
            let size = u32::try_from(folder.size).map_err(|_| too_big())?;
            let index16 = u16::try_from(index).map_err(|_| too_big())?;
            table.extend_from_slice(&size.to_le_bytes());
            table.extend_from_slice(&0u32.to_le_bytes()); // offset in the folder
            table.extend_from_slice(&index16.to_le_bytes());
            table.extend_from_slice(&[0; 6]); // date, time, attributes
            table.extend_from_slice(index.to_string().as_bytes());
            table.push(0);
        }
        Ok(FolderView {
            file: BufReader::with_capacity(64 << 10, file),
            file_pos: 0,
            len,
            pos: 0,
            patches: vec![
                (16, table_at.to_le_bytes().to_vec()),
                (28, count.to_le_bytes().to_vec()),
            ],
            table,
        })
    }
}

impl Read for FolderView {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            let at = usize::try_from(self.pos - self.len).unwrap_or(usize::MAX);
            let rest = self.table.get(at..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        if self.file_pos != self.pos {
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file_pos = self.pos;
        }
        let want = usize::try_from(self.len - self.pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.file.read(&mut buf[..want])?;
        for (at, bytes) in &self.patches {
            for (i, byte) in bytes.iter().enumerate() {
                let offset = at + i as u64;
                if offset >= self.pos && offset < self.pos + n as u64 {
                    buf[(offset - self.pos) as usize] = *byte;
                }
            }
        }
        self.pos += n as u64;
        self.file_pos = self.pos;
        Ok(n)
    }
}

impl Seek for FolderView {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let end = self.len + self.table.len() as u64;
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        self.pos = target;
        Ok(target)
    }
}

/// A member's bytes within its folder's stream: exactly `left` bytes, or an
/// error when the stream ends early.
struct Exact<'a> {
    inner: &'a mut dyn Read,
    left: u64,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the folder's data ended {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// One pass over a cabinet: the digests over byte ranges (the caller's
/// `--sha256`) beside the members, every folder decompressed once.
pub(crate) fn scan(pass: &scan::Pass<'_>, sink: &mut dyn Sink) -> Result<scan::ScanResult> {
    let Some(spec) = &pass.layout.cab else {
        return Ok(scan::ScanResult::default());
    };
    let ranges_only = Layout {
        streams: Vec::new(),
        cab: None,
        ..pass.layout.clone()
    };
    std::thread::scope(|scope| {
        let ranges = (!pass.digests.is_empty()).then(|| {
            scope.spawn(|| {
                let file = File::open(pass.path).map_err(|e| Error::read(pass.path, e))?;
                let only = scan::Pass {
                    layout: &ranges_only,
                    member_algos: &[],
                    ..*pass
                };
                scan::scan(&only, file, &mut Discard)
            })
        });
        let mut result = read(pass, spec, sink)?;
        if let Some(handle) = ranges {
            let ranges = handle
                .join()
                .map_err(|_| Error::read(pass.path, io::Error::other("digest thread failed")))??;
            result.checks.extend(
                ranges
                    .checks
                    .into_iter()
                    .filter(|c| c.kind != CheckKind::Safety),
            );
        }
        Ok(result)
    })
}

/// What the pass does with one file entry.
#[derive(Clone)]
enum Plan {
    /// Not written (refused): decompressed and dropped.
    Skip,
    /// Written, hashed; `metadata` members are also kept for parsing.
    Read {
        member: usize,
        path: MemberName,
        metadata: bool,
    },
}

fn read(pass: &scan::Pass<'_>, spec: &CabSpec, sink: &mut dyn Sink) -> Result<scan::ScanResult> {
    let path = pass.path;
    let mut result = scan::ScanResult::default();
    // The headers again, from the file as it is now: it must be the file
    // whose headers were checked when it was opened.
    let mut source = Source::new(
        File::open(path).map_err(|e| Error::read(path, e))?,
        pass.len,
    );
    let again = parse(&mut source).map_err(|e| Error::read(path, e))?;
    if again.as_ref().ok() != Some(spec) {
        result.checks.push(Check::failed(
            CheckKind::Structure,
            "cabinet structure",
            "the file changed after it was opened",
        ));
        return Ok(result);
    }

    let mut tree = Tree::new(pass.options.limits);
    let mut plans = vec![Plan::Skip; spec.files.len()];
    let mut stopped = None;
    for (index, entry) in spec.files.iter().enumerate() {
        // Cabinet names separate with `\`; turned into `/` for cabinets only
        // (see the module docs), then checked like any other name.
        let name: Vec<u8> = entry
            .raw
            .iter()
            .map(|&b| if b == b'\\' { b'/' } else { b })
            .collect();
        let (member_path, problem) = match tree.admit(&name, &MemberKind::File, entry.size) {
            Admission::Root => continue,
            Admission::Limit(why) => {
                stopped = Some(why);
                break;
            }
            Admission::Refused(p, why) => (p, Some(why)),
            Admission::Accepted(p) => (Some(p), None),
        };
        if let (Some(p), None) = (&member_path, &problem) {
            plans[index] = Plan::Read {
                member: result.members.len(),
                path: p.clone(),
                metadata: scan::wants_content(pass.layout.capture, p, entry.size),
            };
        }
        result.members.push(Member {
            name: String::from_utf8_lossy(&entry.raw).into_owned(),
            path: member_path,
            kind: MemberKind::File,
            size: entry.size,
            mode: 0o644,
            stream: 0,
            problem,
            digests: Default::default(),
        });
    }
    if let Some(why) = stopped {
        result
            .checks
            .push(Check::new(CheckKind::Limit, "cabinet", Outcome::Failed).with_detail(why));
        let (checks, chained) = tree.finish();
        result.checks.extend(checks);
        scan::mark_refused(&mut result.members, chained);
        return Ok(result);
    }

    // Each folder's entries in the order of their bytes.
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); spec.folders.len()];
    for (index, entry) in spec.files.iter().enumerate() {
        if let Some(list) = order.get_mut(entry.folder) {
            list.push(index);
        }
    }
    for list in &mut order {
        list.sort_by_key(|&i| spec.files.get(i).map(|e| (e.offset, e.size)));
    }

    let mut algos = pass.member_algos.to_vec();
    if pass.options.hash_members && !algos.contains(&Algorithm::Sha256) {
        algos.push(Algorithm::Sha256);
    }
    // Metadata the pass reads after some other member it may describe: read
    // the metadata alone first, to learn which digests the others need.
    let mut seen_other = false;
    let mut late_metadata = false;
    for plan in order.iter().flatten().filter_map(|&i| plans.get(i)) {
        if let Plan::Read { metadata, .. } = plan {
            late_metadata |= *metadata && seen_other;
            seen_other |= !*metadata;
        }
    }
    let mut reader = Reader {
        path,
        spec,
        order: &order,
        plans: &plans,
        buf: vec![0u8; 256 << 10],
    };
    let file = File::open(path).map_err(|e| Error::read(path, e))?;
    let view = FolderView::new(file, pass.len, spec).map_err(|e| Error::read(path, e))?;
    let mut cabinet = match catch(|| cab::Cabinet::new(view)) {
        Ok(Ok(cabinet)) => cabinet,
        Ok(Err(e)) => return Ok(failed_open(result, tree, e.to_string())),
        Err(why) => return Ok(failed_open(result, tree, why)),
    };
    if late_metadata {
        reader.learn(&mut cabinet, &mut algos);
    }
    let (failures, unsupported) = reader.read_all(&mut cabinet, &mut result, &mut algos, sink)?;

    let mut check = Check::new(CheckKind::Stream, "cabinet", Outcome::Passed).with_range(spec.data);
    check.algorithm = Some(Algorithm::StreamCheck);
    if !failures.is_empty() {
        check.outcome = Outcome::Failed;
        check.detail = Some(failures.join("; "));
    } else if !unsupported.is_empty() {
        check.outcome = Outcome::NotRun;
        check.detail = Some(format!(
            "folder(s) {} use Quantum compression, which fwkit cannot decode; their files were not checked",
            unsupported
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if spec.unchecked > 0 {
        // Decoded fine, but some blocks carry no checksum: no integrity claim.
        check.kind = CheckKind::Structure;
        check.algorithm = None;
        check.detail = Some(format!(
            "{} of {} data block(s) carry no CFDATA checksum, so the data is not covered; every folder decompressed to its declared size",
            spec.unchecked, spec.blocks
        ));
    } else {
        check.detail = Some(format!(
            "CFDATA checksums of {} data block(s) verified; {} folder(s) decompressed ({}) to their declared sizes",
            spec.blocks,
            spec.folders.len(),
            compressions(spec)
        ));
    }
    result.checks.push(check);
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    Ok(result)
}

fn failed_open(mut result: scan::ScanResult, tree: Tree, why: String) -> scan::ScanResult {
    result.checks.push(Check::failed(
        CheckKind::Stream,
        "cabinet",
        format!("the cab crate could not read the cabinet: {why}"),
    ));
    let (checks, chained) = tree.finish();
    result.checks.extend(checks);
    scan::mark_refused(&mut result.members, chained);
    result
}

/// Run `f`, turning a panic into an error message. The headers were checked
/// before the crate sees them; this is the last line if the file changes
/// under fwkit or the crate has a bug.
fn catch<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "the cab crate failed (internal panic)".to_owned())
}

type Cabinet = cab::Cabinet<FolderView>;

/// Reads the folders of one cabinet, each front to back.
struct Reader<'a> {
    path: &'a std::path::Path,
    spec: &'a CabSpec,
    order: &'a [Vec<usize>],
    plans: &'a [Plan],
    buf: Vec<u8>,
}

impl Reader<'_> {
    /// Read only the metadata members (and what precedes them in their
    /// folders), to learn the digests the other members need. Failures are
    /// left for the full pass to report.
    fn learn(&mut self, cabinet: &mut Cabinet, algos: &mut Vec<Algorithm>) {
        for (folder, list) in self.order.iter().enumerate() {
            let last = list.iter().rposition(|&i| {
                matches!(self.plans.get(i), Some(Plan::Read { metadata: true, .. }))
            });
            let Some(last) = last else { continue };
            let readable = self
                .spec
                .folders
                .get(folder)
                .is_some_and(|f| f.compression != Compression::Quantum && f.size > 0);
            if !readable {
                continue;
            }
            let (plans, buf) = (self.plans, &mut self.buf);
            let _ = catch(|| -> std::result::Result<(), Stop> {
                let mut stream = cabinet.read_file(&folder.to_string()).map_err(Stop::from)?;
                for &index in list.iter().take(last + 1) {
                    let size = self.spec.files.get(index).map_or(0, |e| e.size);
                    let mut part = Exact {
                        inner: &mut stream,
                        left: size,
                    };
                    match plans.get(index) {
                        Some(Plan::Read {
                            path,
                            metadata: true,
                            ..
                        }) => {
                            let content = scan::consume(&mut part, path, buf, &[], true, None)?;
                            if let Some(bytes) = content.kept {
                                learn(path, &bytes, algos);
                            }
                        }
                        _ => {
                            io::copy(&mut part, &mut io::sink())?;
                        }
                    }
                }
                Ok(())
            });
        }
    }

    /// Decompress every folder once: write and hash the members, keep the
    /// metadata. Returns the failures and the folders fwkit cannot decode.
    fn read_all(
        &mut self,
        cabinet: &mut Cabinet,
        result: &mut scan::ScanResult,
        algos: &mut Vec<Algorithm>,
        sink: &mut dyn Sink,
    ) -> Result<(Vec<String>, Vec<usize>)> {
        let mut failures = Vec::new();
        let mut unsupported = Vec::new();
        for (folder, list) in self.order.iter().enumerate() {
            let Some(info) = self.spec.folders.get(folder) else {
                continue;
            };
            if info.compression == Compression::Quantum {
                unsupported.push(folder);
                continue;
            }
            let (spec, plans, buf) = (self.spec, self.plans, &mut self.buf);
            let outcome = catch(|| -> std::result::Result<(), Stop> {
                let mut stream: Box<dyn Read + '_> = if info.size == 0 {
                    Box::new(io::empty())
                } else {
                    Box::new(cabinet.read_file(&folder.to_string()).map_err(Stop::from)?)
                };
                for &index in list {
                    let Some(entry) = spec.files.get(index) else {
                        continue;
                    };
                    let mut part = Exact {
                        inner: &mut stream,
                        left: entry.size,
                    };
                    let Some(Plan::Read {
                        member,
                        path,
                        metadata,
                    }) = plans.get(index)
                    else {
                        io::copy(&mut part, &mut io::sink()).map_err(|e| {
                            Stop::Content(format!("{}: {e}", String::from_utf8_lossy(&entry.raw)))
                        })?;
                        continue;
                    };
                    let mut wanted = algos.clone();
                    if *metadata {
                        for a in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
                            if !wanted.contains(&a) {
                                wanted.push(a);
                            }
                        }
                    }
                    let out = sink.create_file(path, 0o644, 0).map_err(Stop::Fatal)?;
                    let content = scan::consume(&mut part, path, buf, &wanted, *metadata, out)?;
                    if let Some(m) = result.members.get_mut(*member) {
                        m.digests = content.digests;
                    }
                    if let Some(bytes) = content.kept {
                        learn(path, &bytes, algos);
                        result.captured.push((path.to_string(), bytes));
                    }
                }
                Ok(())
            });
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(Stop::Fatal(e))) => return Err(e),
                Ok(Err(Stop::Content(why) | Stop::Limit(why))) => {
                    failures.push(format!("folder {folder}: {why}"));
                }
                Err(why) => failures.push(format!("folder {folder}: {why}")),
            }
        }
        let _ = self.path;
        Ok((failures, unsupported))
    }
}

/// Add the algorithms a metadata member asks for: a manifest's, a metainfo
/// release's checksums, a JCat file's checksum blobs.
fn learn(path: &MemberName, bytes: &[u8], algos: &mut Vec<Algorithm>) {
    let mut wanted = Vec::new();
    if let Some(manifest) = crate::verify::manifest::parse(path, bytes) {
        wanted.extend(manifest.entries.iter().map(|e| e.algorithm));
    }
    let lower = path.as_str().to_ascii_lowercase();
    if lower.ends_with(".metainfo.xml") {
        wanted.extend(lvfs::algorithms(bytes));
    }
    if lower.ends_with(".jcat") {
        wanted.extend(super::jcat::algorithms(bytes));
    }
    for a in wanted {
        if !algos.contains(&a) {
            algos.push(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A cabinet made by the `cab` crate's writer.
    fn build(files: &[(&str, &[u8])], compression: cab::CompressionType) -> Vec<u8> {
        let mut builder = cab::CabinetBuilder::new();
        let folder = builder.add_folder(compression);
        for (name, _) in files {
            folder.add_file(*name);
        }
        let mut writer = builder.build(io::Cursor::new(Vec::new())).unwrap();
        let mut i = 0;
        while let Some(mut w) = writer.next_file().unwrap() {
            w.write_all(files[i].1).unwrap();
            i += 1;
        }
        writer.finish().unwrap().into_inner()
    }

    fn parse_bytes(bytes: &[u8]) -> std::result::Result<CabSpec, Vec<String>> {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        let mut source = Source::new(file, bytes.len() as u64);
        parse(&mut source).unwrap()
    }

    #[test]
    fn a_good_cabinet_parses() {
        let data = vec![7u8; 70_000];
        let bytes = build(
            &[("a.bin", &data), ("dir\\b.txt", b"hello")],
            cab::CompressionType::MsZip,
        );
        let spec = parse_bytes(&bytes).unwrap();
        assert_eq!(spec.files.len(), 2);
        assert_eq!(spec.folders[0].size, 70_005);
        assert_eq!(spec.files[1].raw, b"dir\\b.txt");
        assert_eq!(spec.data.1, bytes.len() as u64);
    }

    #[test]
    fn trailing_bytes_and_truncation_are_problems() {
        let bytes = build(&[("a", b"abc")], cab::CompressionType::None);
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"xx");
        let problems = parse_bytes(&longer).unwrap_err();
        assert!(problems[0].contains("2 bytes follow"), "{problems:?}");
        for cut in [0, 4, 20, 36, 43, 50, bytes.len() - 1] {
            assert!(parse_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn overlapping_files_are_refused() {
        let mut bytes = build(
            &[("a", b"abcd"), ("b", b"efgh")],
            cab::CompressionType::None,
        );
        // The second file entry starts at 36 + 8 + 16 + 2 = 62; its offset
        // field is 4 bytes in. Point it at the first file's bytes.
        bytes[62 + 4] = 0;
        let problems = parse_bytes(&bytes).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("share bytes")),
            "{problems:?}"
        );
    }

    #[test]
    fn folder_view_replaces_the_file_table() {
        let bytes = build(
            &[("a", b"abcd"), ("b", b"efgh")],
            cab::CompressionType::MsZip,
        );
        let spec = parse_bytes(&bytes).unwrap();
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(&bytes).unwrap();
        let view =
            FolderView::new(File::open(tmp.path()).unwrap(), bytes.len() as u64, &spec).unwrap();
        let mut cabinet = cab::Cabinet::new(view).unwrap();
        let mut all = Vec::new();
        cabinet
            .read_file("0")
            .unwrap()
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, b"abcdefgh");
        assert!(cabinet.get_file_entry("a").is_none());
    }
}
