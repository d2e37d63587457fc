//! The fwkit manifest (`FWKIT-MANIFEST`): strict parsing, and a parsed
//! manifest must write back to bytes that parse to the same manifest.
#![no_main]

use fwkit::fwkit_manifest::FwkitManifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = FwkitManifest::parse(data) else {
        return;
    };
    // `file` lines out of path order are refused, so the written order is the
    // parsed order (this target's first finding, tests/integration/regressions.rs).
    if let Ok(bytes) = manifest.to_bytes() {
        let again = FwkitManifest::parse(&bytes).expect("written manifest parses");
        assert_eq!(again, manifest);
    }
});
