//! Interfaces and the interface state machine (RFC 2328 9), with DR/BDR election (9.4).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::config::{IfConfig, NetworkType};
use crate::neighbor::{NbrEvent, NbrState, Neighbor};
use crate::packet::lsa::{LsaHeader, OPT_E};
use crate::packet::{Body, Hello, ALL_D_ROUTERS, ALL_SPF_ROUTERS};
use crate::router::{mask_bits, Output, Router, Timer};

/// RFC 2328 9.1 interface states (Loopback is not modelled: we never run on loopbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfState {
    Down,
    Waiting,
    PointToPoint,
    DrOther,
    Backup,
    Dr,
}

pub struct Interface {
    pub cfg: IfConfig,
    pub ifindex: u32,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub mtu: u16,
    pub state: IfState,
    /// Interface addresses of the DR and BDR (0.0.0.0 when none).
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    pub delayed_acks: Vec<LsaHeader>,
    pub delayed_ack_armed: bool,
}

impl Interface {
    pub fn new(cfg: IfConfig) -> Self {
        Interface {
            cfg,
            ifindex: 0,
            addr: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            mtu: 1500,
            state: IfState::Down,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: BTreeMap::new(),
            delayed_acks: Vec::new(),
            delayed_ack_armed: false,
        }
    }

    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask_bits(self.prefix_len))
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & mask_bits(self.prefix_len))
    }

    pub fn on_subnet(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & mask_bits(self.prefix_len) == u32::from(self.network())
    }

    pub fn is_dr_or_backup(&self) -> bool {
        matches!(self.state, IfState::Dr | IfState::Backup)
    }

    /// Where flooded updates and delayed acks go (RFC 2328 13.3 (5), 13.5).
    pub fn flood_dst(&self) -> Ipv4Addr {
        match self.cfg.network {
            NetworkType::PointToPoint => ALL_SPF_ROUTERS,
            NetworkType::Broadcast if self.is_dr_or_backup() => ALL_SPF_ROUTERS,
            NetworkType::Broadcast => ALL_D_ROUTERS,
        }
    }

    /// RFC 2328 10.4: whether an adjacency should be established with `nbr`.
    pub fn adjacency_wanted(&self, nbr: &Neighbor) -> bool {
        match self.cfg.network {
            NetworkType::PointToPoint => true,
            NetworkType::Broadcast => {
                self.is_dr_or_backup() || nbr.addr == self.dr || nbr.addr == self.bdr
            }
        }
    }

    /// Largest OSPF payload (without IP header and digest) that fits the MTU.
    pub fn max_payload(&self) -> usize {
        usize::from(self.mtu).saturating_sub(20 + 64).max(256)
    }
}

/// One participant in the election (RFC 2328 9.4 step 2).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    router_id: Ipv4Addr,
    addr: Ipv4Addr,
    priority: u8,
    dr: Ipv4Addr,
    bdr: Ipv4Addr,
}

fn best(c: impl Iterator<Item = Candidate>) -> Option<Candidate> {
    // "the one having the highest Router Priority ... in case of a tie, the one having the
    // highest Router ID is chosen"
    c.max_by_key(|c| (c.priority, u32::from(c.router_id)))
}

/// Steps 3 and 4 of RFC 2328 9.4: returns (DR, BDR) interface addresses.
fn elect(cands: &[Candidate]) -> (Ipv4Addr, Ipv4Addr) {
    // Step 3: "Calculate the new Backup Designated Router ... Only those routers on the list
    // that have not declared themselves to be Designated Router are eligible. If one or more of
    // these routers have declared themselves Backup Designated Router, the one having highest
    // Router Priority is declared to be Backup Designated Router."
    let eligible = cands.iter().copied().filter(|c| c.dr != c.addr);
    let declared_bdr = best(eligible.clone().filter(|c| c.bdr == c.addr));
    let bdr = declared_bdr.or_else(|| best(eligible)).map(|c| c.addr);
    // Step 4: "If one or more of the routers have declared themselves Designated Router ...
    // the one having highest Router Priority is declared to be Designated Router ... If no
    // routers have declared themselves Designated Router, assign the Designated Router to be
    // the same as the newly elected Backup Designated Router."
    let dr = best(cands.iter().copied().filter(|c| c.dr == c.addr))
        .map(|c| c.addr)
        .or(bdr);
    (
        dr.unwrap_or(Ipv4Addr::UNSPECIFIED),
        bdr.unwrap_or(Ipv4Addr::UNSPECIFIED),
    )
}

