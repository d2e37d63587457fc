//! Detached PKCS#7 signatures: JCat kind 3 blobs (PEM) and HPE compsig
//! files (DER CMS SignedData).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::pkcs7(data);
});
