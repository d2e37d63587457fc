//! Version numbers as fwupd reads them: its version formats, the integer
//! renderings of `fu_version_from_uint*`, and its comparison rule, so that
//! `fwkit plan` orders releases as fwupd would (facts and test vectors from
//! fwupd's `fu-version-common.c` and `fu-version-test.c`; not its code).
//!
//! The comparison: split both versions on `.`; section by section compare
//! the leading decimal numbers, then whatever follows them byte by byte,
//! where `~` sorts before everything, the end of a string included
//! (`1.2.3~rc1` < `1.2.3` < `1.2.3a`); a version with fewer sections is
//! older (`1.2.3` < `1.2.3.1`). `plain` compares whole strings bytewise;
//! `hex` first renders both as `0x%08x`.

use std::cmp::Ordering;

/// fwupd's `FwupdVersionFormat`, as its lower-case names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionFormat {
    /// No format stated.
    Unknown,
    /// Compared as a whole string.
    Plain,
    /// One integer.
    Number,
    /// `AABB.CCDD`.
    Pair,
    /// `AA.BB.CCDD`.
    Triplet,
    /// `AA.BB.CC.DD`.
    Quad,
    /// Binary-coded decimal `AA.BB.CC.DD`.
    Bcd,
    /// Intel ME, `aaa+11.bbbbb.cccccccc.dddddddddddddddd`.
    IntelMe,
    /// Intel ME, `A.B.CC.DDDD`.
    IntelMe2,
    /// Microsoft Surface, 10b.12b.10b.
    SurfaceLegacy,
    /// Microsoft Surface, 8b.16b.8b.
    Surface,
    /// Dell BIOS, `BB.CC.DD`.
    DellBios,
    /// Hexadecimal, `0xAABBCCDD`.
    Hex,
    /// Dell BIOS, `AA.BB.CC` from the top bytes.
    DellBiosMsb,
}

/// Every format with its name, for parsing and error messages.
const NAMES: [(VersionFormat, &str); 14] = [
    (VersionFormat::Unknown, "unknown"),
    (VersionFormat::Plain, "plain"),
    (VersionFormat::Number, "number"),
    (VersionFormat::Pair, "pair"),
    (VersionFormat::Triplet, "triplet"),
    (VersionFormat::Quad, "quad"),
    (VersionFormat::Bcd, "bcd"),
    (VersionFormat::IntelMe, "intel-me"),
    (VersionFormat::IntelMe2, "intel-me2"),
    (VersionFormat::SurfaceLegacy, "surface-legacy"),
    (VersionFormat::Surface, "surface"),
    (VersionFormat::DellBios, "dell-bios"),
    (VersionFormat::Hex, "hex"),
    (VersionFormat::DellBiosMsb, "dell-bios-msb"),
];

impl VersionFormat {
    /// The format named `name` (fwupd's spelling, case-insensitive).
    pub fn from_name(name: &str) -> Option<VersionFormat> {
        NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(f, _)| *f)
    }

    /// fwupd's name of the format.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("unknown", |(_, n)| n)
    }

    /// All names, for messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(_, n)| *n)
    }

    /// fwupd's guess from a version string (`fu_version_guess_format`).
    pub fn guess(version: &str) -> VersionFormat {
        if version.is_empty() {
            return VersionFormat::Unknown;
        }
        let sections: Vec<&str> = version.split('.').collect();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if let [only] = sections.as_slice() {
            if only.starts_with("0x") || digits(only) {
                return VersionFormat::Number;
            }
            if only.bytes().all(|b| b.is_ascii_hexdigit()) {
                return VersionFormat::Hex;
            }
            return VersionFormat::Plain;
        }
        if !sections.iter().all(|s| digits(s)) {
            return VersionFormat::Plain;
        }
        match sections.len() {
            2 => VersionFormat::Pair,
            3 => VersionFormat::Triplet,
            4 => VersionFormat::Quad,
            _ => VersionFormat::Unknown,
        }
    }
}

/// Two BCD digits of the low byte of `v`.
fn bcd(v: u32) -> u32 {
    ((v >> 4) & 0x0f).wrapping_mul(10).wrapping_add(v & 0x0f)
}

