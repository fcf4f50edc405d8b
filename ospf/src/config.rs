//! Router and interface settings.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::packet::AuthKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkType {
    Broadcast,
    PointToPoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfConfig {
    pub name: String,
    pub network: NetworkType,
    pub cost: u16,
    pub priority: u8,
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub rxmt_interval: u16,
    pub transmit_delay: u16,
    #[serde(default)]
    pub auth: AuthKey,
    /// IP MTU of the link, sent in Database Description packets (RFC 2328 10.6). 0 (the
    /// default): the kernel's MTU for the link, followed when it changes.
    #[serde(default)]
    pub mtu: u16,
}

impl IfConfig {
    /// RFC 2328 appendix C.3 defaults, with the given name and network type.
    pub fn new(name: &str, network: NetworkType) -> Self {
        IfConfig {
            name: name.to_string(),
            network,
            cost: 10,
            priority: 1,
            hello_interval: 10,
            dead_interval: 40,
            rxmt_interval: 5,
            transmit_delay: 1,
            auth: AuthKey::Null,
            mtu: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub interfaces: Vec<IfConfig>,
    /// Starting value for DD sequence numbers (RFC 2328 10.8: "some unique value"); the I/O
    /// layer uses the clock.
    pub dd_seq_seed: u32,
    /// Cryptographic sequence number base (seconds); packets carry base + uptime seconds, so it
    /// never decreases across restarts when the base is the Unix time at start.
    pub crypto_seq_base: u32,
}
