//! IPVS_LADDR_ATTR_*: a FULLNAT local address (Alibaba LVS dialect only), nested in the
//! dialect's top-level attribute 7 (IPVS_CMD_ATTR_LADDR).
//!
//! NEW_LADDR (18) / DEL_LADDR (19) carry IPVS_CMD_ATTR_SERVICE with the identifying fields and
//! IPVS_CMD_ATTR_LADDR { ADDR }. GET_LADDR (20) is a dump filtered by the service; every reply is
//! a NEW_LADDR message with attribute 7. The address family is the service's.

use std::net::IpAddr;

use netlink_packet_core::{DefaultNla, Nla};

use super::nla::{get_u32, get_u64, put, InetAddr, RawNla};
use super::WireError;
use crate::model::{Af, LocalAddress};

pub const IPVS_LADDR_ATTR_ADDR: u16 = 1;
pub const IPVS_LADDR_ATTR_PORT_CONFLICT: u16 = 2;
pub const IPVS_LADDR_ATTR_CONN_COUNTS: u16 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaddrAttr {
    Addr(InetAddr),
    PortConflict(u64),
    ConnCounts(u32),
    Other(DefaultNla),
}

impl LaddrAttr {
    pub(crate) fn parse(nla: RawNla<'_>) -> Result<LaddrAttr, WireError> {
        use LaddrAttr::*;
        if nla.flags() != 0 {
            return Ok(Other(nla.to_default()));
        }
        let v = nla.value;
        Ok(match nla.kind() {
            IPVS_LADDR_ATTR_ADDR => Addr(InetAddr::parse(v, "IPVS_LADDR_ATTR_ADDR")?),
            IPVS_LADDR_ATTR_PORT_CONFLICT => {
                PortConflict(get_u64(v, "IPVS_LADDR_ATTR_PORT_CONFLICT")?)
            }
            IPVS_LADDR_ATTR_CONN_COUNTS => ConnCounts(get_u32(v, "IPVS_LADDR_ATTR_CONN_COUNTS")?),
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for LaddrAttr {
    fn value_len(&self) -> usize {
        match self {
            LaddrAttr::Addr(a) => a.as_bytes().len(),
            LaddrAttr::PortConflict(_) => 8,
            LaddrAttr::ConnCounts(_) => 4,
            LaddrAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            LaddrAttr::Addr(_) => IPVS_LADDR_ATTR_ADDR,
            LaddrAttr::PortConflict(_) => IPVS_LADDR_ATTR_PORT_CONFLICT,
            LaddrAttr::ConnCounts(_) => IPVS_LADDR_ATTR_CONN_COUNTS,
            LaddrAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            LaddrAttr::Addr(a) => put(buf, a.as_bytes()),
            LaddrAttr::PortConflict(v) => put(buf, &v.to_ne_bytes()),
            LaddrAttr::ConnCounts(v) => put(buf, &v.to_ne_bytes()),
            LaddrAttr::Other(o) => o.emit_value(buf),
        }
    }
}

/// A local address as the dump reports it; `af` is the service's family.
pub fn to_laddr(attrs: &[LaddrAttr], af: Af) -> Result<LocalAddress, WireError> {
    let mut addr = None;
    let mut port_conflict = 0;
    let mut conn_counts = 0;
    for a in attrs {
        match a {
            LaddrAttr::Addr(v) => addr = Some(*v),
            LaddrAttr::PortConflict(v) => port_conflict = *v,
            LaddrAttr::ConnCounts(v) => conn_counts = *v,
            LaddrAttr::Other(_) => {}
        }
    }
    let addr = addr.ok_or(WireError::MissingAttr {
        object: "local address",
        attr: "IPVS_LADDR_ATTR_ADDR",
    })?;
    let ip = match af {
        Af::Inet => IpAddr::V4(addr.v4()),
        Af::Inet6 => IpAddr::V6(addr.v6().ok_or(WireError::BadAttrLength {
            attr: "IPVS_LADDR_ATTR_ADDR",
            expected: 16,
            got: 4,
        })?),
    };
    Ok(LocalAddress {
        addr: ip,
        port_conflict,
        conn_counts,
    })
}
