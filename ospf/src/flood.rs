//! The flooding procedure (RFC 2328 13): receiving updates, requests and acknowledgments,
//! sending updates out interfaces, and direct and delayed acknowledgments.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use crate::config::NetworkType;
use crate::interface::IfState;
use crate::neighbor::{NbrEvent, NbrState};
use crate::packet::lsa::{
    ls_type_known, Lsa, LsaHeader, LsaKey, MAX_AGE, MAX_SEQ, MIN_LS_ARRIVAL_MS,
};
use crate::packet::{Body, LsAck, LsRequest, LsUpdate};
use crate::router::{Router, Timer};

/// Delay before sending a delayed acknowledgment (must be below RxmtInterval, 13.5).
const DELAYED_ACK_MS: u64 = 1000;

impl Router {
    /// 10.7: "Receiving Link State Request Packets".
    pub(crate) fn receive_ls_request(
        &mut self,
        ifname: &str,
        src: Ipv4Addr,
        rid: Ipv4Addr,
        r: LsRequest,
    ) {
        if !self.nbr_at_least(ifname, src, rid, NbrState::Exchange) {
            return;
        }
        let now = self.now;
        let mut lsas = Vec::new();
        for k in &r.entries {
            match self.lsdb.get(k) {
                Some(e) => lsas.push(e.lsa(now)),
                None => {
                    // "If an LSA cannot be found in the database, something has gone wrong with
                    // the Database Exchange process, and neighbor event BadLSReq should be
                    // generated."
                    self.nbr_event(ifname, rid, NbrEvent::BadLsReq);
                    return;
                }
            }
        }
        self.send_lsas(ifname, src, lsas);
    }

    /// Sends LSAs in as many LS Updates as the MTU requires, ages advanced by
    /// InfTransDelay (13.3: "the LS age ... must be incremented by InfTransDelay").
    pub(crate) fn send_lsas(&mut self, ifname: &str, dst: Ipv4Addr, lsas: Vec<Lsa>) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        let delay = iface.cfg.transmit_delay;
        let room = iface.max_payload().saturating_sub(24 + 4);
        let mut batch: Vec<Lsa> = Vec::new();
        let mut size = 0;
        let mut batches = Vec::new();
        for mut l in lsas {
            l.header.age = l.header.age.saturating_add(delay).min(MAX_AGE);
            let len = usize::from(l.header.length);
            if !batch.is_empty() && size + len > room {
                batches.push(std::mem::take(&mut batch));
                size = 0;
            }
            size += len;
            batch.push(l);
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        for b in batches {
            self.send(ifname, dst, Body::LsUpdate(LsUpdate { lsas: b }));
        }
    }

    fn send_direct_ack(&mut self, ifname: &str, dst: Ipv4Addr, headers: Vec<LsaHeader>) {
        if !headers.is_empty() {
            self.send(ifname, dst, Body::LsAck(LsAck { headers }));
        }
    }

    fn queue_delayed_ack(&mut self, ifname: &str, h: LsaHeader) {
        let now = self.now;
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        iface.delayed_acks.push(h);
        if !iface.delayed_ack_armed {
            iface.delayed_ack_armed = true;
            self.set_timer(
                Timer::DelayedAck {
                    ifname: ifname.into(),
                },
                now + DELAYED_ACK_MS,
            );
        }
    }

    pub(crate) fn send_delayed_acks(&mut self, ifname: &str) {
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        iface.delayed_ack_armed = false;
        if iface.state == IfState::Down {
            iface.delayed_acks.clear();
            return;
        }
        let headers = std::mem::take(&mut iface.delayed_acks);
        let dst = iface.flood_dst();
        let per = (iface.max_payload().saturating_sub(24) / 20).max(1);
        for chunk in headers.chunks(per) {
            self.send(
                ifname,
                dst,
                Body::LsAck(LsAck {
                    headers: chunk.to_vec(),
                }),
            );
        }
    }

