//! Types of the vgwd D-Bus API (`org.vgw.Vgwd1`), shared by `vgwd` and `vgwctl`.
//!
//! Every type here is both a D-Bus value (`zvariant::Type`) and a JSON document (serde); the
//! field names are the JSON names `vgwctl -o json` prints and are part of the contract (see
//! `api/README.md`). D-Bus has no "null", so absent values are spelled as documented on each
//! field (an empty string, an empty list, or `-1`).

mod events;
mod info;
mod ipvs;
mod proxy;
mod routing;
mod target;

pub use events::{
    AlarmChange, Event, NeighborChange, RealChange, ReloadDone, VipChange, SIGNAL_ALARM_CHANGED,
    SIGNAL_CONFIG_RELOADED, SIGNAL_NEIGHBOR_CHANGED, SIGNAL_REAL_CHANGED, SIGNAL_VIP_CHANGED,
};
pub use info::{
    Alarm, DrainKind, ParseDrainKindError, RealInfo, ReloadOutcome, ServiceInfo, Status, VipInfo,
};
pub use ipvs::{IpvsDest, IpvsLocalAddress, IpvsRates, IpvsService, IpvsStats, IpvsTable};
pub use proxy::Vgwd1Proxy;
pub use routing::{
    BgpNeighborInfo, BgpRoute, OspfInterface, OspfLsa, OspfNeighbor, RouteDirection, SyncDaemon,
    SyncRelay, SyncStatus,
};
pub use target::{parse_addr_port, DrainTarget, ParseTargetError};

/// Well-known bus name vgwd owns.
pub const BUS_NAME: &str = "org.vgw.Vgwd1";
/// Object path of the one object vgwd exports.
pub const OBJECT_PATH: &str = "/org/vgw/Vgwd1";
/// Interface name of that object.
pub const INTERFACE: &str = "org.vgw.Vgwd1";

/// Names of the errors vgwd answers with (besides `org.freedesktop.DBus.Error.*`).
pub mod errors {
    /// The caller may not change state: it is neither root nor in the configured admin group.
    /// vgwd uses the standard name so generic tools (busctl, gdbus) recognise it.
    pub const ACCESS_DENIED: &str = "org.freedesktop.DBus.Error.AccessDenied";
    /// `GetVip`/`Drain vip` named an address this node does not carry.
    pub const UNKNOWN_VIP: &str = "org.vgw.Vgwd1.Error.UnknownVip";
    /// `GetService`/`Drain real` named a service this node does not carry.
    pub const UNKNOWN_SERVICE: &str = "org.vgw.Vgwd1.Error.UnknownService";
    /// `Drain real` named a real server the service does not have.
    pub const UNKNOWN_REAL: &str = "org.vgw.Vgwd1.Error.UnknownReal";
    /// `ListBgpRoutes` named a neighbor that is not configured.
    pub const UNKNOWN_NEIGHBOR: &str = "org.vgw.Vgwd1.Error.UnknownNeighbor";
    /// An argument could not be understood (bad kind, malformed address).
    pub const INVALID_ARGUMENT: &str = "org.vgw.Vgwd1.Error.InvalidArgument";
    /// `Reload` found errors in the configuration; the running state is unchanged.
    pub const RELOAD_REJECTED: &str = "org.vgw.Vgwd1.Error.ReloadRejected";
    /// The subsystem asked about is not running on this node (no IPVS, no OSPF, ...).
    pub const UNAVAILABLE: &str = "org.vgw.Vgwd1.Error.Unavailable";
    /// Anything else went wrong inside vgwd; the message says what.
    pub const FAILED: &str = "org.vgw.Vgwd1.Error.Failed";
}

/// Formats an address and port the way ipvsadm and vgwctl print them: `a.b.c.d:p` for IPv4,
/// `[v6]:p` for IPv6. `addr` is taken as given when it is not an IP address.
pub fn addr_port(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

#[cfg(test)]
mod tests;
