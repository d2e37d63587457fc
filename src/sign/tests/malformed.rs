//! Unit tests of the signing module: files that must be refused (damaged
//! secret keys, signatures and public keys) and comments that would break
//! a file.

use super::*;

#[test]
fn secret_key_checksum_and_key_pair_are_checked() {
    let (secret, _) = SecretKey::generate().unwrap();
    let text = secret.to_minisign_string(None).unwrap();
    let raw = decoded_line(&text, 1);

    // minisign -G -W writes an all-zero checksum: accepted.
    let mut zero = raw.clone();
    zero[126..].fill(0);
    SecretKey::parse(&with_line(&text, 1, &encoded(&zero)), None).unwrap();

    // Any other checksum must match.
    let mut damaged = raw.clone();
    damaged[70] ^= 1;
    assert!(matches!(
        SecretKey::parse(&with_line(&text, 1, &encoded(&damaged)), None),
        Err(SignError::SecretKeyChecksum { key_id }) if key_id == secret.key_id()
    ));

    // A public half that is not the seed's, with a matching checksum.
    let mut mismatched = raw.clone();
    mismatched[100] ^= 1;
    let keypair: [u8; 64] = mismatched[62..126].try_into().unwrap();
    let sum = checksum(secret.key_id(), &keypair);
    mismatched[126..].copy_from_slice(&sum);
    assert!(matches!(
        SecretKey::parse(&with_line(&text, 1, &encoded(&mismatched)), None),
        Err(SignError::KeyPairMismatch { .. })
    ));
}

#[test]
fn secret_key_header_bytes_are_checked() {
    let (secret, _) = SecretKey::generate().unwrap();
    let text = secret.to_minisign_string(None).unwrap();
    let raw = decoded_line(&text, 1);
    let patched = |at: usize, bytes: &[u8]| {
        let mut raw = raw.clone();
        raw[at..at + bytes.len()].copy_from_slice(bytes);
        SecretKey::parse(&with_line(&text, 1, &encoded(&raw)), Some("pw"))
    };
    assert!(matches!(
        patched(0, b"ED"),
        Err(SignError::UnsupportedAlgorithm { file: FileKind::SecretKey, found }) if found == "ED"
    ));
    assert!(matches!(
        patched(2, b"Ar"),
        Err(SignError::UnsupportedKdf { found }) if found == "Ar"
    ));
    assert!(matches!(
        patched(4, b"\x01\x02"),
        Err(SignError::UnsupportedChecksum { found }) if found == "\\x01\\x02"
    ));
    // A hostile encrypted key asking for 2^63 bytes: refused before scrypt.
    let mut hostile = raw.clone();
    hostile[2..4].copy_from_slice(b"Sc");
    hostile[38..46].copy_from_slice(&u64::MAX.to_le_bytes());
    hostile[46..54].copy_from_slice(&(1u64 << 63).to_le_bytes());
    assert!(matches!(
        SecretKey::parse(&with_line(&text, 1, &encoded(&hostile)), Some("pw")),
        Err(SignError::KdfTooCostly { .. })
    ));
    // Too short.
    assert!(matches!(
        SecretKey::parse(&with_line(&text, 1, &encoded(&raw[..157])), None),
        Err(SignError::WrongLength {
            file: FileKind::SecretKey,
            expected: 158,
            found: 157,
            ..
        })
    ));
}

#[test]
fn malformed_signature_lines_are_refused() {
    let sig = MS_HASHED_SIG;
    let parse = |text: &str| Signature::parse(text).unwrap_err();
    assert!(matches!(parse(""), SignError::MissingLine { line: 1, .. }));
    assert!(matches!(
        parse("untrusted comment: x\n"),
        SignError::MissingLine { line: 2, .. }
    ));
    assert!(matches!(
        parse(&sig.replacen("untrusted comment: ", "comment: ", 1)),
        SignError::MissingPrefix {
            line: 1,
            prefix: UNTRUSTED_PREFIX,
            ..
        }
    ));
    assert!(matches!(
        parse(&sig.replacen("trusted comment: t", "trusted: t", 1)),
        SignError::MissingPrefix {
            line: 3,
            prefix: TRUSTED_PREFIX,
            ..
        }
    ));
    assert!(matches!(
        parse(&with_line(sig, 1, "RUT!not base64")),
        SignError::Base64 { line: 2, .. }
    ));
    assert!(matches!(
        parse(&with_line(sig, 1, &encoded(&[b'E'; 73]))),
        SignError::WrongLength {
            line: 2,
            expected: 74,
            found: 73,
            ..
        }
    ));
    assert!(matches!(
        parse(&with_line(sig, 3, &encoded(&[0; 65]))),
        SignError::WrongLength {
            line: 4,
            expected: 64,
            found: 65,
            ..
        }
    ));
    let mut raw = decoded_line(sig, 1);
    raw[..2].copy_from_slice(b"Xy");
    assert!(matches!(
        parse(&with_line(sig, 1, &encoded(&raw))),
        SignError::UnsupportedAlgorithm { found, .. } if found == "Xy"
    ));
    assert!(matches!(
        parse(&format!("{sig}extra\n")),
        SignError::TrailingText { line: 5, .. }
    ));
    assert!(matches!(
        parse(&sig.lines().take(3).collect::<Vec<_>>().join("\n")),
        SignError::MissingLine { line: 4, .. }
    ));
}

