//! OpenPGP armor and packets: key files through the trust store (even
//! first byte) and detached signature files (odd first byte).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::openpgp(data);
});
