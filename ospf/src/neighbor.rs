//! Neighbors and the neighbor state machine (RFC 2328 10), Hello processing (10.5) and the
//! database exchange (10.6, 10.8).

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::config::NetworkType;
use crate::interface::IfState;
use crate::packet::dbdesc::{DD_FLAG_I, DD_FLAG_M, DD_FLAG_MS};
use crate::packet::lsa::{ls_type_known, Lsa, LsaHeader, LsaKey, LSA_HEADER_LEN, MAX_AGE, OPT_E};
use crate::packet::{Body, DbDesc, Hello, LsRequest};
use crate::router::{DropReason, Output, Router, Timer};

/// RFC 2328 10.1 neighbor states (Attempt is NBMA-only and not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NbrState {
    Down,
    Init,
    TwoWay,
    ExStart,
    Exchange,
    Loading,
    Full,
}

/// RFC 2328 10.2 neighbor events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbrEvent {
    HelloReceived,
    TwoWayReceived,
    NegotiationDone,
    ExchangeDone,
    BadLsReq,
    LoadingDone,
    AdjOk,
    SeqNumberMismatch,
    OneWay,
    KillNbr,
    InactivityTimer,
}

pub struct Neighbor {
    pub router_id: Ipv4Addr,
    pub addr: Ipv4Addr,
    pub priority: u8,
    /// DR and BDR as declared in the neighbor's last Hello.
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub options: u8,
    pub state: NbrState,
    pub dead_at: u64,
    /// True when we are master of the database exchange.
    pub master: bool,
    pub dd_seq: u32,
    /// (flags, options, seq) of the last DD received, for duplicate detection.
    pub last_rcvd_dd: Option<(u8, u8, u32)>,
    pub last_sent_dd: Option<DbDesc>,
    pub summary: VecDeque<LsaHeader>,
    pub requests: BTreeMap<LsaKey, LsaHeader>,
    /// Requests sent in the last LS Request, not yet answered.
    pub requested: Vec<LsaKey>,
    pub rxmt: BTreeMap<LsaKey, Lsa>,
    pub rxmt_armed: bool,
    pub crypto_seq: Option<u32>,
}

impl Neighbor {
    fn new(router_id: Ipv4Addr, addr: Ipv4Addr) -> Self {
        Neighbor {
            router_id,
            addr,
            priority: 0,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            options: 0,
            state: NbrState::Down,
            dead_at: 0,
            master: false,
            dd_seq: 0,
            last_rcvd_dd: None,
            last_sent_dd: None,
            summary: VecDeque::new(),
            requests: BTreeMap::new(),
            requested: Vec::new(),
            rxmt: BTreeMap::new(),
            rxmt_armed: false,
            crypto_seq: None,
        }
    }

    fn clear_lists(&mut self) {
        self.summary.clear();
        self.requests.clear();
        self.requested.clear();
        self.rxmt.clear();
        self.last_rcvd_dd = None;
        self.last_sent_dd = None;
    }
}

