//! What this router originates (RFC 2328 12.4): its router-LSA, a network-LSA on segments
//! where it is DR, and one AS-external LSA per announced VIP; refresh, MinLSInterval, premature
//! aging, and our own LSAs coming back newer (13.4). Also LSDB aging (14).
//!
//! `sync_own` computes the LSAs we want from the current state and reconciles them with the
//! database, so every change (an interface, a neighbor, a VIP, the drain flag) goes through the
//! same path.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::config::NetworkType;
use crate::interface::IfState;
use crate::neighbor::NbrState;
use crate::packet::lsa::*;
use crate::router::{Prefix, Router, Timer};

#[derive(Debug, Default)]
pub struct Origination {
    /// VIP prefix -> external metric.
    pub vips: BTreeMap<Prefix, u32>,
    /// RFC 6987 stub-router (drain).
    pub stub_router: bool,
    pub shutting_down: bool,
    /// Per self-originated LSA: last sequence number used and when it was originated.
    pub own: BTreeMap<LsaKey, Own>,
}

#[derive(Debug, Clone, Copy)]
pub struct Own {
    pub seq: u32,
    pub originated_at: u64,
    /// Re-originate even if the body is unchanged (refresh, 13.4).
    pub force: bool,
    /// A new instance is waiting for MinLSInterval.
    pub pending: bool,
    /// A flush is waiting until neighbors accept a new instance (MinLSArrival).
    pub flush_at: Option<u64>,
}

/// AS-external metric used for every VIP while draining: the largest below LSInfinity, so the
/// route stays usable but loses to any other node announcing it (RFC 2328 16.4: lower type 2
/// cost wins).
pub const DRAIN_EXTERNAL_METRIC: u32 = LS_INFINITY - 1;

impl Router {
    /// The LSAs this router should have in the database right now.
    fn desired(&self) -> BTreeMap<LsaKey, (u8, LsaBody)> {
        let rid = self.cfg.router_id;
        let mut want = BTreeMap::new();
        if self.origin.shutting_down {
            return want;
        }
        let stub = self.origin.stub_router;
        let transit_cost = |c: u16| if stub { MAX_LINK_METRIC } else { c };
        let mut links = Vec::new();
        for iface in self.interfaces.values() {
            let cost = iface.cfg.cost;
            let stub_link = RouterLink {
                link_id: iface.network(),
                link_data: iface.mask(),
                link_type: LINK_STUB,
                metric: cost,
                tos: Vec::new(),
            };
            match (iface.cfg.network, iface.state) {
                (_, IfState::Down) => {}
                (NetworkType::PointToPoint, _) => {
                    // 12.4.1.1: "If the neighboring router is fully adjacent, add a Type 1
                    // link (point-to-point)" ... then a stub link for the subnet (option 1).
                    for n in iface
                        .neighbors
                        .values()
                        .filter(|n| n.state == NbrState::Full)
                    {
                        links.push(RouterLink {
                            link_id: n.router_id,
                            link_data: iface.addr,
                            link_type: LINK_P2P,
                            metric: transit_cost(cost),
                            tos: Vec::new(),
                        });
                    }
                    links.push(stub_link);
                }
                (NetworkType::Broadcast, state) => {
                    // 12.4.1.2: "If the state of the interface is Waiting, add a Type 3 link
                    // (stub network)" ... "Else, there has been a Designated Router elected
                    // for the attached network. If the router is fully adjacent to the
                    // Designated Router, or if the router itself is Designated Router and is
                    // fully adjacent to at least one other router, add a single Type 2 link
                    // (transit network)". Otherwise a stub link.
                    let full_to_dr = if state == IfState::Dr {
                        iface.neighbors.values().any(|n| n.state == NbrState::Full)
                    } else {
                        iface
                            .neighbors
                            .values()
                            .any(|n| n.state == NbrState::Full && n.addr == iface.dr)
                    };
                    if state != IfState::Waiting && full_to_dr {
                        links.push(RouterLink {
                            link_id: iface.dr,
                            link_data: iface.addr,
                            link_type: LINK_TRANSIT,
                            metric: transit_cost(cost),
                            tos: Vec::new(),
                        });
                    } else {
                        links.push(stub_link);
                    }
                    // 12.4.2: the DR originates the network-LSA when fully adjacent to at
                    // least one other router.
                    if state == IfState::Dr && full_to_dr {
                        let mut routers = vec![rid];
                        routers.extend(
                            iface
                                .neighbors
                                .values()
                                .filter(|n| n.state == NbrState::Full)
                                .map(|n| n.router_id),
                        );
                        let key = LsaKey {
                            ls_type: TYPE_NETWORK,
                            ls_id: iface.addr,
                            adv_rtr: rid,
                        };
                        want.insert(
                            key,
                            (
                                OPT_E,
                                LsaBody::Network(NetworkLsa {
                                    mask: iface.mask(),
                                    routers,
                                }),
                            ),
                        );
                    }
                }
            }
        }
        // The E bit: "set when the router is an AS boundary router" (we originate type 5).
        let flags = if self.origin.vips.is_empty() {
            0
        } else {
            ROUTER_FLAG_E
        };
        let key = LsaKey {
            ls_type: TYPE_ROUTER,
            ls_id: rid,
            adv_rtr: rid,
        };
        want.insert(key, (OPT_E, LsaBody::Router(RouterLsa { flags, links })));
        for (p, metric) in &self.origin.vips {
            let metric = if stub {
                DRAIN_EXTERNAL_METRIC
            } else {
                (*metric).min(LS_INFINITY - 1)
            };
            let key = LsaKey {
                ls_type: TYPE_AS_EXTERNAL,
                ls_id: p.addr,
                adv_rtr: rid,
            };
            let body = LsaBody::AsExternal(ExternalLsa {
                mask: p.mask(),
                metrics: vec![ExternalMetric {
                    tos: 0,
                    e2: true,
                    metric,
                    forwarding: Ipv4Addr::UNSPECIFIED,
                    tag: 0,
                }],
            });
            want.insert(key, (OPT_E, body));
        }
        want
    }

