//! minisign's secret keys and signing.
//!
//! A minisign secret key file is an `untrusted comment:` line and one base64
//! line of 158 bytes:
//!
//! | bytes | field |
//! |-------|-------|
//! | 2     | signature algorithm, `"Ed"` |
//! | 2     | key derivation: `"Sc"` (scrypt) or `"\0\0"` (unencrypted, `-W`) |
//! | 2     | checksum algorithm, `"B2"` (BLAKE2b-256) |
//! | 32    | scrypt salt |
//! | 8     | scrypt opslimit, little-endian |
//! | 8     | scrypt memlimit, little-endian |
//! | 8     | key id |
//! | 64    | Ed25519 seed ‖ public key |
//! | 32    | BLAKE2b-256 of `"Ed"` ‖ key id ‖ the 64 key bytes |
//!
//! When encrypted, the last 104 bytes (key id, key, checksum) are XORed with
//! 104 bytes of scrypt(password, salt); scrypt's N, r and p come from
//! opslimit and memlimit as libsodium's
//! `crypto_pwhash_scryptsalsa208sha256` derives them. A wrong password
//! shows as a checksum that does not match.
//!
//! minisign 0.11 and 0.12 write an all-zero checksum (and zero salt and
//! limits) for a key made with `-G -W`, and never check the checksum of an
//! unencrypted key. fwkit writes the real checksum always, checks it when it
//! is not all zeros, and accepts the all-zero one minisign writes.

use std::fmt;
use std::io::Read;

use base64::Engine as _;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest as _};
use ed25519_dalek::Signer as _;
use zeroize::Zeroizing;

use super::{
    blake2b512, check_comment_len, check_trusted_comment, decode_exact, escape, global_message,
    read_whole, wrong_length, CommentKind, FileKind, KeyId, KeyKind, Lines, PublicKey, SignError,
    Signature, TrustedComment, ALG_PURE, MAX_WHOLE_MESSAGE, UNTRUSTED_PREFIX,
};

/// The most scrypt work a secret key may ask for, as 128·r·N·p bytes: 2 GiB,
/// twice minisign's default. With p = 1 (minisign's limits) this is the
/// memory scrypt allocates; for larger p its running time grows with it.
pub const MAX_KDF_MEMORY: u64 = 2 * 1024 * 1024 * 1024;

const KDF_SCRYPT: [u8; 2] = *b"Sc";
const KDF_NONE: [u8; 2] = [0, 0];
const CHK_BLAKE2: [u8; 2] = *b"B2";
const SECRET_KEY_LEN: usize = 158;
/// Key id, key pair and checksum: the part scrypt's output encrypts.
const KEYNUM_SK_LEN: usize = 8 + 64 + 32;
const DEFAULT_UNTRUSTED_COMMENT: &str = "signature from minisign secret key";

/// libsodium's scrypt cost limits, stored in every encrypted secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    /// Operations limit (libsodium's `opslimit`).
    pub opslimit: u64,
    /// Memory limit in bytes (libsodium's `memlimit`).
    pub memlimit: u64,
}

impl KdfLimits {
    /// minisign `-G`'s limits, libsodium's `_SENSITIVE` ones: scrypt N = 2²⁰,
    /// r = 8, p = 1, 1 GiB of memory and seconds of work for every use of
    /// the key. [`SecretKey::to_minisign_string`] uses these.
    pub const SENSITIVE: KdfLimits = KdfLimits {
        opslimit: 33_554_432,
        memlimit: 1_073_741_824,
    };

    /// libsodium's `_INTERACTIVE` limits: N = 2¹⁴, r = 8, p = 1, 16 MiB.
    /// Far cheaper for a password guesser too: meant for tests and
    /// throwaway keys. minisign reads keys written with them.
    pub const INTERACTIVE: KdfLimits = KdfLimits {
        opslimit: 524_288,
        memlimit: 16_777_216,
    };

