//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 3 and 4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use crate::packet::prefix::{Family, Prefix, AFI_IPV4, AFI_IPV6, SAFI_UNICAST};

/// The next hop of an MP_REACH_NLRI for IPv4 or IPv6 unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", untagged)]
pub enum MpNextHop {
    V4(Ipv4Addr),
    /// RFC 2545 3: a global address, optionally followed by the link-local one (length 32).
    V6 {
        global: Ipv6Addr,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link_local: Option<Ipv6Addr>,
    },
}

impl MpNextHop {
    pub fn addr(&self) -> IpAddr {
        match self {
            MpNextHop::V4(a) => IpAddr::V4(*a),
            MpNextHop::V6 { global, .. } => IpAddr::V6(*global),
        }
    }
}

/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MpReach {
    Unicast {
        family: Family,
        next_hop: MpNextHop,
        nlri: Vec<Prefix>,
    },
    /// A family we do not speak, kept as octets after AFI/SAFI. RFC 4760 7: routes of a family
    /// that was not negotiated are ignored.
    Other {
        family: Family,
        #[serde(with = "crate::packet::hex")]
        rest: Vec<u8>,
    },
}

/// Why an MP attribute could not be used, and how RFC 7606 7.11 says to react.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpError {
    /// The AFI/SAFI or the NLRI cannot be read: session reset.
    Reset(String),
    /// The next hop is unusable but the NLRI are known: treat-as-withdraw.
    Withdraw(String, MpReach),
}

impl MpReach {
    pub fn family(&self) -> Family {
        match self {
            MpReach::Unicast { family, .. } | MpReach::Other { family, .. } => *family,
        }
    }

    pub fn decode(mut v: &[u8]) -> Result<Self, MpError> {
        // RFC 7606 7.11: "If the Length of either attribute is such that the AFI/SAFI cannot be
        // determined, then ... 'session reset'".
        let (Ok(afi), Ok(safi)) = (v.try_get_u16(), v.try_get_u8()) else {
            return Err(MpError::Reset("too short for AFI/SAFI".into()));
        };
        let family = Family { afi, safi };
        if safi != SAFI_UNICAST || (afi != AFI_IPV4 && afi != AFI_IPV6) {
            return Ok(MpReach::Other {
                family,
                rest: v.to_vec(),
            });
        }
        let nh_len = usize::from(
            v.try_get_u8()
                .map_err(|_| MpError::Reset("next hop length is missing".into()))?,
        );
        let Some(nh) = v.get(..nh_len) else {
            return Err(MpError::Reset(format!(
                "next hop length {nh_len} overruns the attribute"
            )));
        };
        let nh = nh.to_vec();
        v.advance(nh_len);
        // RFC 4760 3: "Reserved: A 1 octet field that MUST be set to 0, and SHOULD be ignored
        // upon receipt."
        if v.try_get_u8().is_err() {
            return Err(MpError::Reset("reserved octet is missing".into()));
        }
        // RFC 7606 5.3: an NLRI field that cannot be parsed leaves no choice but session reset.
        let nlri = Prefix::decode_all(v, afi)
            .ok_or_else(|| MpError::Reset(format!("NLRI of {family} cannot be parsed")))?;
        let next_hop = match (afi, nh.len()) {
            (AFI_IPV4, 4) => Some(MpNextHop::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))),
            (AFI_IPV6, 16) => Some(MpNextHop::V6 {
                global: v6(&nh[..16]),
                link_local: None,
            }),
            (AFI_IPV6, 32) => Some(MpNextHop::V6 {
                global: v6(&nh[..16]),
                link_local: Some(v6(&nh[16..32])),
            }),
            _ => None,
        };
        match next_hop {
            Some(next_hop) => Ok(MpReach::Unicast {
                family,
                next_hop,
                nlri,
            }),
            // RFC 7606 7.11: a next hop whose length does not fit the family makes the routes
            // unusable, but they are known, so they are withdrawn rather than the session reset.
            None => Err(MpError::Withdraw(
                format!("next hop length {} does not fit {family}", nh.len()),
                MpReach::Unicast {
                    family,
                    next_hop: MpNextHop::V4(Ipv4Addr::UNSPECIFIED),
                    nlri,
                },
            )),
        }
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            MpReach::Unicast {
                family,
                next_hop,
                nlri,
            } => {
                buf.put_u16(family.afi);
                buf.put_u8(family.safi);
                match next_hop {
                    MpNextHop::V4(a) => {
                        buf.put_u8(4);
                        buf.put_slice(&a.octets());
                    }
                    MpNextHop::V6 {
                        global,
                        link_local: None,
                    } => {
                        buf.put_u8(16);
                        buf.put_slice(&global.octets());
                    }
                    MpNextHop::V6 {
                        global,
                        link_local: Some(ll),
                    } => {
                        buf.put_u8(32);
                        buf.put_slice(&global.octets());
                        buf.put_slice(&ll.octets());
                    }
                }
                buf.put_u8(0);
                for p in nlri {
                    p.encode(buf);
                }
            }
            MpReach::Other { family, rest } => {
                buf.put_u16(family.afi);
                buf.put_u8(family.safi);
                buf.put_slice(rest);
            }
        }
    }
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(b);
    Ipv6Addr::from(o)
}

/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Withdrawn Routes (variable)                             |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MpUnreach {
    Unicast {
        family: Family,
        withdrawn: Vec<Prefix>,
    },
    Other {
        family: Family,
        #[serde(with = "crate::packet::hex")]
        rest: Vec<u8>,
    },
}

impl MpUnreach {
    pub fn family(&self) -> Family {
        match self {
            MpUnreach::Unicast { family, .. } | MpUnreach::Other { family, .. } => *family,
        }
    }

    pub fn decode(mut v: &[u8]) -> Result<Self, String> {
        let (Ok(afi), Ok(safi)) = (v.try_get_u16(), v.try_get_u8()) else {
            return Err("too short for AFI/SAFI".into());
        };
        let family = Family { afi, safi };
        if safi != SAFI_UNICAST || (afi != AFI_IPV4 && afi != AFI_IPV6) {
            return Ok(MpUnreach::Other {
                family,
                rest: v.to_vec(),
            });
        }
        let withdrawn = Prefix::decode_all(v, afi)
            .ok_or_else(|| format!("withdrawn routes of {family} cannot be parsed"))?;
        Ok(MpUnreach::Unicast { family, withdrawn })
    }

    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            MpUnreach::Unicast { family, withdrawn } => {
                buf.put_u16(family.afi);
                buf.put_u8(family.safi);
                for p in withdrawn {
                    p.encode(buf);
                }
            }
            MpUnreach::Other { family, rest } => {
                buf.put_u16(family.afi);
                buf.put_u8(family.safi);
                buf.put_slice(rest);
            }
        }
    }
}
