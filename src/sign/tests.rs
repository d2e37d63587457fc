//! Unit tests of the signing module.
//!
//! Known-answer vectors: the key and signature texts below were made by the
//! real tools on Debian (minisign 0.11, signify-openbsd 31) over the 6-byte
//! message `hello\n`:
//!
//! - `MS_PUB`, `MS_KEY`: `minisign -G -W -p x.pub -s x.key` (a throwaway key
//!   whose file has minisign's all-zero checksum for `-W`);
//! - `MS_LEGACY_SIG`: `minisign -S -l -s x.key -m hello -t 'my trusted'`;
//! - `MS_HASHED_PUB`, `MS_HASHED_SIG`: `minisign -G` (password-protected) and
//!   `minisign -S` with its default trusted comment;
//! - `SIGNIFY_PUB`, `SIGNIFY_SIG`: `signify-openbsd -G -n -c 'fwkit test'`
//!   and `signify-openbsd -S`.

use std::io::{self, Read};

use base64::Engine as _;

use super::minisign::checksum;
use super::*;

mod malformed;

const MESSAGE: &[u8] = b"hello\n";

const MS_PUB: &str = "untrusted comment: minisign public key 29103D8B782A9C4
RWTEqYK32AORAj8QTuS8iAeGgvyfyootzBMmfGPLakGw6orQCeDvFjSn
";
const MS_KEY: &str = "untrusted comment: minisign encrypted secret key
RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAxKmCt9gDkQJKVg9MswkIY4Q301zTc9RzyH03iz6asNQrIhzjZ4gjFT8QTuS8iAeGgvyfyootzBMmfGPLakGw6orQCeDvFjSnAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
";
const MS_LEGACY_SIG: &str = "untrusted comment: signature from minisign secret key
RWTEqYK32AORAggfRaVjLe1MSqRbp4P/lpCjNtHuSAODbBzAuOF/8vynmqh95z61ZwlkPw59kaDGEGv4wV8ipF/TvCXxQgMRdQo=
trusted comment: my trusted
oLVtMP7BTjB2ZYxLmc3NU+uO9YkxOmG78HMzi6ldRAMNLXDHETQU1yuluc1/eLKQoqQ8HkHp+wb1QUU49TIKCg==
";
const MS_HASHED_PUB: &str = "untrusted comment: minisign public key 1AE74441FAB8CFC1
RWTBz7j6QUTnGqE8uCnql/VuyTBZr467Gv1SdJK4eDB3KQ7xQf2bzo0n
";
const MS_HASHED_SIG: &str = "untrusted comment: signature from minisign secret key
RUTBz7j6QUTnGmtq/P5TUxPVIyHT6+R3tBGhjfB00OCP4pr8YUcKl79TofxT8jHVz0PCdLu8r6cq4ljJS1Zm5rBX+lOhOvZ29QY=
trusted comment: timestamp:1795264397\tfile:f.txt\thashed
dRkyt8c+Mq3OhkVOvSiPR6AEO5SRNqACzIafk5TjScP7QqhngxmEAXu3fy1Zrh3lrwfgVTzGcYji14K0I5vmAQ==
";
const SIGNIFY_PUB: &str = "untrusted comment: fwkit test public key
RWTg57/WTbpGnh1kWG+1z1oltROp8bro88CdkwmVNZzyY368j4WcEUFV
";
const SIGNIFY_SIG: &str = "untrusted comment: verify with s.pub
RWTg57/WTbpGnswbCBRM9DOUtkRcQxVtLguk3vCm2mc/DG5puJ0V/x2wt7esxNplHSBdfliPkrWcLx+/lOTIsThQ5bTGy34mYA0=
";

