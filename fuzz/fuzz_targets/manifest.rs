//! Checksum manifests (coreutils and BSD lines, bare `X.md5` digests) under
//! each manifest name.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "SHA256SUMS",
    "fw/SHA512SUMS",
    "MD5SUMS",
    "a/b/SHA1SUMS",
    "CHECKSUM",
    "sub/image.bin.md5",
    "image.sha256",
    "x.sha512",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    assert!(fwkit::fuzzing::manifest(name, text).is_some());
});