impl Router {
    pub(crate) fn interface_up(
        &mut self,
        ifname: &str,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        mtu: u16,
    ) {
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        if iface.state != IfState::Down {
            if iface.addr == addr && iface.prefix_len == prefix_len {
                // Only the MTU (or nothing) changed: it is read when the next DD packet is
                // built or checked (10.6), no adjacency needs to start over.
                iface.ifindex = ifindex;
                iface.mtu = mtu;
                return;
            }
            // The address changed: take the interface down and up again.
            self.interface_down(ifname);
        }
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        iface.ifindex = ifindex;
        iface.addr = addr;
        iface.prefix_len = prefix_len;
        iface.mtu = mtu;
        iface.dr = Ipv4Addr::UNSPECIFIED;
        iface.bdr = Ipv4Addr::UNSPECIFIED;
        // 9.3 InterfaceUp: "If the network is a physical point-to-point network ... the
        // interface state transitions to Point-to-Point. Else, if the router is not eligible to
        // become Designated Router the interface state transitions to DR Other. Otherwise ...
        // the interface state transitions to Waiting" and the wait timer is started.
        let next = match iface.cfg.network {
            NetworkType::PointToPoint => IfState::PointToPoint,
            NetworkType::Broadcast if iface.cfg.priority == 0 => IfState::DrOther,
            NetworkType::Broadcast => IfState::Waiting,
        };
        let wait = u64::from(iface.cfg.dead_interval) * 1000;
        self.out.push(Output::JoinGroup {
            ifname: ifname.to_string(),
            group: ALL_SPF_ROUTERS,
        });
        self.set_if_state(ifname, next);
        if next == IfState::Waiting {
            self.set_timer(
                Timer::Wait {
                    ifname: ifname.to_string(),
                },
                self.now + wait,
            );
        }
        self.send_hello(ifname);
        self.sync_own(false);
    }