    /// 13.7: "Receiving link state acknowledgments".
    pub(crate) fn receive_ls_ack(&mut self, ifname: &str, src: Ipv4Addr, rid: Ipv4Addr, a: LsAck) {
        if !self.nbr_at_least(ifname, src, rid, NbrState::Exchange) {
            return;
        }
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        for h in &a.headers {
            // "Does the LSA acknowledged have an instance on the Link state retransmission
            // list for the neighbor? If so, and if the acknowledgment is for the same instance
            // that is contained on the list, remove the item from the list."
            if let Some(l) = nbr.rxmt.get(&h.key()) {
                if l.header.compare(h) == Ordering::Equal
                    || (l.header.seq == h.seq && l.header.checksum == h.checksum)
                {
                    nbr.rxmt.remove(&h.key());
                }
            }
        }
    }

    fn is_self_originated(&self, h: &LsaHeader) -> bool {
        // 13.4: "the LSA's Advertising Router is equal to the router's own Router ID ... or
        // the LSA is a network-LSA and its Link State ID is equal to one of the router's own
        // IP interface addresses."
        h.adv_rtr == self.cfg.router_id
            || (h.ls_type == crate::packet::lsa::TYPE_NETWORK
                && self
                    .interfaces
                    .values()
                    .any(|i| i.state != IfState::Down && i.addr == h.ls_id))
    }

    fn any_nbr_exchanging(&self) -> bool {
        self.interfaces
            .values()
            .flat_map(|i| i.neighbors.values())
            .any(|n| matches!(n.state, NbrState::Exchange | NbrState::Loading))
    }

