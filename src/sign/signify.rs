//! What differs in signify's files.
//!
//! signify (OpenBSD's `signify`, Debian's `signify-openbsd`) writes the same
//! binary layouts as minisign's legacy mode: a public key is `"Ed"` ‖ keynum
//! (8) ‖ key (32) and a signature is `"Ed"` ‖ keynum (8) ‖ signature (64),
//! each as one base64 line after an `untrusted comment:` line. The signature
//! is over the message itself, and there is no trusted comment and no global
//! signature: the signature file is two lines. Its secret keys (`"BK"`,
//! bcrypt-pbkdf) are not read here.
//!
//! signify's comments follow one convention: `signify public key` (or
//! `<name> public key` with `-c <name>`) for a key, `verify with <key>.pub`
//! for a signature.

use super::KeyKind;

/// Which tool wrote a public key, judged by its comment: minisign writes
/// `minisign public key <ID>`, signify `<name> public key`. A bare base64
/// key (minisign's `-P`) or any other comment counts as minisign.
pub(super) fn key_kind(untrusted_comment: &str) -> KeyKind {
    if !untrusted_comment.starts_with("minisign") && untrusted_comment.ends_with(" public key") {
        KeyKind::Signify
    } else {
        KeyKind::Minisign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kind_follows_each_tools_comment() {
        assert_eq!(key_kind("signify public key"), KeyKind::Signify);
        assert_eq!(key_kind("fwkit test public key"), KeyKind::Signify);
        assert_eq!(
            key_kind("minisign public key 29103D8B782A9C4"),
            KeyKind::Minisign
        );
        assert_eq!(key_kind(""), KeyKind::Minisign);
    }
}
