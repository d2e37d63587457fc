//! The shell-stub text readers (assignments, line offsets, markers) on
//! arbitrary text, and the three stub layouts on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fwkit::fuzzing::shell_assignments(data);
});
