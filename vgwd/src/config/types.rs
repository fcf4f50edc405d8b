//! The validated configuration: plain types with every default applied. Nothing here can be
//! wrong any more; [`super::parse`] is the only way to build one from a file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{Community, LargeCommunity};

/// A whole validated configuration file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `[node]`.
    pub node: Node,
    /// `[api]`.
    pub api: Api,
    /// `[bgp]`, if present.
    pub bgp: Option<Bgp>,
    /// `[ospf]`, if present.
    pub ospf: Option<Ospf>,
    /// `[[vip]]`, in file order.
    pub vips: Vec<Vip>,
    /// `[[service]]`, in file order.
    pub services: Vec<Service>,
    /// `[metrics]`, if present.
    pub metrics: Option<Metrics>,
    /// `[sync]`, if present: the kernel's connection-sync daemons vgwd keeps running.
    pub sync: Option<Sync>,
    /// `[log]`.
    pub log: Log,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Node name; `None` means "use the host name".
    pub name: Option<String>,
    /// BGP identifier / OSPF router id. Required when `[bgp]` or `[ospf]` is present.
    pub router_id: Option<Ipv4Addr>,
    /// Interface the VIP addresses live on (default `vgw0`).
    pub vip_interface: String,
    /// `ipvs` (default) or `none` (announce-only node).
    pub dataplane: Dataplane,
    /// How long a drained VIP keeps being announced with GRACEFUL_SHUTDOWN before it is
    /// withdrawn; also used on SIGTERM (default 10s; 0 withdraws at once).
    pub drain_time: Duration,
}

/// What the node programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataplane {
    /// Kernel IPVS.
    Ipvs,
    /// Nothing: health only gates announcements.
    None,
}

/// `[api]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    /// `system`, `session`, or a D-Bus address.
    pub dbus: String,
    /// Unix group (besides root) allowed to change state over D-Bus.
    pub group: Option<String>,
}

/// `[bgp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bgp {
    /// Local AS number.
    pub asn: u32,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// Graceful-restart time in seconds; 0 = off.
    pub graceful_restart: u16,
    /// `[[bgp.neighbor]]`.
    pub neighbors: Vec<Neighbor>,
}

/// `[[bgp.neighbor]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    /// Name used in logs, metrics and the API.
    pub name: String,
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS number.
    pub remote_asn: u32,
    /// TCP-MD5 password (RFC 2385).
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// GTSM (RFC 5082).
    pub ttl_security: bool,
    /// Wait for the peer to connect.
    pub passive: bool,
    /// Peer TCP port (default 179).
    pub port: u16,
}

/// A kernel connection-sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncRole {
    /// Sends this node's connection state.
    Master,
    /// Receives the other nodes' connection state.
    Backup,
}

/// `[sync]`: IPVS connection synchronisation through the kernel's sync daemons (multicast on
/// `interface`). In an ECMP cluster every node is both master and backup (the default), so a
/// flow that the switches move to another node finds its connection there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sync {
    /// Multicast interface.
    pub interface: String,
    /// Sync id (0-255; a backup with a non-zero id accepts only messages with that id).
    pub sync_id: u8,
    /// Daemons to run, sorted, without duplicates.
    pub roles: Vec<SyncRole>,
    /// Multicast group (kernel default 224.0.0.81).
    pub group: Option<IpAddr>,
    /// UDP port (kernel default 8848).
    pub port: Option<u16>,
    /// Multicast TTL (kernel default 1).
    pub ttl: Option<u8>,
    /// Maximum sync message payload (kernel default: from the MTU).
    pub max_len: Option<u16>,
}

/// `[ospf]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ospf {
    /// Area id.
    pub area: Ipv4Addr,
    /// E2 metric of every VIP's AS-external LSA (default 20, FRR's default for external
    /// routes). A standby/degraded VIP adds its `as_path_prepend` to it; a draining VIP is
    /// announced with 0xFFFFFE so that any other node wins (RFC 2328 16.4).
    pub metric: u32,
    /// `[[ospf.interface]]`.
    pub interfaces: Vec<OspfInterface>,
}

/// `[[ospf.interface]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OspfInterface {
    /// Interface name.
    pub name: String,
    /// Network type.
    pub network: OspfNetwork,
    /// Seconds.
    pub hello_interval: u16,
    /// Seconds.
    pub dead_interval: u32,
    /// Output cost.
    pub cost: u16,
    /// Router priority for the DR election (0: never DR/BDR).
    pub priority: u8,
    /// Authentication.
    pub auth: OspfAuth,
}

/// OSPF network type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OspfNetwork {
    /// Broadcast (DR election).
    Broadcast,
    /// Point-to-point.
    PointToPoint,
}

