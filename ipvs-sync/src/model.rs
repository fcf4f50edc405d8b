//! Plain IPVS objects, independent of the wire format.
//!
//! These are what the reconciler compares and what the client returns from dumps. The
//! configuration part of an object (what an operator sets) is kept apart from what the kernel
//! counts (connections, stats), so that "desired == actual" is a plain `==`.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `AF_INET` as the kernel numbers it.
pub const AF_INET: u16 = libc::AF_INET as u16;
/// `AF_INET6` as the kernel numbers it.
pub const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Address family of a service or a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Af {
    Inet,
    Inet6,
}

impl Af {
    pub fn of(addr: &IpAddr) -> Af {
        match addr {
            IpAddr::V4(_) => Af::Inet,
            IpAddr::V6(_) => Af::Inet6,
        }
    }

    pub fn to_raw(self) -> u16 {
        match self {
            Af::Inet => AF_INET,
            Af::Inet6 => AF_INET6,
        }
    }

    pub fn from_raw(raw: u16) -> Option<Af> {
        match raw {
            AF_INET => Some(Af::Inet),
            AF_INET6 => Some(Af::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// A protocol number this crate has no name for.
    Other(u16),
}

impl Protocol {
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(n) => n,
        }
    }

    pub fn from_raw(raw: u16) -> Protocol {
        match i32::from(raw) {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(raw),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => write!(f, "tcp"),
            Protocol::Udp => write!(f, "udp"),
            Protocol::Sctp => write!(f, "sctp"),
            Protocol::Other(n) => write!(f, "proto{n}"),
        }
    }
}

/// What identifies a virtual service to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKey {
    /// (AF, PROTOCOL, ADDR, PORT); the family follows the address.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// (AF, FWMARK).
    Fwmark { af: Af, mark: u32 },
}

impl ServiceKey {
    pub fn af(&self) -> Af {
        match self {
            ServiceKey::Addr { addr, .. } => Af::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// Reads like `ipvsadm -Ln`: `TCP 192.0.2.10:80`, `TCP [2001:db8::1]:80`, `FWM 7 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{} {a}:{port}", protocol.to_string().to_uppercase()),
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{} [{a}]:{port}", protocol.to_string().to_uppercase()),
            ServiceKey::Fwmark { af: Af::Inet, mark } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                af: Af::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on every service in its hash table; never configured.
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    /// sh-fallback / mh-fallback.
    pub const SCHED1: u32 = 0x0008;
    /// sh-port / mh-port.
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
    /// FULLNAT dialect (Alibaba LVS v3) only.
    pub const SYNPROXY: u32 = 0x8000;

    /// The flags an operator sets: without the kernel-owned HASHED bit, and without PERSISTENT,
    /// which this crate derives from the persistence timeout (set iff timeout > 0).
    pub fn configured(self) -> ServiceFlags {
        ServiceFlags(self.0 & !(Self::HASHED | Self::PERSISTENT))
    }

    pub fn contains(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
}

/// A virtual service's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wrr`, `mh`, ...).
    pub scheduler: String,
    /// Without HASHED and PERSISTENT: the latter follows `timeout` (sent iff timeout > 0).
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (0 = not persistent).
    pub timeout: u32,
    /// Persistence netmask: a prefix mask for IPv4 (`0xffffffff` = /32), a prefix length for IPv6.
    pub netmask: u32,
    /// Persistence engine (mainline only, e.g. `sip`).
    pub pe_name: Option<String>,
    /// Established-connection timeout (FULLNAT dialect v3 only).
    pub est_timeout: Option<u32>,
}

impl Service {
    /// A service with the kernel's defaults for everything but the key and scheduler.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        Service {
            key,
            scheduler: scheduler.to_string(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: default_netmask(key.af()),
            pe_name: None,
            est_timeout: None,
        }
    }
}

/// The netmask the kernel reports for a service created without one.
pub fn default_netmask(af: Af) -> u32 {
    match af {
        Af::Inet => 0xffff_ffff,
        Af::Inet6 => 128,
    }
}

/// Forwarding method (`IP_VS_CONN_F_*` in FWD_METHOD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FwdMethod {
    /// NAT.
    Masq,
    Local,
    /// IP-in-IP / GUE / GRE.
    Tunnel,
    /// Direct routing.
    Route,
    Bypass,
    /// FULLNAT dialect only (value 5).
    Fullnat,
}

