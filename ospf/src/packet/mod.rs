//! OSPFv2 wire format (RFC 2328 appendix A). Sans-IO: `decode` takes the bytes after the IP
//! header, `encode` returns them. Decoding never panics; every rejection is a [`DecodeError`].

pub mod auth;
pub mod checksum;
pub mod dbdesc;
pub mod error;
pub mod hello;
pub mod lsa;
pub mod lsack;
pub mod lsreq;
pub mod lsupdate;

use std::net::Ipv4Addr;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

pub use auth::{AuthError, AuthField, AuthKey, CryptoAlg};
pub use dbdesc::DbDesc;
pub use error::DecodeError;
pub use hello::Hello;
pub use lsa::{Lsa, LsaBody, LsaHeader, LsaKey};
pub use lsack::LsAck;
pub use lsreq::LsRequest;
pub use lsupdate::LsUpdate;

pub const OSPF_VERSION: u8 = 2;
pub const HEADER_LEN: usize = 24;
/// IP protocol number of OSPF.
pub const IPPROTO_OSPF: i32 = 89;
pub const ALL_SPF_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 5);
pub const ALL_D_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 6);

/// The five packet types (RFC 2328 A.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketType {
    Hello = 1,
    DbDesc = 2,
    LsRequest = 3,
    LsUpdate = 4,
    LsAck = 5,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Hello(Hello),
    DbDesc(DbDesc),
    LsRequest(LsRequest),
    LsUpdate(LsUpdate),
    LsAck(LsAck),
}

impl Body {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Body::Hello(_) => PacketType::Hello,
            Body::DbDesc(_) => PacketType::DbDesc,
            Body::LsRequest(_) => PacketType::LsRequest,
            Body::LsUpdate(_) => PacketType::LsUpdate,
            Body::LsAck(_) => PacketType::LsAck,
        }
    }
}

/// An OSPF packet without its authentication, which is applied by [`Packet::encode`] and
/// checked by [`verify`].
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Version #   |     Type      |         Packet length         |
/// |                          Router ID                            |
/// |                           Area ID                             |
/// |           Checksum            |             AuType            |
/// |                       Authentication                          |
/// |                       Authentication                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub body: Body,
}

/// A decoded packet with what its header said about authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub packet: Packet,
    pub auth: AuthField,
    /// The packet length field (the digest of cryptographic authentication follows it).
    pub length: usize,
}

impl Packet {
    /// Decodes the OSPF packet in `buf` (IP payload). Checks version, type, length and, unless
    /// cryptographic authentication is used, the checksum (RFC 2328 8.2).
    pub fn decode(buf: &[u8]) -> Result<Received, DecodeError> {
        let mut b = buf;
        let have = buf.len();
        let t = || DecodeError::Truncated {
            what: "OSPF header",
            need: HEADER_LEN,
            have,
        };
        if have < HEADER_LEN {
            return Err(t());
        }
        let version = b.try_get_u8().map_err(|_| t())?;
        // 8.2: "The version number field must specify protocol version 2."
        if version != OSPF_VERSION {
            return Err(DecodeError::BadVersion(version));
        }
        let ptype = b.try_get_u8().map_err(|_| t())?;
        let length_field = b.try_get_u16().map_err(|_| t())?;
        let router_id = Ipv4Addr::from(b.try_get_u32().map_err(|_| t())?);
        let area_id = Ipv4Addr::from(b.try_get_u32().map_err(|_| t())?);
        let checksum = b.try_get_u16().map_err(|_| t())?;
        let autype = b.try_get_u16().map_err(|_| t())?;
        let length = usize::from(length_field);
        if length < HEADER_LEN || length > have {
            return Err(DecodeError::BadLength {
                field: length_field,
                received: have,
            });
        }
        let auth = match autype {
            auth::AUTYPE_NULL => AuthField::Null,
            auth::AUTYPE_SIMPLE => {
                let mut p = [0u8; 8];
                b.try_copy_to_slice(&mut p).map_err(|_| t())?;
                AuthField::Simple(p)
            }
            auth::AUTYPE_CRYPTO => {
                let _zero = b.try_get_u16().map_err(|_| t())?;
                let key_id = b.try_get_u8().map_err(|_| t())?;
                let data_len = b.try_get_u8().map_err(|_| t())?;
                let seq = b.try_get_u32().map_err(|_| t())?;
                AuthField::Crypto {
                    key_id,
                    data_len,
                    seq,
                }
            }
            other => return Err(DecodeError::UnknownAuthType(other)),
        };
        let Some(whole) = buf.get(..length) else {
            return Err(DecodeError::BadLength {
                field: length_field,
                received: have,
            });
        };
        // 8.2: "The checksum field must be correct" -- D.4.3: not computed with crypto auth.
        if autype != auth::AUTYPE_CRYPTO {
            let computed = checksum::internet_checksum(whole, &[(12, 14), (16, 24)]);
            if computed != checksum {
                return Err(DecodeError::BadChecksum {
                    found: checksum,
                    computed,
                });
            }
        }
        let body_bytes = whole.get(HEADER_LEN..).unwrap_or_default();
        let body = match ptype {
            1 => Body::Hello(Hello::decode(body_bytes)?),
            2 => Body::DbDesc(DbDesc::decode(body_bytes)?),
            3 => Body::LsRequest(LsRequest::decode(body_bytes)?),
            4 => Body::LsUpdate(LsUpdate::decode(body_bytes)?),
            5 => Body::LsAck(LsAck::decode(body_bytes)?),
            other => return Err(DecodeError::UnknownPacketType(other)),
        };
        Ok(Received {
            packet: Packet {
                router_id,
                area_id,
                body,
            },
            auth,
            length,
        })
    }

