//! IPVS_DEST_ATTR_*: a real server, nested in IPVS_CMD_ATTR_DEST.
//!
//! ADDR_FAMILY arrived in 3.18 (lets an IPv4 service have IPv6 reals in TUN mode), STATS64 in 4.1,
//! TUN_TYPE/TUN_PORT in 5.2, TUN_FLAGS in 5.3.

use std::net::IpAddr;

use netlink_packet_core::{DefaultNla, Nla};

use super::nla::{get_be16, get_u16, get_u32, get_u8, nested, put, InetAddr, Nested, RawNla};
use super::stats::{to_stats, StatsAttr};
use super::WireError;
use crate::model::{Af, DestStatus, Destination, FwdMethod, TunType, Tunnel};

pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    Addr(InetAddr),
    /// Host order here; big-endian on the wire.
    Port(u16),
    FwdMethod(u32),
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Nested<StatsAttr>),
    AddrFamily(u16),
    Stats64(Nested<StatsAttr>),
    TunType(u8),
    /// Host order here; big-endian on the wire.
    TunPort(u16),
    TunFlags(u16),
    Other(DefaultNla),
}

impl DestAttr {
    pub(crate) fn parse(nla: RawNla<'_>) -> Result<DestAttr, WireError> {
        use DestAttr::*;
        let v = nla.value;
        let nested_kind = matches!(nla.kind(), IPVS_DEST_ATTR_STATS | IPVS_DEST_ATTR_STATS64);
        if nla.flags() != 0 && !(nested_kind && nla.nested()) {
            return Ok(Other(nla.to_default()));
        }
        Ok(match nla.kind() {
            IPVS_DEST_ATTR_ADDR => Addr(InetAddr::parse(v, "IPVS_DEST_ATTR_ADDR")?),
            IPVS_DEST_ATTR_PORT => Port(get_be16(v, "IPVS_DEST_ATTR_PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => FwdMethod(get_u32(v, "IPVS_DEST_ATTR_FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => Weight(get_u32(v, "IPVS_DEST_ATTR_WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => UThresh(get_u32(v, "IPVS_DEST_ATTR_U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => LThresh(get_u32(v, "IPVS_DEST_ATTR_L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => ActiveConns(get_u32(v, "IPVS_DEST_ATTR_ACTIVE_CONNS")?),
            IPVS_DEST_ATTR_INACT_CONNS => InactConns(get_u32(v, "IPVS_DEST_ATTR_INACT_CONNS")?),
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                PersistConns(get_u32(v, "IPVS_DEST_ATTR_PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_STATS => Stats(nested(&nla, "IPVS_DEST_ATTR_STATS", StatsAttr::parse)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => AddrFamily(get_u16(v, "IPVS_DEST_ATTR_ADDR_FAMILY")?),
            IPVS_DEST_ATTR_STATS64 => {
                Stats64(nested(&nla, "IPVS_DEST_ATTR_STATS64", StatsAttr::parse)?)
            }
            IPVS_DEST_ATTR_TUN_TYPE => TunType(get_u8(v, "IPVS_DEST_ATTR_TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => TunPort(get_be16(v, "IPVS_DEST_ATTR_TUN_PORT")?),
            IPVS_DEST_ATTR_TUN_FLAGS => TunFlags(get_u16(v, "IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(a) => a.as_bytes().len(),
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            Stats(n) | Stats64(n) => n.value_len(),
            Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => IPVS_DEST_ATTR_ADDR,
            Port(_) => IPVS_DEST_ATTR_PORT,
            FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Stats(n) => n.kind(IPVS_DEST_ATTR_STATS),
            AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Stats64(n) => n.kind(IPVS_DEST_ATTR_STATS64),
            TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => put(buf, a.as_bytes()),
            Port(v) | TunPort(v) => put(buf, &v.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => put(buf, &v.to_ne_bytes()),
            TunType(v) => put(buf, &[*v]),
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => put(buf, &v.to_ne_bytes()),
            Stats(n) | Stats64(n) => n.emit_value(buf),
            Other(o) => o.emit_value(buf),
        }
    }
}

/// What the kernel needs to find a destination (DEL_DEST): address, port, and the family when
/// it differs from the service's.
pub fn key_attrs(dest_addr: IpAddr, port: u16, svc_af: Af) -> Vec<DestAttr> {
    let mut attrs = vec![
        DestAttr::Addr(InetAddr::from_ip(dest_addr)),
        DestAttr::Port(port),
    ];
    if Af::of(&dest_addr) != svc_af {
        attrs.push(DestAttr::AddrFamily(Af::of(&dest_addr).to_raw()));
    }
    attrs
}

/// Tunnel attributes are sent only when they say something (TUNNEL mode with a non-default
/// setting), so kernels older than 5.2 keep working for everything else.
pub fn full_attrs(dest: &Destination, svc_af: Af) -> Vec<DestAttr> {
    let mut attrs = key_attrs(dest.addr, dest.port, svc_af);
    attrs.push(DestAttr::FwdMethod(dest.fwd.to_raw()));
    attrs.push(DestAttr::Weight(dest.weight));
    attrs.push(DestAttr::UThresh(dest.u_thresh));
    attrs.push(DestAttr::LThresh(dest.l_thresh));
    if dest.fwd == FwdMethod::Tunnel && dest.tunnel != Tunnel::default() {
        attrs.push(DestAttr::TunType(dest.tunnel.tun_type.to_raw()));
        attrs.push(DestAttr::TunPort(dest.tunnel.port));
        if dest.tunnel.flags != 0 {
            attrs.push(DestAttr::TunFlags(dest.tunnel.flags));
        }
    }
    attrs
}

/// Build the model from a destination's attributes; `svc_af` is the family of its service
/// (used when ADDR_FAMILY is absent).
pub fn to_dest(attrs: &[DestAttr], svc_af: Af) -> Result<DestStatus, WireError> {
    let mut addr = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = 0;
    let mut u_thresh = 0;
    let mut l_thresh = 0;
    let mut active = 0;
    let mut inact = 0;
    let mut persist = 0;
    let mut af = svc_af;
    let mut tunnel = Tunnel::default();
    let mut stats = None;
    let mut stats64 = None;
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = *v,
            DestAttr::UThresh(v) => u_thresh = *v,
            DestAttr::LThresh(v) => l_thresh = *v,
            DestAttr::ActiveConns(v) => active = *v,
            DestAttr::InactConns(v) => inact = *v,
            DestAttr::PersistConns(v) => persist = *v,
            DestAttr::Stats(n) => stats = Some(to_stats(n.iter())),
            DestAttr::Stats64(n) => stats64 = Some(to_stats(n.iter())),
            DestAttr::AddrFamily(v) => {
                af = Af::from_raw(*v).ok_or(WireError::BadValue {
                    attr: "IPVS_DEST_ATTR_ADDR_FAMILY",
                    value: u64::from(*v),
                })?
            }
            DestAttr::TunType(v) => {
                tunnel.tun_type = TunType::from_raw(*v).ok_or(WireError::BadValue {
                    attr: "IPVS_DEST_ATTR_TUN_TYPE",
                    value: u64::from(*v),
                })?
            }
            DestAttr::TunPort(v) => tunnel.port = *v,
            DestAttr::TunFlags(v) => tunnel.flags = *v,
            DestAttr::Other(_) => {}
        }
    }
    let addr = addr.ok_or(WireError::MissingAttr {
        object: "destination",
        attr: "IPVS_DEST_ATTR_ADDR",
    })?;
    let ip = match af {
        Af::Inet => IpAddr::V4(addr.v4()),
        Af::Inet6 => IpAddr::V6(addr.v6().ok_or(WireError::BadAttrLength {
            attr: "IPVS_DEST_ATTR_ADDR",
            expected: 16,
            got: 4,
        })?),
    };
    let raw_fwd = fwd.ok_or(WireError::MissingAttr {
        object: "destination",
        attr: "IPVS_DEST_ATTR_FWD_METHOD",
    })?;
    let fwd = crate::model::FwdMethod::from_raw(raw_fwd).ok_or(WireError::BadValue {
        attr: "IPVS_DEST_ATTR_FWD_METHOD",
        value: u64::from(raw_fwd),
    })?;
    Ok(DestStatus {
        dest: Destination {
            addr: ip,
            port: port.ok_or(WireError::MissingAttr {
                object: "destination",
                attr: "IPVS_DEST_ATTR_PORT",
            })?,
            fwd,
            weight,
            u_thresh,
            l_thresh,
            tunnel,
        },
        active_conns: active,
        inact_conns: inact,
        persist_conns: persist,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}
