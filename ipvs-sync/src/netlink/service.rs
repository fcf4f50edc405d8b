//! IPVS_SVC_ATTR_*: a virtual service, nested in IPVS_CMD_ATTR_SERVICE.
//!
//! A service is identified either by (AF, PROTOCOL, ADDR, PORT) or by (AF, FWMARK)
//! (include/uapi/linux/ip_vs.h). Attribute 11 is PE_NAME (a string) in mainline but EST_TIMEOUT
//! (u32 seconds) in the Alibaba FULLNAT v3 kernel; the dialect decides.

use std::net::IpAddr;

use netlink_packet_core::{DefaultNla, Nla};

use super::dialect::{Dialect, SvcAttr11};
use super::nla::{
    get_be16, get_string, get_u16, get_u32, nested, put, put_string, string_len, InetAddr, Nested,
    RawNla,
};
use super::stats::{to_stats, StatsAttr};
use super::WireError;
use crate::model::{Af, Protocol, Service, ServiceFlags, ServiceKey, ServiceStatus};

pub const IPVS_SVC_ATTR_AF: u16 = 1;
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// Mainline: persistence engine name.
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// Alibaba FULLNAT v3: established timeout (same number as PE_NAME).
pub const IPVS_SVC_ATTR_EST_TIMEOUT: u16 = 11;
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

/// Longest scheduler / PE name the kernel accepts, terminator excluded
/// (IP_VS_SCHEDNAME_MAXLEN 16, IP_VS_PENAME_MAXLEN 16).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SvcAttr {
    Af(u16),
    Protocol(u16),
    Addr(InetAddr),
    /// Host order here; big-endian on the wire.
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    /// `struct ip_vs_flags { __u32 flags; __u32 mask; }`
    Flags {
        flags: u32,
        mask: u32,
    },
    Timeout(u32),
    Netmask(u32),
    Stats(Nested<StatsAttr>),
    PeName(String),
    EstTimeout(u32),
    Stats64(Nested<StatsAttr>),
    Other(DefaultNla),
}

