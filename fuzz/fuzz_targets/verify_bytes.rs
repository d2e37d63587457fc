//! The whole path on arbitrary bytes: detect, read headers (makeself, scexe,
//! Dell, tar, zip, PE), decode, verify every check and unpack into a
//! temporary directory, with small limits (64 MiB of members, 10,000
//! entries). Any panic, hang or runaway allocation is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::verify_bytes(data);
});
