//! Member names as archive headers store them; accepted names must keep the
//! invariants the scan and extraction rely on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input: a name, then (after the first 0xff) a link target.
    let (raw, target) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(name) = fwkit::fuzzing::member_name(raw) else {
        return;
    };
    let text = name.as_str();
    assert!(!text.is_empty());
    assert!(!text.starts_with('/'));
    assert!(!text.contains('\\') && !text.contains('\0'));
    assert!(text
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != ".."));
    // No drive prefix in any component (this target's first finding).
    assert!(text
        .split('/')
        .all(|c| !matches!(c.as_bytes(), [d, b':', ..] if d.is_ascii_alphabetic())));
    assert!(text.len() <= 4096);
    // Parsing an accepted name again gives the same name.
    assert_eq!(
        fwkit::fuzzing::member_name(text.as_bytes()).ok(),
        Some(name.clone())
    );
    if let Some(target) = target.and_then(|t| std::str::from_utf8(t).ok()) {
        if let Some(parts) = fwkit::fuzzing::resolve_link(&name, target) {
            assert!(parts
                .iter()
                .all(|p| p != ".." && p != "." && !p.contains('/')));
        }
    }
});
