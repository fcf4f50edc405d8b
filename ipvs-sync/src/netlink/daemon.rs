//! IPVS_DAEMON_ATTR_*: the kernel's connection-sync daemon, nested in IPVS_CMD_ATTR_DAEMON.
//!
//! STATE, MCAST_IFN and SYNC_ID are mandatory for NEW_DAEMON; DEL_DAEMON needs only STATE.
//! Attributes 4..8 (SYNC_MAXLEN, MCAST_GROUP, MCAST_GROUP6, MCAST_PORT, MCAST_TTL) arrived in 4.3.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Nla};

use super::nla::{get_string, get_u16, get_u32, get_u8, put, put_string, string_len, RawNla};
use super::WireError;
use crate::model::{DaemonConfig, DaemonState};

pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

/// IP_VS_IFNAME_MAXLEN: the interface name must be shorter than this.
pub const IP_VS_IFNAME_MAXLEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttr {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    /// `struct in_addr` (network order on the wire).
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    /// Host order u16 (the kernel converts it with htons when it binds).
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl DaemonAttr {
    pub(crate) fn parse(nla: RawNla<'_>) -> Result<DaemonAttr, WireError> {
        use DaemonAttr::*;
        if nla.flags() != 0 {
            return Ok(Other(nla.to_default()));
        }
        let v = nla.value;
        Ok(match nla.kind() {
            IPVS_DAEMON_ATTR_STATE => State(get_u32(v, "IPVS_DAEMON_ATTR_STATE")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => McastIfn(get_string(v, "IPVS_DAEMON_ATTR_MCAST_IFN")?),
            IPVS_DAEMON_ATTR_SYNC_ID => SyncId(get_u32(v, "IPVS_DAEMON_ATTR_SYNC_ID")?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => SyncMaxlen(get_u16(v, "IPVS_DAEMON_ATTR_SYNC_MAXLEN")?),
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let raw: [u8; 4] = v.try_into().map_err(|_| WireError::BadAttrLength {
                    attr: "IPVS_DAEMON_ATTR_MCAST_GROUP",
                    expected: 4,
                    got: v.len(),
                })?;
                McastGroup(Ipv4Addr::from(raw))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                let raw: [u8; 16] = v.try_into().map_err(|_| WireError::BadAttrLength {
                    attr: "IPVS_DAEMON_ATTR_MCAST_GROUP6",
                    expected: 16,
                    got: v.len(),
                })?;
                McastGroup6(Ipv6Addr::from(raw))
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => McastPort(get_u16(v, "IPVS_DAEMON_ATTR_MCAST_PORT")?),
            IPVS_DAEMON_ATTR_MCAST_TTL => McastTtl(get_u8(v, "IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => Other(nla.to_default()),
        })
    }
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => string_len(s),
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => IPVS_DAEMON_ATTR_STATE,
            McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => put(buf, &v.to_ne_bytes()),
            McastIfn(s) => put_string(buf, s),
            SyncMaxlen(v) | McastPort(v) => put(buf, &v.to_ne_bytes()),
            McastGroup(a) => put(buf, &a.octets()),
            McastGroup6(a) => put(buf, &a.octets()),
            McastTtl(v) => put(buf, &[*v]),
            Other(o) => o.emit_value(buf),
        }
    }
}

/// Attributes of NEW_DAEMON for `cfg`; optional ones only when set.
pub fn full_attrs(cfg: &DaemonConfig) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(cfg.state.to_raw()),
        DaemonAttr::McastIfn(cfg.mcast_ifn.clone()),
        DaemonAttr::SyncId(cfg.sync_id),
    ];
    if let Some(v) = cfg.sync_maxlen {
        attrs.push(DaemonAttr::SyncMaxlen(v));
    }
    match cfg.mcast_group {
        Some(IpAddr::V4(a)) => attrs.push(DaemonAttr::McastGroup(a)),
        Some(IpAddr::V6(a)) => attrs.push(DaemonAttr::McastGroup6(a)),
        None => {}
    }
    if let Some(v) = cfg.mcast_port {
        attrs.push(DaemonAttr::McastPort(v));
    }
    if let Some(v) = cfg.mcast_ttl {
        attrs.push(DaemonAttr::McastTtl(v));
    }
    attrs
}

/// A daemon as GET_DAEMON reports it. The kernel always sends every attribute it knows; a
/// group of 0.0.0.0 / :: means "not set".
pub fn to_daemon(attrs: &[DaemonAttr]) -> Result<DaemonConfig, WireError> {
    let mut state = None;
    let mut ifn = None;
    let mut sync_id = None;
    let mut cfg_maxlen = None;
    let mut group = None;
    let mut port = None;
    let mut ttl = None;
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => ifn = Some(v.clone()),
            DaemonAttr::SyncId(v) => sync_id = Some(*v),
            DaemonAttr::SyncMaxlen(v) => cfg_maxlen = Some(*v),
            DaemonAttr::McastGroup(a) if !a.is_unspecified() => group = Some(IpAddr::V4(*a)),
            DaemonAttr::McastGroup6(a) if !a.is_unspecified() => group = Some(IpAddr::V6(*a)),
            DaemonAttr::McastPort(v) => port = Some(*v),
            DaemonAttr::McastTtl(v) => ttl = Some(*v),
            _ => {}
        }
    }
    let raw_state = state.ok_or(WireError::MissingAttr {
        object: "sync daemon",
        attr: "IPVS_DAEMON_ATTR_STATE",
    })?;
    Ok(DaemonConfig {
        state: DaemonState::from_raw(raw_state).ok_or(WireError::BadValue {
            attr: "IPVS_DAEMON_ATTR_STATE",
            value: u64::from(raw_state),
        })?,
        mcast_ifn: ifn.ok_or(WireError::MissingAttr {
            object: "sync daemon",
            attr: "IPVS_DAEMON_ATTR_MCAST_IFN",
        })?,
        sync_id: sync_id.ok_or(WireError::MissingAttr {
            object: "sync daemon",
            attr: "IPVS_DAEMON_ATTR_SYNC_ID",
        })?,
        sync_maxlen: cfg_maxlen,
        mcast_group: group,
        mcast_port: port,
        mcast_ttl: ttl,
    })
}
