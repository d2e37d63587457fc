//! minisign / signify public key files (and bare base64 keys).
#![no_main]

use fwkit::sign::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PublicKey::parse(text) {
        let again = PublicKey::parse(&key.to_minisign_string()).expect("round trip");
        assert_eq!(again.to_base64(), key.to_base64());
    }
});
