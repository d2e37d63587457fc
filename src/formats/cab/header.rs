//! The headers of a cabinet, parsed and checked against the file before the
//! `cab` crate sees it (see `formats/cab.md`, "structure checks").

use crate::input::Input;
use crate::model::ByteRange;
use std::io;

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

pub(crate) fn compressions(spec: &CabSpec) -> String {
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
    b.get(at..)
        .and_then(|x| x.first_chunk())
        .map_or(0, |x| u16::from_le_bytes(*x))
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..)
        .and_then(|x| x.first_chunk())
        .map_or(0, |x| u32::from_le_bytes(*x))
}

/// `a + b`, or a format error naming `what` when crafted header values make
/// the sum overflow.
fn sum(a: u64, b: u64, what: &str) -> std::result::Result<u64, Bad> {
    a.checked_add(b)
        .ok_or_else(|| Bad::Format(format!("{what}: {a} + {b} overflows")))
}

/// Exactly `n` bytes at `at`, or a format error naming `what`.
fn exact(source: &Input, at: u64, n: u64, what: &str) -> std::result::Result<Vec<u8>, Bad> {
    let end = at.saturating_add(n);
    if end > source.len() {
        return Err(Bad::Format(format!(
            "{what} (bytes {at}..{end}) runs past the end of the file at byte {}",
            source.len()
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
pub(crate) fn parse(source: &Input) -> io::Result<std::result::Result<CabSpec, Vec<String>>> {
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
        let more = problems.len().saturating_sub(MAX_PROBLEMS);
        problems.truncate(MAX_PROBLEMS);
        problems.push(format!("and {more} more"));
    }
    problems
}

/// A byte range of the cabinet and the structure that claims it.
type Region = (u64, u64, String);

/// The fixed header and its reserve sizes, checked against the file.
struct Header {
    /// The cabinet's size as the header declares it, at most the file's.
    cabinet_size: u64,
    /// Where the file table starts.
    files_at: u64,
    folder_count: usize,
    file_count: usize,
    /// The end of the header and its reserve: where the folder table starts.
    end: u64,
    /// Extra bytes at the end of each folder entry and of each data block header.
    folder_reserve: u64,
    data_reserve: u64,
}

/// The folder table and everything the walk of its data blocks found.
#[derive(Default)]
struct FolderTable {
    folders: Vec<Folder>,
    /// Data blocks in all, and those with no checksum.
    blocks: u64,
    unchecked: u64,
    /// From the first data block to the end of the last.
    data: Option<ByteRange>,
}

/// One folder's chain of data blocks, as its folder entry declares it.
struct Chain {
    index: usize,
    compression: Compression,
    /// Where its first data block starts.
    first: u64,
    count: u16,
}

fn parse_inner(source: &Input, problems: &mut Vec<String>) -> std::result::Result<CabSpec, Bad> {
    let header = read_header(source, problems)?;
    let mut regions: Vec<Region> = vec![(0, header.end, "the header".to_owned())];
    let table = read_folders(source, &header, &mut regions)?;
    let files = read_files(source, &header, &table.folders, &mut regions, problems)?;
    check_folder_tiling(&table.folders, &files, problems);
    check_regions(regions, header.cabinet_size, problems);
    let cabinet_size = header.cabinet_size;
    Ok(CabSpec {
        data: table.data.unwrap_or((cabinet_size, cabinet_size)),
        folders: table.folders,
        files,
        blocks: table.blocks,
        unchecked: table.unchecked,
    })
}

/// Reads the fixed header and the reserve sizes and checks the version,
/// the flags and the declared cabinet size against the file.
fn read_header(source: &Input, problems: &mut Vec<String>) -> std::result::Result<Header, Bad> {
    let len = source.len();
    let head = exact(source, 0, HEADER_LEN, "the cabinet header")?;
    if head.get(..4) != Some(SIGNATURE.as_slice()) {
        return Err(Bad::Format("no MSCF signature".to_owned()));
    }
    let cabinet_size = u64::from(le32(&head, 8));
    let files_at = u64::from(le32(&head, 16));
    let [minor, major] = le16(&head, 24).to_le_bytes();
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
            len.saturating_sub(cabinet_size)
        ));
    }
    let mut end = HEADER_LEN;
    let (folder_reserve, data_reserve) = if flags & FLAG_RESERVE_PRESENT != 0 {
        let sizes = exact(source, HEADER_LEN, 4, "the reserve sizes")?;
        let header_reserve = u64::from(le16(&sizes, 0));
        if header_reserve > MAX_HEADER_RESERVE {
            return Err(Bad::Format(format!(
                "header reserve of {header_reserve} bytes (at most {MAX_HEADER_RESERVE})"
            )));
        }
        end = sum(HEADER_LEN + 4, header_reserve, "the header reserve")?;
        let [folder_reserve, data_reserve] = le16(&sizes, 2).to_le_bytes();
        (u64::from(folder_reserve), u64::from(data_reserve))
    } else {
        (0, 0)
    };
    Ok(Header {
        cabinet_size,
        files_at,
        folder_count,
        file_count,
        end,
        folder_reserve,
        data_reserve,
    })
}

/// Reads the folder table and walks each folder's chain of data blocks,
/// adding the table and every block to `regions`.
fn read_folders(
    source: &Input,
    header: &Header,
    regions: &mut Vec<Region>,
) -> std::result::Result<FolderTable, Bad> {
    // At most 8 + 255 bytes per entry, 65,535 entries: no overflow is possible,
    // but the sums are checked like every other header value.
    let folder_len = sum(8, header.folder_reserve, "the folder entry size")?;
    let table_len = folder_len
        .checked_mul(header.folder_count as u64)
        .ok_or_else(|| Bad::Format("the folder table size overflows".to_owned()))?;
    let table = exact(source, header.end, table_len, "the folder table")?;
    regions.push((
        header.end,
        sum(header.end, table_len, "the folder table")?,
        "the folder table".to_owned(),
    ));
    let mut out = FolderTable {
        folders: Vec::with_capacity(header.folder_count),
        ..FolderTable::default()
    };
    let entry_len = usize::try_from(folder_len)
        .map_err(|_| Bad::Format("the folder entry size overflows".to_owned()))?;
    // `exact` read `folder_count` entries of `entry_len` (at least 8) bytes.
    for (index, entry) in table.chunks_exact(entry_len).enumerate() {
        let chain = Chain {
            index,
            compression: compression(index, le16(entry, 6))?,
            first: u64::from(le32(entry, 0)),
            count: le16(entry, 4),
        };
        let size = read_blocks(source, header, &chain, &mut out, regions)?;
        out.folders.push(Folder {
            compression: chain.compression,
            blocks: chain.count,
            size,
        });
    }
    Ok(out)
}

/// Folder `index`'s compression, from its `typeCompress` field `kind`.
fn compression(index: usize, kind: u16) -> std::result::Result<Compression, Bad> {
    match kind & 0x000f {
        0 => Ok(Compression::None),
        1 => Ok(Compression::MsZip),
        2 => Ok(Compression::Quantum),
        3 => {
            let window = (kind >> 8) & 0x1f;
            if !(15..=21).contains(&window) {
                return Err(Bad::Format(format!(
                    "folder {index}: LZX window 2^{window} (must be 2^15 to 2^21)"
                )));
            }
            Ok(Compression::Lzx(window))
        }
        other => Err(Bad::Format(format!(
            "folder {index}: unknown compression type {other}"
        ))),
    }
}

/// Walks one folder's data blocks, counting them into `table` and adding
/// each to `regions`: the folder's decompressed size.
fn read_blocks(
    source: &Input,
    header: &Header,
    chain: &Chain,
    table: &mut FolderTable,
    regions: &mut Vec<Region>,
) -> std::result::Result<u64, Bad> {
    let (index, cabinet_size) = (chain.index, header.cabinet_size);
    let mut pos = chain.first;
    let mut size = 0u64;
    for block in 0..chain.count {
        table.blocks = table.blocks.saturating_add(1);
        if table.blocks > MAX_BLOCKS {
            return Err(Bad::Format(format!("more than {MAX_BLOCKS} data blocks")));
        }
        let what = format!("data block {block} of folder {index}");
        let head_len = sum(8, header.data_reserve, &what)?;
        let head = exact(source, pos, head_len, &what)?;
        let checksum = le32(&head, 0);
        let stored = u64::from(le16(&head, 4));
        let unpacked = u64::from(le16(&head, 6));
        if checksum == 0 {
            table.unchecked = table.unchecked.saturating_add(1);
        }
        if unpacked == 0 || unpacked > MAX_BLOCK {
            return Err(Bad::Format(format!(
                "{what} at byte {pos}: decompressed size {unpacked} (must be 1 to {MAX_BLOCK})"
            )));
        }
        if chain.compression == Compression::None && stored != unpacked {
            return Err(Bad::Format(format!(
                "{what} at byte {pos}: stored block of {stored} bytes declares {unpacked}"
            )));
        }
        let end = sum(sum(pos, head_len, &what)?, stored, &what)?;
        if end > cabinet_size {
            return Err(Bad::Format(format!(
                "{what} (bytes {pos}..{end}) runs past the end of the cabinet at byte {cabinet_size}"
            )));
        }
        size = sum(size, unpacked, &what)?;
        regions.push((pos, end, what));
        table.data = Some(match table.data {
            Some((a, b)) => (a.min(pos), b.max(end)),
            None => (pos, end),
        });
        pos = end;
    }
    Ok(size)
}

/// Reads the file table, checks each file against its folder and adds the
/// table to `regions`.
fn read_files(
    source: &Input,
    header: &Header,
    folders: &[Folder],
    regions: &mut Vec<Region>,
    problems: &mut Vec<String>,
) -> std::result::Result<Vec<Entry>, Bad> {
    const ENTRY_MAX: u64 = 16 + MAX_NAME as u64 + 1;
    let (files_at, file_count) = (header.files_at, header.file_count);
    let window = (file_count as u64)
        .saturating_mul(ENTRY_MAX)
        .min(source.len().saturating_sub(files_at));
    let table = if file_count == 0 {
        Vec::new()
    } else {
        exact(source, files_at, window, "the file table")?
    };
    let mut files = Vec::with_capacity(file_count);
    let mut at = 0usize;
    for index in 0..file_count {
        let (entry, name_len) = read_file_entry(&table, at, index, files_at)?;
        let (offset, size, folder) = (entry.offset, entry.size, entry.folder);
        let shown = String::from_utf8_lossy(&entry.raw);
        match folders.get(folder) {
            None => problems.push(format!(
                "file {shown} names folder {folder}; the cabinet has {}",
                header.folder_count
            )),
            // Both are 32-bit fields: their sum cannot overflow a u64.
            Some(f) if offset.saturating_add(size) > f.size => problems.push(format!(
                "file {shown} spans bytes {offset}..{} of folder {folder}, which holds {}",
                offset.saturating_add(size),
                f.size
            )),
            Some(_) => {}
        }
        files.push(entry);
        // The entry and its NUL were found inside `table`: `at` stays within it.
        at = at.saturating_add(16 + 1).saturating_add(name_len);
    }
    if file_count > 0 {
        let end = sum(files_at, at as u64, "the file table")?;
        regions.push((files_at, end, "the file table".to_owned()));
    }
    Ok(files)
}

/// File entry `index`, at byte `at` of the file `table` read from byte
/// `files_at`, and the length of its name.
fn read_file_entry(
    table: &[u8],
    at: usize,
    index: usize,
    files_at: u64,
) -> std::result::Result<(Entry, usize), Bad> {
    let Some((fixed, rest)) = table.get(at..).and_then(|t| t.split_at_checked(16)) else {
        return Err(Bad::Format(format!(
            "file entry {index} at byte {} runs past the end of the file",
            files_at.saturating_add(at as u64)
        )));
    };
    let Some(name_len) = rest.iter().take(MAX_NAME + 1).position(|&b| b == 0) else {
        return Err(Bad::Format(if rest.len() <= MAX_NAME {
            format!("the name of file entry {index} runs past the end of the file")
        } else {
            format!("the name of file entry {index} is longer than {MAX_NAME} bytes")
        }));
    };
    let raw = rest.get(..name_len).unwrap_or_default().to_vec();
    let folder = usize::from(le16(fixed, 8));
    if folder >= 0xfffd {
        return Err(Bad::Format(format!(
            "file {} continues from or into another cabinet; fwkit reads single cabinets",
            String::from_utf8_lossy(&raw)
        )));
    }
    let entry = Entry {
        raw,
        size: u64::from(le32(fixed, 0)),
        offset: u64::from(le32(fixed, 4)),
        folder,
        attributes: le16(fixed, 14),
    };
    Ok((entry, name_len))
}

/// Checks that the files of each folder tile its bytes: no overlap, no gap.
fn check_folder_tiling(folders: &[Folder], files: &[Entry], problems: &mut Vec<String>) {
    // Bucketed once: a scan of every file per folder would be quadratic in
    // the header's counts.
    let mut by_folder: Vec<Vec<&Entry>> = vec![Vec::new(); folders.len()];
    for file in files {
        if let Some(bucket) = by_folder.get_mut(file.folder) {
            bucket.push(file);
        }
    }
    for ((index, folder), mut inside) in folders.iter().enumerate().zip(by_folder) {
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
            cursor = cursor.max(file.offset.saturating_add(file.size));
            previous = Some(file);
        }
        if cursor < folder.size {
            problems.push(format!(
                "bytes {cursor}..{} of folder {index} belong to no file",
                folder.size
            ));
        }
    }
}

