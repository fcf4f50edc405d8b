//! Mutable state of the controller besides the configuration: health and admin state of every
//! real, drains, node flags.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::io::Health;

/// State of one real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RealState {
    pub health: Health,
    pub drained: bool,
    /// Slow-start step (1..RAMP_STEPS) while ramping up.
    pub ramp: Option<u8>,
    /// Generation of the current ramp (stale timers carry an older one).
    pub ramp_seq: u64,
}

const UNKNOWN: RealState = RealState {
    health: Health::Unknown,
    drained: false,
    ramp: None,
    ramp_seq: 0,
};

/// A drain in progress: GRACEFUL_SHUTDOWN until `expired`, then withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DrainPhase {
    pub seq: u64,
    pub expired: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub reals: BTreeMap<(String, SocketAddr), RealState>,
    pub vip_drain: BTreeMap<IpAddr, DrainPhase>,
    pub node_drain: Option<DrainPhase>,
    pub shutdown: Option<DrainPhase>,
    pub first_round_done: bool,
    pub ipvs_ok: bool,
    pub vip_interface_ok: bool,
    pub started: bool,
    /// Source of generations for drains and ramps.
    pub next_seq: u64,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            reals: BTreeMap::new(),
            vip_drain: BTreeMap::new(),
            node_drain: None,
            shutdown: None,
            first_round_done: false,
            ipvs_ok: true,
            vip_interface_ok: true,
            started: false,
            next_seq: 1,
        }
    }

    pub(crate) fn real(&self, service: &str, real: SocketAddr) -> RealState {
        self.reals
            .get(&(service.to_string(), real))
            .copied()
            .unwrap_or(UNKNOWN)
    }

    pub(crate) fn real_mut(&mut self, service: &str, real: SocketAddr) -> &mut RealState {
        self.reals
            .entry((service.to_string(), real))
            .or_insert(UNKNOWN)
    }

    pub(crate) fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }
}
