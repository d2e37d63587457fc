//! Authenticode certificate tables: WIN_CERTIFICATE entries, CMS SignedData
//! (lenient certificate sets), SpcIndirectDataContent, signer infos, RFC 3161
//! tokens and countersignatures, X.509 path building against an anchor the
//! input also carries (see `fwkit::fuzzing::authenticode`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::authenticode(data);
});