    /// RFC 2328 13: "Receiving Link State Update packets".
    pub(crate) fn receive_ls_update(
        &mut self,
        ifname: &str,
        src: Ipv4Addr,
        rid: Ipv4Addr,
        u: LsUpdate,
    ) {
        if !self.nbr_at_least(ifname, src, rid, NbrState::Exchange) {
            return;
        }
        let now = self.now;
        let mut direct_acks = Vec::new();
        for lsa in u.lsas {
            let h = lsa.header;
            let key = h.key();
            // (1) checksum: verified by the decoder. (2) "If the LS type is unknown, discard".
            if !ls_type_known(h.ls_type) {
                continue;
            }
            let db = self
                .lsdb
                .get(&key)
                .map(|e| (e.header(now), e.received_at, e.last_direct_send));
            // (4) "if the LSA's LS age is equal to MaxAge, and there is currently no instance
            // of the LSA in the router's link state database, and none of router's neighbors
            // are in states Exchange or Loading, then take the following actions: a)
            // Acknowledge the receipt of the LSA by sending a Link State Acknowledgment packet
            // back to the sending neighbor, and b) Discard the LSA".
            if h.age >= MAX_AGE && db.is_none() && !self.any_nbr_exchanging() {
                direct_acks.push(h);
                continue;
            }
            let cmp = db.map(|(d, _, _)| h.compare(&d));
            match cmp {
                None | Some(Ordering::Greater) => {
                    // (5a) "If there is already a database copy, and if the database copy was
                    // received via flooding and installed less than MinLSArrival seconds ago,
                    // discard the new LSA (without acknowledging it)".
                    if let Some((_, Some(at), _)) = db {
                        if now.saturating_sub(at) < MIN_LS_ARRIVAL_MS {
                            continue;
                        }
                    }
                    // (5b) "Immediately flood the new LSA out some subset of the router's
                    // interfaces".
                    let back_out = self.flood(&lsa, Some((ifname, rid)));
                    // (5c) "Remove the current database copy from all neighbors' Link state
                    // retransmission lists." (5d) "Install the new LSA in the link state
                    // database".
                    self.remove_from_rxmt(&key);
                    self.lsdb.install(lsa.clone(), now, true);
                    // (5e) "Possibly acknowledge the receipt of the LSA by sending a Link
                    // State Acknowledgment packet back out the receiving interface" (13.5).
                    if !back_out {
                        let iface_state = self.interfaces.get(ifname).map(|i| i.state);
                        let from_dr = self
                            .interfaces
                            .get(ifname)
                            .is_some_and(|i| self.nbr_addr(ifname, rid) == Some(i.dr));
                        if iface_state != Some(IfState::Backup) || from_dr {
                            self.queue_delayed_ack(ifname, h);
                        }
                    }
                    // (5f) "If this new LSA indicates that it was originated by the receiving
                    // router itself, the router must take special action" (13.4).
                    if self.is_self_originated(&h) {
                        self.self_originated_received(&lsa);
                    }
                    self.clear_request(ifname, rid, &key, Some(h));
                }
                Some(other) => {
                    // (6) "if there is an instance of the LSA on the sending neighbor's Link
                    // state request list, an error has occurred in the Database Exchange
                    // process ... generate the neighbor event BadLSReq".
                    if self
                        .nbr_mut(ifname, rid)
                        .is_some_and(|n| n.requests.contains_key(&key))
                    {
                        self.nbr_event(ifname, rid, NbrEvent::BadLsReq);
                        return;
                    }
                    if other == Ordering::Equal {
                        // (7) same instance: an implied acknowledgment if on the rxmt list.
                        let implied = self
                            .nbr_mut(ifname, rid)
                            .is_some_and(|n| n.rxmt.remove(&key).is_some());
                        if implied {
                            let backup = self.interfaces.get(ifname).map(|i| i.state)
                                == Some(IfState::Backup);
                            let from_dr = self
                                .interfaces
                                .get(ifname)
                                .is_some_and(|i| self.nbr_addr(ifname, rid) == Some(i.dr));
                            if backup && from_dr {
                                self.queue_delayed_ack(ifname, h);
                            }
                        } else {
                            // "Otherwise ... a direct acknowledgment is sent".
                            direct_acks.push(h);
                        }
                    } else {
                        // (8) "the database copy is more recent. If the database copy has LS
                        // age equal to MaxAge and LS sequence number equal to
                        // MaxSequenceNumber, simply discard the received LSA without
                        // acknowledging it. Otherwise, as long as the database copy has not
                        // been sent as a Link State Update within the last MinLSArrival
                        // seconds, send the database copy back to the sending neighbor".
                        let Some((dbh, _, last_sent)) = db else {
                            continue;
                        };
                        if dbh.age == MAX_AGE && dbh.seq == MAX_SEQ {
                            continue;
                        }
                        if last_sent.is_some_and(|t| now.saturating_sub(t) < MIN_LS_ARRIVAL_MS) {
                            continue;
                        }
                        if let Some(e) = self.lsdb.get_mut(&key) {
                            e.last_direct_send = Some(now);
                            let copy = e.lsa(now);
                            self.send_lsas(ifname, src, vec![copy]);
                        }
                    }
                }
            }
        }
        self.send_direct_ack(ifname, src, direct_acks);
        self.check_loading_done(ifname, rid);
    }

    fn nbr_addr(&self, ifname: &str, rid: Ipv4Addr) -> Option<Ipv4Addr> {
        self.interfaces
            .get(ifname)?
            .neighbors
            .get(&rid)
            .map(|n| n.addr)
    }

    /// Removes an answered request; sends the next LS Request when a batch is complete.
    fn clear_request(&mut self, ifname: &str, rid: Ipv4Addr, key: &LsaKey, got: Option<LsaHeader>) {
        let Some(n) = self.nbr_mut(ifname, rid) else {
            return;
        };
        if let (Some(req), Some(got)) = (n.requests.get(key), got) {
            if got.compare(req) != Ordering::Less {
                n.requests.remove(key);
                n.requested.retain(|k| k != key);
            }
        }
        if n.requested.is_empty() && !n.requests.is_empty() {
            self.send_ls_request(ifname, rid);
        }
    }

