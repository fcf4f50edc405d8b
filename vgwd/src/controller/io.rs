//! What goes into the controller and what comes out. Both sides are plain data (serde) so that
//! golden tests can record them as JSON lines.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::config::{Community, Config, Forward, LargeCommunity, Protocol, RouteProtocol};

/// One event for [`super::Controller::process`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The daemon started: put the VIP addresses in place.
    Start,
    /// A health-check transition of one real (after rise/fall), or its first result.
    Health {
        /// Service name.
        service: String,
        /// The real, `address:port`.
        real: SocketAddr,
        /// Up or down.
        healthy: bool,
    },
    /// The health checker finished its first round (or gave up waiting for it).
    FirstRoundDone,
    /// Admin drain.
    Drain(Target),
    /// Admin undrain.
    Undrain(Target),
    /// A new configuration (already validated).
    #[serde(skip)]
    Reload(Box<Config>),
    /// Whether this node can forward: IPVS usable, VIP interface up.
    Dataplane {
        /// IPVS answers (ignored with `dataplane = "none"`).
        ipvs: bool,
        /// The VIP interface exists and is up.
        vip_interface: bool,
    },
    /// A timer armed by [`Output::ArmTimer`] expired.
    Timer(Timer),
    /// SIGTERM: drain, withdraw, remove addresses, then [`Output::ShutdownComplete`].
    Shutdown,
}

/// What an admin command acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// One VIP.
    Vip(IpAddr),
    /// One real of one service.
    Real {
        /// Service name.
        service: String,
        /// The real.
        real: SocketAddr,
    },
    /// Every VIP of this node.
    Node,
}

/// Timers the controller asks the runtime to arm. `seq` tells a current timer from a stale one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// End of the GRACEFUL_SHUTDOWN phase of a drained VIP.
    VipDrain {
        /// The VIP.
        vip: IpAddr,
        /// Drain generation.
        seq: u64,
    },
    /// End of the GRACEFUL_SHUTDOWN phase of a node drain.
    NodeDrain {
        /// Drain generation.
        seq: u64,
    },
    /// Next slow-start step of a real.
    SlowStart {
        /// Service name.
        service: String,
        /// The real.
        real: SocketAddr,
        /// Ramp generation.
        seq: u64,
    },
    /// End of the drain phase of a shutdown.
    Shutdown,
}

/// One action or notification from the controller, in the order it must be carried out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// Stop announcing a VIP with one protocol.
    Withdraw {
        /// The VIP.
        vip: IpAddr,
        /// The protocol.
        protocol: RouteProtocol,
    },
    /// Remove a VIP address from the VIP interface (always after its withdrawals).
    RemoveAddress {
        /// The VIP.
        vip: IpAddr,
    },
    /// Put a VIP address on the VIP interface (always before its announcements).
    AddAddress {
        /// The VIP.
        vip: IpAddr,
    },
    /// Delete an IPVS service (it left the configuration).
    IpvsRemove(IpvsKey),
    /// The complete desired state of one IPVS service.
    IpvsService(IpvsService),
    /// Announce (or re-announce with new attributes) a VIP with one protocol.
    Announce {
        /// The VIP.
        vip: IpAddr,
        /// The protocol.
        protocol: RouteProtocol,
        /// Path attributes.
        attributes: Attributes,
    },
    /// An alarm was raised or cleared.
    Alarm(Alarm),
    /// A real changed health, admin state or effective weight.
    RealChanged(RealStatus),
    /// A real left the configuration.
    RealRemoved {
        /// Service name.
        service: String,
        /// The real.
        real: SocketAddr,
    },
    /// A VIP changed state.
    VipChanged(VipStatus),
    /// A VIP left the configuration.
    VipRemoved {
        /// The VIP.
        vip: IpAddr,
    },
    /// Arm a timer; feed [`Input::Timer`] back when it expires.
    ArmTimer {
        /// Which timer.
        timer: Timer,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// An input was refused (unknown target, shutting down).
    Rejected {
        /// Why.
        reason: String,
    },
    /// Shutdown finished: every VIP withdrawn and its address removed. The runtime may exit.
    ShutdownComplete,
}

/// Identity of an IPVS service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct IpvsKey {
    /// vgw's service name.
    pub name: String,
    /// Virtual address.
    pub vip: IpAddr,
    /// Virtual port.
    pub port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// Desired state of one IPVS service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpvsService {
    /// Identity.
    #[serde(flatten)]
    pub key: IpvsKey,
    /// Scheduler name.
    pub scheduler: String,
    /// Forwarding method of every destination.
    pub forward: Forward,
    /// Persistence timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence: Option<u32>,
    /// FULLNAT local addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local_addresses: Vec<IpAddr>,
    /// Destinations with effective weights.
    pub reals: Vec<IpvsReal>,
}

/// One destination with its effective weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IpvsReal {
    /// `address:port`.
    pub real: SocketAddr,
    /// Effective weight (0 = quiesced).
    pub weight: u32,
}

/// BGP path attributes of an announcement (OSPF uses none of them today).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attributes {
    /// Standard communities (GRACEFUL_SHUTDOWN added while draining).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// Large communities.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<LargeCommunity>,
    /// MULTI_EXIT_DISC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// Extra copies of the local AS to prepend.
    #[serde(skip_serializing_if = "is_zero")]
    pub as_path_prepend: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// An alarm about a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// Service name.
    pub service: String,
    /// What.
    pub kind: AlarmKind,
    /// Raised (`true`) or cleared.
    pub engaged: bool,
    /// Reals failing.
    pub failed: usize,
    /// Reals in the service (not counting drained ones).
    pub total: usize,
}

/// Kinds of alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// More than `protect_threshold` of the reals failed at once: they are kept in rotation.
    ThresholdProtection,
}

/// Health of a real as the controller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No result yet.
    Unknown,
    /// Passing.
    Up,
    /// Failing.
    Down,
}

/// State of one real (also the payload of a `RealChanged` notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealStatus {
    /// Service name.
    pub service: String,
    /// The real.
    pub real: SocketAddr,
    /// Health.
    pub health: Health,
    /// Drained by an admin.
    pub drained: bool,
    /// Effective IPVS weight; `None` when not in IPVS (not managed yet, removed, announce-only).
    pub weight: Option<u32>,
}

/// State of a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VipState {
    /// Announced with normal attributes.
    Announced,
    /// Announced with standby attributes (threshold protection or sorry server in use).
    Degraded,
    /// Announced with GRACEFUL_SHUTDOWN until the drain time ends.
    Draining,
    /// Not announced.
    Withdrawn,
}

/// State of one VIP (also the payload of a `VipChanged` notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VipStatus {
    /// The VIP.
    pub vip: IpAddr,
    /// State.
    pub state: VipState,
    /// Why, for people (empty when announced normally).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}