    pub(crate) fn interface_down(&mut self, ifname: &str) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        if iface.state == IfState::Down {
            return;
        }
        let nbrs: Vec<Ipv4Addr> = iface.neighbors.keys().copied().collect();
        for n in nbrs {
            self.nbr_event(ifname, n, NbrEvent::KillNbr);
        }
        for t in [
            Timer::Hello {
                ifname: ifname.into(),
            },
            Timer::Wait {
                ifname: ifname.into(),
            },
        ] {
            self.out.push(Output::CancelTimer { timer: t });
        }
        if let Some(iface) = self.interfaces.get_mut(ifname) {
            iface.dr = Ipv4Addr::UNSPECIFIED;
            iface.bdr = Ipv4Addr::UNSPECIFIED;
            iface.delayed_acks.clear();
        }
        self.set_if_state(ifname, IfState::Down);
        self.out.push(Output::LeaveGroup {
            ifname: ifname.to_string(),
            group: ALL_SPF_ROUTERS,
        });
        self.sync_own(false);
    }

    /// The single place where interface states change: logs, group membership, notification.
    pub(crate) fn set_if_state(&mut self, ifname: &str, to: IfState) {
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        let from = iface.state;
        if from == to {
            return;
        }
        iface.state = to;
        let (dr, bdr) = (iface.dr, iface.bdr);
        tracing::info!(ifname, ?from, ?to, %dr, %bdr, "OSPF interface state");
        let was = matches!(from, IfState::Dr | IfState::Backup);
        let is = matches!(to, IfState::Dr | IfState::Backup);
        if !was && is {
            self.out.push(Output::JoinGroup {
                ifname: ifname.to_string(),
                group: ALL_D_ROUTERS,
            });
        } else if was && !is {
            self.out.push(Output::LeaveGroup {
                ifname: ifname.to_string(),
                group: ALL_D_ROUTERS,
            });
        }
        self.out.push(Output::InterfaceState {
            ifname: ifname.to_string(),
            from,
            to,
            dr,
            bdr,
        });
    }

    pub(crate) fn hello_timer(&mut self, ifname: &str) {
        if self
            .interfaces
            .get(ifname)
            .is_some_and(|i| i.state != IfState::Down)
        {
            self.send_hello(ifname);
        }
    }

    pub(crate) fn send_hello(&mut self, ifname: &str) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        // 9.5: the Hello lists "each router from whom Hello Packets have recently been
        // received" (neighbors in state Init or greater).
        let hello = Hello {
            mask: match iface.cfg.network {
                NetworkType::Broadcast => iface.mask(),
                // 9.5: "set to 0.0.0.0 on unnumbered point-to-point"; FRR and BIRD send the
                // real mask on numbered links and ignore it on receipt.
                NetworkType::PointToPoint => iface.mask(),
            },
            hello_interval: iface.cfg.hello_interval,
            options: OPT_E,
            priority: iface.cfg.priority,
            dead_interval: iface.cfg.dead_interval,
            dr: iface.dr,
            bdr: iface.bdr,
            neighbors: iface
                .neighbors
                .values()
                .filter(|n| n.state >= NbrState::Init)
                .map(|n| n.router_id)
                .collect(),
        };
        let at = self.now + u64::from(iface.cfg.hello_interval) * 1000;
        self.send(ifname, ALL_SPF_ROUTERS, Body::Hello(hello));
        self.set_timer(
            Timer::Hello {
                ifname: ifname.to_string(),
            },
            at,
        );
    }

    pub(crate) fn wait_timer(&mut self, ifname: &str) {
        // 9.3 WaitTimer / BackupSeen: "Calculate the BDR/DR for the attached network".
        if self
            .interfaces
            .get(ifname)
            .is_some_and(|i| i.state == IfState::Waiting)
        {
            self.elect_dr(ifname);
        }
    }

    /// 9.3 BackupSeen in state Waiting.
    pub(crate) fn backup_seen(&mut self, ifname: &str) {
        if self
            .interfaces
            .get(ifname)
            .is_some_and(|i| i.state == IfState::Waiting)
        {
            self.out.push(Output::CancelTimer {
                timer: Timer::Wait {
                    ifname: ifname.into(),
                },
            });
            self.elect_dr(ifname);
        }
    }

    /// 9.3 NeighborChange in DR Other, Backup or DR.
    pub(crate) fn neighbor_change(&mut self, ifname: &str) {
        if self
            .interfaces
            .get(ifname)
            .is_some_and(|i| matches!(i.state, IfState::DrOther | IfState::Backup | IfState::Dr))
        {
            self.elect_dr(ifname);
        }
    }

    /// RFC 2328 9.4: the Designated Router election.
    pub(crate) fn elect_dr(&mut self, ifname: &str) {
        let rid = self.cfg.router_id;
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        // Step 1: "Note the current values for the network's Designated Router and Backup".
        let (old_dr, old_bdr) = (iface.dr, iface.bdr);
        let others: Vec<Candidate> = iface
            .neighbors
            .values()
            .filter(|n| n.state >= NbrState::TwoWay && n.priority > 0)
            .map(|n| Candidate {
                router_id: n.router_id,
                addr: n.addr,
                priority: n.priority,
                dr: n.dr,
                bdr: n.bdr,
            })
            .collect();
        let me = |dr, bdr| Candidate {
            router_id: rid,
            addr: iface.addr,
            priority: iface.cfg.priority,
            dr,
            bdr,
        };
        let run = |dr, bdr| {
            let mut c = others.clone();
            if iface.cfg.priority > 0 {
                c.push(me(dr, bdr));
            }
            elect(&c)
        };
        let (mut dr, mut bdr) = run(old_dr, old_bdr);
        // Step 5: "If Router X is now newly the Designated Router or newly the Backup
        // Designated Router, or is now no longer the Designated Router or no longer the Backup
        // Designated Router, repeat steps 2 and 3, and then proceed to step 6."
        let a = iface.addr;
        if (dr == a) != (old_dr == a) || (bdr == a) != (old_bdr == a) {
            (dr, bdr) = run(dr, bdr);
        }
        // A router that became DR because nobody declared itself is not also BDR.
        if bdr == dr {
            let rest: Vec<Candidate> = others
                .iter()
                .copied()
                .chain((iface.cfg.priority > 0).then(|| me(dr, bdr)))
                .filter(|c| c.addr != dr)
                .collect();
            bdr = best(rest.into_iter())
                .map(|c| c.addr)
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
        }
        iface.dr = dr;
        iface.bdr = bdr;
        // Step 6: set the interface state.
        let state = if dr == a {
            IfState::Dr
        } else if bdr == a {
            IfState::Backup
        } else {
            IfState::DrOther
        };
        let changed = old_dr != dr || old_bdr != bdr;
        let state_changed = iface.state != state;
        if state_changed {
            self.set_if_state(ifname, state);
        } else if changed {
            let (from, to) = (state, state);
            self.out.push(Output::InterfaceState {
                ifname: ifname.to_string(),
                from,
                to,
                dr,
                bdr,
            });
        }
        // Step 7 concerns NBMA. Step 8: "if the above calculations have caused the identity of
        // either the Designated Router or Backup Designated Router to change, the event AdjOK?
        // must be invoked for all neighbors whose state is at least 2-Way".
        if changed {
            let nbrs: Vec<Ipv4Addr> = self
                .interfaces
                .get(ifname)
                .map(|i| {
                    i.neighbors
                        .values()
                        .filter(|n| n.state >= NbrState::TwoWay)
                        .map(|n| n.router_id)
                        .collect()
                })
                .unwrap_or_default();
            for n in nbrs {
                self.nbr_event(ifname, n, NbrEvent::AdjOk);
            }
        }
        if changed || state_changed {
            self.sync_own(false);
            // Tell the segment at once rather than at the next hello.
            self.send_hello(ifname);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u8, prio: u8, dr: u8, bdr: u8) -> Candidate {
        let a = |x: u8| {
            if x == 0 {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::new(10, 0, 0, x)
            }
        };
        Candidate {
            router_id: Ipv4Addr::new(1, 1, 1, id),
            addr: a(id),
            priority: prio,
            dr: a(dr),
            bdr: a(bdr),
        }
    }

    #[test]
    fn fresh_segment_elects_highest_priority_as_bdr_then_dr() {
        // Nobody declares anything: the best becomes BDR in step 3, then DR in step 4.
        let (dr, bdr) = elect(&[c(1, 1, 0, 0), c(2, 5, 0, 0), c(3, 1, 0, 0)]);
        assert_eq!(dr, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(bdr, Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn existing_dr_is_kept_even_with_lower_priority() {
        let (dr, bdr) = elect(&[c(1, 1, 1, 2), c(2, 1, 1, 2), c(3, 200, 1, 2)]);
        assert_eq!(dr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(bdr, Ipv4Addr::new(10, 0, 0, 2));
    }
}