/// A reader that hands out one byte per call, with an interruption first.
struct Trickle<'a> {
    data: &'a [u8],
    interrupted: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(io::ErrorKind::Interrupted.into());
        }
        match (self.data.split_first(), buf.first_mut()) {
            (Some((byte, rest)), Some(slot)) => {
                *slot = *byte;
                self.data = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn trickle(data: &[u8]) -> Trickle<'_> {
    Trickle {
        data,
        interrupted: false,
    }
}

/// Options for a prehashed (`ED`) signature with this trusted comment.
fn prehashed(trusted: &str) -> SignOptions {
    SignOptions {
        prehashed: true,
        trusted_comment: trusted.to_owned(),
        ..SignOptions::default()
    }
}

/// Options for a legacy (`Ed`, over the message itself) signature with this
/// trusted comment.
fn legacy(trusted: &str) -> SignOptions {
    SignOptions {
        prehashed: false,
        trusted_comment: trusted.to_owned(),
        ..SignOptions::default()
    }
}

/// Replace the base64 line `index` (0-based) of a file's text.
fn with_line(text: &str, index: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[index] = line;
    lines.join("\n") + "\n"
}

fn decoded_line(text: &str, index: usize) -> Vec<u8> {
    BASE64.decode(text.lines().nth(index).unwrap()).unwrap()
}

fn encoded(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

#[test]
fn prehashed_round_trip_through_text() {
    let (secret, public) = SecretKey::generate().unwrap();
    let signature = sign(&secret, MESSAGE, &prehashed("file:a.bin")).unwrap();
    let text = signature.to_file_string();
    assert!(text.starts_with("untrusted comment: signature from minisign secret key\nRU"));
    let parsed = Signature::parse(&text).unwrap();
    assert_eq!(parsed, signature);
    let public = PublicKey::parse(&public.to_minisign_string()).unwrap();
    let verified = verify(&parsed, &[public], trickle(MESSAGE)).unwrap();
    assert_eq!(
        verified,
        Verified {
            key_id: secret.key_id(),
            trusted_comment: Some("file:a.bin".to_owned()),
            untrusted_comment: "signature from minisign secret key".to_owned(),
            prehashed: true,
        }
    );
}

#[test]
fn legacy_round_trip_and_signify_form() {
    let (secret, public) = SecretKey::generate().unwrap();
    let mut signature = sign(&secret, trickle(MESSAGE), &legacy("")).unwrap();
    assert!(signature
        .to_file_string()
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("RW"));
    let verified = verify(&signature, std::slice::from_ref(&public), MESSAGE).unwrap();
    assert_eq!(verified.trusted_comment.as_deref(), Some(""));
    assert!(!verified.prehashed);

    signature.trusted = None;
    let text = signature.to_file_string();
    assert_eq!(text.lines().count(), 2);
    let parsed = Signature::parse(&text).unwrap();
    let verified = verify(&parsed, &[public], MESSAGE).unwrap();
    assert_eq!(verified.trusted_comment, None);
}

#[test]
fn public_key_round_trip_and_bare_base64() {
    let (_, public) = SecretKey::generate().unwrap();
    let text = public.to_minisign_string();
    assert_eq!(
        text.lines().next().unwrap(),
        format!("untrusted comment: minisign public key {}", public.key_id)
    );
    assert_eq!(PublicKey::parse(&text).unwrap(), public);
    let bare = PublicKey::parse(&public.to_base64()).unwrap();
    assert_eq!((bare.key_id, bare.key), (public.key_id, public.key));
    assert_eq!(bare.kind, KeyKind::Minisign);
    assert_eq!(bare.untrusted_comment, "");
}

#[test]
fn minisign_and_signify_vectors_verify() {
    let legacy_key = PublicKey::parse(MS_PUB).unwrap();
    assert_eq!(legacy_key.key_id.to_string(), "029103D8B782A9C4");
    let verified = verify(
        &Signature::parse(MS_LEGACY_SIG).unwrap(),
        &[legacy_key],
        MESSAGE,
    )
    .unwrap();
    assert_eq!(verified.trusted_comment.as_deref(), Some("my trusted"));

    let hashed_key = PublicKey::parse(MS_HASHED_PUB).unwrap();
    let verified = verify(
        &Signature::parse(MS_HASHED_SIG).unwrap(),
        &[hashed_key],
        MESSAGE,
    )
    .unwrap();
    assert!(verified.prehashed);
    assert_eq!(
        verified.trusted_comment.as_deref(),
        Some("timestamp:1795264397\tfile:f.txt\thashed")
    );

    let signify_key = PublicKey::parse(SIGNIFY_PUB).unwrap();
    assert_eq!(signify_key.kind, KeyKind::Signify);
    let signature = Signature::parse(SIGNIFY_SIG).unwrap();
    assert!(signature.trusted.is_none());
    let verified = verify(&signature, &[signify_key], MESSAGE).unwrap();
    assert_eq!(verified.untrusted_comment, "verify with s.pub");
}

#[test]
fn our_signature_with_minisigns_key_is_byte_identical_to_minisigns() {
    let secret = SecretKey::parse(MS_KEY, None).unwrap();
    let signature = sign(&secret, MESSAGE, &legacy("my trusted")).unwrap();
    assert_eq!(signature.to_file_string(), MS_LEGACY_SIG);
    assert_eq!(
        secret.public_key().to_base64(),
        MS_PUB.lines().nth(1).unwrap()
    );
}

#[test]
fn secret_key_unencrypted_round_trip() {
    let (secret, public) = SecretKey::generate().unwrap();
    let text = secret.to_minisign_string(None).unwrap();
    let raw = decoded_line(&text, 1);
    assert_eq!(&raw[..6], b"Ed\0\0B2");
    let parsed = SecretKey::parse(&text, None).unwrap();
    assert_eq!(parsed.public_key(), public);
    // A password is ignored for an unencrypted key.
    let parsed = SecretKey::parse(&text, Some("unused")).unwrap();
    let signature = sign(&parsed, MESSAGE, &SignOptions::default()).unwrap();
    verify(&signature, &[public], MESSAGE).unwrap();
}

#[test]
fn secret_key_encrypted_round_trip_and_wrong_password() {
    let (secret, public) = SecretKey::generate().unwrap();
    let text = secret
        .to_minisign_string_with_limits("correct horse", KdfLimits::INTERACTIVE)
        .unwrap();
    let raw = decoded_line(&text, 1);
    assert_eq!(&raw[..6], b"EdScB2");
    assert_eq!(&raw[38..46], &524_288u64.to_le_bytes());
    assert_eq!(&raw[46..54], &16_777_216u64.to_le_bytes());
    // The key id is encrypted too.
    assert_ne!(&raw[54..62], &public.key_id.0);
    let parsed = SecretKey::parse(&text, Some("correct horse")).unwrap();
    assert_eq!(parsed.public_key(), public);
    assert!(matches!(
        SecretKey::parse(&text, Some("battery staple")),
        Err(SignError::WrongPassword)
    ));
    assert!(matches!(
        SecretKey::parse(&text, None),
        Err(SignError::PasswordRequired)
    ));
}

#[test]
fn wrong_key_id_is_reported_before_any_crypto() {
    let (secret, _) = SecretKey::generate().unwrap();
    let (_, other) = SecretKey::generate().unwrap();
    let signature = sign(&secret, MESSAGE, &SignOptions::default()).unwrap();
    // A reader that fails proves the data is not even read.
    struct Unreadable;
    impl Read for Unreadable {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("must not be read"))
        }
    }
    let error = verify(&signature, std::slice::from_ref(&other), Unreadable).unwrap_err();
    match &error {
        SignError::NoKeyForKeyId { found, known } => {
            assert_eq!(*found, secret.key_id());
            assert_eq!(known, &vec![other.key_id]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&secret.key_id().to_string()), "{message}");
    assert!(message.contains(&other.key_id.to_string()), "{message}");
    assert!(matches!(
        verify(&signature, &[], MESSAGE),
        Err(SignError::NoKeyForKeyId { .. })
    ));
}

#[test]
fn another_key_with_the_same_id_does_not_verify() {
    let (secret, public) = SecretKey::generate().unwrap();
    let (_, mut impostor) = SecretKey::generate().unwrap();
    impostor.key_id = public.key_id;
    let signature = sign(&secret, MESSAGE, &SignOptions::default()).unwrap();
    assert!(matches!(
        verify(&signature, std::slice::from_ref(&impostor), MESSAGE),
        Err(SignError::BadSignature { .. })
    ));
    // With both, the right one is found.
    verify(&signature, &[impostor, public], MESSAGE).unwrap();
}

#[test]
fn changed_data_fails_for_both_modes() {
    let (secret, public) = SecretKey::generate().unwrap();
    for options in [prehashed("t"), legacy("t")] {
        let signature = sign(&secret, MESSAGE, &options).unwrap();
        for data in [&b"hellO\n"[..], b"hello", b"hello\n\n", b""] {
            assert!(
                matches!(
                    verify(&signature, std::slice::from_ref(&public), data),
                    Err(SignError::BadSignature { key_id }) if key_id == public.key_id
                ),
                "prehashed {}, data {data:?}",
                options.prehashed
            );
        }
    }
}

#[test]
fn changed_trusted_comment_fails_and_untrusted_does_not() {
    let (secret, public) = SecretKey::generate().unwrap();
    let text = sign(&secret, MESSAGE, &prehashed("version 1.0"))
        .unwrap()
        .to_file_string();
    let forged = text.replace("version 1.0", "version 9.9");
    assert!(matches!(
        verify(
            &Signature::parse(&forged).unwrap(),
            std::slice::from_ref(&public),
            MESSAGE
        ),
        Err(SignError::BadTrustedComment { .. })
    ));
    let relabelled = text.replace("signature from minisign secret key", "anything at all");
    let verified = verify(&Signature::parse(&relabelled).unwrap(), &[public], MESSAGE).unwrap();
    assert_eq!(verified.untrusted_comment, "anything at all");
    assert_eq!(verified.trusted_comment.as_deref(), Some("version 1.0"));
}

#[test]
fn changed_signature_bytes_fail() {
    let (secret, public) = SecretKey::generate().unwrap();
    let text = sign(&secret, MESSAGE, &SignOptions::default())
        .unwrap()
        .to_file_string();
    let mut raw = decoded_line(&text, 1);
    raw[40] ^= 0x10;
    let forged = with_line(&text, 1, &encoded(&raw));
    assert!(matches!(
        verify(
            &Signature::parse(&forged).unwrap(),
            std::slice::from_ref(&public),
            MESSAGE
        ),
        Err(SignError::BadSignature { .. })
    ));
    let mut global = decoded_line(&text, 3);
    global[5] ^= 1;
    let forged = with_line(&text, 3, &encoded(&global));
    assert!(matches!(
        verify(&Signature::parse(&forged).unwrap(), &[public], MESSAGE),
        Err(SignError::BadTrustedComment { .. })
    ));
}

#[test]
fn whole_message_limit_applies_to_legacy_only() {
    let (secret, public) = SecretKey::generate().unwrap();
    let data = vec![7u8; 1000];
    let legacy = sign(&secret, &data[..], &legacy("")).unwrap();
    verify_with_limit(&legacy, std::slice::from_ref(&public), &data[..], 1000).unwrap();
    assert!(matches!(
        verify_with_limit(&legacy, std::slice::from_ref(&public), &data[..], 999),
        Err(SignError::MessageTooLarge { limit: 999 })
    ));
    let hashed = sign(&secret, &data[..], &prehashed("")).unwrap();
    verify_with_limit(&hashed, &[public], &data[..], 10).unwrap();
}

#[test]
fn read_errors_are_reported() {
    let (secret, public) = SecretKey::generate().unwrap();
    let signature = sign(&secret, MESSAGE, &SignOptions::default()).unwrap();
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    assert!(matches!(
        verify(&signature, &[public], Broken),
        Err(SignError::Read(_))
    ));
}

#[test]
fn key_id_displays_as_minisign_prints_it() {
    let id = KeyId([0xc4, 0xa9, 0x82, 0xb7, 0xd8, 0x03, 0x91, 0x02]);
    assert_eq!(id.to_string(), "029103D8B782A9C4");
    assert_eq!(format!("{id:?}"), "KeyId(029103D8B782A9C4)");
}

#[test]
fn secret_key_debug_hides_the_key() {
    let (secret, _) = SecretKey::generate().unwrap();
    let debug = format!("{secret:?}");
    assert!(debug.starts_with("SecretKey { key_id: KeyId("), "{debug}");
    assert!(!debug.contains("signing"), "{debug}");
}