/// Checks that every byte of the `cabinet_size`-byte cabinet belongs to
/// exactly one of `regions`.
fn check_regions(mut regions: Vec<Region>, cabinet_size: u64, problems: &mut Vec<String>) {
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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::input::short_reads;
    use std::io::Write;

    /// A cabinet made by the `cab` crate's writer.
    pub(crate) fn build(files: &[(&str, &[u8])], compression: cab::CompressionType) -> Vec<u8> {
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

    pub(crate) fn parse_bytes(bytes: &[u8]) -> std::result::Result<CabSpec, Vec<String>> {
        parse(&short_reads(bytes)).unwrap()
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
    fn folders_sharing_data_blocks_are_refused() {
        let mut builder = cab::CabinetBuilder::new();
        builder.add_folder(cab::CompressionType::None).add_file("a");
        builder.add_folder(cab::CompressionType::None).add_file("b");
        let mut writer = builder.build(io::Cursor::new(Vec::new())).unwrap();
        while let Some(mut w) = writer.next_file().unwrap() {
            w.write_all(b"same").unwrap();
        }
        let mut bytes = writer.finish().unwrap().into_inner();
        assert!(parse_bytes(&bytes).is_ok());
        // Folder 1's first block is folder 0's: both entries read "a"'s bytes.
        let first = bytes[36..40].to_vec();
        bytes[44..48].copy_from_slice(&first);
        let problems = parse_bytes(&bytes).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("overlaps")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("belong to no")),
            "{problems:?}"
        );
    }
}