    /// Reconciles our LSAs in the database with [`Self::desired`].
    pub(crate) fn sync_own(&mut self, _force_all: bool) {
        let now = self.now;
        let want = self.desired();
        for (key, (options, body)) in &want {
            let db = self.lsdb.get(key);
            let own = self.origin.own.get(key).copied();
            let same = db.is_some_and(|e| {
                e.age(now) < MAX_AGE && &e.lsa.body == body && e.lsa.header.options == *options
            });
            if same && !own.is_some_and(|o| o.force) {
                continue;
            }
            // 12.4: "a router must wait at least MinLSInterval between successive
            // originations of the same LSA".
            if let Some(o) = own {
                if now < o.originated_at + MIN_LS_INTERVAL_MS && !o.force {
                    if let Some(o) = self.origin.own.get_mut(key) {
                        o.pending = true;
                    }
                    continue;
                }
            }
            self.originate(*key, *options, body.clone());
        }
        for (k, o) in self.origin.own.iter_mut() {
            if want.contains_key(k) {
                o.flush_at = None;
            }
        }
        // Everything we originated that is no longer wanted is flushed by premature aging
        // (14.1), at once: withdrawal must not wait for a timer.
        let stale: Vec<LsaKey> = self
            .lsdb
            .iter()
            .filter(|(k, e)| {
                k.adv_rtr == self.cfg.router_id && !want.contains_key(k) && e.age(now) < MAX_AGE
            })
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            // Neighbors discard an instance arriving less than MinLSArrival after the previous
            // one (13 (5a)) and would only get it at the next retransmission: a flush right
            // after an origination goes out once MinLSArrival has passed instead.
            if let Some(o) = self.origin.own.get_mut(&k) {
                let ready = o.originated_at + MIN_LS_ARRIVAL_MS;
                if now < ready && o.originated_at > 0 {
                    o.flush_at = Some(ready);
                    continue;
                }
                o.flush_at = None;
            }
            self.flush(&k);
        }
    }

    fn originate(&mut self, key: LsaKey, options: u8, body: LsaBody) {
        let now = self.now;
        let db_seq = self.lsdb.get(&key).map(|e| e.lsa.header.seq);
        let last = self.origin.own.get(&key).map(|o| o.seq);
        // The next sequence number after both what we used and what the database holds
        // (signed comparison, 12.1.6).
        let prev = [db_seq, last]
            .into_iter()
            .flatten()
            .max_by_key(|s| *s as i32);
        let seq = match prev {
            None => INITIAL_SEQ,
            Some(s) if s == MAX_SEQ => {
                // 12.1.6: the instance with MaxSequenceNumber must be flushed before the
                // sequence number wraps; start again after the flush.
                self.flush(&key);
                self.origin.own.insert(
                    key,
                    Own {
                        seq: INITIAL_SEQ.wrapping_sub(1),
                        originated_at: now,
                        force: false,
                        pending: true,
                        flush_at: None,
                    },
                );
                return;
            }
            Some(s) => s.wrapping_add(1),
        };
        let header = LsaHeader {
            age: 0,
            options,
            ls_type: key.ls_type,
            ls_id: key.ls_id,
            adv_rtr: key.adv_rtr,
            seq,
            checksum: 0,
            length: 0,
        };
        let lsa = Lsa::new(header, body);
        tracing::debug!(lsa = %key, seq = format_args!("{seq:#x}"), "originating LSA");
        self.origin.own.insert(
            key,
            Own {
                seq,
                originated_at: now,
                force: false,
                pending: false,
                flush_at: None,
            },
        );
        self.remove_from_rxmt(&key);
        self.lsdb.install(lsa.clone(), now, false);
        self.flood(&lsa, None);
    }

    /// Premature aging (14.1): set the age to MaxAge and flood.
    pub(crate) fn flush(&mut self, key: &LsaKey) {
        let now = self.now;
        let Some(e) = self.lsdb.get(key) else {
            return;
        };
        let mut lsa = e.lsa.clone();
        lsa.header.age = MAX_AGE;
        tracing::debug!(lsa = %key, "flushing LSA");
        self.remove_from_rxmt(key);
        self.lsdb.install(lsa.clone(), now, false);
        self.flood(&lsa, None);
    }

    /// 13.4: "Receiving self-originated LSAs". The received instance is already installed.
    pub(crate) fn self_originated_received(&mut self, lsa: &Lsa) {
        let key = lsa.key();
        let foreign_network = key.adv_rtr != self.cfg.router_id;
        if lsa.header.age >= MAX_AGE {
            return;
        }
        let wanted = !foreign_network && self.desired().contains_key(&key);
        if wanted {
            // "the router must advance the LSA's LS sequence number one past the received LS
            // sequence number, and originate a new instance of the LSA."
            let now = self.now;
            let o = self.origin.own.entry(key).or_insert(Own {
                seq: lsa.header.seq,
                originated_at: 0,
                force: true,
                pending: false,
                flush_at: None,
            });
            if (lsa.header.seq as i32) > (o.seq as i32) {
                o.seq = lsa.header.seq;
            }
            o.force = true;
            o.originated_at = o.originated_at.min(now);
            self.sync_own(false);
        } else {
            // "In this case, the LSA should be flushed from the routing domain by setting its
            // LS age to MaxAge and reflooding."
            self.flush(&key);
        }
    }

    /// Aging (14): refresh our LSAs at LSRefreshTime, release throttled originations, and
    /// remove MaxAge LSAs once every neighbor has acknowledged them.
    pub(crate) fn lsdb_housekeeping(&mut self) {
        let now = self.now;
        let rid = self.cfg.router_id;
        // 12.4 (1): "The LSA's LS age field reaches the value LSRefreshTime."
        let refresh: Vec<LsaKey> = self
            .lsdb
            .iter()
            .filter(|(k, e)| {
                k.adv_rtr == rid && e.age(now) >= LS_REFRESH_TIME && e.age(now) < MAX_AGE
            })
            .map(|(k, _)| *k)
            .collect();
        for k in refresh {
            if let Some(o) = self.origin.own.get_mut(&k) {
                o.force = true;
            }
        }
        let due = self.origin.own.values().any(|o| {
            o.force
                || (o.pending && now >= o.originated_at + MIN_LS_INTERVAL_MS)
                || o.flush_at.is_some_and(|t| now >= t)
        });
        if due {
            for o in self.origin.own.values_mut() {
                if o.pending && now >= o.originated_at + MIN_LS_INTERVAL_MS {
                    o.force = true;
                }
            }
            self.sync_own(false);
        }
        // 14: "When an LSA's LS age field reaches MaxAge, it is reflooded" and "A MaxAge LSA
        // must be removed immediately from the router's link state database as soon as both
        // a) it is no longer contained on any neighbor Link state retransmission lists and b)
        // none of the router's neighbors are in states Exchange or Loading."
        let exchanging = self
            .interfaces
            .values()
            .flat_map(|i| i.neighbors.values())
            .any(|n| matches!(n.state, NbrState::Exchange | NbrState::Loading));
        let aged: Vec<(LsaKey, bool)> = self
            .lsdb
            .iter()
            .filter(|(_, e)| e.age(now) >= MAX_AGE)
            .map(|(k, e)| (*k, e.lsa.header.age < MAX_AGE))
            .collect();
        for (k, natural) in aged {
            if natural {
                // Reached MaxAge by aging: store it as MaxAge and reflood.
                self.flush(&k);
                continue;
            }
            let listed = self
                .interfaces
                .values()
                .flat_map(|i| i.neighbors.values())
                .any(|n| n.rxmt.contains_key(&k));
            if !listed && !exchanging {
                self.lsdb.remove(&k);
                if let Some(o) = self.origin.own.get_mut(&k) {
                    if o.pending {
                        o.force = true;
                    }
                }
            }
        }
    }

    /// Asks for [`Timer::Lsdb`] at the next moment housekeeping has something to do.
    pub(crate) fn schedule_lsdb_timer(&mut self) {
        let now = self.now;
        let rid = self.cfg.router_id;
        let mut next: Option<u64> = None;
        let mut at = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        if let Some(t) = self
            .lsdb
            .next_age_deadline(LS_REFRESH_TIME, |k| k.adv_rtr == rid)
        {
            at(t);
        }
        if let Some(t) = self.lsdb.next_age_deadline(MAX_AGE, |k| k.adv_rtr != rid) {
            at(t);
        }
        for o in self.origin.own.values() {
            if o.pending {
                at(o.originated_at + MIN_LS_INTERVAL_MS);
            }
            if let Some(t) = o.flush_at {
                at(t);
            }
        }
        if self.lsdb.iter().any(|(_, e)| e.age(now) >= MAX_AGE) {
            at(now + 1000);
        }
        // Only ever move the timer earlier: an early expiry is harmless (housekeeping
        // re-checks everything), a timer pushed back on every packet would never fire.
        if let Some(t) = next.map(|t| t.max(now)) {
            if self.lsdb_timer.is_none_or(|cur| t < cur) {
                self.set_timer(Timer::Lsdb, t);
                self.lsdb_timer = Some(t);
            }
        }
    }
}
