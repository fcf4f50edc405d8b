//! BGP, OSPF and connection-sync views.

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

/// `ListBgpNeighbors()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct BgpNeighborInfo {
    /// `[[bgp.neighbor]] name`.
    pub name: String,
    /// Neighbor address.
    pub address: String,
    /// Our AS number.
    pub local_asn: u32,
    /// Their AS number.
    pub remote_asn: u32,
    /// RFC 4271 state: `"Idle"`, `"Connect"`, `"Active"`, `"OpenSent"`, `"OpenConfirm"`,
    /// `"Established"`.
    pub state: String,
    /// Seconds since `state` last changed.
    pub in_state_secs: u64,
    /// Their BGP identifier, `""` before OPEN was received.
    pub router_id: String,
    /// Negotiated hold time in seconds (0 before Established).
    pub hold_time: u32,
    /// Prefixes received and accepted from this neighbor.
    pub prefixes_received: u32,
    /// Prefixes advertised to this neighbor.
    pub prefixes_advertised: u32,
    /// Last error (NOTIFICATION sent/received, socket error), `""` if none.
    pub last_error: String,
}

/// Which Adj-RIB a route listing comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[zvariant(signature = "s")]
#[serde(rename_all = "lowercase")]
pub enum RouteDirection {
    /// Adj-RIB-Out: what we announce.
    Advertised,
    /// Adj-RIB-In: what the neighbor sends us.
    Received,
}

impl RouteDirection {
    /// The name on the bus.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteDirection::Advertised => "advertised",
            RouteDirection::Received => "received",
        }
    }
}

/// `ListBgpRoutes(neighbor, direction)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct BgpRoute {
    /// Neighbor name.
    pub neighbor: String,
    /// `"advertised"` or `"received"`.
    pub direction: String,
    /// Prefix (`"192.0.2.10/32"`).
    pub prefix: String,
    /// Next hop.
    pub next_hop: String,
    /// AS path as printed by BGP tools (`"65011 65011"`), `""` when empty.
    pub as_path: String,
    /// `"igp"`, `"egp"` or `"incomplete"`.
    pub origin: String,
    /// MULTI_EXIT_DISC, `-1` when absent.
    pub med: i64,
    /// LOCAL_PREF, `-1` when absent.
    pub local_pref: i64,
    /// Communities (`"65000:100"`, `"graceful-shutdown"` for 65535:0).
    pub communities: Vec<String>,
    /// Large communities (`"65000:1:2"`).
    pub large_communities: Vec<String>,
}

/// `ListOspfNeighbors()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct OspfNeighbor {
    /// Neighbor router id.
    pub router_id: String,
    /// Neighbor interface address.
    pub address: String,
    /// Our interface name.
    pub interface: String,
    /// RFC 2328 10.1 state: `"Down"`, `"Attempt"`, `"Init"`, `"2-Way"`, `"ExStart"`,
    /// `"Exchange"`, `"Loading"`, `"Full"`.
    pub state: String,
    /// Router priority.
    pub priority: u8,
    /// Its role on the segment: `"DR"`, `"BDR"`, `"DROther"`, or `""` on point-to-point links.
    pub role: String,
    /// Seconds until the inactivity timer fires.
    pub dead_in_secs: u32,
    /// Seconds since `state` last changed.
    pub in_state_secs: u64,
}

/// `ListOspfInterfaces()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct OspfInterface {
    /// Interface name.
    pub name: String,
    /// Interface address with prefix length.
    pub address: String,
    /// Area id, dotted.
    pub area: String,
    /// `"broadcast"` or `"point-to-point"`.
    pub network: String,
    /// RFC 2328 9.1 state: `"Down"`, `"Loopback"`, `"Waiting"`, `"Point-to-point"`,
    /// `"DR Other"`, `"Backup"`, `"DR"`.
    pub state: String,
    /// Output cost.
    pub cost: u16,
    /// Hello interval in seconds.
    pub hello_interval: u16,
    /// Router dead interval in seconds.
    pub dead_interval: u32,
    /// Designated router (router id), `""` if none.
    pub dr: String,
    /// Backup designated router, `""` if none.
    pub bdr: String,
    /// Neighbors on this interface.
    pub neighbors: u32,
    /// Of which in state Full.
    pub adjacencies: u32,
}

/// `ListOspfDatabase()`: one LSA header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct OspfLsa {
    /// Area id, dotted (`""` for AS-external LSAs).
    pub area: String,
    /// `"router"`, `"network"`, `"summary"`, `"asbr-summary"`, `"external"`, `"nssa"`.
    pub lsa_type: String,
    /// Link State ID.
    pub ls_id: String,
    /// Advertising router.
    pub adv_router: String,
    /// LS sequence number.
    pub seq: u32,
    /// LS age in seconds.
    pub age: u16,
    /// Fletcher checksum.
    pub checksum: u16,
    /// Originated by this router.
    pub self_originated: bool,
}

/// `SyncStatus()`: IPVS connection synchronisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncStatus {
    /// Kernel sync daemons running (0, 1 or 2: master and/or backup).
    pub daemons: Vec<SyncDaemon>,
    /// vgw's unicast relay of sync messages (for layer-3 clusters).
    pub relay: SyncRelay,
}

/// One kernel sync daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncDaemon {
    /// `"master"` or `"backup"`.
    pub role: String,
    /// Multicast interface.
    pub interface: String,
    /// Sync id.
    pub sync_id: u32,
    /// Multicast group.
    pub group: String,
    /// UDP port.
    pub port: u16,
    /// Multicast TTL.
    pub ttl: u8,
    /// Maximum message length.
    pub max_len: u16,
}

/// The unicast sync relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SyncRelay {
    /// Relay running.
    pub enabled: bool,
    /// Peer addresses (`"10.0.0.12:8848"`).
    pub peers: Vec<String>,
    /// Sync messages relayed to peers.
    pub sent: u64,
    /// Sync messages received from peers and replayed locally.
    pub received: u64,
    /// Messages dropped (malformed, wrong sync id), with the reason logged.
    pub dropped: u64,
}
