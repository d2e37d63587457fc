//! The container families fwkit recognises.

use serde::Serialize;

/// The container families fwkit recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FormatKind {
    /// A makeself self-extracting archive (any generation).
    Makeself,
    /// An HP/HPE Linux smart component (`_SKIP=` stub + gzip tar).
    #[serde(rename = "hpe-scexe")]
    HpScexe,
    /// A Dell Linux Update Package `.BIN` (marker lines + gzip tar).
    DellDup,
    /// A tar archive, plain or compressed.
    Tar,
    /// A zip archive (also HPE `.fwpkg`, NetApp `SP_FW.zip`).
    Zip,
    /// A PE executable with an appended zip (HPE `cp*.exe`, Dell `.EXE`).
    Pe,
    /// A Microsoft cabinet, e.g. an LVFS `.cab`.
    Cab,
    /// A directory of files described by checksum manifests.
    Set,
    /// A bare image: a file that is no recognised container, verified as a
    /// whole by a detached signature or the caller's SHA-256.
    Raw,
}

impl FormatKind {
    /// Short stable name, as used in `formats/<stem>.md` and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Makeself => "makeself",
            FormatKind::HpScexe => "hpe-scexe",
            FormatKind::DellDup => "dell-dup",
            FormatKind::Tar => "tar",
            FormatKind::Zip => "zip",
            FormatKind::Pe => "pe",
            FormatKind::Cab => "cab",
            FormatKind::Set => "set",
            FormatKind::Raw => "raw",
        }
    }
}

impl std::fmt::Display for FormatKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
