//! A catalogue that is not one fwkit can read is refused as a whole (exit 2)
//! with a message that says what and where, before any entry is checked:
//! the streamed reader still sees the whole document first.

use super::Mirror;
use std::fs;

#[test]
fn malformed_catalogues_are_refused_before_any_entry_is_checked() {
    let m = Mirror::new();
    m.put("FOLDER1/1/a.bin", b"a file");
    let good = r#"<SoftwareComponent packageID="A" path="FOLDER1/1/a.bin" size="6"/>"#;
    let cases = [
        (
            format!("<?xml version=\"1.0\"?>\n<Manifest>{good}<SoftwareComponent packageID=\"B\"/></Manifest>"),
            "SoftwareComponent 2 (near byte",
        ),
        (
            format!("<?xml version=\"1.0\"?>\n<!DOCTYPE Manifest [<!ENTITY x \"boom\">]>\n<Manifest>{good}</Manifest>"),
            "has a DTD",
        ),
        (
            format!("<Catalog>{good}</Catalog>"),
            "the root element is <Catalog>, not a Dell <Manifest>",
        ),
        (
            format!("<Manifest>{good}<SoftwareComponent path=\"x\"><Name></Manifest>"),
            "not well-formed XML near byte",
        ),
        (
            format!("<Manifest>{good}"),
            "ends before its <Manifest> is closed",
        ),
    ];
    for (xml, message) in cases {
        let cat = m.root().join("Catalog.xml");
        fs::write(&cat, &xml).unwrap();
        let run = m.verify(&cat, &["--json"]);
        run.expect(2);
        assert!(run.stderr.contains(message), "{xml}\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "no entry reported: {}", run.stdout);
    }
}

/// UTF-16 is transcoded as a stream: surrogate pairs (characters outside
/// the BMP) that straddle the reader's block boundaries, at either parity,
/// come out whole; gzipped too (the decoder hands out odd-sized reads).
#[test]
fn utf16_characters_split_across_read_blocks_come_out_whole() {
    use crate::util::{os, require_tool, tool};
    if !require_tool("iconv") || !require_tool("gzip") {
        return;
    }
    let m = Mirror::new();
    let names: Vec<String> = (0..3)
        .map(|i| format!("{}{}", "x".repeat(i), "\u{1F527}".repeat(9000)))
        .collect();
    let mut xml = String::from("<Manifest>\n");
    for (i, name) in names.iter().enumerate() {
        xml.push_str(&format!(
            "<SoftwareComponent path=\"F/{i}.bin\"><Name><Display lang=\"en\">{name}</Display></Name></SoftwareComponent>\n"
        ));
    }
    xml.push_str("</Manifest>\n");
    let cat = m.utf16_catalogue(&xml);
    let check = |cat: &std::path::Path| {
        let run = m.verify(cat, &["--json"]);
        run.expect(1); // the files are missing
        let (entries, _) = super::lines(&run);
        let got: Vec<&str> = entries
            .iter()
            .map(|e| e["dell"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    };
    check(&cat);
    tool(m.root(), "gzip", &[os("-n"), os("-f"), os("Catalog.xml")]);
    check(&m.root().join("Catalog.xml.gz"));
}
