//! Ed25519 signatures in minisign's and signify's file formats.
//!
//! This module reads and writes the three small text files both tools use:
//!
//! | file        | minisign                                   | signify                      |
//! |-------------|--------------------------------------------|------------------------------|
//! | public key  | `untrusted comment:` line, base64 of `"Ed"` ‖ key id (8) ‖ key (32) | the same bytes |
//! | secret key  | [`SecretKey`]: `"Ed"` `"Sc"`/`"\0\0"` `"B2"` ‖ scrypt salt and limits ‖ key id ‖ seed ‖ public key ‖ BLAKE2b-256 checksum | not read (bcrypt-pbkdf) |
//! | signature   | four lines: untrusted comment, base64 of `"ED"`/`"Ed"` ‖ key id ‖ signature (64), `trusted comment:` line, base64 of the global signature (64) | the first two lines only, always `"Ed"` |
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

mod minisign;
mod signify;

use std::fmt;
use std::io::{self, Read};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use blake2::{Blake2b512, Digest as _};

pub use minisign::{sign, KdfLimits, SecretKey, SignOptions, MAX_KDF_MEMORY};

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
    #[error("secret key: scrypt limits need {needed} bytes of memory, more than the {max} allowed")]
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
/// Displayed as minisign prints it: the bytes read as a little-endian
/// integer, in 16 upper-case hex digits (`minisign public key 29103D8B782A9C4`
/// in minisign 0.11 drops leading zeros; the bytes are the same).
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

/// Which tool's conventions a public key file follows.
///
/// The two tools write the same bytes; only the comment differs (minisign:
/// `minisign public key <ID>`, signify: `<name> public key`). This is a
/// description for reports and never changes how a signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Written by minisign (or given as a bare base64 line, minisign's `-P`).
    Minisign,
    /// Written by signify.
    Signify,
}

/// An Ed25519 public key with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Which tool's file it was read from (see [`KeyKind`]).
    pub kind: KeyKind,
    /// The key id signatures by this key carry.
    pub key_id: KeyId,
    /// The key.
    pub key: ed25519_dalek::VerifyingKey,
    /// The comment after `untrusted comment: `; empty for a bare base64 key.
    /// Nothing signs it.
    pub untrusted_comment: String,
}

impl PublicKey {
    /// Read a minisign or signify public key file, or the bare base64 line
    /// minisign accepts with `-P`.
    pub fn parse(text: &str) -> Result<PublicKey, SignError> {
        let file = FileKind::PublicKey;
        let mut lines = Lines::new(text, file);
        let first = lines.next_required()?;
        let (untrusted_comment, key_line) = match first.strip_prefix(UNTRUSTED_PREFIX) {
            Some(comment) => (comment.to_owned(), lines.next_required()?),
            None if lines.at_end() && !first.is_empty() => (String::new(), first),
            None => return Err(lines.missing_prefix(UNTRUSTED_PREFIX)),
        };
        let key_line_no = lines.number();
        lines.finish()?;
        let bytes = decode_exact::<PUBLIC_KEY_LEN>(key_line, file, key_line_no)?;
        let (alg, rest) = bytes.split_first_chunk::<2>().ok_or(lines.short(key_line_no))?;
        let (key_id, key) = rest.split_first_chunk::<8>().ok_or(lines.short(key_line_no))?;
        let key = <&[u8; 32]>::try_from(key).map_err(|_| lines.short(key_line_no))?;
        if *alg != ALG_PURE {
            return Err(SignError::UnsupportedAlgorithm {
                file,
                found: escape(alg),
            });
        }
        let key_id = KeyId(*key_id);
        let key = ed25519_dalek::VerifyingKey::from_bytes(key)
            .map_err(|_| SignError::InvalidPublicKey { file, key_id })?;
        let kind = signify::key_kind(&untrusted_comment);
        Ok(PublicKey {
            kind,
            key_id,
            key,
            untrusted_comment,
        })
    }

