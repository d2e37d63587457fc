//! fwkit's integration tests: one binary, run against the real `fwkit`
//! executable in temporary directories.
//!
//! Fixture provenance:
//!
//! - `samples/…`: committed packages made by `samples/make-samples.sh`
//!   (see `samples/README.md`); read here, never modified in place.
//! - makeself archives: built at test time with the system's `makeself`
//!   (Debian 2.4.5); never committed, because they embed makeself's script.
//! - 1.x and 2.1-style makeself stubs, `.scexe` and Dell `.BIN` stubs and
//!   every hostile tar: written by the tests themselves, byte by byte, from
//!   the layouts in `formats/*.md` (not from any vendor's or makeself's code).
//!
//! `makeself` has two submodules: `makeself/edge.rs` (archives that are
//! neither plainly good nor plainly damaged) and `makeself/legacy.rs` (1.x and
//! 2.1-style stubs).
//!
//! Tests that need an external tool skip with a visible `SKIP:` line when it
//! is missing, and fail instead when `FWKIT_REQUIRE_TOOLS=1`.
#![cfg(unix)]

mod util;

mod cli;
mod hostile;
mod makeself;
mod output;
mod shell_formats;
mod signing;

// OpenPGP signatures (`openpgp`): keys, signatures and makeself `--sign` archives
// made by GnuPG at test time in a temporary GNUPGHOME, `gpgv` as the oracle;
// bare images (`raw`): `fwkit sign` with minisign as the oracle.
mod openpgp;
mod raw;

// Zip, PE-wrapped and manifest packages (`zip`, `pe`, `manifests`): built at
// test time with Info-ZIP `zip`, 7-Zip (`7z`, p7zip-full), Python's
// `zipfile`, GNU tar with gzip/xz/bzip2/zstd, and coreutils
// `sha256sum`/`md5sum`/`sha1sum` (peak memory read with GNU `/usr/bin/time`);
// hostile zips are written byte by byte by the tests
// (`util::RawZip`, from the layout in `formats/zip.md`). The PE wrappers are
// Debian's `grubx64.efi` (grub-efi-amd64-bin) and the signed
// `shimx64.efi.signed` (shim-signed), read from /usr/lib and never committed.
mod manifests;
mod pe;

// Authenticode (issue 11): a test PKI from `openssl ca`, PE+zip images signed
// by `osslsigncode` with its built-in RFC 3161 stamps, `osslsigncode verify`
// and `sbverify` (sbsigntool) as oracles; Debian's signed GRUB
// (grub-efi-amd64-signed) and shim (shim-signed) as real-world chains.
mod authenticode;
mod zip;

// JCat signatures and HPE compsig files (issue 11, points 4 and 6): JCat
// files made by `jcat-tool` (sign, self-sign, import of a `gpg --batch`
// signature), a test CA and signer from `openssl`, cabinets from `gcab`,
// DER compsig files from `openssl cms -sign`; `openssl cms -verify` as the
// oracle.
mod compsig;
mod jcat;

// fwkit's own self-extracting stub (`stub`): archives assembled from
// `fwkit::pack::stub::render`, a tar from `util::Tar` and gzip members from the
// system `gzip`, run under dash, bash and busybox sh.
mod stub;

// LVFS-style cabinets (`cab`): built at test time by GNOME's `gcab` from
// pseudo-random firmware, metainfo and JCat files written by Python's `json`
// and the system `gzip`; hostile names are patched into gcab's file table.
mod cab;

// Robustness and resource bounds (`robust`): damaged samples and fixtures
// through the library, bombs and huge headers; fuzzer findings (`regressions`).
mod regressions;
mod robust;

// fwkit keygen/sign/pack/resign end to end (`pack`, issue 4): packages made
// by `fwkit pack` at test time, keys from `fwkit keygen`, `minisign` and
// `signify-openbsd`, tampered copies rebuilt with GNU tar, Info-ZIP zip/unzip
// and `sha256sum`, foreign self-extractors from Debian's `makeself`.
mod nested;
mod pack;

// The layers under every container (`layers`, issue "one-way layers"): the
// same tree read as the same members from every container, one open of a
// package per command (traced with `strace`), and the shape of src/:
// imports that run down the layers, files and functions that stay small.
mod layers;

// fwkit exec (issue 12): a real flasher (Debian's `flashrom`, dummy
// programmer) and sh scripts run on the verified bytes; packages from
// `fwkit pack` and Debian's `makeself`.
mod exec;

// fwkit plan (issue 13): LVFS cabinets made with `gcab` at test time, their
// metainfo (with `<requires>`) and JCat written by Python; hostile
// inventories written by the tests.
mod plan;
// fwkit plan on a Dell .BIN (systems, PCI devices) and an HP-like .scexe
// (ROM families), payloads made by GNU tar, signed by fwkit sign.
mod plan_vendors;
// `fwkit plan --policy` [signers] for OpenPGP and X.509 signers (issue 13)
mod plan_signers;
// `fwkit plan --inventory-from-redfish` (issue 13)
mod plan_redfish;
// `fwkit plan --catalog CATALOG DIR` (issue 14): a gzipped Dell-shaped
// catalogue over two Dell .BINs made with GNU tar.
mod plan_catalog;

// Repository catalogues (issue 14): Dell-shaped catalogues written by the
// tests, gzipped by `gzip`, re-encoded by `iconv`, over packages made by GNU
// tar, Info-ZIP zip and Debian makeself.
mod catalog;