    /// scrypt's parameters for these limits, chosen as libsodium's
    /// `pickparams` does, refused above [`MAX_KDF_MEMORY`].
    fn scrypt_params(self) -> Result<scrypt::Params, SignError> {
        const R: u32 = 8;
        const OPS_PER_N: u64 = R as u64 * 4;
        const BYTES_PER_N: u64 = R as u64 * 128;
        let invalid = || SignError::InvalidKdfLimits {
            opslimit: self.opslimit,
            memlimit: self.memlimit,
        };
        let opslimit = self.opslimit.max(32_768);
        let (log_n, p) = if opslimit < self.memlimit / 32 {
            (log2_n(opslimit / OPS_PER_N), 1)
        } else {
            let log_n = log2_n(self.memlimit / BYTES_PER_N);
            let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
            let p = u32::try_from(max_rp).map_err(|_| invalid())? / R;
            (log_n, p)
        };
        let needed = 128u64
            .checked_mul(u64::from(R))
            .and_then(|v| v.checked_mul(1u64 << log_n))
            .and_then(|v| v.checked_mul(u64::from(p)));
        match needed {
            Some(needed) if needed <= MAX_KDF_MEMORY => {}
            Some(needed) => {
                return Err(SignError::KdfTooCostly {
                    needed,
                    max: MAX_KDF_MEMORY,
                })
            }
            None => {
                return Err(SignError::KdfTooCostly {
                    needed: u64::MAX,
                    max: MAX_KDF_MEMORY,
                })
            }
        }
        scrypt::Params::new(log_n, R, p).map_err(|_| invalid())
    }
}

/// The smallest log₂ N (from 1, below 63) with N > `max_n` / 2.
fn log2_n(max_n: u64) -> u8 {
    (1u8..63)
        .find(|&log_n| (1u64 << log_n) > max_n / 2)
        .unwrap_or(63)
}