    fn check_loading_done(&mut self, ifname: &str, rid: Ipv4Addr) {
        if self
            .nbr_mut(ifname, rid)
            .is_some_and(|n| n.state == NbrState::Loading && n.requests.is_empty())
        {
            self.nbr_event(ifname, rid, NbrEvent::LoadingDone);
        }
    }

    pub(crate) fn remove_from_rxmt(&mut self, key: &LsaKey) {
        for iface in self.interfaces.values_mut() {
            for n in iface.neighbors.values_mut() {
                n.rxmt.remove(key);
            }
        }
    }

    /// RFC 2328 13.3: "Next step in the flooding procedure". `from` is the receiving
    /// interface and neighbor (None for LSAs we originate). Returns whether the LSA was
    /// flooded back out the receiving interface.
    pub(crate) fn flood(&mut self, lsa: &Lsa, from: Option<(&str, Ipv4Addr)>) -> bool {
        let key = lsa.key();
        let mut back_out = false;
        let names: Vec<String> = self.interfaces.keys().cloned().collect();
        for ifname in names {
            let Some(iface) = self.interfaces.get_mut(&ifname) else {
                continue;
            };
            if iface.state == IfState::Down {
                continue;
            }
            let mut added = false;
            for n in iface.neighbors.values_mut() {
                // (1a) "If the neighbor is in a lesser state than Exchange, it does not
                // participate in flooding".
                if n.state < NbrState::Exchange {
                    continue;
                }
                // (1b) "Else, if the adjacency is not yet full (neighbor state is Exchange or
                // Loading), examine the Link state request list associated with this
                // adjacency."
                if n.state < NbrState::Full {
                    if let Some(req) = n.requests.get(&key) {
                        match lsa.header.compare(req) {
                            Ordering::Less => continue,
                            Ordering::Equal => {
                                n.requests.remove(&key);
                                continue;
                            }
                            Ordering::Greater => {
                                n.requests.remove(&key);
                            }
                        }
                    }
                }
                // (1c) "If the new LSA was received from this neighbor, examine the next
                // neighbor."
                if from.is_some_and(|(f, rid)| f == ifname && rid == n.router_id) {
                    continue;
                }
                // (1d) "add the new LSA to the link state retransmission list for the
                // adjacency".
                n.rxmt.insert(key, lsa.clone());
                added = true;
            }
            // (2) "If in the previous step, the LSA was NOT added to any of the link state
            // retransmission lists, there is no need to flood the LSA out the interface."
            if !added {
                continue;
            }
            if let Some((f, rid)) = from {
                if f == ifname && iface.cfg.network == NetworkType::Broadcast {
                    // (3) "If the new LSA was received on this interface, and it was received
                    // from either the Designated Router or the Backup Designated Router, chances
                    // are that all the neighbors have received the LSA already."
                    let addr = iface.neighbors.get(&rid).map(|n| n.addr);
                    if addr == Some(iface.dr) || addr == Some(iface.bdr) {
                        continue;
                    }
                    // (4) "If the new LSA was received on this interface, and the interface
                    // state is Backup ... examine the next interface."
                    if iface.state == IfState::Backup {
                        continue;
                    }
                }
                if f == ifname {
                    back_out = true;
                }
            }
            // (5) flood out the interface (AllSPFRouters, or AllDRouters for DROther).
            let dst = iface.flood_dst();
            let rxmt_needed: Vec<Ipv4Addr> = iface
                .neighbors
                .values()
                .filter(|n| n.rxmt.contains_key(&key))
                .map(|n| n.router_id)
                .collect();
            self.send_lsas(&ifname, dst, vec![lsa.clone()]);
            for rid in rxmt_needed {
                self.arm_rxmt(&ifname, rid);
            }
        }
        back_out
    }
}