    /// The key as a minisign public key file, with minisign's own comment
    /// (`minisign public key <ID>`); signify reads the same file.
    pub fn to_minisign_string(&self) -> String {
        format!(
            "{UNTRUSTED_PREFIX}minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }

    /// The key's bytes in base64 alone, as minisign's `-P` takes them.
    pub fn to_base64(&self) -> String {
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        bytes[..2].copy_from_slice(&ALG_PURE);
        bytes[2..10].copy_from_slice(&self.key_id.0);
        bytes[10..].copy_from_slice(self.key.as_bytes());
        BASE64.encode(bytes)
    }
}

/// A minisign or signify signature, as read from its file or made by [`sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The comment after `untrusted comment: `. Nothing signs it.
    pub untrusted_comment: String,
    /// True for `"ED"`: the signature is over the BLAKE2b-512 hash of the
    /// data. False for `"Ed"`: over the data itself.
    pub prehashed: bool,
    /// Id of the key that made it.
    pub key_id: KeyId,
    /// The signature over the data (or its hash).
    pub signature: ed25519_dalek::Signature,
    /// The signed comment of a minisign signature; `None` for signify.
    pub trusted: Option<TrustedComment>,
}

/// A minisign trusted comment with the global signature that covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedComment {
    /// The comment after `trusted comment: `.
    pub comment: String,
    /// Signature over the data signature's 64 bytes followed by the comment.
    pub global_signature: ed25519_dalek::Signature,
}

impl Signature {
    /// Read a minisign `.minisig` (four lines, `"ED"` or `"Ed"`) or signify
    /// `.sig` (two lines, `"Ed"`) signature file.
    ///
    /// signify's embedded form (`-e`, the message after the two lines) is
    /// refused: its third line is not a trusted comment.
    pub fn parse(text: &str) -> Result<Signature, SignError> {
        let file = FileKind::Signature;
        let mut lines = Lines::new(text, file);
        let untrusted_comment = lines.next_prefixed(UNTRUSTED_PREFIX)?;
        check_comment_len(untrusted_comment, CommentKind::Untrusted)?;
        let sig_line = lines.next_required()?;
        let sig_line_no = lines.number();
        let bytes = decode_exact::<SIGNATURE_LEN>(sig_line, file, sig_line_no)?;
        let (alg, rest) = bytes.split_first_chunk::<2>().ok_or(lines.short(sig_line_no))?;
        let (key_id, sig) = rest.split_first_chunk::<8>().ok_or(lines.short(sig_line_no))?;
        let sig = <&[u8; 64]>::try_from(sig).map_err(|_| lines.short(sig_line_no))?;
        let prehashed = match *alg {
            ALG_HASHED => true,
            ALG_PURE => false,
            _ => {
                return Err(SignError::UnsupportedAlgorithm {
                    file,
                    found: escape(alg),
                })
            }
        };
        let key_id = KeyId(*key_id);
        let trusted = if lines.at_end() {
            signify::check_two_line(prehashed, key_id)?;
            None
        } else {
            let comment = lines.next_prefixed(TRUSTED_PREFIX)?;
            check_trusted_comment(comment)?;
            let global_line = lines.next_required()?;
            let global_line_no = lines.number();
            let global = decode_exact::<64>(global_line, file, global_line_no)?;
            let global = <[u8; 64]>::try_from(global.as_slice())
                .map_err(|_| lines.short(global_line_no))?;
            lines.finish()?;
            Some(TrustedComment {
                comment: comment.to_owned(),
                global_signature: ed25519_dalek::Signature::from_bytes(&global),
            })
        };
        Ok(Signature {
            untrusted_comment: untrusted_comment.to_owned(),
            prehashed,
            key_id,
            signature: ed25519_dalek::Signature::from_bytes(sig),
            trusted,
        })
    }

