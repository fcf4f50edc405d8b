//! Signals: one per kind of state change. Each signal's arguments are the fields of the struct
//! of the same name, in order (`VipChanged(s address, s state, s previous, s reason)`).

use serde::{Deserialize, Serialize};
use zbus::message::Message;
use zbus::zvariant::Type;

/// Member name of the VIP signal.
pub const SIGNAL_VIP_CHANGED: &str = "VipChanged";
/// Member name of the real-server signal.
pub const SIGNAL_REAL_CHANGED: &str = "RealChanged";
/// Member name of the routing-neighbour signal.
pub const SIGNAL_NEIGHBOR_CHANGED: &str = "NeighborChanged";
/// Member name of the reload signal.
pub const SIGNAL_CONFIG_RELOADED: &str = "ConfigReloaded";
/// Member name of the alarm signal.
pub const SIGNAL_ALARM_CHANGED: &str = "AlarmChanged";

/// `VipChanged`: a VIP's announcement state changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct VipChange {
    /// The VIP.
    pub address: String,
    /// New state (see [`crate::VipInfo::state`]).
    pub state: String,
    /// State before.
    pub previous: String,
    /// Why.
    pub reason: String,
}

/// `RealChanged`: a real server's health, admin state or effective weight changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RealChange {
    /// Service name.
    pub service: String,
    /// `ADDR:PORT` (`[v6]:PORT`).
    pub real: String,
    /// New state: `"up"`, `"down"`, `"unknown"` or `"drained"`.
    pub state: String,
    /// State before.
    pub previous: String,
    /// Weight programmed now.
    pub effective_weight: u32,
    /// Why (`"HTTP 503"`, `"admin drain"`).
    pub reason: String,
}

/// `NeighborChanged`: a BGP session or OSPF adjacency changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct NeighborChange {
    /// `"bgp"` or `"ospf"`.
    pub protocol: String,
    /// Neighbor name (BGP) or router id (OSPF).
    pub name: String,
    /// Neighbor address.
    pub address: String,
    /// New state.
    pub state: String,
    /// State before.
    pub previous: String,
}

/// `ConfigReloaded`: a new configuration generation is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ReloadDone {
    /// Generation now running.
    pub generation: u64,
    /// Changes applied (see [`crate::ReloadOutcome::changes`]).
    pub changes: Vec<String>,
}

/// `AlarmChanged`: an alarm was raised or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct AlarmChange {
    /// Alarm kind (see [`crate::Alarm::kind`]).
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// true: raised; false: cleared.
    pub active: bool,
    /// One sentence for the operator.
    pub message: String,
}

/// Any signal of the interface, as vgwd emits it and `vgwctl events -o json` prints it
/// (`{"event":"vip_changed","address":...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `VipChanged`.
    VipChanged(VipChange),
    /// `RealChanged`.
    RealChanged(RealChange),
    /// `NeighborChanged`.
    NeighborChanged(NeighborChange),
    /// `ConfigReloaded`.
    ConfigReloaded(ReloadDone),
    /// `AlarmChanged`.
    AlarmChanged(AlarmChange),
}

impl Event {
    /// The signal's member name.
    pub fn member(&self) -> &'static str {
        match self {
            Event::VipChanged(_) => SIGNAL_VIP_CHANGED,
            Event::RealChanged(_) => SIGNAL_REAL_CHANGED,
            Event::NeighborChanged(_) => SIGNAL_NEIGHBOR_CHANGED,
            Event::ConfigReloaded(_) => SIGNAL_CONFIG_RELOADED,
            Event::AlarmChanged(_) => SIGNAL_ALARM_CHANGED,
        }
    }

    /// Decodes a signal of the `org.vgw.Vgwd1` interface. `Ok(None)` for other members (a
    /// newer daemon may emit signals this client does not know).
    pub fn from_message(msg: &Message) -> zbus::Result<Option<Event>> {
        let header = msg.header();
        let Some(member) = header.member() else {
            return Ok(None);
        };
        let body = msg.body();
        let event = match member.as_str() {
            SIGNAL_VIP_CHANGED => Event::VipChanged(body.deserialize()?),
            SIGNAL_REAL_CHANGED => Event::RealChanged(body.deserialize()?),
            SIGNAL_NEIGHBOR_CHANGED => Event::NeighborChanged(body.deserialize()?),
            SIGNAL_CONFIG_RELOADED => Event::ConfigReloaded(body.deserialize()?),
            SIGNAL_ALARM_CHANGED => Event::AlarmChanged(body.deserialize()?),
            _ => return Ok(None),
        };
        Ok(Some(event))
    }
}
