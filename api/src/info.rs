//! Node, VIP, service and real-server views.

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

/// `Status()`: one screen about the whole node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Status {
    /// `[node] name` from the configuration.
    pub node: String,
    /// vgwd's version (`CARGO_PKG_VERSION` of the daemon).
    pub version: String,
    /// Seconds since vgwd started.
    pub uptime_secs: u64,
    /// Path of the configuration file in use.
    pub config_path: String,
    /// Starts at 1, +1 on every successful reload.
    pub config_generation: u64,
    /// `"ipvs"` or `"none"` (announce-only node).
    pub dataplane: String,
    /// Every health target has had its first check (nothing is announced before that).
    pub first_round_done: bool,
    /// The whole node is administratively drained (`vgwctl drain node`).
    pub node_drained: bool,
    /// VIPs currently announced (by at least one protocol).
    pub vips_announced: u32,
    /// VIPs currently withdrawn (quorum lost, first round pending, node unhealthy).
    pub vips_withdrawn: u32,
    /// VIPs administratively drained.
    pub vips_drained: u32,
    /// Routing neighbours (BGP and OSPF) in Established / Full state.
    pub neighbors_up: u32,
    /// Routing neighbours configured or discovered.
    pub neighbors_total: u32,
    /// Conditions an operator should look at; empty when all is well.
    pub alarms: Vec<Alarm>,
}

/// A raised alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Alarm {
    /// Stable machine name, e.g. `"threshold_protection"`, `"ipvs_unavailable"`.
    pub kind: String,
    /// What it is about: a service name, a VIP, an interface, or `""` for the node.
    pub subject: String,
    /// One sentence for the operator.
    pub message: String,
    /// Seconds since it was raised.
    pub since_secs: u64,
}

/// `ListVips()` / `GetVip(address)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct VipInfo {
    /// The VIP as configured (`192.0.2.10`, `2001:db8::10`).
    pub address: String,
    /// `"announced"`, `"degraded"` (announced with standby attributes), `"withdrawn"`,
    /// `"drained"` (admin drain), `"pending"` (first check round not finished).
    pub state: String,
    /// Why it is in that state, for people (`"2/3 reals healthy in web"`).
    pub reason: String,
    /// Protocols it is configured to be announced with (`["bgp", "ospf"]`).
    pub announce: Vec<String>,
    /// Protocols it is announced with right now.
    pub announced_via: Vec<String>,
    /// Services on this VIP, by name.
    pub services: Vec<String>,
    /// Communities attached while announced (`"65000:100"`).
    pub communities: Vec<String>,
    /// MED sent with the route, `-1` when none is configured.
    pub med: i64,
    /// Seconds since `state` last changed.
    pub in_state_secs: u64,
}

/// `ListServices()` / `GetService(name)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ServiceInfo {
    /// `[[service]] name`.
    pub name: String,
    /// The VIP it listens on.
    pub vip: String,
    /// Port, 0 for a firewall-mark service.
    pub port: u16,
    /// `"tcp"`, `"udp"` or `"sctp"`.
    pub protocol: String,
    /// IPVS scheduler name (`"wrr"`).
    pub scheduler: String,
    /// `"dr"`, `"tun"`, `"nat"` or `"fullnat"`.
    pub forward: String,
    /// `"up"` (quorum held), `"down"` (quorum lost) or `"protected"` (threshold protection
    /// engaged: failing reals kept in rotation).
    pub state: String,
    /// Healthy reals needed to keep the VIP announced.
    pub quorum: u32,
    /// Reals currently healthy.
    pub healthy: u32,
    /// Health check type (`"http"`, `"tcp"`, ...), `""` when the service has no check.
    pub check: String,
    /// The reals, in configuration order.
    pub reals: Vec<RealInfo>,
}

/// One real server of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RealInfo {
    /// Address of the real server.
    pub address: String,
    /// Port of the real server (0: same as the service).
    pub port: u16,
    /// `"up"`, `"down"` or `"unknown"` (no check result yet).
    pub health: String,
    /// `"enabled"` or `"drained"` (admin drain).
    pub admin: String,
    /// Weight from the configuration.
    pub configured_weight: u32,
    /// Weight programmed into IPVS now (0 while down/quiesced/drained).
    pub effective_weight: u32,
    /// Outcome of the last check: `"ok"`, `"fail"`, `"timeout"`, or `""` before the first one.
    pub last_result: String,
    /// Duration of the last check in microseconds (0 before the first one).
    pub last_latency_us: u64,
    /// Why the last check failed or what it saw (`"HTTP 503"`, `"connection refused"`).
    pub last_reason: String,
    /// Seconds since the last check finished (0 before the first one).
    pub last_check_secs: u64,
    /// Seconds since `health` last changed.
    pub in_state_secs: u64,
}

/// What `Drain`/`Undrain` act on. On the bus it is the string `"vip"`, `"real"` or `"node"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[zvariant(signature = "s")]
#[serde(rename_all = "lowercase")]
pub enum DrainKind {
    /// One VIP: target is its address.
    Vip,
    /// One real server: target is `SERVICE/ADDR[:PORT]` (`web/10.1.1.1:8080`,
    /// `web/[2001:db8::1]:80`).
    Real,
    /// The whole node: target is ignored (send `""`).
    Node,
}

impl DrainKind {
    /// The name on the bus.
    pub fn as_str(self) -> &'static str {
        match self {
            DrainKind::Vip => "vip",
            DrainKind::Real => "real",
            DrainKind::Node => "node",
        }
    }
}

impl std::fmt::Display for DrainKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A drain kind that is not `vip`, `real` or `node`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown drain kind {0:?}: expected \"vip\", \"real\" or \"node\"")]
pub struct ParseDrainKindError(pub String);

impl std::str::FromStr for DrainKind {
    type Err = ParseDrainKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vip" => Ok(DrainKind::Vip),
            "real" => Ok(DrainKind::Real),
            "node" => Ok(DrainKind::Node),
            other => Err(ParseDrainKindError(other.to_owned())),
        }
    }
}

/// What `Reload()` answers when the new configuration was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReloadOutcome {
    /// The configuration generation now running.
    pub generation: u64,
    /// One line per change applied (`"+ service api"`, `"~ real web/10.1.1.2:8080 weight 100 -> 50"`),
    /// empty when the file had not changed.
    pub changes: Vec<String>,
}
