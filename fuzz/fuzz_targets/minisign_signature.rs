//! minisign and signify signature files; a parsed signature must survive
//! writing and reading back, and verifying it with a key of the same id
//! (but not the key that made it) must fail cleanly.
#![no_main]

use fwkit::sign::{PublicKey, SecretKey, Signature};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn some_key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| SecretKey::generate().expect("key generation").1)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(signature) = Signature::parse(text) else {
        return;
    };
    let written = signature.to_file_string();
    let again = Signature::parse(&written).expect("a parsed signature reads back");
    // Written, it reads back to the same file (this target's first finding
    // was an untrusted comment that lost a trailing `\r` per round trip).
    assert_eq!(again.to_file_string(), written);
    let mut key = some_key().clone();
    key.key_id = signature.key_id;
    let message = &data[..data.len().min(64)];
    assert!(fwkit::sign::verify_with_limit(&signature, &[key], message, 1 << 16).is_err());
});
