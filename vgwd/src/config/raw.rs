//! The file as written: serde structs that keep the span of every value validation may complain
//! about. Unknown keys are rejected here (`deny_unknown_fields`).

use serde::Deserialize;
use toml::Spanned;

use super::types::{
    Dataplane, Forward, LogFormat, OnFailure, OspfNetwork, Protocol, RouteProtocol,
};
use super::values::ConfigDuration;

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub name: Option<S<String>>,
    pub router_id: Option<S<String>>,
    pub vip_interface: Option<S<String>>,
    pub dataplane: Option<Dataplane>,
    pub drain_time: Option<ConfigDuration>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub dbus: Option<S<String>>,
    pub group: Option<S<String>>,
}

/// `[bgp]` without its `neighbor` array (deserialized one by one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBgp {
    pub asn: Option<S<i64>>,
    pub hold_time: Option<S<i64>>,
    pub graceful_restart: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNeighbor {
    pub name: S<String>,
    pub address: S<String>,
    pub remote_asn: Option<S<i64>>,
    pub password: Option<S<String>>,
    #[serde(default)]
    pub ttl_security: bool,
    #[serde(default)]
    pub passive: bool,
    pub port: Option<S<i64>>,
}

/// `[ospf]` without its `interface` array.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOspf {
    pub area: Option<S<String>>,
    pub metric: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOspfInterface {
    pub name: S<String>,
    pub network: Option<OspfNetwork>,
    pub hello_interval: Option<S<i64>>,
    pub dead_interval: Option<S<i64>>,
    pub cost: Option<S<i64>>,
    pub priority: Option<S<i64>>,
    pub auth: Option<S<RawOspfAuth>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOspfAuth {
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub key_id: Option<S<i64>>,
    pub key: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVip {
    pub address: S<String>,
    pub announce: Option<S<Vec<RouteProtocol>>>,
    #[serde(default)]
    pub communities: Vec<S<String>>,
    #[serde(default)]
    pub large_communities: Vec<S<String>>,
    pub med: Option<S<i64>>,
    pub standby: Option<RawStandby>,
    pub drain_time: Option<ConfigDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStandby {
    pub as_path_prepend: Option<S<i64>>,
    pub med: Option<S<i64>>,
}

/// `[[service]]` without `check` and `real` (deserialized separately).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub name: S<String>,
    pub vip: S<String>,
    pub port: S<i64>,
    pub protocol: Option<Protocol>,
    pub scheduler: Option<S<String>>,
    pub forward: Option<S<Forward>>,
    pub local_addresses: Option<S<Vec<S<String>>>>,
    pub persistence: Option<S<i64>>,
    pub quorum: Option<S<i64>>,
    pub protect_threshold: Option<S<f64>>,
    pub on_failure: Option<OnFailure>,
    pub slow_start: Option<ConfigDuration>,
    pub sorry_server: Option<S<RawReal>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub port: Option<S<i64>>,
    pub path: Option<S<String>>,
    pub host: Option<S<String>>,
    pub expect_status: Option<S<Vec<S<i64>>>>,
    pub command: Option<S<Vec<String>>>,
    pub query: Option<S<String>>,
    pub query_type: Option<S<String>>,
    pub send: Option<S<String>>,
    pub expect: Option<S<String>>,
    pub interval: Option<S<ConfigDuration>>,
    pub timeout: Option<S<ConfigDuration>>,
    pub rise: Option<S<i64>>,
    pub fall: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReal {
    pub address: S<String>,
    pub port: Option<S<i64>>,
    pub weight: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    pub interface: S<String>,
    pub sync_id: Option<S<i64>>,
    pub roles: Option<S<Vec<super::types::SyncRole>>>,
    pub group: Option<S<String>>,
    pub port: Option<S<i64>>,
    pub ttl: Option<S<i64>>,
    pub max_len: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub listen: S<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub format: Option<LogFormat>,
    pub level: Option<S<String>>,
}