#[test]
fn signature_forms_and_comments_are_checked() {
    let sig = MS_HASHED_SIG;
    let parse = |text: &str| Signature::parse(text).unwrap_err();
    // signify's embedded form: the message follows the two lines.
    assert!(matches!(
        parse(&format!("{SIGNIFY_SIG}hello\n")),
        SignError::MissingPrefix { line: 3, .. }
    ));
    // A prehashed signature without its trusted comment.
    let two_lines: String = sig.lines().take(2).map(|l| format!("{l}\n")).collect();
    assert!(matches!(
        parse(&two_lines),
        SignError::MissingTrustedComment { .. }
    ));
    // Control characters in the trusted comment, as minisign 0.12 refuses.
    assert!(matches!(
        parse(&sig.replace("hashed", "hashed\x1b[2J")),
        SignError::CommentNotPrintable {
            which: CommentKind::Trusted
        }
    ));
    let long = "x".repeat(MAX_TRUSTED_COMMENT + 1);
    assert!(matches!(
        parse(&sig.replace("timestamp:1795264397\tfile:f.txt\thashed", &long)),
        SignError::CommentTooLong {
            which: CommentKind::Trusted,
            ..
        }
    ));
    // CRLF line ends and trailing empty lines are fine.
    let crlf = format!("{}\r\n\r\n", sig.trim_end().replace('\n', "\r\n"));
    assert_eq!(
        Signature::parse(&crlf).unwrap(),
        Signature::parse(sig).unwrap()
    );
}

#[test]
fn malformed_public_keys_are_refused() {
    let parse = |text: &str| PublicKey::parse(text).unwrap_err();
    assert!(matches!(parse(""), SignError::MissingLine { line: 1, .. }));
    assert!(matches!(
        parse("untrusted comment: x"),
        SignError::MissingLine { line: 2, .. }
    ));
    assert!(matches!(
        parse(&format!("{MS_PUB}more\n")),
        SignError::TrailingText { line: 3, .. }
    ));
    assert!(matches!(
        parse("comment\nRWTEqYK32AORAj8QTuS8iAeGgvyfyootzBMmfGPLakGw6orQCeDvFjSn\n"),
        SignError::MissingPrefix { line: 1, .. }
    ));
    assert!(matches!(
        parse(&with_line(
            MS_PUB,
            1,
            "RWTEqYK32AORAj8QTuS8iAeGgvyfyootzBMmfGPLakGw6orQCeDvFjS"
        )),
        SignError::Base64 { line: 2, .. }
    ));
    assert!(matches!(
        parse(&with_line(MS_PUB, 1, &encoded(&[b'E'; 43]))),
        SignError::WrongLength {
            expected: 42,
            found: 43,
            ..
        }
    ));
    let mut raw = decoded_line(MS_PUB, 1);
    raw[1] = b'D';
    assert!(matches!(
        parse(&with_line(MS_PUB, 1, &encoded(&raw))),
        SignError::UnsupportedAlgorithm {
            file: FileKind::PublicKey,
            ..
        }
    ));
    // y = 2 is not on the curve.
    let mut raw = decoded_line(MS_PUB, 1);
    raw[10..].fill(0);
    raw[10] = 2;
    assert!(matches!(
        parse(&with_line(MS_PUB, 1, &encoded(&raw))),
        SignError::InvalidPublicKey { .. }
    ));
}

#[test]
fn comments_that_would_break_the_file_are_refused_when_signing() {
    let (secret, _) = SecretKey::generate().unwrap();
    let sign_with = |trusted: &str, untrusted: &str| {
        let options = SignOptions {
            trusted_comment: trusted.to_owned(),
            untrusted_comment: untrusted.to_owned(),
            ..SignOptions::default()
        };
        sign(&secret, MESSAGE, &options).unwrap_err()
    };
    assert!(matches!(
        sign_with("a\nb", "u"),
        SignError::CommentNotPrintable {
            which: CommentKind::Trusted
        }
    ));
    assert!(matches!(
        sign_with("t", "a\rb"),
        SignError::CommentNotPrintable {
            which: CommentKind::Untrusted
        }
    ));
    assert!(matches!(
        sign_with(&"t".repeat(MAX_TRUSTED_COMMENT + 1), "u"),
        SignError::CommentTooLong {
            which: CommentKind::Trusted,
            max: MAX_TRUSTED_COMMENT,
            ..
        }
    ));
    assert!(matches!(
        sign_with("t", &"u".repeat(MAX_UNTRUSTED_COMMENT + 1)),
        SignError::CommentTooLong {
            which: CommentKind::Untrusted,
            ..
        }
    ));
    // The longest comments minisign accepts, and tabs, are fine.
    let options = SignOptions {
        trusted_comment: format!("a\tb{}", "t".repeat(MAX_TRUSTED_COMMENT - 3)),
        untrusted_comment: "u".repeat(MAX_UNTRUSTED_COMMENT),
        ..SignOptions::default()
    };
    let text = sign(&secret, MESSAGE, &options).unwrap().to_file_string();
    Signature::parse(&text).unwrap();
}