    /// Encodes the packet with `key`; `crypto_seq` is used with cryptographic authentication.
    pub fn encode(&self, key: &AuthKey, crypto_seq: u32) -> Vec<u8> {
        let mut buf = BytesMut::with_capacity(128);
        buf.put_u8(OSPF_VERSION);
        buf.put_u8(self.body.packet_type() as u8);
        buf.put_u16(0); // length, below
        buf.put_u32(self.router_id.into());
        buf.put_u32(self.area_id.into());
        buf.put_u16(0); // checksum, below
        buf.put_u16(key.autype());
        match key {
            AuthKey::Null => buf.put_u64(0),
            AuthKey::Simple { password } => buf.put_slice(password),
            AuthKey::Crypto { alg, key_id, .. } => {
                buf.put_u16(0);
                buf.put_u8(*key_id);
                buf.put_u8(alg.digest_len() as u8);
                buf.put_u32(crypto_seq);
            }
        }
        match &self.body {
            Body::Hello(h) => h.encode(&mut buf),
            Body::DbDesc(d) => d.encode(&mut buf),
            Body::LsRequest(r) => r.encode(&mut buf),
            Body::LsUpdate(u) => u.encode(&mut buf),
            Body::LsAck(a) => a.encode(&mut buf),
        }
        let len = buf.len() as u16;
        let mut out = buf.to_vec();
        if let Some(l) = out.get_mut(2..4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        match key {
            AuthKey::Null | AuthKey::Simple { .. } => {
                // D.4.1/D.4.2: checksum over the whole packet excluding the 64-bit auth field.
                let c = checksum::internet_checksum(&out, &[(16, 24)]);
                if let Some(f) = out.get_mut(12..14) {
                    f.copy_from_slice(&c.to_be_bytes());
                }
            }
            AuthKey::Crypto { alg, key, .. } => {
                let d = auth::digest(*alg, key, &out);
                out.extend_from_slice(&d);
            }
        }
        out
    }
}

/// Checks the authentication of a received packet (RFC 2328 D.5). `raw` is the whole IP
/// payload; `last_seq` is the neighbor's last cryptographic sequence number, if known. Returns
/// the packet's cryptographic sequence number.
pub fn verify(
    raw: &[u8],
    rx: &Received,
    key: &AuthKey,
    last_seq: Option<u32>,
) -> Result<Option<u32>, AuthError> {
    match (key, &rx.auth) {
        (AuthKey::Null, AuthField::Null) => Ok(None),
        // D.4.2: "the 64-bit field is then compared to the configured password".
        (AuthKey::Simple { password }, AuthField::Simple(p)) => {
            if auth::digest_eq(password, p) {
                Ok(None)
            } else {
                Err(AuthError::BadPassword)
            }
        }
        (
            AuthKey::Crypto { alg, key_id, key },
            AuthField::Crypto {
                key_id: rk,
                data_len,
                seq,
            },
        ) => {
            // D.5: "the Key ID is used to locate the key"
            if rk != key_id {
                return Err(AuthError::UnknownKeyId {
                    received: *rk,
                    configured: *key_id,
                });
            }
            let need = alg.digest_len();
            if usize::from(*data_len) != need {
                return Err(AuthError::BadDigestLength {
                    received: *data_len,
                    expected: need,
                });
            }
            let Some(got) = raw.get(rx.length..rx.length + need) else {
                return Err(AuthError::MissingDigest {
                    have: raw.len().saturating_sub(rx.length),
                    need,
                });
            };
            // D.4.3: "If the cryptographic sequence number found in the OSPF header is less
            // than the cryptographic sequence number recorded in the sending neighbor's data
            // structure, the packet is discarded."
            if let Some(last) = last_seq {
                if *seq < last {
                    return Err(AuthError::Replay {
                        received: *seq,
                        last,
                    });
                }
            }
            let body = raw.get(..rx.length).unwrap_or_default();
            if !auth::digest_eq(&auth::digest(*alg, key, body), got) {
                return Err(AuthError::BadDigest);
            }
            Ok(Some(*seq))
        }
        (k, f) => Err(AuthError::TypeMismatch {
            received: match f {
                AuthField::Null => auth::AUTYPE_NULL,
                AuthField::Simple(_) => auth::AUTYPE_SIMPLE,
                AuthField::Crypto { .. } => auth::AUTYPE_CRYPTO,
            },
            configured: k.autype(),
        }),
    }
}
