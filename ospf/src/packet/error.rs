//! Why a packet or an LSA was rejected. Every variant names the offending value.

use serde::Serialize;

/// A packet that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeError {
    #[error("packet truncated: {what} needs {need} bytes, {have} left")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("OSPF version {0} (only version 2 is supported)")]
    BadVersion(u8),
    #[error("unknown OSPF packet type {0}")]
    UnknownPacketType(u8),
    #[error("packet length field {field} is invalid for a {received}-byte packet")]
    BadLength { field: u16, received: usize },
    #[error("packet checksum {found:#06x} is wrong (computed {computed:#06x})")]
    BadChecksum { found: u16, computed: u16 },
    #[error("unknown authentication type {0}")]
    UnknownAuthType(u16),
    #[error("{what} length {len} is invalid")]
    BadBodyLength { what: &'static str, len: usize },
    #[error("LSA length {len} is invalid")]
    BadLsaLength { len: u16 },
    #[error("LSA checksum wrong (type {ls_type}, id {ls_id}, router {adv_rtr})")]
    BadLsaChecksum {
        ls_type: u8,
        ls_id: std::net::Ipv4Addr,
        adv_rtr: std::net::Ipv4Addr,
    },
    #[error("router-LSA declares {declared} links but carries {len} bytes of links")]
    BadRouterLinks { declared: u16, len: usize },
    #[error("LS update declares {declared} LSAs but carries {found}")]
    BadLsaCount { declared: u32, found: u32 },
}

impl DecodeError {
    /// The drop-counter name: `decode_` and the variant.
    pub fn name(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "decode_truncated",
            DecodeError::BadVersion(_) => "decode_bad_version",
            DecodeError::UnknownPacketType(_) => "decode_unknown_packet_type",
            DecodeError::BadLength { .. } => "decode_bad_length",
            DecodeError::BadChecksum { .. } => "decode_bad_checksum",
            DecodeError::UnknownAuthType(_) => "decode_unknown_auth_type",
            DecodeError::BadBodyLength { .. } => "decode_bad_body_length",
            DecodeError::BadLsaLength { .. } => "decode_bad_lsa_length",
            DecodeError::BadLsaChecksum { .. } => "decode_bad_lsa_checksum",
            DecodeError::BadRouterLinks { .. } => "decode_bad_router_links",
            DecodeError::BadLsaCount { .. } => "decode_bad_lsa_count",
        }
    }
}