impl Router {
    /// RFC 2328 10.5: the Hello protocol.
    pub(crate) fn receive_hello(&mut self, ifname: &str, src: Ipv4Addr, rid: Ipv4Addr, h: Hello) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        // 10.5: "The setting of the E-bit found in the Hello Packet's Options field must match
        // this area's ExternalRoutingCapability."
        if h.options & OPT_E == 0 {
            return self.drop_packet(
                ifname,
                src,
                DropReason::ExternalOptionMismatch { options: h.options },
            );
        }
        // "the Network Mask ... must be the same as the receiving interface's network mask"
        // (not checked on point-to-point networks).
        if iface.cfg.network == NetworkType::Broadcast && h.mask != iface.mask() {
            return self.drop_packet(ifname, src, DropReason::MaskMismatch { received: h.mask });
        }
        // "The HelloInterval and RouterDeadInterval fields in the received Hello packet must
        // be checked against the values configured for the receiving interface."
        if h.hello_interval != iface.cfg.hello_interval {
            let received = h.hello_interval;
            return self.drop_packet(ifname, src, DropReason::HelloIntervalMismatch { received });
        }
        if h.dead_interval != iface.cfg.dead_interval {
            let received = h.dead_interval;
            return self.drop_packet(ifname, src, DropReason::DeadIntervalMismatch { received });
        }
        let broadcast = iface.cfg.network == NetworkType::Broadcast;
        let waiting = iface.state == IfState::Waiting;
        let dead = u64::from(iface.cfg.dead_interval) * 1000;
        let my_rid = self.cfg.router_id;
        let now = self.now;
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        let is_new = !iface.neighbors.contains_key(&rid);
        let nbr = iface
            .neighbors
            .entry(rid)
            .or_insert_with(|| Neighbor::new(rid, src));
        nbr.addr = src;
        let (old_prio, old_dr, old_bdr) = (nbr.priority, nbr.dr, nbr.bdr);
        nbr.priority = h.priority;
        nbr.dr = h.dr;
        nbr.bdr = h.bdr;
        nbr.dead_at = now + dead;
        self.nbr_event(ifname, rid, NbrEvent::HelloReceived);
        if is_new {
            // Answer a new neighbor at once so that it sees us without waiting a hello interval.
            self.send_hello(ifname);
        }
        // "the list of neighbors ... If the router itself appears in this list, the neighbor
        // state machine should be executed with the event 2-WayReceived. Otherwise ... 1-WayReceived
        // ... and the processing of the packet stops."
        if !h.neighbors.contains(&my_rid) {
            self.nbr_event(ifname, rid, NbrEvent::OneWay);
            return;
        }
        self.nbr_event(ifname, rid, NbrEvent::TwoWayReceived);
        if !broadcast {
            return;
        }
        // "If a change in the neighbor's Router Priority field was noted, the receiving
        // interface's state machine is scheduled with the event NeighborChange."
        let mut change = old_prio != h.priority && !is_new;
        // "If the neighbor is both declaring itself to be Designated Router (Hello Packet's
        // Designated Router field = Neighbor IP address) and the Backup Designated Router field
        // in the packet is equal to 0.0.0.0 and the receiving interface is in state Waiting, the
        // receiving interface's state machine is scheduled with the event BackupSeen."
        let mut backup_seen = false;
        if h.dr == src && h.bdr.is_unspecified() && waiting {
            backup_seen = true;
        } else if (h.dr == src) != (old_dr == src) {
            // "if the neighbor is declaring itself to be Designated Router and it had not
            // previously, or the neighbor is not declaring itself Designated Router where it
            // had previously, ... NeighborChange."
            change = true;
        }
        if h.bdr == src && waiting {
            backup_seen = true;
        } else if (h.bdr == src) != (old_bdr == src) {
            change = true;
        }
        if backup_seen {
            self.backup_seen(ifname);
        } else if change {
            self.neighbor_change(ifname);
        }
    }

    pub(crate) fn inactivity_timer(&mut self, ifname: &str, rid: Ipv4Addr) {
        let Some(nbr) = self
            .interfaces
            .get(ifname)
            .and_then(|i| i.neighbors.get(&rid))
        else {
            return;
        };
        if nbr.dead_at > self.now {
            // A Hello arrived since the timer was set: wait for the new deadline.
            let at = nbr.dead_at;
            self.set_timer(
                Timer::Inactivity {
                    ifname: ifname.into(),
                    nbr: rid,
                },
                at,
            );
            return;
        }
        self.nbr_event(ifname, rid, NbrEvent::InactivityTimer);
    }

    /// The neighbor state machine (RFC 2328 10.3). The one place neighbor states change.
    pub(crate) fn nbr_event(&mut self, ifname: &str, rid: Ipv4Addr, ev: NbrEvent) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        let Some(nbr) = iface.neighbors.get(&rid) else {
            return;
        };
        let from = nbr.state;
        let wanted = iface.adjacency_wanted(nbr);
        use NbrEvent as E;
        use NbrState as S;
        let to = match (from, ev) {
            (S::Down, E::HelloReceived) => {
                let at = nbr.dead_at;
                self.set_timer(
                    Timer::Inactivity {
                        ifname: ifname.into(),
                        nbr: rid,
                    },
                    at,
                );
                S::Init
            }
            (_, E::HelloReceived) => from,
            // "Determine whether an adjacency should be established with the neighbor."
            (S::Init, E::TwoWayReceived) if wanted => S::ExStart,
            (S::Init, E::TwoWayReceived) => S::TwoWay,
            (S::TwoWay, E::AdjOk) if wanted => S::ExStart,
            (s, E::AdjOk) if s >= S::ExStart && !wanted => S::TwoWay,
            (S::ExStart, E::NegotiationDone) => S::Exchange,
            (S::Exchange, E::ExchangeDone) => {
                if nbr.requests.is_empty() {
                    S::Full
                } else {
                    S::Loading
                }
            }
            (S::Loading, E::LoadingDone) => S::Full,
            (s, E::SeqNumberMismatch | E::BadLsReq) if s >= S::Exchange => S::ExStart,
            (s, E::OneWay) if s >= S::TwoWay => S::Init,
            (_, E::KillNbr | E::InactivityTimer) => S::Down,
            _ => return,
        };
        self.set_nbr_state(ifname, rid, from, to, ev);
    }

    fn set_nbr_state(
        &mut self,
        ifname: &str,
        rid: Ipv4Addr,
        from: NbrState,
        to: NbrState,
        ev: NbrEvent,
    ) {
        let seq = self.dd_seq_next;
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        let broadcast = iface.cfg.network == NetworkType::Broadcast;
        let Some(nbr) = iface.neighbors.get_mut(&rid) else {
            return;
        };
        nbr.state = to;
        let entering_exstart = to == NbrState::ExStart && (from != to || ev != NbrEvent::AdjOk);
        if to <= NbrState::TwoWay || entering_exstart {
            nbr.clear_lists();
        }
        if from != to {
            tracing::info!(ifname, router_id = %rid, ?from, ?to, event = ?ev, "OSPF neighbor state");
            self.out.push(Output::NeighborState {
                ifname: ifname.to_string(),
                router_id: rid,
                from,
                to,
                event: format!("{ev:?}"),
            });
        }
        if entering_exstart {
            // 10.3 ExStart: "the router increments the DD sequence number in the neighbor data
            // structure ... declares itself master (sets the master/slave bit to master), and
            // starts sending Database Description Packets, with the initialize (I), more (M)
            // and master (MS) bits set."
            self.dd_seq_next = self.dd_seq_next.wrapping_add(1);
            if let Some(nbr) = self.nbr_mut(ifname, rid) {
                nbr.master = true;
                nbr.dd_seq = seq;
            }
            let mtu = self.interfaces.get(ifname).map(|i| i.mtu).unwrap_or(1500);
            let dd = DbDesc {
                mtu,
                options: OPT_E,
                flags: DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS,
                seq,
                headers: Vec::new(),
            };
            self.send_dd(ifname, rid, dd);
            self.arm_rxmt(ifname, rid);
        }
        if to == NbrState::Down {
            if let Some(iface) = self.interfaces.get_mut(ifname) {
                iface.neighbors.remove(&rid);
            }
            for timer in [
                Timer::Inactivity {
                    ifname: ifname.into(),
                    nbr: rid,
                },
                Timer::Rxmt {
                    ifname: ifname.into(),
                    nbr: rid,
                },
            ] {
                self.out.push(Output::CancelTimer { timer });
            }
        }
        if to == NbrState::Loading
            && self
                .nbr_mut(ifname, rid)
                .is_some_and(|n| n.requested.is_empty())
        {
            self.send_ls_request(ifname, rid);
        }
        // 9.2 NeighborChange: "a bidirectional relationship is now established / no longer
        // established with the neighbor".
        let two_way = |s: NbrState| s >= NbrState::TwoWay;
        if broadcast && two_way(from) != two_way(to) {
            self.neighbor_change(ifname);
        }
        if (from == NbrState::Full) != (to == NbrState::Full) {
            self.sync_own(false);
        }
    }

    pub(crate) fn nbr_mut(&mut self, ifname: &str, rid: Ipv4Addr) -> Option<&mut Neighbor> {
        self.interfaces
            .get_mut(ifname)
            .and_then(|i| i.neighbors.get_mut(&rid))
    }

    fn send_dd(&mut self, ifname: &str, rid: Ipv4Addr, dd: DbDesc) {
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        nbr.last_sent_dd = Some(dd.clone());
        let dst = nbr.addr;
        self.send(ifname, dst, Body::DbDesc(dd));
    }

    pub(crate) fn arm_rxmt(&mut self, ifname: &str, rid: Ipv4Addr) {
        let Some(iface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        let at = self.now + u64::from(iface.cfg.rxmt_interval) * 1000;
        let Some(nbr) = iface.neighbors.get_mut(&rid) else {
            return;
        };
        if !nbr.rxmt_armed {
            nbr.rxmt_armed = true;
            self.set_timer(
                Timer::Rxmt {
                    ifname: ifname.into(),
                    nbr: rid,
                },
                at,
            );
        }
    }

    /// RxmtInterval expired: resend what the neighbor has not acknowledged (10.8, 13.6).
    pub(crate) fn rxmt_timer(&mut self, ifname: &str, rid: Ipv4Addr) {
        let now = self.now;
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        nbr.rxmt_armed = false;
        let state = nbr.state;
        let mut pending = false;
        // DD retransmission: in ExStart always, in Exchange only as master.
        if state == NbrState::ExStart || (state == NbrState::Exchange && nbr.master) {
            if let Some(dd) = nbr.last_sent_dd.clone() {
                let dst = nbr.addr;
                self.send(ifname, dst, Body::DbDesc(dd));
                pending = true;
            }
        }
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        if matches!(state, NbrState::Exchange | NbrState::Loading) && !nbr.requested.is_empty() {
            nbr.requested.clear();
            self.send_ls_request(ifname, rid);
            pending = true;
        }
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        if state >= NbrState::Exchange && !nbr.rxmt.is_empty() {
            // 13.6: retransmitted LSAs are sent directly to the neighbor. The stored copies
            // are refreshed from the database so that their age is current.
            let listed: Vec<Lsa> = nbr.rxmt.values().cloned().collect();
            let dst = nbr.addr;
            let lsas: Vec<Lsa> = listed
                .into_iter()
                .map(|l| match self.lsdb.get(&l.key()) {
                    Some(e)
                        if e.lsa.header.seq == l.header.seq
                            && e.lsa.header.checksum == l.header.checksum =>
                    {
                        e.lsa(now)
                    }
                    _ => l,
                })
                .collect();
            self.send_lsas(ifname, dst, lsas);
            pending = true;
        }
        if pending {
            self.arm_rxmt(ifname, rid);
        }
    }

    /// RFC 2328 10.6: receiving a Database Description packet.
    pub(crate) fn receive_dd(&mut self, ifname: &str, src: Ipv4Addr, rid: Ipv4Addr, dd: DbDesc) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        // "If the Interface MTU field in the Database Description packet indicates an IP
        // datagram size that is larger than the router can accept on the receiving interface
        // without fragmentation, the Database Description packet is rejected."
        if dd.mtu > iface.mtu {
            let (received, ours) = (dd.mtu, iface.mtu);
            return self.drop_packet(ifname, src, DropReason::MtuTooLarge { received, ours });
        }
        let Some(nbr) = iface.neighbors.get(&rid) else {
            return self.drop_packet(ifname, src, DropReason::UnknownNeighbor { router_id: rid });
        };
        let my_rid = self.cfg.router_id;
        let dup = nbr.last_rcvd_dd == Some((dd.flags, dd.options, dd.seq));
        match nbr.state {
            NbrState::Down => {
                let state = nbr.state;
                self.drop_packet(ifname, src, DropReason::NeighborStateTooLow { state })
            }
            NbrState::Init => {
                // "Init: The neighbor state machine should be executed with the event
                // 2-WayReceived ... if the new state is ExStart, the processing of the current
                // packet should then continue in this new state".
                self.nbr_event(ifname, rid, NbrEvent::TwoWayReceived);
                if self
                    .nbr_mut(ifname, rid)
                    .is_some_and(|n| n.state == NbrState::ExStart)
                {
                    self.receive_dd(ifname, src, rid, dd);
                }
            }
            // "2-Way: The packet should be ignored."
            NbrState::TwoWay => {}
            NbrState::ExStart => {
                let empty = dd.headers.is_empty();
                let all = DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS;
                if dd.flags & all == all && empty && rid > my_rid {
                    // "The initialize(I), more (M) and master(MS) bits are set, the contents
                    // of the packet are empty, and the neighbor's Router ID is larger than the
                    // router's own. In this case the router is now Slave. Set the master/slave
                    // bit to slave, and set the neighbor data structure's DD sequence number to
                    // that specified by the master."
                    if let Some(n) = self.nbr_mut(ifname, rid) {
                        n.master = false;
                        n.dd_seq = dd.seq;
                        n.options = dd.options;
                    }
                    self.nbr_event(ifname, rid, NbrEvent::NegotiationDone);
                    self.build_summary(ifname, rid);
                    self.accept_dd(ifname, rid, dd);
                } else if dd.flags & (DD_FLAG_I | DD_FLAG_MS) == 0
                    && dd.seq == nbr.dd_seq
                    && rid < my_rid
                {
                    // "The initialize(I) and master(MS) bits are off, the packet's DD sequence
                    // number equals the neighbor data structure's DD sequence number (indicating
                    // acknowledgment) and the neighbor's Router ID is smaller than the router's
                    // own. In this case the router is Master."
                    if let Some(n) = self.nbr_mut(ifname, rid) {
                        n.master = true;
                        n.options = dd.options;
                    }
                    self.nbr_event(ifname, rid, NbrEvent::NegotiationDone);
                    self.build_summary(ifname, rid);
                    self.accept_dd(ifname, rid, dd);
                }
                // "Otherwise, the packet should be ignored."
            }
            NbrState::Exchange => {
                if dup {
                    // "Duplicate Database Description packets are discarded by the master,
                    // and cause the slave to retransmit the last Database Description packet
                    // that it had sent."
                    if !nbr.master {
                        self.resend_last_dd(ifname, rid);
                    }
                    return;
                }
                // "If the state of the MS-bit is inconsistent with the master/slave state of
                // the connection, generate the neighbor event SeqNumberMismatch" ... "If the
                // initialize(I) bit is set, generate ... SeqNumberMismatch" ... "If the
                // packet's Options field indicates a different set of optional OSPF
                // capabilities than were previously received from the neighbor ...
                // SeqNumberMismatch".
                let ms_ok = dd.is_master() != nbr.master;
                let seq_ok = if nbr.master {
                    dd.seq == nbr.dd_seq
                } else {
                    dd.seq == nbr.dd_seq.wrapping_add(1)
                };
                if !ms_ok || dd.is_init() || dd.options != nbr.options || !seq_ok {
                    self.nbr_event(ifname, rid, NbrEvent::SeqNumberMismatch);
                    return;
                }
                self.accept_dd(ifname, rid, dd);
            }
            NbrState::Loading | NbrState::Full => {
                // "the router has sent and received an entire sequence of Database
                // Description Packets. The only packets received should be duplicates ...
                // Any other packets received, including the reception of a packet with the
                // Initialize(I) bit set, should generate ... SeqNumberMismatch."
                if dup {
                    if !nbr.master {
                        self.resend_last_dd(ifname, rid);
                    }
                } else {
                    self.nbr_event(ifname, rid, NbrEvent::SeqNumberMismatch);
                }
            }
        }
    }

    fn resend_last_dd(&mut self, ifname: &str, rid: Ipv4Addr) {
        if let Some(n) = self.nbr_mut(ifname, rid) {
            if let Some(dd) = n.last_sent_dd.clone() {
                let dst = n.addr;
                self.send(ifname, dst, Body::DbDesc(dd));
            }
        }
    }

    /// 10.3 NegotiationDone: "the router begins sending summaries of its link state database
    /// ... (the Database summary list)". MaxAge LSAs go on the retransmission list instead
    /// (14: "these LSAs are ... added to the neighbor's Link state retransmission list").
    fn build_summary(&mut self, ifname: &str, rid: Ipv4Addr) {
        let now = self.now;
        let mut summary = VecDeque::new();
        let mut maxage = Vec::new();
        for (_, e) in self.lsdb.iter() {
            if e.age(now) == MAX_AGE {
                maxage.push(e.lsa(now));
            } else {
                summary.push_back(e.header(now));
            }
        }
        if let Some(n) = self.nbr_mut(ifname, rid) {
            n.summary = summary;
            for l in maxage {
                n.rxmt.insert(l.key(), l);
            }
        }
    }

    /// 10.6: "when the router accepts a received Database Description Packet as the next in
    /// sequence the packet contents are processed as follows."
    fn accept_dd(&mut self, ifname: &str, rid: Ipv4Addr, dd: DbDesc) {
        let now = self.now;
        let mut wanted = Vec::new();
        for h in &dd.headers {
            // "If the LSA's LS type is unknown ... generate the neighbor event
            // SeqNumberMismatch and stop processing the packet."
            if !ls_type_known(h.ls_type) {
                self.nbr_event(ifname, rid, NbrEvent::SeqNumberMismatch);
                return;
            }
            // "Otherwise, the router looks up the LSA in its database to see whether it also
            // has an instance of the LSA. If it does not, or if the database copy is less
            // recent, the LSA is put on the Link state request list".
            let newer = match self.lsdb.get(&h.key()) {
                None => true,
                Some(e) => h.compare(&e.header(now)) == std::cmp::Ordering::Greater,
            };
            if newer {
                wanted.push(*h);
            }
        }
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        let per_dd = (iface.max_payload().saturating_sub(24 + 8) / LSA_HEADER_LEN).max(1);
        let mtu = iface.mtu;
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        for h in wanted {
            nbr.requests.insert(h.key(), h);
        }
        nbr.last_rcvd_dd = Some((dd.flags, dd.options, dd.seq));
        let take = per_dd.min(nbr.summary.len());
        let headers: Vec<LsaHeader> = nbr.summary.drain(..take).collect();
        let more = !nbr.summary.is_empty();
        let mut done = false;
        let next = if nbr.master {
            // Master: "Increment the DD sequence number. If the router has already sent its
            // entire sequence of Database Description Packets, and the just accepted packet
            // has the more bit (M) set to 0, the neighbor event ExchangeDone is generated.
            // Otherwise, it should send a new Database Description to the slave."
            let sent_all = nbr.last_sent_dd.as_ref().is_some_and(|d| !d.is_more());
            nbr.dd_seq = nbr.dd_seq.wrapping_add(1);
            if sent_all && !dd.is_more() {
                done = true;
                None
            } else {
                let flags = DD_FLAG_MS | if more { DD_FLAG_M } else { 0 };
                Some(DbDesc {
                    mtu,
                    options: OPT_E,
                    flags,
                    seq: nbr.dd_seq,
                    headers,
                })
            }
        } else {
            // Slave: "Set the DD sequence number to the DD sequence number appearing in the
            // received packet. The slave must send a Database Description Packet in reply. If
            // the received packet has the more bit (M) set to 0, and the packet to be sent by
            // the slave will also have its M-bit set to 0, the neighbor event ExchangeDone is
            // generated."
            nbr.dd_seq = dd.seq;
            let flags = if more { DD_FLAG_M } else { 0 };
            if !dd.is_more() && !more {
                done = true;
            }
            Some(DbDesc {
                mtu,
                options: OPT_E,
                flags,
                seq: dd.seq,
                headers,
            })
        };
        if let Some(d) = next {
            self.send_dd(ifname, rid, d);
        }
        // Start requesting during Exchange (10.9: "may be sent ... in states Exchange").
        if self
            .nbr_mut(ifname, rid)
            .is_some_and(|n| n.requested.is_empty() && !n.requests.is_empty())
        {
            self.send_ls_request(ifname, rid);
            self.arm_rxmt(ifname, rid);
        }
        if done {
            self.nbr_event(ifname, rid, NbrEvent::ExchangeDone);
        }
    }

    /// 10.9: request what the neighbor has and we lack, one packet's worth at a time.
    pub(crate) fn send_ls_request(&mut self, ifname: &str, rid: Ipv4Addr) {
        let Some(iface) = self.interfaces.get(ifname) else {
            return;
        };
        let per = (iface.max_payload().saturating_sub(24) / 12).max(1);
        let Some(nbr) = self.nbr_mut(ifname, rid) else {
            return;
        };
        if nbr.requests.is_empty() {
            return;
        }
        let entries: Vec<LsaKey> = nbr.requests.keys().take(per).copied().collect();
        nbr.requested = entries.clone();
        let dst = nbr.addr;
        self.send(ifname, dst, Body::LsRequest(LsRequest { entries }));
        self.arm_rxmt(ifname, rid);
    }
}