    /// The signature file's text: minisign's four lines, or signify's two
    /// when there is no trusted comment.
    pub fn to_file_string(&self) -> String {
        let mut bytes = [0u8; SIGNATURE_LEN];
        bytes[..2].copy_from_slice(if self.prehashed {
            &ALG_HASHED
        } else {
            &ALG_PURE
        });
        bytes[2..10].copy_from_slice(&self.key_id.0);
        bytes[10..].copy_from_slice(&self.signature.to_bytes());
        let mut text = format!(
            "{UNTRUSTED_PREFIX}{}\n{}\n",
            self.untrusted_comment,
            BASE64.encode(bytes)
        );
        if let Some(trusted) = &self.trusted {
            text.push_str(&format!(
                "{TRUSTED_PREFIX}{}\n{}\n",
                trusted.comment,
                BASE64.encode(trusted.global_signature.to_bytes())
            ));
        }
        text
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
    let key = candidates
        .into_iter()
        .find(|k| k.key.verify_strict(&message, &signature.signature).is_ok())
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
    let mut signed = Vec::with_capacity(64 + trusted_comment.len());
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

/// Refuse a trusted comment minisign would refuse: too long, or with a
/// control character other than tab.
fn check_trusted_comment(comment: &str) -> Result<(), SignError> {
    check_comment_len(comment, CommentKind::Trusted)?;
    if comment.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(SignError::CommentNotPrintable {
            which: CommentKind::Trusted,
        });
    }
    Ok(())
}

fn check_comment_len(comment: &str, which: CommentKind) -> Result<(), SignError> {
    let max = match which {
        CommentKind::Trusted => MAX_TRUSTED_COMMENT,
        CommentKind::Untrusted => MAX_UNTRUSTED_COMMENT,
    };
    if comment.len() > max {
        return Err(SignError::CommentTooLong {
            which,
            found: comment.len(),
            max,
        });
    }
    Ok(())
}

/// Decode one base64 line that must hold exactly `N` bytes.
fn decode_exact<const N: usize>(
    line: &str,
    file: FileKind,
    line_no: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, SignError> {
    // Refuse an overlong line before decoding it: base64 of N bytes is at
    // most 4 * ceil(N / 3) characters.
    let max_chars = N.div_ceil(3) * 4;
    if line.len() > max_chars + 4 {
        return Err(SignError::WrongLength {
            file,
            line: line_no,
            expected: N,
            found: line.len() / 4 * 3,
        });
    }
    let bytes = zeroize::Zeroizing::new(BASE64.decode(line.trim_end()).map_err(|source| {
        SignError::Base64 {
            file,
            line: line_no,
            source,
        }
    })?);
    if bytes.len() != N {
        return Err(SignError::WrongLength {
            file,
            line: line_no,
            expected: N,
            found: bytes.len(),
        });
    }
    Ok(bytes)
}

/// Two algorithm (or kdf, or checksum) bytes for an error message.
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The lines of a key or signature file: split at `\n`, one trailing `\r`
/// removed from each, and nothing but empty lines allowed after the last.
struct Lines<'a> {
    lines: std::iter::Peekable<std::str::Split<'a, char>>,
    file: FileKind,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, file: FileKind) -> Lines<'a> {
        Lines {
            lines: text.split('\n').peekable(),
            file,
            number: 0,
        }
    }

    /// 1-based number of the line last returned.
    fn number(&self) -> usize {
        self.number
    }

    fn next_required(&mut self) -> Result<&'a str, SignError> {
        self.number += 1;
        match self.lines.next() {
            Some(line) if !(line.is_empty() && self.lines.peek().is_none()) => {
                Ok(line.strip_suffix('\r').unwrap_or(line))
            }
            _ => Err(SignError::MissingLine {
                file: self.file,
                line: self.number,
            }),
        }
    }

    fn next_prefixed(&mut self, prefix: &'static str) -> Result<&'a str, SignError> {
        let line = self.next_required()?;
        line.strip_prefix(prefix)
            .ok_or_else(|| self.missing_prefix(prefix))
    }

    fn missing_prefix(&self, prefix: &'static str) -> SignError {
        SignError::MissingPrefix {
            file: self.file,
            line: self.number,
            prefix,
        }
    }

    /// True when only empty lines (or nothing) remain.
    fn at_end(&mut self) -> bool {
        self.lines.clone().all(|l| l.trim_end_matches('\r').is_empty())
    }

    /// Refuse anything but empty lines after the last line.
    fn finish(mut self) -> Result<(), SignError> {
        for line in self.lines.by_ref() {
            self.number += 1;
            if !line.trim_end_matches('\r').is_empty() {
                return Err(SignError::TrailingText {
                    file: self.file,
                    line: self.number,
                });
            }
        }
        Ok(())
    }

    /// A length error for a line that [`decode_exact`] already measured;
    /// only reachable if the constants disagree.
    fn short(&self, line: usize) -> SignError {
        SignError::WrongLength {
            file: self.file,
            line,
            expected: 0,
            found: 0,
        }
    }
}

#[cfg(test)]
mod tests;
