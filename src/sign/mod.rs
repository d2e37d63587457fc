//! Ed25519 signatures in minisign's and signify's file formats.
//!
//! This module reads and writes the small text files both tools use. Each
//! is an `untrusted comment: ` line followed by one line of base64:
//!
//! - public key (both tools): `"Ed"` ‖ key id (8) ‖ Ed25519 key (32);
//! - secret key (minisign only, see [`SecretKey`]; signify's bcrypt-pbkdf
//!   keys are not read): algorithm, kdf and checksum ids, scrypt salt and
//!   limits, then key id ‖ seed ‖ public key ‖ BLAKE2b-256 checksum;
//! - signature: `"ED"` or `"Ed"` ‖ key id (8) ‖ Ed25519 signature (64).
//!   minisign adds a `trusted comment: ` line and the base64 global
//!   signature (64); signify's file ends after the first two lines and is
//!   always `"Ed"`.
//!
//! - `"ED"` (prehashed, minisign's default) signs the BLAKE2b-512 hash of the
//!   data, so the data is streamed. `"Ed"` (minisign's legacy `-l` and
//!   signify) signs the data itself; it has to be held in memory whole, up to
//!   [`MAX_WHOLE_MESSAGE`] bytes unless [`verify_with_limit`] says otherwise.
//! - The global signature signs the data signature's 64 bytes followed by the
//!   trusted comment's bytes, so the trusted comment is authenticated and the
//!   untrusted one is not. The two are kept in separate fields everywhere and
//!   never mixed.
//!
//! [`verify`] compares the signature's key id with each given key before any
//! cryptography, then checks the data signature and, for minisign, the
//! global signature. Both use strict Ed25519 verification (no small-order
//! points), as libsodium does.
//!
//! ```
//! use fwkit::sign::{self, SecretKey, SignOptions};
//!
//! let (secret, public) = SecretKey::generate()?;
//! let data = b"firmware image";
//! let options = SignOptions {
//!     trusted_comment: "file:image.bin".to_owned(),
//!     ..SignOptions::default()
//! };
//! let signature = sign::sign(&secret, &data[..], &options)?;
//!
//! let text = signature.to_file_string();
//! let parsed = sign::Signature::parse(&text)?;
//! let verified = sign::verify(&parsed, &[public], &data[..])?;
//! assert_eq!(verified.trusted_comment.as_deref(), Some("file:image.bin"));
//! # Ok::<(), fwkit::sign::SignError>(())
//! ```
//!
//! # Security
//!
//! Every input text is untrusted: each line's prefix and each decoded length
//! is checked before any byte is sliced, comments longer than minisign's own
//! limits are refused, and a trusted comment with control characters is
//! refused (as minisign 0.12 does), so it can be shown on a terminal. The
//! untrusted comment is returned as written; a caller that shows it must
//! treat it as arbitrary text. A secret key's scrypt limits are capped at
//! [`MAX_KDF_MEMORY`] so a hostile key file cannot ask for unbounded memory.

mod files;
mod minisign;
mod signify;

use std::fmt;
use std::io::{self, Read};

use base64::engine::general_purpose::STANDARD as BASE64;
use blake2::{Blake2b512, Digest as _};

pub use files::{KeyKind, PublicKey, Signature, TrustedComment};
pub use minisign::{sign, KdfLimits, SecretKey, SignOptions, MAX_KDF_MEMORY};

use files::{check_comment_len, check_trusted_comment, decode_exact, escape, wrong_length, Lines};

/// The line every key and signature file starts with, before the comment.
pub const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
/// The third line of a minisign signature, before the trusted comment.
pub const TRUSTED_PREFIX: &str = "trusted comment: ";
/// Longest untrusted comment minisign reads back (its 1024-byte line buffer).
pub const MAX_UNTRUSTED_COMMENT: usize = 1003;
/// Longest trusted comment minisign writes or reads (its 8192-byte buffer).
pub const MAX_TRUSTED_COMMENT: usize = 8173;
/// How much data [`verify`] holds in memory for a signature over the data
/// itself (minisign legacy `"Ed"` and signify): 256 MiB.
pub const MAX_WHOLE_MESSAGE: u64 = 256 * 1024 * 1024;

