//! The public key and signature files minisign and signify share.
//!
//! Both are text: an `untrusted comment: ` line, then one base64 line. A
//! minisign signature adds a `trusted comment: ` line and the base64 global
//! signature. Lines end in `\n` (a `\r` before it is dropped); only empty
//! lines may follow the last one.

use base64::Engine as _;
use zeroize::Zeroizing;

use super::{
    signify, CommentKind, FileKind, KeyId, SignError, ALG_HASHED, ALG_PURE, BASE64,
    MAX_TRUSTED_COMMENT, MAX_UNTRUSTED_COMMENT, PUBLIC_KEY_LEN, SIGNATURE_LEN, TRUSTED_PREFIX,
    UNTRUSTED_PREFIX,
};

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
        check_comment_len(&untrusted_comment, CommentKind::Untrusted)?;
        let key_line_no = lines.number();
        lines.finish()?;
        let bytes = decode_exact::<PUBLIC_KEY_LEN>(key_line, file, key_line_no)?;
        let (alg, key_id, key) = split_alg_id::<32>(&bytes[..])
            .ok_or_else(|| wrong_length(file, key_line_no, PUBLIC_KEY_LEN, bytes.len()))?;
        if alg != ALG_PURE {
            return Err(SignError::UnsupportedAlgorithm {
                file,
                found: escape(&alg),
            });
        }
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
        let mut bytes = Vec::with_capacity(PUBLIC_KEY_LEN);
        bytes.extend_from_slice(&ALG_PURE);
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(self.key.as_bytes());
        BASE64.encode(bytes)
    }
}

/// A minisign or signify signature, as read from its file or made by [`sign`](super::sign).
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
        let (alg, key_id, sig) = split_alg_id::<64>(&bytes[..])
            .ok_or_else(|| wrong_length(file, sig_line_no, SIGNATURE_LEN, bytes.len()))?;
        let prehashed = match alg {
            ALG_HASHED => true,
            ALG_PURE => false,
            _ => {
                return Err(SignError::UnsupportedAlgorithm {
                    file,
                    found: escape(&alg),
                })
            }
        };
        let trusted = if lines.at_end() {
            // A two-line signature is signify's, which is always over the
            // message itself: a prehashed one has lost its trusted comment.
            if prehashed {
                return Err(SignError::MissingTrustedComment { key_id });
            }
            None
        } else {
            let comment = lines.next_prefixed(TRUSTED_PREFIX)?;
            check_trusted_comment(comment)?;
            let global_line = lines.next_required()?;
            let global_line_no = lines.number();
            let global = decode_exact::<64>(global_line, file, global_line_no)?;
            let global = <[u8; 64]>::try_from(&global[..])
                .map_err(|_| wrong_length(file, global_line_no, 64, global.len()))?;
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
        let mut bytes = Vec::with_capacity(SIGNATURE_LEN);
        bytes.extend_from_slice(if self.prehashed {
            &ALG_HASHED
        } else {
            &ALG_PURE
        });
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(&self.signature.to_bytes());
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

/// Refuse a trusted comment minisign would refuse: too long, or with a
/// control character other than tab.
pub(super) fn check_trusted_comment(comment: &str) -> Result<(), SignError> {
    check_comment_len(comment, CommentKind::Trusted)?;
    if comment.chars().any(|c| c != '\t' && c.is_control()) {
        return Err(SignError::CommentNotPrintable {
            which: CommentKind::Trusted,
        });
    }
    Ok(())
}

pub(super) fn check_comment_len(comment: &str, which: CommentKind) -> Result<(), SignError> {
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
pub(super) fn decode_exact<const N: usize>(
    line: &str,
    file: FileKind,
    line_no: usize,
) -> Result<Zeroizing<Vec<u8>>, SignError> {
    let bytes = Zeroizing::new(BASE64.decode(line).map_err(|source| SignError::Base64 {
        file,
        line: line_no,
        source,
    })?);
    if bytes.len() != N {
        return Err(wrong_length(file, line_no, N, bytes.len()));
    }
    Ok(bytes)
}

pub(super) fn wrong_length(
    file: FileKind,
    line: usize,
    expected: usize,
    found: usize,
) -> SignError {
    SignError::WrongLength {
        file,
        line,
        expected,
        found,
    }
}

/// Split a decoded key or signature into its algorithm bytes, key id and
/// `N`-byte body; `None` unless the length is exactly 2 + 8 + `N`.
fn split_alg_id<const N: usize>(bytes: &[u8]) -> Option<([u8; 2], KeyId, &[u8; N])> {
    let (alg, rest) = bytes.split_first_chunk::<2>()?;
    let (key_id, body) = rest.split_first_chunk::<8>()?;
    let body = <&[u8; N]>::try_from(body).ok()?;
    Some((*alg, KeyId(*key_id), body))
}

/// Two algorithm (or kdf, or checksum) bytes for an error message.
pub(super) fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The lines of a key or signature file: split at `\n`, one trailing `\r`
/// removed from each, and nothing but empty lines allowed after the last.
pub(super) struct Lines<'a> {
    lines: std::iter::Peekable<std::str::Split<'a, char>>,
    file: FileKind,
    number: usize,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str, file: FileKind) -> Lines<'a> {
        Lines {
            lines: text.split('\n').peekable(),
            file,
            number: 0,
        }
    }

    /// 1-based number of the line last returned.
    pub(super) fn number(&self) -> usize {
        self.number
    }

    pub(super) fn next_required(&mut self) -> Result<&'a str, SignError> {
        self.number = self.number.saturating_add(1);
        match self.lines.next() {
            Some(line) if !(line.is_empty() && self.lines.peek().is_none()) => {
                Ok(line.trim_end_matches('\r'))
            }
            _ => Err(SignError::MissingLine {
                file: self.file,
                line: self.number,
            }),
        }
    }

    pub(super) fn next_prefixed(&mut self, prefix: &'static str) -> Result<&'a str, SignError> {
        let line = self.next_required()?;
        line.strip_prefix(prefix)
            .ok_or_else(|| self.missing_prefix(prefix))
    }

    pub(super) fn missing_prefix(&self, prefix: &'static str) -> SignError {
        SignError::MissingPrefix {
            file: self.file,
            line: self.number,
            prefix,
        }
    }

    /// True when only empty lines (or nothing) remain.
    pub(super) fn at_end(&self) -> bool {
        self.lines
            .clone()
            .all(|l| l.trim_end_matches('\r').is_empty())
    }

    /// Refuse anything but empty lines after the last line.
    pub(super) fn finish(mut self) -> Result<(), SignError> {
        for line in self.lines.by_ref() {
            self.number = self.number.saturating_add(1);
            if !line.trim_end_matches('\r').is_empty() {
                return Err(SignError::TrailingText {
                    file: self.file,
                    line: self.number,
                });
            }
        }
        Ok(())
    }
}
