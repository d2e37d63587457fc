//! Detection on arbitrary first bytes, and payload sniffing on every suffix
//! a wrapper could point at.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::detect(data);
    for start in [0, 1, 2, 4, 8, 16, 64, 257] {
        if let Some(rest) = data.get(start..) {
            let _ = fwkit::Encoding::sniff(rest);
        }
    }
});