/// OSPF authentication (RFC 2328 D.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OspfAuth {
    /// Null authentication.
    None,
    /// Simple password (at most 8 bytes).
    Simple {
        /// The password.
        #[serde(skip_serializing)]
        key: String,
    },
    /// Keyed MD5.
    Md5 {
        /// Key id.
        key_id: u8,
        /// The key (at most 16 bytes).
        #[serde(skip_serializing)]
        key: String,
    },
    /// HMAC-SHA (RFC 5709): `hmac-sha1`, `hmac-sha256`, `hmac-sha384`, `hmac-sha512`.
    HmacSha {
        /// Digest size in bits: 1 (SHA-1), 256, 384 or 512.
        bits: u16,
        /// Key id.
        key_id: u8,
        /// The key.
        #[serde(skip_serializing)]
        key: String,
    },
}

/// Routing protocols a VIP can be announced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteProtocol {
    /// BGP.
    Bgp,
    /// OSPF.
    Ospf,
}

/// `[[vip]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vip {
    /// The VIP (a /32 or /128).
    pub address: IpAddr,
    /// Protocols to announce it with.
    pub announce: Vec<RouteProtocol>,
    /// Standard communities.
    pub communities: Vec<Community>,
    /// Large communities.
    pub large_communities: Vec<LargeCommunity>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Attributes while degraded.
    pub standby: Standby,
    /// Drain time for this VIP (overrides `[node] drain_time`).
    pub drain_time: Duration,
}

/// `standby = { ... }` of a VIP: how to announce while degraded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Standby {
    /// Extra copies of the local AS prepended.
    pub as_path_prepend: u8,
    /// MED while degraded (default: the normal MED).
    pub med: Option<u32>,
}

/// `[[service]]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// The VIP it lives on.
    pub vip: IpAddr,
    /// Port.
    pub port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
    /// IPVS scheduler name.
    pub scheduler: String,
    /// Forwarding method.
    pub forward: Forward,
    /// FULLNAT local addresses.
    pub local_addresses: Vec<IpAddr>,
    /// Persistence timeout in seconds.
    pub persistence: Option<u32>,
    /// Healthy reals needed to keep the VIP announced.
    pub quorum: usize,
    /// Share of reals that may fail at once before protection keeps them in rotation.
    pub protect_threshold: Option<f64>,
    /// What a failed real becomes.
    pub on_failure: OnFailure,
    /// Time a recovered real takes to reach full weight (`None` = at once).
    pub slow_start: Option<Duration>,
    /// Real used alone while quorum is lost.
    pub sorry_server: Option<Real>,
    /// The health check.
    pub check: Check,
    /// The reals.
    pub reals: Vec<Real>,
}

/// Transport protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnel.
    Tun,
    /// Masquerading.
    Nat,
    /// FULLNAT (patched kernels).
    Fullnat,
}

/// What happens to a real whose check fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Weight 0: existing connections finish.
    Quiesce,
    /// Removed from IPVS.
    Remove,
}

/// `[[service.real]]` (and `sorry_server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Real {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Configured weight.
    pub weight: u32,
}

impl Real {
    /// `address:port`, with brackets for IPv6: the name of a real everywhere.
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// `[service.check]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What kind of check.
    pub kind: CheckKind,
    /// Port to check (default: the real's port).
    pub port: Option<u16>,
    /// Interval between checks.
    pub interval: Duration,
    /// Time a check may take.
    pub timeout: Duration,
    /// Successes needed to go up.
    pub rise: u32,
    /// Failures needed to go down.
    pub fall: u32,
}

/// Check kinds with their own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum CheckKind {
    /// TCP connect.
    Tcp,
    /// UDP: send a payload, expect an answer (or at least no ICMP unreachable).
    Udp {
        /// Payload to send.
        send: Option<String>,
        /// Expected answer prefix.
        expect: Option<String>,
    },
    /// HTTP GET.
    Http(HttpCheck),
    /// HTTPS GET.
    Https(HttpCheck),
    /// DNS query.
    Dns {
        /// Name to query.
        query: String,
        /// Record type (default A).
        query_type: String,
    },
    /// ICMP echo.
    Icmp,
    /// A command; exit status 0 = healthy.
    Exec {
        /// Program and arguments.
        command: Vec<String>,
    },
    /// A file whose existence means healthy.
    File {
        /// Path of the file.
        path: String,
    },
}

/// Settings of an HTTP or HTTPS check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpCheck {
    /// Request path.
    pub path: String,
    /// Host header.
    pub host: Option<String>,
    /// Accepted status codes.
    pub expect_status: Vec<u16>,
}

impl CheckKind {
    /// The `type` string of this kind.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Udp { .. } => "udp",
            CheckKind::Http(_) => "http",
            CheckKind::Https(_) => "https",
            CheckKind::Dns { .. } => "dns",
            CheckKind::Icmp => "icmp",
            CheckKind::Exec { .. } => "exec",
            CheckKind::File { .. } => "file",
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Where the Prometheus endpoint listens.
    pub listen: SocketAddr,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Log {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `vgwd=debug`.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The IPVS schedulers of mainline Linux.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos",
];
