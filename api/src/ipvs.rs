//! The kernel IPVS table as vgwd reads it (`ListIpvs()`).

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

/// `ListIpvs()`: the whole table, in the order `ipvsadm -Ln` sorts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsTable {
    /// IPVS version reported by the kernel, `"1.2.1"`.
    pub version: String,
    /// Connection hash table size (the `size=` in ipvsadm's header).
    pub conn_tab_size: u32,
    /// `"mainline"` or `"fullnat"` (the Alibaba local-address dialect).
    pub dialect: String,
    /// Virtual services.
    pub services: Vec<IpvsService>,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsService {
    /// `"inet"` or `"inet6"`.
    pub family: String,
    /// `"tcp"`, `"udp"` or `"sctp"`; `""` for a firewall-mark service.
    pub protocol: String,
    /// Virtual address; `""` for a firewall-mark service.
    pub address: String,
    /// Virtual port; 0 for a firewall-mark service.
    pub port: u16,
    /// Firewall mark; 0 for an address/port service.
    pub fwmark: u32,
    /// Scheduler name.
    pub scheduler: String,
    /// Scheduler flags by ipvsadm's names (`"sh-fallback"`, `"mh-port"`, `"flag-1"`).
    pub sched_flags: Vec<String>,
    /// Persistence timeout in seconds; 0 = not persistent.
    pub persistent_secs: u32,
    /// Persistence granularity: a dotted mask for IPv4 (`"255.255.255.255"`), a prefix length
    /// for IPv6 (`"128"`).
    pub netmask: String,
    /// Persistence engine (`"sip"`), `""` for none.
    pub pe_name: String,
    /// One-packet scheduling.
    pub one_packet: bool,
    /// Local addresses of a FULLNAT service (empty for mainline forwarding methods).
    pub local_addresses: Vec<IpvsLocalAddress>,
    /// Totals since the service was created.
    pub stats: IpvsStats,
    /// Current rates (kernel estimator, 2 s average).
    pub rates: IpvsRates,
    /// Real servers (destinations).
    pub dests: Vec<IpvsDest>,
}

/// One FULLNAT local address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsLocalAddress {
    /// The local (source) address used towards the reals.
    pub address: String,
    /// Connections using it.
    pub conns: u32,
    /// Times a local port was already in use.
    pub port_conflicts: u64,
}

/// One destination (real server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsDest {
    /// Real server address.
    pub address: String,
    /// Real server port.
    pub port: u16,
    /// ipvsadm's name of the forwarding method: `"Masq"`, `"Local"`, `"Tunnel"`, `"Route"`,
    /// `"FullNat"`.
    pub forward: String,
    /// Weight in the kernel.
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold.
    pub l_threshold: u32,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistence templates pointing here.
    pub persist_conns: u32,
    /// Totals.
    pub stats: IpvsStats,
    /// Rates.
    pub rates: IpvsRates,
}

/// Counters since creation (ipvsadm `--stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsStats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in (client to real).
    pub in_packets: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
}

/// Rates per second (ipvsadm `--rate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct IpvsRates {
    /// Connections per second.
    pub cps: u64,
    /// Packets in per second.
    pub in_pps: u64,
    /// Packets out per second.
    pub out_pps: u64,
    /// Bytes in per second.
    pub in_bps: u64,
    /// Bytes out per second.
    pub out_bps: u64,
}
