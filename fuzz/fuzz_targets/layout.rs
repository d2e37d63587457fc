//! Header reading of every file format, from bytes: the first byte picks the
//! format (makeself, scexe, Dell, zip, PE, tar, cab), the rest is the file.
#![no_main]

use fwkit::FormatKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let kind = match selector % 7 {
        0 => FormatKind::Makeself,
        1 => FormatKind::HpScexe,
        2 => FormatKind::DellDup,
        3 => FormatKind::Zip,
        4 => FormatKind::Pe,
        5 => FormatKind::Tar,
        _ => FormatKind::Cab,
    };
    // `Err` is an answer too (the CLI says "cannot read"); only a panic is a finding.
    let _ = fwkit::fuzzing::layout(kind, file);
});
