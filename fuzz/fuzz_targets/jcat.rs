//! JCat files (gzip'd JSON of checksums and signatures, as LVFS cabinets
//! carry): decompression, JSON, base64 blobs, item and blob caps.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::jcat(data);
});