/// Algorithm bytes of a signature over the data itself (and of every key).
const ALG_PURE: [u8; 2] = *b"Ed";
/// Algorithm bytes of a signature over the BLAKE2b-512 hash of the data.
const ALG_HASHED: [u8; 2] = *b"ED";
const PUBLIC_KEY_LEN: usize = 2 + 8 + 32;
const SIGNATURE_LEN: usize = 2 + 8 + 64;
const READ_BUFFER: usize = 64 * 1024;

/// Why a key or signature could not be read, made, or did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A line the format needs is not there.
    #[error("{file}: line {line} is missing")]
    MissingLine {
        /// Which kind of file.
        file: FileKind,
        /// 1-based line number.
        line: usize,
    },
    /// A line does not start with the prefix the format requires.
    #[error("{file}: line {line} does not start with {prefix:?}")]
    MissingPrefix {
        /// Which kind of file.
        file: FileKind,
        /// 1-based line number.
        line: usize,
        /// The prefix the line must start with.
        prefix: &'static str,
    },
    /// Text follows the last line the format has.
    #[error("{file}: unexpected text on line {line} after the end of the {file}")]
    TrailingText {
        /// Which kind of file.
        file: FileKind,
        /// 1-based line number of the first unexpected text.
        line: usize,
    },
    /// A line that should hold base64 does not.
    #[error("{file}: line {line} is not valid base64")]
    Base64 {
        /// Which kind of file.
        file: FileKind,
        /// 1-based line number.
        line: usize,
        /// What the decoder said.
        #[source]
        source: base64::DecodeError,
    },
    /// A base64 line decodes to the wrong number of bytes.
    #[error("{file}: line {line} decodes to {found} bytes, expected {expected}")]
    WrongLength {
        /// Which kind of file.
        file: FileKind,
        /// 1-based line number.
        line: usize,
        /// Bytes the format defines.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// The two algorithm bytes name no algorithm this file kind can have.
    #[error("{file}: unsupported signature algorithm \"{found}\"")]
    UnsupportedAlgorithm {
        /// Which kind of file.
        file: FileKind,
        /// The two bytes, escaped.
        found: String,
    },
    /// A secret key names a key derivation other than scrypt (`"Sc"`) or none.
    #[error("secret key: unsupported key derivation \"{found}\"")]
    UnsupportedKdf {
        /// The two bytes, escaped.
        found: String,
    },
    /// A secret key names a checksum other than BLAKE2b-256 (`"B2"`).
    #[error("secret key: unsupported checksum algorithm \"{found}\"")]
    UnsupportedChecksum {
        /// The two bytes, escaped.
        found: String,
    },
    /// The secret key is encrypted and no password was given.
    #[error("the secret key is encrypted and no password was given")]
    PasswordRequired,
    /// The checksum of a decrypted secret key does not match.
    #[error("wrong password for the secret key (or the key file is damaged)")]
    WrongPassword,
    /// The checksum of an unencrypted secret key does not match.
    #[error("secret key {key_id}: checksum does not match, the key file is damaged")]
    SecretKeyChecksum {
        /// The key id stored in the file.
        key_id: KeyId,
    },
    /// The public half stored in a secret key is not the one its seed makes.
    #[error("secret key {key_id}: the stored public key does not belong to the secret key")]
    KeyPairMismatch {
        /// The key id stored in the file.
        key_id: KeyId,
    },
    /// scrypt limits from which no scrypt parameters can be derived.
    #[error("secret key: unusable scrypt limits (opslimit {opslimit}, memlimit {memlimit})")]
    InvalidKdfLimits {
        /// Operations limit as stored.
        opslimit: u64,
        /// Memory limit as stored.
        memlimit: u64,
    },
    /// scrypt limits that would need more memory than fwkit allows.
    #[error(
        "secret key: scrypt limits need {needed} bytes of memory, more than the {max} allowed"
    )]
    KdfTooCostly {
        /// Bytes scrypt would allocate.
        needed: u64,
        /// [`MAX_KDF_MEMORY`].
        max: u64,
    },
    /// A comment longer than minisign accepts.
    #[error("{which} comment is {found} bytes, more than the {max} minisign accepts")]
    CommentTooLong {
        /// Trusted or untrusted.
        which: CommentKind,
        /// Its length in bytes.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// A comment to be signed has a line break (it would change the file's
    /// lines), or a trusted comment has a control character.
    #[error("{which} comment contains a line break or control character")]
    CommentNotPrintable {
        /// Trusted or untrusted.
        which: CommentKind,
    },
    /// The 32 key bytes are not a point on the curve.
    #[error("{file} {key_id}: the key bytes are not a valid ed25519 public key")]
    InvalidPublicKey {
        /// Which kind of file.
        file: FileKind,
        /// The key id stored with the key.
        key_id: KeyId,
    },
    /// A prehashed (`"ED"`) signature has no trusted comment; only minisign
    /// writes prehashed signatures, and it always adds one.
    #[error("prehashed signature by key {key_id} has no trusted comment")]
    MissingTrustedComment {
        /// The key id in the signature.
        key_id: KeyId,
    },
    /// No given key has the signature's key id.
    #[error("signature key id {found} matches none of the given keys ({})", KeyId::list(.known))]
    NoKeyForKeyId {
        /// The key id in the signature.
        found: KeyId,
        /// The key ids of the given keys.
        known: Vec<KeyId>,
    },
    /// The signature over the data does not verify: the data, or the
    /// signature, is not what the key signed.
    #[error("signature by key {key_id} does not match the data")]
    BadSignature {
        /// The key id in the signature.
        key_id: KeyId,
    },
    /// The data signature verifies, the global signature over the trusted
    /// comment does not: the trusted comment was changed.
    #[error("trusted comment signature by key {key_id} does not verify, the trusted comment was changed")]
    BadTrustedComment {
        /// The key id in the signature.
        key_id: KeyId,
    },
    /// The data for a signature over the whole message is larger than the
    /// limit of what is held in memory.
    #[error("the signed data is larger than {limit} bytes, the most a legacy or signify signature is checked over")]
    MessageTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading the data failed.
    #[error("cannot read the signed data")]
    Read(#[source] io::Error),
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(getrandom::Error),
    /// scrypt refused the parameters derived from valid-looking limits.
    #[error("secret key: scrypt key derivation failed")]
    Kdf,
}

/// Which kind of file an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A public key file (`.pub`).
    PublicKey,
    /// A minisign secret key file (`.key`).
    SecretKey,
    /// A signature file (`.minisig` or `.sig`).
    Signature,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::PublicKey => "public key",
            FileKind::SecretKey => "secret key",
            FileKind::Signature => "signature",
        })
    }
}