/// `fu_version_from_uint32`: a 32-bit version rendered in `format`, or
/// `None` for a format fwupd has no 32-bit rendering for.
pub fn from_u32(v: u32, format: VersionFormat) -> Option<String> {
    use VersionFormat as F;
    let b = |shift: u32| (v >> shift) & 0xff;
    Some(match format {
        F::Quad => format!("{}.{}.{}.{}", b(24), b(16), b(8), b(0)),
        F::Triplet => format!("{}.{}.{}", b(24), b(16), v & 0xffff),
        F::Pair => format!("{}.{}", v >> 16, v & 0xffff),
        F::Number | F::Plain => v.to_string(),
        F::Bcd => format!(
            "{}.{}.{}.{}",
            bcd(v >> 24),
            bcd(v >> 16),
            bcd(v >> 8),
            bcd(v)
        ),
        F::IntelMe => format!(
            "{}.{}.{}.{}",
            ((v >> 29) & 0x07).wrapping_add(0x0b),
            (v >> 24) & 0x1f,
            b(16),
            v & 0xffff
        ),
        F::IntelMe2 => format!(
            "{}.{}.{}.{}",
            (v >> 28) & 0x0f,
            (v >> 24) & 0x0f,
            b(16),
            v & 0xffff
        ),
        F::SurfaceLegacy => format!("{}.{}.{}", (v >> 22) & 0x3ff, (v >> 10) & 0xfff, v & 0x3ff),
        F::Surface => format!("{}.{}.{}", b(24), (v >> 8) & 0xffff, b(0)),
        F::DellBios => format!("{}.{}.{}", b(16), b(8), b(0)),
        F::Hex => format!("0x{v:08x}"),
        F::DellBiosMsb => format!("{}.{}.{}", b(24), b(16), b(8)),
        F::Unknown => return None,
    })
}

/// `fu_version_from_uint16`.
pub fn from_u16(v: u16, format: VersionFormat) -> Option<String> {
    use VersionFormat as F;
    let v = u32::from(v);
    Some(match format {
        F::Bcd => format!("{}.{}", bcd(v >> 8), bcd(v)),
        F::Pair => format!("{}.{}", v >> 8, v & 0xff),
        F::Triplet => format!("{}.{}.{}", (v >> 12) & 0xf, (v >> 8) & 0xf, v & 0xff),
        F::Number | F::Plain => v.to_string(),
        F::Hex => format!("0x{v:04x}"),
        _ => return None,
    })
}

/// An unsigned number as `fu_strtoull` with automatic base reads it:
/// `0x` hexadecimal, else decimal, all of the text, at most `u32::MAX`.
fn parse_u32(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// `fu_version_parse_from_format`: a bare integer (decimal or `0x` hex)
/// rendered in `format`; dotted versions, dates (`20YYMMDD`), zero and
/// anything else unchanged.
pub fn parse_from_format(version: &str, format: VersionFormat) -> String {
    if version.contains('.') || (version.starts_with("20") && version.len() == 8) {
        return version.to_owned();
    }
    match parse_u32(version) {
        Some(n) if n != 0 => from_u32(n, format).unwrap_or_else(|| version.to_owned()),
        _ => version.to_owned(),
    }
}

/// One byte against another, `~` lowest; `None` is the end of the string.
fn compare_byte(a: Option<u8>, b: Option<u8>) -> Ordering {
    match (a, b) {
        _ if a == b => Ordering::Equal,
        (Some(b'~'), _) => Ordering::Less,
        (_, Some(b'~')) => Ordering::Greater,
        // C compares `gchar`, signed on the platforms fwupd runs on.
        (a, b) => a.map_or(0, |x| x as i8).cmp(&b.map_or(0, |x| x as i8)),
    }
}

/// What follows the numbers of two sections, byte by byte.
fn compare_rest(a: &[u8], b: &[u8]) -> Ordering {
    let mut i = 0;
    loop {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        let order = compare_byte(x, y);
        if order != Ordering::Equal || x.is_none() || y.is_none() {
            return order;
        }
        i = i.saturating_add(1);
    }
}

/// The leading decimal number of a section as `strtoll` reads it (spaces,
/// a sign, digits; saturating) and the bytes after it.
fn leading_number(section: &str) -> (i64, &[u8]) {
    let bytes = section.as_bytes();
    let start = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let rest = bytes.get(start..).unwrap_or_default();
    let (negative, signed) = match rest.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let digits = rest
        .get(signed..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return (0, bytes);
    }
    let mut n: i64 = 0;
    for d in rest
        .get(signed..signed.saturating_add(digits))
        .unwrap_or_default()
    {
        let digit = i64::from(d.saturating_sub(b'0'));
        n = n.saturating_mul(10).saturating_add(digit);
    }
    let n = if negative { n.saturating_neg() } else { n };
    let end = start.saturating_add(signed).saturating_add(digits);
    (n, bytes.get(end..).unwrap_or_default())
}

/// fwupd's comparison of two dotted versions (`fu_version_compare_safe`).
fn compare_sections(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut xs, mut ys) = (a.split('.'), b.split('.'));
    loop {
        let (x, y) = match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let ((nx, rx), (ny, ry)) = (leading_number(x), leading_number(y));
        let order = nx.cmp(&ny).then_with(|| compare_rest(rx, ry));
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// `fu_version_compare`: how version `a` orders against `b` in `format`.
pub fn compare(a: &str, b: &str, format: VersionFormat) -> Ordering {
    match format {
        VersionFormat::Plain => a.as_bytes().cmp(b.as_bytes()),
        VersionFormat::Hex => {
            compare_sections(&parse_from_format(a, format), &parse_from_format(b, format))
        }
        _ => compare_sections(a, b),
    }
}

#[cfg(test)]
#[path = "version_tests.rs"]
mod tests;
