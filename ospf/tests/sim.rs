//! Several sans-IO routers on simulated segments with a virtual clock: adjacencies, DR
//! election, database exchange and flooding between our own implementations, end to end.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::Ipv4Addr;

use vgw_ospf::interface::IfState;
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::lsa::{LsaKey, MAX_AGE, TYPE_AS_EXTERNAL};
use vgw_ospf::{Config, IfConfig, Input, NetworkType, Output, Prefix, Router, Timer};

struct Node {
    router: Router,
    /// ifname -> (segment, address)
    ifaces: BTreeMap<String, (usize, Ipv4Addr)>,
    timers: BTreeMap<Timer, u64>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Timer(usize, Timer),
    Deliver {
        node: usize,
        ifname: String,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data: Vec<u8>,
    },
}

struct Sim {
    now: u64,
    seq: u64,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    /// Segments that currently drop everything.
    cut: Vec<usize>,
}

fn rid(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 255, 0, i)
}

impl Sim {
    fn new() -> Self {
        Sim {
            now: 0,
            seq: 0,
            nodes: Vec::new(),
            queue: BinaryHeap::new(),
            cut: Vec::new(),
        }
    }

    fn add(&mut self, id: u8, links: &[(&str, usize, NetworkType, u8)]) -> usize {
        let interfaces = links
            .iter()
            .map(|(n, _, t, prio)| IfConfig {
                hello_interval: 1,
                dead_interval: 4,
                priority: *prio,
                ..IfConfig::new(n, *t)
            })
            .collect();
        let cfg = Config {
            router_id: rid(id),
            area_id: Ipv4Addr::UNSPECIFIED,
            interfaces,
            dd_seq_seed: u32::from(id) * 1000,
            crypto_seq_base: 1,
        };
        let ifaces = links
            .iter()
            .map(|(n, seg, _, _)| (n.to_string(), (*seg, Ipv4Addr::new(10, *seg as u8, 0, id))))
            .collect();
        self.nodes.push(Node {
            router: Router::new(cfg),
            ifaces,
            timers: BTreeMap::new(),
        });
        let idx = self.nodes.len() - 1;
        let ups: Vec<(String, Ipv4Addr)> = self.nodes[idx]
            .ifaces
            .iter()
            .map(|(n, (_, a))| (n.clone(), *a))
            .collect();
        for (n, a) in ups {
            self.input(
                idx,
                Input::InterfaceUp {
                    ifname: n,
                    ifindex: 1,
                    addr: a,
                    prefix_len: 24,
                    mtu: 1500,
                },
            );
        }
        idx
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    fn input(&mut self, node: usize, input: Input) {
        let outs = self.nodes[node].router.process(self.now, input);
        for o in outs {
            match o {
                Output::SetTimer { timer, at } => {
                    self.nodes[node].timers.insert(timer.clone(), at);
                    self.push(at, Ev::Timer(node, timer));
                }
                Output::CancelTimer { timer } => {
                    self.nodes[node].timers.remove(&timer);
                }
                Output::Send {
                    ifname, dst, bytes, ..
                } => {
                    let Some(&(seg, src)) = self.nodes[node].ifaces.get(&ifname) else {
                        continue;
                    };
                    if self.cut.contains(&seg) {
                        continue;
                    }
                    for (j, n) in self.nodes.iter().enumerate() {
                        if j == node {
                            continue;
                        }
                        for (name, (s, addr)) in &n.ifaces {
                            let multicast = dst.is_multicast();
                            if *s == seg && (multicast || dst == *addr) {
                                let ev = Ev::Deliver {
                                    node: j,
                                    ifname: name.clone(),
                                    src,
                                    dst,
                                    data: bytes.clone(),
                                };
                                self.seq += 1;
                                self.queue.push(Reverse((self.now + 1, self.seq, ev)));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn run_until(&mut self, t: u64) {
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > t {
                break;
            }
            let Some(Reverse((at, _, ev))) = self.queue.pop() else {
                break;
            };
            self.now = at;
            match ev {
                Ev::Timer(n, timer) => {
                    if self.nodes[n].timers.get(&timer) == Some(&at) {
                        self.nodes[n].timers.remove(&timer);
                        self.input(n, Input::Timer(timer));
                    }
                }
                Ev::Deliver {
                    node,
                    ifname,
                    src,
                    dst,
                    data,
                } => {
                    self.input(
                        node,
                        Input::Packet {
                            ifname,
                            src,
                            dst,
                            data,
                        },
                    );
                }
            }
        }
        self.now = t;
    }

    fn nbr_states(&self, n: usize) -> Vec<(Ipv4Addr, NbrState)> {
        self.nodes[n]
            .router
            .state()
            .neighbors
            .iter()
            .map(|x| (x.router_id, x.state))
            .collect()
    }
}

fn vip() -> Prefix {
    Prefix::new(Ipv4Addr::new(192, 0, 2, 10), 32)
}

fn external_age(sim: &Sim, node: usize, adv: Ipv4Addr) -> Option<u16> {
    let key = LsaKey {
        ls_type: TYPE_AS_EXTERNAL,
        ls_id: vip().addr,
        adv_rtr: adv,
    };
    sim.nodes[node]
        .router
        .state()
        .lsdb
        .iter()
        .find(|l| l.key == key)
        .map(|l| l.age)
}

#[test]
fn broadcast_three_routers_elect_and_reach_full() {
    let mut sim = Sim::new();
    let a = sim.add(1, &[("eth0", 1, NetworkType::Broadcast, 1)]);
    let b = sim.add(2, &[("eth0", 1, NetworkType::Broadcast, 10)]);
    let c = sim.add(3, &[("eth0", 1, NetworkType::Broadcast, 0)]);
    sim.run_until(15_000);
    // Priority 10 wins DR; among the rest router 1 is the only eligible one: BDR.
    let st = |n: usize| sim.nodes[n].router.state().interfaces[0].state;
    assert_eq!(
        (st(a), st(b), st(c)),
        (IfState::Backup, IfState::Dr, IfState::DrOther)
    );
    // DROther is Full with DR and BDR; DR and BDR are Full with everyone.
    assert_eq!(
        sim.nbr_states(c),
        vec![(rid(1), NbrState::Full), (rid(2), NbrState::Full)]
    );
    assert_eq!(
        sim.nbr_states(a),
        vec![(rid(2), NbrState::Full), (rid(3), NbrState::Full)]
    );
    assert_eq!(
        sim.nbr_states(b),
        vec![(rid(1), NbrState::Full), (rid(3), NbrState::Full)]
    );
    // Everybody has the same database: 3 router-LSAs and the DR's network-LSA.
    for n in [a, b, c] {
        let db = sim.nodes[n].router.state().lsdb;
        assert_eq!(db.len(), 4, "node {n}: {db:?}");
    }
}

#[test]
fn announce_floods_and_withdraw_flushes_at_once() {
    let mut sim = Sim::new();
    let a = sim.add(1, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    let b = sim.add(2, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    sim.run_until(10_000);
    assert_eq!(sim.nbr_states(a), vec![(rid(2), NbrState::Full)]);
    sim.input(
        a,
        Input::Announce {
            prefix: vip(),
            metric: 20,
        },
    );
    sim.run_until(10_010);
    assert!(external_age(&sim, b, rid(1)).is_some_and(|a| a < MAX_AGE));
    // Withdraw a VIP announced long ago: the flush reaches B at once.
    sim.run_until(12_000);
    sim.input(a, Input::Withdraw { prefix: vip() });
    sim.run_until(12_002);
    assert_eq!(
        external_age(&sim, b, rid(1)),
        Some(MAX_AGE),
        "B must see the flush within 2 ms"
    );
    // Once acknowledged the MaxAge LSA leaves both databases.
    sim.run_until(19_000);
    assert_eq!(external_age(&sim, b, rid(1)), None);
    assert_eq!(external_age(&sim, a, rid(1)), None);
    // Re-announce: a new instance with a higher sequence number than the flushed one.
    sim.input(
        a,
        Input::Announce {
            prefix: vip(),
            metric: 20,
        },
    );
    sim.run_until(19_010);
    assert!(external_age(&sim, b, rid(1)).is_some_and(|a| a < MAX_AGE));
    // Withdraw 10 ms later: B would discard a flush arriving within MinLSArrival of the
    // announcement, so A sends it 1 s after the announcement, not at the 5 s retransmission.
    sim.input(a, Input::Withdraw { prefix: vip() });
    sim.run_until(19_990);
    assert!(external_age(&sim, b, rid(1)).is_some_and(|a| a < MAX_AGE));
    sim.run_until(20_010);
    assert_eq!(external_age(&sim, b, rid(1)), Some(MAX_AGE));
}

#[test]
fn restart_with_newer_self_lsa_in_the_area_bumps_sequence() {
    let mut sim = Sim::new();
    let a = sim.add(1, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    let b = sim.add(2, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    sim.input(
        a,
        Input::Announce {
            prefix: vip(),
            metric: 20,
        },
    );
    sim.run_until(10_000);
    for i in 0..5 {
        // A few changes so that A's LSAs have sequence numbers above the initial one.
        sim.input(a, Input::StubRouter(i % 2 == 0));
        sim.run_until(16_000 + i * 6000);
    }
    let seq_before = sim.nodes[b]
        .router
        .state()
        .lsdb
        .iter()
        .find(|l| l.key.adv_rtr == rid(1) && l.key.ls_type == 5)
        .map(|l| l.seq);
    // A restarts: a fresh router with the same id and the VIP no longer configured.
    sim.cut.push(1);
    sim.run_until(50_000);
    sim.nodes[a].router = Router::new(Config {
        router_id: rid(1),
        area_id: Ipv4Addr::UNSPECIFIED,
        interfaces: vec![IfConfig {
            hello_interval: 1,
            dead_interval: 4,
            ..IfConfig::new("eth0", NetworkType::PointToPoint)
        }],
        dd_seq_seed: 77,
        crypto_seq_base: 100,
    });
    sim.nodes[a].timers.clear();
    sim.cut.clear();
    sim.input(
        a,
        Input::InterfaceUp {
            ifname: "eth0".into(),
            ifindex: 1,
            addr: Ipv4Addr::new(10, 1, 0, 1),
            prefix_len: 24,
            mtu: 1500,
        },
    );
    sim.run_until(60_000);
    assert_eq!(sim.nbr_states(a), vec![(rid(2), NbrState::Full)]);
    // The old external LSA came back during the exchange and, no longer wanted, was flushed.
    assert!(seq_before.is_some());
    assert_eq!(external_age(&sim, b, rid(1)), None);
    // A's router-LSA in B's database is newer than the one A had before the restart.
    let b_view = sim.nodes[b].router.state().lsdb;
    let a_rtr = b_view
        .iter()
        .find(|l| l.key.adv_rtr == rid(1) && l.key.ls_type == 1)
        .map(|l| l.seq as i32);
    assert!(
        a_rtr.is_some_and(|s| s > 0x8000_0003u32 as i32),
        "{a_rtr:?}"
    );
}

#[test]
fn dead_neighbor_is_removed_after_dead_interval() {
    let mut sim = Sim::new();
    let a = sim.add(1, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    let _b = sim.add(2, &[("eth0", 1, NetworkType::PointToPoint, 1)]);
    sim.run_until(10_000);
    assert_eq!(sim.nbr_states(a).len(), 1);
    sim.cut.push(1);
    sim.run_until(15_500);
    assert!(sim.nbr_states(a).is_empty());
}