/// Which comment an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// The signed comment of a minisign signature.
    Trusted,
    /// The first line of every file; nothing signs it.
    Untrusted,
}

impl fmt::Display for CommentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommentKind::Trusted => "trusted",
            CommentKind::Untrusted => "untrusted",
        })
    }
}

/// The 8-byte key id (signify's "keynum") that ties a signature to a key.
///
/// Displayed as minisign 0.12 prints it: the bytes read as a little-endian
/// integer, in 16 upper-case hex digits. (minisign 0.11 drops leading zeros:
/// `29103D8B782A9C4` there is `029103D8B782A9C4` here.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    fn list(ids: &[KeyId]) -> String {
        if ids.is_empty() {
            return "no keys given".to_owned();
        }
        ids.iter()
            .map(KeyId::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// What a successful [`verify`] proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that made the signature.
    pub key_id: KeyId,
    /// The trusted comment, authenticated by the key; `None` for signify.
    pub trusted_comment: Option<String>,
    /// The untrusted comment as written in the file: not authenticated.
    pub untrusted_comment: String,
    /// True when the signature was over the BLAKE2b-512 hash of the data.
    pub prehashed: bool,
}

/// `FILE.<extension>` next to `FILE` (`fw.bin` -> `fw.bin.minisig`): where a
/// detached signature, or a key pair's halves, go.
pub fn detached_path(file: &std::path::Path, extension: &str) -> std::path::PathBuf {
    let mut path = file.as_os_str().to_owned();
    path.push(".");
    path.push(extension);
    path.into()
}

/// Check `signature` over `data` with whichever of `keys` has its key id.
///
/// Holds at most [`MAX_WHOLE_MESSAGE`] bytes of data in memory for a
/// signature over the data itself; see [`verify_with_limit`].
pub fn verify(
    signature: &Signature,
    keys: &[PublicKey],
    data: impl Read,
) -> Result<Verified, SignError> {
    verify_with_limit(signature, keys, data, MAX_WHOLE_MESSAGE)
}

