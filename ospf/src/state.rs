//! Operator views of the router (for the D-Bus API and `vgwctl ospf ...`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::interface::IfState;
use crate::neighbor::NbrState;
use crate::packet::lsa::{Lsa, LsaKey};
use crate::router::{Prefix, Router};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceView {
    pub name: String,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub state: IfState,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub cost: u16,
    pub priority: u8,
    /// The MTU we put in DD packets (from the config, or the kernel's).
    #[serde(default)]
    pub mtu: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborView {
    pub ifname: String,
    pub router_id: Ipv4Addr,
    pub addr: Ipv4Addr,
    pub priority: u8,
    pub state: NbrState,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub retransmit_len: usize,
    pub request_len: usize,
    /// Milliseconds until the inactivity timer fires.
    #[serde(default)]
    pub dead_in_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LsaView {
    pub key: LsaKey,
    pub age: u16,
    pub seq: u32,
    pub checksum: u16,
    pub length: u16,
    pub self_originated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub router_id: Ipv4Addr,
    pub stub_router: bool,
    pub vips: Vec<(Prefix, u32)>,
    pub interfaces: Vec<InterfaceView>,
    pub neighbors: Vec<NeighborView>,
    pub lsdb: Vec<LsaView>,
    /// Our own LSAs in full, with current ages.
    pub own: Vec<Lsa>,
    pub drops: Vec<(String, u64)>,
}

impl Router {
    pub fn state(&self) -> State {
        let now = self.now;
        let rid = self.cfg.router_id;
        State {
            router_id: rid,
            stub_router: self.origin.stub_router,
            vips: self.origin.vips.iter().map(|(p, m)| (*p, *m)).collect(),
            interfaces: self
                .interfaces
                .values()
                .map(|i| InterfaceView {
                    name: i.cfg.name.clone(),
                    addr: i.addr,
                    prefix_len: i.prefix_len,
                    state: i.state,
                    dr: i.dr,
                    bdr: i.bdr,
                    cost: i.cfg.cost,
                    priority: i.cfg.priority,
                    mtu: i.mtu,
                })
                .collect(),
            neighbors: self
                .interfaces
                .values()
                .flat_map(|i| {
                    i.neighbors.values().map(|n| NeighborView {
                        ifname: i.cfg.name.clone(),
                        router_id: n.router_id,
                        addr: n.addr,
                        priority: n.priority,
                        state: n.state,
                        dr: n.dr,
                        bdr: n.bdr,
                        retransmit_len: n.rxmt.len(),
                        request_len: n.requests.len(),
                        dead_in_ms: n.dead_at.saturating_sub(now),
                    })
                })
                .collect(),
            lsdb: self
                .lsdb
                .iter()
                .map(|(k, e)| LsaView {
                    key: *k,
                    age: e.age(now),
                    seq: e.lsa.header.seq,
                    checksum: e.lsa.header.checksum,
                    length: e.lsa.header.length,
                    self_originated: k.adv_rtr == rid,
                })
                .collect(),
            own: self
                .lsdb
                .iter()
                .filter(|(k, _)| k.adv_rtr == rid)
                .map(|(_, e)| e.lsa(now))
                .collect(),
            drops: self
                .drops
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }
}
