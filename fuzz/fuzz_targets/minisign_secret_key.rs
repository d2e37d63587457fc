//! minisign secret key files, unencrypted and encrypted. The scrypt limits a
//! key file asks for are capped (`MAX_KDF_MEMORY`); an encrypted key is only
//! tried with a password when its limits are small, so one run stays short.
#![no_main]

use fwkit::sign::SecretKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = SecretKey::parse(text, None);
});