/// [`verify`] with a different limit on the data held in memory for a
/// signature over the data itself (minisign legacy and signify). Prehashed
/// signatures stream the data and ignore the limit.
pub fn verify_with_limit(
    signature: &Signature,
    keys: &[PublicKey],
    data: impl Read,
    max_whole_message: u64,
) -> Result<Verified, SignError> {
    let key_id = signature.key_id;
    let candidates: Vec<&PublicKey> = keys.iter().filter(|k| k.key_id == key_id).collect();
    if candidates.is_empty() {
        return Err(SignError::NoKeyForKeyId {
            found: key_id,
            known: keys.iter().map(|k| k.key_id).collect(),
        });
    }
    if signature.prehashed && signature.trusted.is_none() {
        return Err(SignError::MissingTrustedComment { key_id });
    }
    let message = if signature.prehashed {
        blake2b512(data)?.to_vec()
    } else {
        read_whole(data, max_whole_message)?
    };
    verify_message(signature, &candidates, &message)
}

/// [`verify`] for a prehashed (`ED`) signature when the caller already has
/// the BLAKE2b-512 of the data (computed in its own pass over the bytes).
/// A signature over the data itself (`Ed`, signify) needs the data: use
/// [`verify`] for those.
pub fn verify_prehashed(
    signature: &Signature,
    keys: &[PublicKey],
    blake2b512: &[u8; 64],
) -> Result<Verified, SignError> {
    let key_id = signature.key_id;
    let candidates: Vec<&PublicKey> = keys.iter().filter(|k| k.key_id == key_id).collect();
    if candidates.is_empty() {
        return Err(SignError::NoKeyForKeyId {
            found: key_id,
            known: keys.iter().map(|k| k.key_id).collect(),
        });
    }
    if !signature.prehashed {
        return Err(SignError::UnsupportedAlgorithm {
            file: FileKind::Signature,
            found: "Ed (not prehashed: the data itself is needed)".to_owned(),
        });
    }
    if signature.trusted.is_none() {
        return Err(SignError::MissingTrustedComment { key_id });
    }
    verify_message(signature, &candidates, blake2b512)
}

/// Check the data signature over `message` with each candidate key (same key
/// id), then the global signature over the trusted comment.
fn verify_message(
    signature: &Signature,
    candidates: &[&PublicKey],
    message: &[u8],
) -> Result<Verified, SignError> {
    let key_id = signature.key_id;
    let key = candidates
        .iter()
        .find(|k| k.key.verify_strict(message, &signature.signature).is_ok())
        .ok_or(SignError::BadSignature { key_id })?;
    if let Some(trusted) = &signature.trusted {
        let signed = global_message(&signature.signature, &trusted.comment);
        key.key
            .verify_strict(&signed, &trusted.global_signature)
            .map_err(|_| SignError::BadTrustedComment { key_id })?;
    }
    Ok(Verified {
        key_id,
        trusted_comment: signature.trusted.as_ref().map(|t| t.comment.clone()),
        untrusted_comment: signature.untrusted_comment.clone(),
        prehashed: signature.prehashed,
    })
}

/// The bytes the global signature covers.
fn global_message(signature: &ed25519_dalek::Signature, trusted_comment: &str) -> Vec<u8> {
    let mut signed = Vec::with_capacity(trusted_comment.len().saturating_add(64));
    signed.extend_from_slice(&signature.to_bytes());
    signed.extend_from_slice(trusted_comment.as_bytes());
    signed
}

/// BLAKE2b-512 of everything `data` yields, read in 64 KiB pieces.
fn blake2b512(mut data: impl Read) -> Result<[u8; 64], SignError> {
    let mut hasher = Blake2b512::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let n = match data.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SignError::Read(e)),
        };
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(hasher.finalize().into())
}

/// All of `data`, refusing more than `limit` bytes.
fn read_whole(data: impl Read, limit: u64) -> Result<Vec<u8>, SignError> {
    let mut message = Vec::new();
    data.take(limit.saturating_add(1))
        .read_to_end(&mut message)
        .map_err(SignError::Read)?;
    if u64::try_from(message.len()).map_or(true, |len| len > limit) {
        return Err(SignError::MessageTooLarge { limit });
    }
    Ok(message)
}

#[cfg(test)]
mod tests;
