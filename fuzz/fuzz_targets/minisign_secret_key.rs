//! minisign secret key files, unencrypted and encrypted, parsed without a
//! password: an encrypted key's header (algorithms, scrypt limits, checksum
//! layout) is read, its secret is not decrypted, since each try would cost a
//! scrypt run.
#![no_main]

use fwkit::sign::SecretKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = SecretKey::parse(text, None);
});