impl FwdMethod {
    pub const MASK: u32 = 0x7;

    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel => 2,
            FwdMethod::Route => 3,
            FwdMethod::Bypass => 4,
            FwdMethod::Fullnat => 5,
        }
    }

    pub fn from_raw(raw: u32) -> Option<FwdMethod> {
        match raw & Self::MASK {
            0 => Some(FwdMethod::Masq),
            1 => Some(FwdMethod::Local),
            2 => Some(FwdMethod::Tunnel),
            3 => Some(FwdMethod::Route),
            4 => Some(FwdMethod::Bypass),
            5 => Some(FwdMethod::Fullnat),
            _ => None,
        }
    }
}

/// Tunnel encapsulation of a TUNNEL destination (5.2+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TunType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunType {
    pub fn to_raw(self) -> u8 {
        match self {
            TunType::Ipip => 0,
            TunType::Gue => 1,
            TunType::Gre => 2,
        }
    }

    pub fn from_raw(raw: u8) -> Option<TunType> {
        match raw {
            0 => Some(TunType::Ipip),
            1 => Some(TunType::Gue),
            2 => Some(TunType::Gre),
            _ => None,
        }
    }
}

/// Tunnel flags: 1 CSUM, 2 REMCSUM (5.3+).
pub const TUN_F_CSUM: u16 = 0x1;
pub const TUN_F_REMCSUM: u16 = 0x2;

/// Tunnel settings; the kernel reports them for every destination but uses them only in
/// TUNNEL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Tunnel {
    pub tun_type: TunType,
    /// UDP port for GUE (host order here, big-endian on the wire).
    pub port: u16,
    pub flags: u16,
}

/// A real server behind a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub fwd: FwdMethod,
    pub weight: u32,
    pub u_thresh: u32,
    pub l_thresh: u32,
    /// Used in TUNNEL mode only; compared only then.
    pub tunnel: Tunnel,
}

impl Destination {
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod, weight: u32) -> Destination {
        Destination {
            addr,
            port,
            fwd,
            weight,
            u_thresh: 0,
            l_thresh: 0,
            tunnel: Tunnel::default(),
        }
    }

    /// What identifies a destination inside its service.
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }

    /// Whether two destinations with the same key are configured alike.
    pub fn same_config(&self, other: &Destination) -> bool {
        self.fwd == other.fwd
            && self.weight == other.weight
            && self.u_thresh == other.u_thresh
            && self.l_thresh == other.l_thresh
            && (self.fwd != FwdMethod::Tunnel || self.tunnel == other.tunnel)
    }
}

/// (address, port) of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Counters of a service or destination (from STATS64 when present, else STATS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: Service,
    /// Raw flags as reported (with HASHED).
    pub raw_flags: u32,
    pub stats: Stats,
}

/// A destination as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestStatus {
    pub dest: Destination,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
}

/// Sync daemon role (DAEMON_ATTR_STATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    pub fn from_raw(raw: u32) -> Option<DaemonState> {
        match raw {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// Kernel sync daemon settings (and state, when read back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonConfig {
    pub state: DaemonState,
    /// Multicast interface (< 16 bytes).
    pub mcast_ifn: String,
    pub sync_id: u32,
    /// UDP payload size; `None` = kernel default (MTU based).
    pub sync_maxlen: Option<u16>,
    /// Multicast group, v4 or v6; `None` = 224.0.0.81.
    pub mcast_group: Option<IpAddr>,
    /// Base port; `None` = 8848.
    pub mcast_port: Option<u16>,
    /// TTL 1..255; `None` = 1.
    pub mcast_ttl: Option<u8>,
}

impl DaemonConfig {
    pub fn new(state: DaemonState, mcast_ifn: &str, sync_id: u32) -> DaemonConfig {
        DaemonConfig {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            sync_id,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// A FULLNAT local address of a service (LADDR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LocalAddress {
    pub addr: IpAddr,
    /// Read back only.
    pub port_conflict: u64,
    /// Read back only.
    pub conn_counts: u32,
}

/// Connection timeouts (SET_CONFIG/GET_CONFIG), seconds; 0 in a SET means "leave as is".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// GET_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}
