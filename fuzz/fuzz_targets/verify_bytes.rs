//! The whole path on arbitrary bytes: detect, read headers (makeself, scexe,
//! Dell, tar, zip, PE, cab), decode, verify every check and unpack into a
//! temporary directory, with small limits (64 MiB of members, 10,000
//! entries); then verify again through short reads, which must say the
//! same. Any panic, hang, runaway allocation or disagreement is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::verify_bytes(data);
    assert!(
        fwkit::fuzzing::short_reads_agree(data),
        "whole reads and short reads give different reports"
    );
});