/// A minisign secret key: an Ed25519 key pair and its key id.
///
/// Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct SecretKey {
    key_id: KeyId,
    signing: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A new key pair and a random key id, from the operating system's
    /// random source.
    pub fn generate() -> Result<(SecretKey, PublicKey), SignError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(SignError::Random)?;
        let mut key_id = [0u8; 8];
        getrandom::fill(&mut key_id).map_err(SignError::Random)?;
        let secret = SecretKey {
            key_id: KeyId(key_id),
            signing: ed25519_dalek::SigningKey::from_bytes(&seed),
        };
        let public = secret.public_key();
        Ok((secret, public))
    }

    /// The key id signatures by this key carry.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public half, with minisign's comment.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            kind: KeyKind::Minisign,
            key_id: self.key_id,
            key: self.signing.verifying_key(),
            untrusted_comment: format!("minisign public key {}", self.key_id),
        }
    }

    /// Read a minisign secret key file. `password` is needed when the key
    /// is encrypted and ignored when it is not.
    ///
    /// An encrypted key costs one scrypt run with the limits the file
    /// holds: about a second and 1 GiB of memory for minisign's default.
    pub fn parse(text: &str, password: Option<&str>) -> Result<SecretKey, SignError> {
        let file = FileKind::SecretKey;
        let mut lines = Lines::new(text, file);
        lines.next_prefixed(UNTRUSTED_PREFIX)?;
        let line = lines.next_required()?;
        let line_no = lines.number();
        lines.finish()?;
        let raw = decode_exact::<SECRET_KEY_LEN>(line, file, line_no)?;
        let wrong = || wrong_length(file, line_no, SECRET_KEY_LEN, raw.len());
        let mut rest: &[u8] = &raw;
        let alg = take::<2>(&mut rest).ok_or_else(wrong)?;
        let kdf = take::<2>(&mut rest).ok_or_else(wrong)?;
        let chk_alg = take::<2>(&mut rest).ok_or_else(wrong)?;
        let salt = take::<32>(&mut rest).ok_or_else(wrong)?;
        let opslimit = take::<8>(&mut rest).ok_or_else(wrong)?;
        let memlimit = take::<8>(&mut rest).ok_or_else(wrong)?;
        let sealed = <&[u8; KEYNUM_SK_LEN]>::try_from(rest).map_err(|_| wrong())?;
        if *alg != ALG_PURE {
            return Err(SignError::UnsupportedAlgorithm {
                file,
                found: escape(alg),
            });
        }
        if *chk_alg != CHK_BLAKE2 {
            return Err(SignError::UnsupportedChecksum {
                found: escape(chk_alg),
            });
        }
        let mut keynum_sk = Zeroizing::new(*sealed);
        let encrypted = match *kdf {
            KDF_SCRYPT => {
                let password = password.ok_or(SignError::PasswordRequired)?;
                let limits = KdfLimits {
                    opslimit: u64::from_le_bytes(*opslimit),
                    memlimit: u64::from_le_bytes(*memlimit),
                };
                let stream = scrypt_stream(password, salt, limits)?;
                xor_in_place(keynum_sk.as_mut_slice(), stream.as_slice());
                true
            }
            KDF_NONE => false,
            _ => return Err(SignError::UnsupportedKdf { found: escape(kdf) }),
        };
        let mut rest: &[u8] = keynum_sk.as_slice();
        let key_id = KeyId(*take::<8>(&mut rest).ok_or_else(wrong)?);
        let keypair = take::<64>(&mut rest).ok_or_else(wrong)?;
        let stored = take::<32>(&mut rest).ok_or_else(wrong)?;
        if checksum(key_id, keypair) != *stored {
            if encrypted {
                return Err(SignError::WrongPassword);
            }
            if *stored != [0u8; 32] {
                return Err(SignError::SecretKeyChecksum { key_id });
            }
        }
        let signing = ed25519_dalek::SigningKey::from_keypair_bytes(keypair)
            .map_err(|_| SignError::KeyPairMismatch { key_id })?;
        Ok(SecretKey { key_id, signing })
    }

    /// The key as a minisign secret key file: encrypted with `password`
    /// and minisign's default [`KdfLimits::SENSITIVE`] (seconds of work and
    /// 1 GiB of memory), or unencrypted (as `minisign -G -W`) without one.
    ///
    /// The text holds the secret key; unencrypted, in the clear.
    pub fn to_minisign_string(&self, password: Option<&str>) -> Result<String, SignError> {
        match password {
            Some(password) => self.to_minisign_string_with_limits(password, KdfLimits::SENSITIVE),
            None => self.encode(None),
        }
    }

    /// The key encrypted with `password` and the given scrypt limits, such
    /// as the cheaper [`KdfLimits::INTERACTIVE`] for tests.
    pub fn to_minisign_string_with_limits(
        &self,
        password: &str,
        limits: KdfLimits,
    ) -> Result<String, SignError> {
        self.encode(Some((password, limits)))
    }

    fn encode(&self, protection: Option<(&str, KdfLimits)>) -> Result<String, SignError> {
        let keypair = Zeroizing::new(self.signing.to_keypair_bytes());
        let mut keynum_sk = Zeroizing::new(Vec::with_capacity(KEYNUM_SK_LEN));
        keynum_sk.extend_from_slice(&self.key_id.0);
        keynum_sk.extend_from_slice(keypair.as_slice());
        keynum_sk.extend_from_slice(&checksum(self.key_id, &keypair));

        let mut raw = Zeroizing::new(Vec::with_capacity(SECRET_KEY_LEN));
        raw.extend_from_slice(&ALG_PURE);
        let comment = match protection {
            Some((password, limits)) => {
                let mut salt = [0u8; 32];
                getrandom::fill(&mut salt).map_err(SignError::Random)?;
                let stream = scrypt_stream(password, &salt, limits)?;
                xor_in_place(keynum_sk.as_mut_slice(), stream.as_slice());
                raw.extend_from_slice(&KDF_SCRYPT);
                raw.extend_from_slice(&CHK_BLAKE2);
                raw.extend_from_slice(&salt);
                raw.extend_from_slice(&limits.opslimit.to_le_bytes());
                raw.extend_from_slice(&limits.memlimit.to_le_bytes());
                "minisign encrypted secret key"
            }
            None => {
                raw.extend_from_slice(&KDF_NONE);
                raw.extend_from_slice(&CHK_BLAKE2);
                raw.extend_from_slice(&[0u8; 32 + 8 + 8]);
                "minisign secret key"
            }
        };
        raw.extend_from_slice(&keynum_sk);
        Ok(format!(
            "{UNTRUSTED_PREFIX}{comment}\n{}\n",
            super::BASE64.encode(raw.as_slice())
        ))
    }
}

/// What [`sign`] writes besides the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// Sign the BLAKE2b-512 hash of the data (`"ED"`, minisign's default,
    /// streams any size) rather than the data itself (`"Ed"`, minisign's
    /// `-l`, held in memory up to [`MAX_WHOLE_MESSAGE`]). Default: true.
    pub prehashed: bool,
    /// The comment the global signature covers. minisign's own is
    /// `timestamp:<unix time>\tfile:<name>\thashed`. Default: empty.
    pub trusted_comment: String,
    /// The first line's comment; nothing signs it. Default: minisign's
    /// `signature from minisign secret key`.
    pub untrusted_comment: String,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            prehashed: true,
            trusted_comment: String::new(),
            untrusted_comment: DEFAULT_UNTRUSTED_COMMENT.to_owned(),
        }
    }
}

