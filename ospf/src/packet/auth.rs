//! OSPFv2 authentication (RFC 2328 appendix D): null, simple password, and cryptographic
//! authentication with keyed MD5 (D.4.3) or HMAC-SHA (RFC 5709).

use hmac::{Mac, SimpleHmac};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

pub const AUTYPE_NULL: u16 = 0;
pub const AUTYPE_SIMPLE: u16 = 1;
pub const AUTYPE_CRYPTO: u16 = 2;

/// The digest algorithm of cryptographic authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CryptoAlg {
    Md5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl CryptoAlg {
    /// Length of the digest appended to the packet (the "Auth Data Len" field).
    pub fn digest_len(self) -> usize {
        match self {
            CryptoAlg::Md5 => 16,
            CryptoAlg::HmacSha1 => 20,
            CryptoAlg::HmacSha256 => 32,
            CryptoAlg::HmacSha384 => 48,
            CryptoAlg::HmacSha512 => 64,
        }
    }
}

/// How an interface authenticates (configured on both ends alike).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum AuthKey {
    #[default]
    Null,
    Simple {
        password: [u8; 8],
    },
    Crypto {
        alg: CryptoAlg,
        key_id: u8,
        key: Vec<u8>,
    },
}

impl std::fmt::Debug for AuthKey {
    // Never print keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthKey::Null => write!(f, "Null"),
            AuthKey::Simple { .. } => write!(f, "Simple(..)"),
            AuthKey::Crypto { alg, key_id, .. } => write!(f, "Crypto({alg:?}, key {key_id})"),
        }
    }
}

impl AuthKey {
    pub fn autype(&self) -> u16 {
        match self {
            AuthKey::Null => AUTYPE_NULL,
            AuthKey::Simple { .. } => AUTYPE_SIMPLE,
            AuthKey::Crypto { .. } => AUTYPE_CRYPTO,
        }
    }

    /// Builds the simple password from configured text (at most 8 bytes, zero padded).
    pub fn simple(password: &str) -> Self {
        let mut p = [0u8; 8];
        for (d, s) in p.iter_mut().zip(password.as_bytes()) {
            *d = *s;
        }
        AuthKey::Simple { password: p }
    }
}

/// The 64-bit authentication field of a received header, as found on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthField {
    Null,
    Simple([u8; 8]),
    /// ```text
    /// |              0                |    Key ID     | Auth Data Len |
    /// |                 Cryptographic sequence number                 |
    /// ```
    Crypto {
        key_id: u8,
        data_len: u8,
        seq: u32,
    },
}

/// Why a packet failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthError {
    #[error("authentication type {received} does not match the configured type {configured}")]
    TypeMismatch { received: u16, configured: u16 },
    #[error("simple password does not match")]
    BadPassword,
    #[error("key id {received} is not configured (expected {configured})")]
    UnknownKeyId { received: u8, configured: u8 },
    #[error("auth data length {received} does not match the algorithm ({expected})")]
    BadDigestLength { received: u8, expected: usize },
    #[error("message digest is missing ({have} of {need} bytes after the packet)")]
    MissingDigest { have: usize, need: usize },
    #[error("message digest does not match")]
    BadDigest,
    #[error("cryptographic sequence number {received} is lower than the last seen {last}")]
    Replay { received: u32, last: u32 },
}

impl AuthError {
    /// The drop-counter name: `auth_` and the variant.
    pub fn name(&self) -> &'static str {
        match self {
            AuthError::TypeMismatch { .. } => "auth_type_mismatch",
            AuthError::BadPassword => "auth_bad_password",
            AuthError::UnknownKeyId { .. } => "auth_unknown_key_id",
            AuthError::BadDigestLength { .. } => "auth_bad_digest_length",
            AuthError::MissingDigest { .. } => "auth_missing_digest",
            AuthError::BadDigest => "auth_bad_digest",
            AuthError::Replay { .. } => "auth_replay",
        }
    }
}

/// RFC 5709 3.3: "Apad is the hexadecimal value 0x878FE1F3 repeated (L/4) times."
const APAD_WORD: [u8; 4] = [0x87, 0x8f, 0xe1, 0xf3];

/// Computes the digest over `packet` (the OSPF packet up to its length field, with the
/// authentication field already filled in).
pub fn digest(alg: CryptoAlg, key: &[u8], packet: &[u8]) -> Vec<u8> {
    match alg {
        // D.4.3: "The 16 byte MD5 key is appended to the OSPF packet ... The MD5 authentication
        // algorithm is then calculated over the concatenation of OSPF packet, secret key, pad,
        // and length fields" (pad and length are MD5's own padding).
        CryptoAlg::Md5 => {
            let mut k = [0u8; 16];
            for (d, s) in k.iter_mut().zip(key) {
                *d = *s;
            }
            let mut h = Md5::new();
            h.update(packet);
            h.update(k);
            h.finalize().to_vec()
        }
        CryptoAlg::HmacSha1 => hmac_sha::<sha1::Sha1>(key, packet, 20),
        CryptoAlg::HmacSha256 => hmac_sha::<sha2::Sha256>(key, packet, 32),
        CryptoAlg::HmacSha384 => hmac_sha::<sha2::Sha384>(key, packet, 48),
        CryptoAlg::HmacSha512 => hmac_sha::<sha2::Sha512>(key, packet, 64),
    }
}

fn hmac_sha<D>(key: &[u8], packet: &[u8], l: usize) -> Vec<u8>
where
    D: Digest + hmac::digest::core_api::BlockSizeUser,
{
    // RFC 5709 3.3 (after RFC 4822): "If the Authentication Key is shorter than L octets, the
    // AK is padded with zeros to L octets; if longer, Ks = H(K)." HMAC then pads Ks to the
    // block size B itself, which is the same as the RFC's Ko.
    let ks: Vec<u8> = if key.len() > l {
        D::digest(key).to_vec()
    } else {
        let mut k = key.to_vec();
        k.resize(l, 0);
        k
    };
    let Ok(mut mac) = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(&ks) else {
        // HMAC accepts keys of any length; this branch is unreachable in practice and yields a
        // digest that never verifies.
        return vec![0; l];
    };
    mac.update(packet);
    // "the Apad ... is appended to the OSPF packet" in place of the digest while computing.
    for _ in 0..l / 4 {
        mac.update(&APAD_WORD);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time comparison of two digests.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe") checks our HMAC wiring with a short key: RFC 5709 pads the
    /// key to L with zeros, which HMAC does anyway, so plain HMAC-SHA-256 over packet || Apad
    /// must match.
    #[test]
    fn hmac_sha256_pads_key_and_appends_apad() {
        let d = digest(CryptoAlg::HmacSha256, b"Jefe", b"abc");
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(b"Jefe")
            .unwrap_or_else(|_| panic!("hmac key"));
        mac.update(b"abc");
        for _ in 0..8 {
            mac.update(&APAD_WORD);
        }
        assert_eq!(d, mac.finalize().into_bytes().to_vec());
        assert_eq!(d.len(), 32);
    }

    #[test]
    fn long_key_is_hashed_to_l() {
        let long = [7u8; 40];
        let short = sha1::Sha1::digest(long).to_vec();
        assert_eq!(
            digest(CryptoAlg::HmacSha1, &long, b"x"),
            digest(CryptoAlg::HmacSha1, &short, b"x")
        );
    }

    #[test]
    fn md5_key_padded_to_16() {
        let mut h = Md5::new();
        h.update(b"pkt");
        h.update(*b"key\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(
            digest(CryptoAlg::Md5, b"key", b"pkt"),
            h.finalize().to_vec()
        );
    }
}