impl SvcAttr {
    pub(crate) fn parse(nla: RawNla<'_>, dialect: &Dialect) -> Result<SvcAttr, WireError> {
        use SvcAttr::*;
        let v = nla.value;
        let nested_kind = matches!(nla.kind(), IPVS_SVC_ATTR_STATS | IPVS_SVC_ATTR_STATS64);
        if nla.flags() != 0 && !(nested_kind && nla.nested()) {
            return Ok(Other(nla.to_default()));
        }
        Ok(match nla.kind() {
            IPVS_SVC_ATTR_AF => Af(get_u16(v, "IPVS_SVC_ATTR_AF")?),
            IPVS_SVC_ATTR_PROTOCOL => Protocol(get_u16(v, "IPVS_SVC_ATTR_PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => Addr(InetAddr::parse(v, "IPVS_SVC_ATTR_ADDR")?),
            IPVS_SVC_ATTR_PORT => Port(get_be16(v, "IPVS_SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => Fwmark(get_u32(v, "IPVS_SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => SchedName(get_string(v, "IPVS_SVC_ATTR_SCHED_NAME")?),
            IPVS_SVC_ATTR_FLAGS => {
                let flags = v.get(..4).ok_or(WireError::BadAttrLength {
                    attr: "IPVS_SVC_ATTR_FLAGS",
                    expected: 8,
                    got: v.len(),
                })?;
                let mask = v.get(4..).ok_or(WireError::BadAttrLength {
                    attr: "IPVS_SVC_ATTR_FLAGS",
                    expected: 8,
                    got: v.len(),
                })?;
                Flags {
                    flags: get_u32(flags, "IPVS_SVC_ATTR_FLAGS")?,
                    mask: get_u32(mask, "IPVS_SVC_ATTR_FLAGS")?,
                }
            }
            IPVS_SVC_ATTR_TIMEOUT => Timeout(get_u32(v, "IPVS_SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => Netmask(get_u32(v, "IPVS_SVC_ATTR_NETMASK")?),
            IPVS_SVC_ATTR_STATS => Stats(nested(&nla, "IPVS_SVC_ATTR_STATS", StatsAttr::parse)?),
            IPVS_SVC_ATTR_STATS64 => {
                Stats64(nested(&nla, "IPVS_SVC_ATTR_STATS64", StatsAttr::parse)?)
            }
            11 => match dialect.svc_attr_11() {
                SvcAttr11::PeName => PeName(get_string(v, "IPVS_SVC_ATTR_PE_NAME")?),
                SvcAttr11::EstTimeout => EstTimeout(get_u32(v, "IPVS_SVC_ATTR_EST_TIMEOUT")?),
                SvcAttr11::Raw => Other(nla.to_default()),
            },
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Fwmark(_) | Timeout(_) | Netmask(_) | EstTimeout(_) => 4,
            Addr(a) => a.as_bytes().len(),
            SchedName(s) | PeName(s) => string_len(s),
            Flags { .. } => 8,
            Stats(n) | Stats64(n) => n.value_len(),
            Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use SvcAttr::*;
        match self {
            Af(_) => IPVS_SVC_ATTR_AF,
            Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Addr(_) => IPVS_SVC_ATTR_ADDR,
            Port(_) => IPVS_SVC_ATTR_PORT,
            Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Flags { .. } => IPVS_SVC_ATTR_FLAGS,
            Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Stats(n) => n.kind(IPVS_SVC_ATTR_STATS),
            PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            EstTimeout(_) => IPVS_SVC_ATTR_EST_TIMEOUT,
            Stats64(n) => n.kind(IPVS_SVC_ATTR_STATS64),
            Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => put(buf, &v.to_ne_bytes()),
            Port(v) => put(buf, &v.to_be_bytes()),
            Fwmark(v) | Timeout(v) | Netmask(v) | EstTimeout(v) => put(buf, &v.to_ne_bytes()),
            Addr(a) => put(buf, a.as_bytes()),
            SchedName(s) | PeName(s) => put_string(buf, s),
            Flags { flags, mask } => {
                put(buf, &flags.to_ne_bytes());
                if let Some(rest) = buf.get_mut(4..) {
                    put(rest, &mask.to_ne_bytes());
                }
            }
            Stats(n) | Stats64(n) => n.emit_value(buf),
            Other(o) => o.emit_value(buf),
        }
    }
}

/// NETMASK carries an IPv4 mask as a `__be32` (network byte order in a u32 attribute) but an
/// IPv6 prefix length as a plain u32 (ip_vs_ctl.c: `svc->netmask` is compared with
/// `inet_mask_len()`-style masks for AF_INET, and must be 1..128 for AF_INET6). The model
/// keeps the IPv4 mask in host order (0xffffff00 = /24).
pub fn netmask_to_wire(af: Af, netmask: u32) -> u32 {
    match af {
        Af::Inet => u32::from_ne_bytes(netmask.to_be_bytes()),
        Af::Inet6 => netmask,
    }
}

/// The inverse of [`netmask_to_wire`].
pub fn netmask_from_wire(af: Af, raw: u32) -> u32 {
    match af {
        Af::Inet => u32::from_be_bytes(raw.to_ne_bytes()),
        Af::Inet6 => raw,
    }
}

/// The identifying attributes of a service (what DEL_SERVICE, GET_DEST and the dest commands
/// carry).
pub fn key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            SvcAttr::Af(Af::of(addr).to_raw()),
            SvcAttr::Protocol(protocol.to_raw()),
            SvcAttr::Addr(InetAddr::from_ip(*addr)),
            SvcAttr::Port(*port),
        ],
        ServiceKey::Fwmark { af, mark } => {
            vec![SvcAttr::Af(af.to_raw()), SvcAttr::Fwmark(*mark)]
        }
    }
}

/// Every attribute NEW_SERVICE / SET_SERVICE need, in the order ipvsadm sends them.
///
/// The kernel (ip_vs_genl_parse_service) requires SCHED_NAME, FLAGS, TIMEOUT and NETMASK when
/// the full service is parsed; PERSISTENT follows the timeout the way ipvsadm sets it.
pub fn full_attrs(svc: &Service, dialect: &Dialect) -> Vec<SvcAttr> {
    let mut attrs = key_attrs(&svc.key);
    attrs.push(SvcAttr::SchedName(svc.scheduler.clone()));
    if let Some(pe) = &svc.pe_name {
        if dialect.svc_attr_11() == SvcAttr11::PeName {
            attrs.push(SvcAttr::PeName(pe.clone()));
        }
    }
    let mut flags = svc.flags.configured().0;
    if svc.timeout > 0 {
        flags |= ServiceFlags::PERSISTENT;
    } else {
        flags &= !ServiceFlags::PERSISTENT;
    }
    attrs.push(SvcAttr::Flags {
        flags,
        mask: !ServiceFlags::HASHED,
    });
    attrs.push(SvcAttr::Timeout(svc.timeout));
    attrs.push(SvcAttr::Netmask(netmask_to_wire(svc.key.af(), svc.netmask)));
    if let Some(est) = svc.est_timeout {
        if dialect.svc_attr_11() == SvcAttr11::EstTimeout {
            attrs.push(SvcAttr::EstTimeout(est));
        }
    }
    attrs
}

/// Build the model from a service's attributes as the kernel reports them.
pub fn to_service(attrs: &[SvcAttr]) -> Result<ServiceStatus, WireError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = 0u32;
    let mut timeout = 0;
    let mut netmask = None;
    let mut pe_name = None;
    let mut est_timeout = None;
    let mut stats = None;
    let mut stats64 = None;
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => protocol = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(v) => sched = Some(v.clone()),
            SvcAttr::Flags { flags: f, .. } => flags = *f,
            SvcAttr::Timeout(v) => timeout = *v,
            SvcAttr::Netmask(v) => netmask = Some(*v),
            SvcAttr::PeName(v) => pe_name = Some(v.clone()),
            SvcAttr::EstTimeout(v) => est_timeout = Some(*v),
            SvcAttr::Stats(n) => stats = Some(to_stats(n.iter())),
            SvcAttr::Stats64(n) => stats64 = Some(to_stats(n.iter())),
            SvcAttr::Other(_) => {}
        }
    }
    let raw_af = af.ok_or(WireError::MissingAttr {
        object: "service",
        attr: "IPVS_SVC_ATTR_AF",
    })?;
    let af = Af::from_raw(raw_af).ok_or(WireError::BadValue {
        attr: "IPVS_SVC_ATTR_AF",
        value: u64::from(raw_af),
    })?;
    let key = match fwmark.filter(|m| *m != 0) {
        Some(mark) => ServiceKey::Fwmark { af, mark },
        None => {
            let addr = addr.ok_or(WireError::MissingAttr {
                object: "service",
                attr: "IPVS_SVC_ATTR_ADDR",
            })?;
            let ip = match af {
                Af::Inet => IpAddr::V4(addr.v4()),
                Af::Inet6 => IpAddr::V6(addr.v6().ok_or(WireError::BadAttrLength {
                    attr: "IPVS_SVC_ATTR_ADDR",
                    expected: 16,
                    got: 4,
                })?),
            };
            ServiceKey::Addr {
                protocol: Protocol::from_raw(protocol.ok_or(WireError::MissingAttr {
                    object: "service",
                    attr: "IPVS_SVC_ATTR_PROTOCOL",
                })?),
                addr: ip,
                port: port.ok_or(WireError::MissingAttr {
                    object: "service",
                    attr: "IPVS_SVC_ATTR_PORT",
                })?,
            }
        }
    };
    let service = Service {
        key,
        scheduler: sched.ok_or(WireError::MissingAttr {
            object: "service",
            attr: "IPVS_SVC_ATTR_SCHED_NAME",
        })?,
        flags: ServiceFlags(flags).configured(),
        timeout,
        netmask: netmask
            .map(|m| netmask_from_wire(af, m))
            .unwrap_or_else(|| crate::model::default_netmask(af)),
        pe_name,
        est_timeout,
    };
    Ok(ServiceStatus {
        service,
        raw_flags: flags,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}
