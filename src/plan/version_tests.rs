//! fwupd's own version test vectors (`libfwupdplugin/fu-version-test.c`).

use super::*;
use std::cmp::Ordering::{Equal, Greater, Less};
use VersionFormat as F;

#[test]
fn vercmp_vectors() {
    let u = F::Unknown;
    let cases = [
        ("1.2.3", "1.2.3", u, Equal),
        ("001.002.003", "001.002.003", u, Equal),
        ("0x00000002", "0x2", F::Hex, Equal),
        ("1.2.3", "1.2.4", u, Less),
        ("001.002.000", "001.002.009", u, Less),
        ("1.2.3", "1.2.2", u, Greater),
        ("001.002.009", "001.002.000", u, Greater),
        ("1.2.3", "1.2.3.1", u, Less),
        ("1.2.3.1", "1.2.4", u, Less),
        ("1.2.3a", "1.2.3a", u, Equal),
        ("1.2.3a", "1.2.3b", u, Less),
        ("1.2.3b", "1.2.3a", u, Greater),
        ("1.2.3", "1.2.3a", u, Less),
        ("1.2.3a", "1.2.3", u, Greater),
        ("alpha", "alpha", u, Equal),
        ("alpha", "beta", u, Less),
        ("beta", "alpha", u, Greater),
        ("1.2a.3", "1.2a.3", u, Equal),
        ("1.2a.3", "1.2b.3", u, Less),
        ("1.2b.3", "1.2a.3", u, Greater),
        ("1.2.3~rc1", "1.2.3~rc1", u, Equal),
        ("1.2.3~rc1", "1.2.3", u, Less),
        ("1.2.3", "1.2.3~rc1", u, Greater),
        ("1.2.3~rc2", "1.2.3~rc1", u, Greater),
        // The plan tests' chain, and numeric not lexical sections.
        ("1.2.10", "1.2.26", F::Triplet, Less),
        ("1.2.29", "1.3.13", F::Triplet, Less),
        ("1.10", "1.9", F::Pair, Greater),
    ];
    for (a, b, format, want) in cases {
        assert_eq!(compare(a, b, format), want, "{a} vs {b} ({format:?})");
    }
}

#[test]
fn plain_compares_bytes() {
    assert_eq!(compare("1.10", "1.9", F::Plain), Less);
    assert_eq!(compare("E.02.26", "E.02.29", F::Plain), Less);
}

#[test]
fn from_uint32_vectors() {
    let cases = [
        (0x0, "0.0.0.0", F::Quad),
        (0xff, "0.0.0.255", F::Quad),
        (0xff01, "0.0.255.1", F::Quad),
        (0xff0001, "0.255.0.1", F::Quad),
        (0xff000100, "255.0.1.0", F::Quad),
        (0x0, "0.0.0", F::Triplet),
        (0xff, "0.0.255", F::Triplet),
        (0xff01, "0.0.65281", F::Triplet),
        (0xff0001, "0.255.1", F::Triplet),
        (0xff000100, "255.0.256", F::Triplet),
        (0x0, "0", F::Number),
        (0xff000100, "4278190336", F::Number),
        (0x0, "11.0.0.0", F::IntelMe),
        (0xffffffff, "18.31.255.65535", F::IntelMe),
        (0x0b32057a, "11.11.50.1402", F::IntelMe),
        (0xb8320d84, "11.8.50.3460", F::IntelMe2),
        (0x226a4b00, "137.2706.768", F::SurfaceLegacy),
        (0x6001988, "6.25.136", F::Surface),
        (0x00ff0001, "255.0.1", F::DellBios),
        (0x010f0201, "1.15.2", F::DellBiosMsb),
        (0xc8, "0x000000c8", F::Hex),
    ];
    for (v, want, format) in cases {
        assert_eq!(
            from_u32(v, format).as_deref(),
            Some(want),
            "{v:#x} {format:?}"
        );
    }
    assert_eq!(from_u32(1, F::Unknown), None);
}

#[test]
fn from_uint16_vectors() {
    let cases = [
        (0x0, "0.0", F::Pair),
        (0xff, "0.255", F::Pair),
        (0xff01, "255.1", F::Pair),
        (0x0, "0.0", F::Bcd),
        (0x0110, "1.10", F::Bcd),
        (0x9999, "99.99", F::Bcd),
        (0x0, "0", F::Number),
        (0x1234, "4660", F::Number),
        (0x1234, "1.2.52", F::Triplet),
    ];
    for (v, want, format) in cases {
        assert_eq!(
            from_u16(v, format).as_deref(),
            Some(want),
            "{v:#x} {format:?}"
        );
    }
}

#[test]
fn parse_from_format_vectors() {
    let cases = [
        ("0", "0"),
        ("0x1a", "0.0.26"),
        ("257", "0.0.257"),
        ("1.2.3", "1.2.3"),
        ("0xff0001", "0.255.1"),
        ("16711681", "0.255.1"),
        ("20150915", "20150915"),
        ("dave", "dave"),
        ("0x1x", "0x1x"),
    ];
    for (old, want) in cases {
        assert_eq!(parse_from_format(old, F::Triplet), want, "{old}");
    }
}

#[test]
fn guess_format_vectors() {
    let cases = [
        ("", F::Unknown),
        ("1234ac", F::Hex),
        ("1.2", F::Pair),
        ("1.2.3", F::Triplet),
        ("1.2.3.4", F::Quad),
        ("1.2.3.4.5", F::Unknown),
        ("1a.2b.3", F::Plain),
        ("1", F::Number),
        ("1A", F::Hex),
        ("0x10201", F::Number),
        ("E.02.26", F::Plain),
    ];
    for (v, want) in cases {
        assert_eq!(VersionFormat::guess(v), want, "{v}");
    }
}

#[test]
fn names_round_trip() {
    for name in VersionFormat::names() {
        let format = VersionFormat::from_name(name).unwrap();
        assert_eq!(format.name(), name);
    }
    assert_eq!(VersionFormat::from_name("DELL-BIOS"), Some(F::DellBios));
    assert_eq!(VersionFormat::from_name("semver"), None);
}