/// Sign everything `data` yields as minisign does.
///
/// The result always has a trusted comment. A signify verifier reads a
/// legacy one (`prehashed: false`) once its `trusted` is set to `None`.
pub fn sign(
    secret: &SecretKey,
    data: impl Read,
    options: &SignOptions,
) -> Result<Signature, SignError> {
    check_comment_len(&options.untrusted_comment, CommentKind::Untrusted)?;
    if options.untrusted_comment.contains(['\n', '\r']) {
        return Err(SignError::CommentNotPrintable {
            which: CommentKind::Untrusted,
        });
    }
    check_trusted_comment(&options.trusted_comment)?;
    let message = if options.prehashed {
        blake2b512(data)?.to_vec()
    } else {
        read_whole(data, MAX_WHOLE_MESSAGE)?
    };
    let signature = secret.signing.sign(&message);
    let global_signature = secret
        .signing
        .sign(&global_message(&signature, &options.trusted_comment));
    Ok(Signature {
        untrusted_comment: options.untrusted_comment.clone(),
        prehashed: options.prehashed,
        key_id: secret.key_id,
        signature,
        trusted: Some(TrustedComment {
            comment: options.trusted_comment.clone(),
            global_signature,
        }),
    })
}

/// minisign's checksum of a secret key: BLAKE2b-256 of `"Ed"` ‖ key id ‖
/// seed ‖ public key.
pub(super) fn checksum(key_id: KeyId, keypair: &[u8; 64]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(ALG_PURE);
    hasher.update(key_id.0);
    hasher.update(keypair);
    hasher.finalize().into()
}

/// The 104 bytes of scrypt output that encrypt a key's last 104 bytes.
fn scrypt_stream(
    password: &str,
    salt: &[u8; 32],
    limits: KdfLimits,
) -> Result<Zeroizing<[u8; KEYNUM_SK_LEN]>, SignError> {
    let params = limits.scrypt_params()?;
    let mut stream = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
    scrypt::scrypt(password.as_bytes(), salt, &params, stream.as_mut_slice())
        .map_err(|_| SignError::Kdf)?;
    Ok(stream)
}

fn xor_in_place(target: &mut [u8], stream: &[u8]) {
    for (byte, key) in target.iter_mut().zip(stream) {
        *byte ^= key;
    }
}

/// The next `K` bytes of `rest`, advancing it; `None` when it is shorter.
fn take<'a, const K: usize>(rest: &mut &'a [u8]) -> Option<&'a [u8; K]> {
    let (head, tail) = rest.split_first_chunk::<K>()?;
    *rest = tail;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickparams_matches_libsodium() {
        let sensitive = KdfLimits::SENSITIVE.scrypt_params().unwrap();
        assert_eq!(
            (sensitive.log_n(), sensitive.r(), sensitive.p()),
            (20, 8, 1)
        );
        let interactive = KdfLimits::INTERACTIVE.scrypt_params().unwrap();
        assert_eq!(
            (interactive.log_n(), interactive.r(), interactive.p()),
            (14, 8, 1)
        );
        // opslimit below memlimit / 32: N from opslimit, p = 1.
        let ops_bound = KdfLimits {
            opslimit: 1 << 20,
            memlimit: 1 << 30,
        }
        .scrypt_params()
        .unwrap();
        assert_eq!((ops_bound.log_n(), ops_bound.p()), (15, 1));
        // opslimit below the floor of 32768 counts as 32768.
        let floor = KdfLimits {
            opslimit: 1,
            memlimit: 1 << 30,
        }
        .scrypt_params()
        .unwrap();
        assert_eq!(floor.log_n(), 10);
        // More opslimit than memory: p grows.
        let wide = KdfLimits {
            opslimit: 1 << 24,
            memlimit: 1 << 20,
        }
        .scrypt_params()
        .unwrap();
        assert_eq!((wide.log_n(), wide.p()), (10, 512));
    }

    #[test]
    fn hostile_limits_are_refused_before_scrypt_runs() {
        let huge_memory = KdfLimits {
            opslimit: u64::MAX,
            memlimit: u64::MAX,
        };
        assert!(matches!(
            huge_memory.scrypt_params(),
            Err(SignError::KdfTooCostly { .. })
        ));
        let huge_work = KdfLimits {
            opslimit: 1 << 40,
            memlimit: 1 << 24,
        };
        assert!(matches!(
            huge_work.scrypt_params(),
            Err(SignError::KdfTooCostly { .. })
        ));
    }
}
