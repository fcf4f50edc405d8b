//! Capabilities advertisement (RFC 5492) and the capabilities vgw speaks.

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use super::prefix::Family;

pub const CAP_MULTIPROTOCOL: u8 = 1;
pub const CAP_ROUTE_REFRESH: u8 = 2;
pub const CAP_EXTENDED_MESSAGE: u8 = 6;
pub const CAP_GRACEFUL_RESTART: u8 = 64;
pub const CAP_FOUR_OCTET_AS: u8 = 65;
pub const CAP_ENHANCED_ROUTE_REFRESH: u8 = 70;

/// RFC 4724 3: "Restart State (R): ... set to 1 ... by a BGP speaker that has restarted".
pub const GR_FLAG_RESTART: u8 = 0x8;
/// RFC 8538 2: "Notification (N)" bit.
pub const GR_FLAG_NOTIFICATION: u8 = 0x4;
/// RFC 4724 3: "Forwarding State (F)" bit in the per-AFI flags.
pub const GR_AF_FLAG_FORWARDING: u8 = 0x80;

/// One per-AFI entry of the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrFamily {
    pub family: Family,
    /// Forwarding state was preserved across the restart (F bit).
    pub forwarding: bool,
    /// The other bits of the flags octet, kept so the octet re-encodes unchanged.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_flags: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// ```text
/// +--------------------------------------------------+
/// | Capability Code (1 octet)                        |
/// +--------------------------------------------------+
/// | Capability Length (1 octet)                      |
/// +--------------------------------------------------+
/// | Capability Value (variable)                      |
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Capability {
    /// RFC 4760 8: AFI (2), Reserved (1), SAFI (1).
    Multiprotocol { family: Family },
    /// RFC 2918 2: length 0.
    RouteRefresh,
    /// RFC 7313 3: length 0.
    EnhancedRouteRefresh,
    /// RFC 8654 3: length 0.
    ExtendedMessage,
    /// RFC 6793 3: the speaker's 4-octet AS number.
    FourOctetAs { asn: u32 },
    /// RFC 4724 3:
    /// ```text
    /// +--------------------------------------------------+
    /// | Restart Flags (4 bits)                           |
    /// +--------------------------------------------------+
    /// | Restart Time in seconds (12 bits)                |
    /// +--------------------------------------------------+
    /// | Address Family Identifier (16 bits)              |
    /// +--------------------------------------------------+
    /// | Subsequent Address Family Identifier (8 bits)    |
    /// +--------------------------------------------------+
    /// | Flags for Address Family (8 bits)                |
    /// +--------------------------------------------------+
    /// | ...                                              |
    /// ```
    GracefulRestart {
        flags: u8,
        restart_time: u16,
        families: Vec<GrFamily>,
    },
    /// Anything else, or a known capability with a length we do not understand. RFC 5492 3: "a
    /// BGP speaker ... MUST ignore the Capabilities that it does not recognize".
    Other {
        code: u8,
        #[serde(with = "super::hex")]
        value: Vec<u8>,
    },
}

impl Capability {
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => CAP_MULTIPROTOCOL,
            Capability::RouteRefresh => CAP_ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => CAP_ENHANCED_ROUTE_REFRESH,
            Capability::ExtendedMessage => CAP_EXTENDED_MESSAGE,
            Capability::FourOctetAs { .. } => CAP_FOUR_OCTET_AS,
            Capability::GracefulRestart { .. } => CAP_GRACEFUL_RESTART,
            Capability::Other { code, .. } => *code,
        }
    }

    /// Decodes the value of capability `code`.
    pub fn decode(code: u8, value: &[u8]) -> Capability {
        let other = || Capability::Other {
            code,
            value: value.to_vec(),
        };
        let mut v = value;
        match (code, value.len()) {
            (CAP_MULTIPROTOCOL, 4) => {
                let afi = v.get_u16();
                let _reserved = v.get_u8();
                let safi = v.get_u8();
                Capability::Multiprotocol {
                    family: Family { afi, safi },
                }
            }
            (CAP_ROUTE_REFRESH, 0) => Capability::RouteRefresh,
            (CAP_ENHANCED_ROUTE_REFRESH, 0) => Capability::EnhancedRouteRefresh,
            (CAP_EXTENDED_MESSAGE, 0) => Capability::ExtendedMessage,
            (CAP_FOUR_OCTET_AS, 4) => Capability::FourOctetAs { asn: v.get_u32() },
            (CAP_GRACEFUL_RESTART, n) if n >= 2 && (n - 2) % 4 == 0 => {
                let head = v.get_u16();
                let mut families = Vec::with_capacity((n - 2) / 4);
                while v.remaining() >= 4 {
                    let afi = v.get_u16();
                    let safi = v.get_u8();
                    let f = v.get_u8();
                    families.push(GrFamily {
                        family: Family { afi, safi },
                        forwarding: f & GR_AF_FLAG_FORWARDING != 0,
                        other_flags: f & !GR_AF_FLAG_FORWARDING,
                    });
                }
                Capability::GracefulRestart {
                    flags: (head >> 12) as u8,
                    restart_time: head & 0x0fff,
                    families,
                }
            }
            _ => other(),
        }
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(self.code());
        let len_at = buf.len();
        buf.put_u8(0);
        match self {
            Capability::Multiprotocol { family } => {
                buf.put_u16(family.afi);
                buf.put_u8(0);
                buf.put_u8(family.safi);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs { asn } => buf.put_u32(*asn),
            Capability::GracefulRestart {
                flags,
                restart_time,
                families,
            } => {
                buf.put_u16((u16::from(*flags & 0xf) << 12) | (restart_time & 0x0fff));
                for f in families {
                    buf.put_u16(f.family.afi);
                    buf.put_u8(f.family.safi);
                    let forwarding = if f.forwarding {
                        GR_AF_FLAG_FORWARDING
                    } else {
                        0
                    };
                    buf.put_u8(forwarding | f.other_flags);
                }
            }
            Capability::Other { value, .. } => buf.put_slice(value),
        }
        let len = buf.len() - len_at - 1;
        if let Some(b) = buf.get_mut(len_at) {
            *b = u8::try_from(len).unwrap_or(u8::MAX);
        }
    }
}
