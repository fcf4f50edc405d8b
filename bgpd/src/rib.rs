//! Per-peer routing tables: the Adj-RIB-Out (what we announce to one peer, packed into as few
//! UPDATEs as the message size allows) and the Adj-RIB-In (what the peer sent us: validated,
//! counted and readable, never installed anywhere).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};

use crate::packet::attr::{
    AsPath, Attr, AttrValue, MpNextHop, MpReach, MpUnreach, FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL,
    ORIGIN_IGP,
};
use crate::packet::update::RouteChange;
use crate::packet::{
    Community, DecodeContext, Family, Handling, LargeCommunity, Prefix, Update, HEADER_LEN,
};

/// RFC 4271 5.1.5: the usual default LOCAL_PREF.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// What the speaker announces for one prefix (a VIP). The next hop is always this node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteAttrs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub large_communities: Vec<LargeCommunity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    /// Extra copies of our AS prepended to the AS_PATH (a standby node's longer path).
    #[serde(default)]
    pub as_path_prepend: u8,
    /// Sent to internal peers only; [`DEFAULT_LOCAL_PREF`] when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
}

impl RouteAttrs {
    /// RFC 8326: mark the route for draining: add GRACEFUL_SHUTDOWN (65535:0) and, for internal
    /// peers, LOCAL_PREF 0 (RFC 8326 4.1: "... the LOCAL_PREF ... be set to 0").
    pub fn graceful_shutdown(mut self) -> Self {
        if !self.communities.contains(&Community::GRACEFUL_SHUTDOWN) {
            self.communities.push(Community::GRACEFUL_SHUTDOWN);
        }
        self.local_pref = Some(0);
        self
    }
}

/// Facts about one established session that shape what we send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportContext {
    pub local_as: u32,
    pub ibgp: bool,
    pub codec: DecodeContext,
    pub families: Vec<Family>,
    /// Next hop self for IPv4 routes (our address on the session, or configured).
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Next hop self for IPv6 routes; RFC 2545 3: with the link-local address too when the
    /// peer is on a shared link.
    pub next_hop_v6: Option<(Ipv6Addr, Option<Ipv6Addr>)>,
}

impl ExportContext {
    fn max_len(&self) -> usize {
        self.codec.max_message_len()
    }

    /// The path attributes for `attrs` on this session, MP_REACH_NLRI excluded, in type order.
    pub fn path_attrs(&self, attrs: &RouteAttrs, family: Family) -> Vec<Attr> {
        let mut out = vec![Attr::new(AttrValue::Origin(ORIGIN_IGP))];
        // RFC 4271 5.1.2: to an external peer, "the advertising speaker ... shall prepend its
        // own AS number as the last element of the sequence"; to an internal peer the path is
        // left as is (empty for a route we originate). Extra prepends come on top.
        let copies = usize::from(attrs.as_path_prepend) + usize::from(!self.ibgp);
        let path = AsPath::sequence(vec![self.local_as; copies]);
        out.push(Attr::new(AttrValue::AsPath(path.clone())));
        if family == Family::IPV4_UNICAST {
            if let Some(nh) = self.next_hop_v4 {
                out.push(Attr::new(AttrValue::NextHop(nh)));
            }
        }
        if let Some(med) = attrs.med {
            out.push(Attr::new(AttrValue::MultiExitDisc(med)));
        }
        // RFC 4271 5.1.5: "A BGP speaker MUST include this attribute in UPDATE messages it sends
        // to other internal peers ... A BGP speaker MUST NOT include this attribute in UPDATE
        // messages it sends to external peers".
        if self.ibgp {
            let lp = attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
            out.push(Attr::new(AttrValue::LocalPref(lp)));
        }
        if !attrs.communities.is_empty() {
            out.push(Attr::new(AttrValue::Communities(attrs.communities.clone())));
        }
        // RFC 6793 4.2.2: to a 2-octet speaker, a path with 4-octet ASes goes out with AS_TRANS
        // in AS_PATH and the real path in AS4_PATH.
        if !self.codec.four_octet_as && path.has_4_octet_asn() {
            out.push(Attr::new(AttrValue::As4Path(path)));
        }
        if !attrs.large_communities.is_empty() {
            out.push(Attr::new(AttrValue::LargeCommunities(
                attrs.large_communities.clone(),
            )));
        }
        out
    }

    fn mp_next_hop(&self, family: Family) -> Option<MpNextHop> {
        if family == Family::IPV6_UNICAST {
            let (global, link_local) = self.next_hop_v6?;
            Some(MpNextHop::V6 { global, link_local })
        } else {
            None
        }
    }
}

/// Counters of the Adj-RIB-Out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RibOutStats {
    pub updates_built: u64,
    pub prefixes_announced: u64,
    pub prefixes_withdrawn: u64,
    /// Prefixes held back: family not negotiated, or no next hop of that family.
    pub prefixes_unsendable: u64,
}

/// One prefix of an Adj-RIB-Out: what we want the peer to have, and what it was sent.
#[derive(Debug, Default)]
struct Slot {
    desired: Option<Arc<RouteAttrs>>,
    sent: Option<Arc<RouteAttrs>>,
}

/// The changes of one flush, sorted into withdrawals per family and announcements per
/// attribute set.
struct Batch {
    sendable_v4: bool,
    sendable_v6: bool,
    withdraw: BTreeMap<Family, Vec<Prefix>>,
    /// Groups in order of their first prefix, so output is deterministic.
    groups: Vec<(Family, Arc<RouteAttrs>, Vec<Prefix>)>,
    index: HashMap<(Family, Arc<RouteAttrs>), usize>,
    /// The group of the previous prefix: a table is mostly long runs of one attribute set, and
    /// comparing with the last one costs less than hashing the attributes every time.
    last: Option<usize>,
}

impl Batch {
    fn new(ctx: &ExportContext) -> Self {
        let has = |f: Family| ctx.families.contains(&f);
        Batch {
            sendable_v4: has(Family::IPV4_UNICAST) && ctx.next_hop_v4.is_some(),
            sendable_v6: has(Family::IPV6_UNICAST) && ctx.next_hop_v6.is_some(),
            withdraw: BTreeMap::new(),
            groups: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }

    /// Brings `slot` up to date and records what the peer must be told; `true` when the slot
    /// holds nothing any more.
    fn settle(&mut self, prefix: Prefix, slot: &mut Slot, stats: &mut RibOutStats) -> bool {
        let family = prefix.family();
        let sendable = match family {
            Family::IPV4_UNICAST => self.sendable_v4,
            Family::IPV6_UNICAST => self.sendable_v6,
            _ => false,
        };
        match &slot.desired {
            Some(attrs) if sendable => {
                if slot.sent.as_ref() != Some(attrs) {
                    slot.sent = Some(attrs.clone());
                    self.announce(family, attrs, prefix);
                }
                false
            }
            Some(_) => {
                stats.prefixes_unsendable += 1;
                if slot.sent.take().is_some() {
                    self.withdraw.entry(family).or_default().push(prefix);
                }
                false
            }
            None => {
                if slot.sent.take().is_some() {
                    self.withdraw.entry(family).or_default().push(prefix);
                }
                true
            }
        }
    }

    fn announce(&mut self, family: Family, attrs: &Arc<RouteAttrs>, prefix: Prefix) {
        let groups = &mut self.groups;
        let same_as_last = self
            .last
            .and_then(|i| groups.get(i))
            .is_some_and(|g| g.0 == family && (Arc::ptr_eq(&g.1, attrs) || g.1 == *attrs));
        let i = match self.last {
            Some(i) if same_as_last => i,
            _ => *self
                .index
                .entry((family, attrs.clone()))
                .or_insert_with(|| {
                    groups.push((family, attrs.clone(), Vec::new()));
                    groups.len() - 1
                }),
        };
        self.last = Some(i);
        if let Some(g) = groups.get_mut(i) {
            g.2.push(prefix);
        }
    }
}

/// One peer's Adj-RIB-Out.
///
/// One ordered map holds both sides of every prefix. The initial table after the session comes
/// up is one walk over it in prefix order, touching memory in order; looking 100,000 prefixes
/// up one by one in two hash maps, at random addresses, was most of the time to the first
/// UPDATE (`benches/rib_flush.rs`).
#[derive(Debug, Default)]
pub struct AdjRibOut {
    routes: BTreeMap<Prefix, Slot>,
    /// Prefixes to look at on the next flush; always keys of `routes`.
    dirty: BTreeSet<Prefix>,
    /// The session (re)started: the peer has nothing of ours, whatever the slots say was sent,
    /// and the next flush sends every desired route. Clearing the slots is left to that flush
    /// so the table is walked once, not twice.
    resend_all: bool,
    pub stats: RibOutStats,
}

impl AdjRibOut {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn announce(&mut self, prefix: Prefix, attrs: Arc<RouteAttrs>) {
        let slot = self.routes.entry(prefix).or_default();
        if slot.desired.as_ref() != Some(&attrs) {
            slot.desired = Some(attrs);
            self.dirty.insert(prefix);
        }
    }

    pub fn withdraw(&mut self, prefix: Prefix) {
        let Some(slot) = self.routes.get_mut(&prefix) else {
            return;
        };
        slot.desired = None;
        if slot.sent.is_some() {
            self.dirty.insert(prefix);
        } else {
            self.routes.remove(&prefix);
            self.dirty.remove(&prefix);
        }
    }

    /// The session went down: the peer has nothing of ours any more.
    pub fn reset(&mut self) {
        self.dirty.clear();
        self.resend_all = true;
    }

    /// RFC 2918 4: on ROUTE-REFRESH "the speaker ... re-advertise to the peer the Adj-RIB-Out
    /// of the <AFI, SAFI> carried in the message".
    pub fn refresh(&mut self, family: Family) {
        // A withdrawal still owed (desired gone, sent kept) stays owed.
        for (p, s) in self.routes.iter_mut() {
            if p.family() == family && s.desired.is_some() {
                s.sent = None;
                self.dirty.insert(*p);
            }
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.dirty.is_empty() || (self.resend_all && !self.routes.is_empty())
    }

    /// What the peer has been sent, in prefix order.
    pub fn sent_routes(&self) -> Vec<(Prefix, RouteAttrs)> {
        if self.resend_all {
            return Vec::new();
        }
        self.routes
            .iter()
            .filter_map(|(p, s)| Some((*p, (**s.sent.as_ref()?).clone())))
            .collect()
    }

    /// How many prefixes the peer has been sent.
    pub fn sent_len(&self) -> usize {
        if self.resend_all {
            return 0;
        }
        self.routes.values().filter(|s| s.sent.is_some()).count()
    }

    pub fn desired_len(&self) -> usize {
        self.routes.values().filter(|s| s.desired.is_some()).count()
    }

    /// Builds the UPDATEs that bring the peer from what it has to what we want, packed by
    /// identical attribute set into as few messages as the negotiated size allows.
    pub fn flush(&mut self, ctx: &ExportContext) -> Vec<Update> {
        let mut batch = Batch::new(ctx);
        let dirty = std::mem::take(&mut self.dirty);
        // Neither desired nor sent any more: dropped after the walk.
        let mut gone = Vec::new();
        if std::mem::take(&mut self.resend_all) {
            for (prefix, slot) in self.routes.iter_mut() {
                slot.sent = None;
                if batch.settle(*prefix, slot, &mut self.stats) {
                    gone.push(*prefix);
                }
            }
        } else {
            for prefix in dirty {
                if let Some(slot) = self.routes.get_mut(&prefix) {
                    if batch.settle(prefix, slot, &mut self.stats) {
                        gone.push(prefix);
                    }
                }
            }
        }
        for p in gone {
            self.routes.remove(&p);
        }
        let Batch {
            withdraw, groups, ..
        } = batch;
        let mut out = Vec::new();
        for (family, prefixes) in withdraw {
            self.stats.prefixes_withdrawn += prefixes.len() as u64;
            pack_withdrawals(family, &prefixes, ctx.max_len(), &mut out);
        }
        for (family, attrs, prefixes) in groups {
            self.stats.prefixes_announced += prefixes.len() as u64;
            pack_announcements(ctx, family, &attrs, &prefixes, &mut out);
        }
        self.stats.updates_built += out.len() as u64;
        out
    }
}

/// Splits `prefixes` into runs whose NLRI take at most `room` octets each.
fn chunks(prefixes: &[Prefix], room: usize) -> Vec<Vec<Prefix>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut used = 0;
    for p in prefixes {
        let n = p.wire_len();
        if used + n > room && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            used = 0;
        }
        cur.push(*p);
        used += n;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Fixed part of an UPDATE: header, both length fields.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 4;

fn pack_withdrawals(family: Family, prefixes: &[Prefix], max: usize, out: &mut Vec<Update>) {
    if family == Family::IPV4_UNICAST {
        for run in chunks(prefixes, max - UPDATE_OVERHEAD) {
            out.push(Update {
                withdrawn: run,
                ..Update::default()
            });
        }
    } else {
        // MP_UNREACH_NLRI: flags, type, 2-octet length, AFI, SAFI.
        for run in chunks(prefixes, max - UPDATE_OVERHEAD - 4 - 3) {
            let attr = Attr {
                flags: FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH,
                value: AttrValue::MpUnreach(MpUnreach::Unicast {
                    family,
                    withdrawn: run,
                }),
            };
            out.push(Update {
                attrs: vec![attr],
                ..Update::default()
            });
        }
    }
}

fn pack_announcements(
    ctx: &ExportContext,
    family: Family,
    attrs: &RouteAttrs,
    prefixes: &[Prefix],
    out: &mut Vec<Update>,
) {
    let path_attrs = ctx.path_attrs(attrs, family);
    let mut buf = BytesMut::new();
    for a in &path_attrs {
        a.encode(&mut buf, &ctx.codec);
    }
    let attrs_len = buf.len();
    if family == Family::IPV4_UNICAST {
        for run in chunks(prefixes, ctx.max_len() - UPDATE_OVERHEAD - attrs_len) {
            out.push(Update {
                attrs: path_attrs.clone(),
                nlri: run,
                ..Update::default()
            });
        }
        return;
    }
    let Some(next_hop) = ctx.mp_next_hop(family) else {
        return;
    };
    let nh_len = match next_hop {
        MpNextHop::V4(_) => 4,
        MpNextHop::V6 {
            link_local: None, ..
        } => 16,
        MpNextHop::V6 {
            link_local: Some(_),
            ..
        } => 32,
    };
    // MP_REACH_NLRI: flags, type, 2-octet length, AFI, SAFI, next hop length, next hop,
    // reserved.
    let mp_fixed = 4 + 3 + 1 + nh_len + 1;
    for run in chunks(
        prefixes,
        ctx.max_len() - UPDATE_OVERHEAD - attrs_len - mp_fixed,
    ) {
        // RFC 7606 5.1: "the MP_REACH_NLRI or MP_UNREACH_NLRI attribute ... SHALL be encoded as
        // the very first path attribute in an UPDATE message".
        let mut all = vec![Attr {
            flags: FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH,
            value: AttrValue::MpReach(MpReach::Unicast {
                family,
                next_hop,
                nlri: run,
            }),
        }];
        all.extend(path_attrs.iter().cloned());
        out.push(Update {
            attrs: all,
            ..Update::default()
        });
    }
}

/// One route as the peer sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedRoute {
    pub prefix: Prefix,
    pub next_hop: Option<IpAddr>,
    pub origin: Option<u8>,
    pub as_path: Option<AsPath>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    /// Optional attributes we do not interpret, as (type code, flags).
    pub other_attrs: Vec<(u8, u8)>,
}

/// Counters of the Adj-RIB-In.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RibInStats {
    pub updates: u64,
    pub prefixes_received: u64,
    pub prefixes_withdrawn: u64,
    /// UPDATEs handled as withdraw because of an RFC 7606 error.
    pub treat_as_withdraw: u64,
    /// Attributes dropped per RFC 7606 "attribute discard".
    pub attributes_discarded: u64,
    /// MP_REACH_NLRI of families we do not speak.
    pub ignored_families: u64,
    pub end_of_rib: u64,
}

/// One peer's Adj-RIB-In.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    routes: BTreeMap<Prefix, ReceivedRoute>,
    pub stats: RibInStats,
    pub end_of_rib: BTreeSet<Family>,
}

impl AdjRibIn {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.routes.clear();
        self.end_of_rib.clear();
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn routes(&self) -> Vec<ReceivedRoute> {
        self.routes.values().cloned().collect()
    }

    pub fn apply(&mut self, update: &Update) {
        self.stats.updates += 1;
        if let Some(family) = update.is_end_of_rib() {
            self.stats.end_of_rib += 1;
            self.end_of_rib.insert(family);
            return;
        }
        if update.treat_as_withdraw() {
            self.stats.treat_as_withdraw += 1;
        }
        self.stats.attributes_discarded += update
            .issues
            .iter()
            .filter(|i| i.handling == Handling::AttributeDiscard)
            .count() as u64;
        let mut template = None;
        for change in update.changes() {
            match change {
                RouteChange::Unreach(p) => {
                    if self.routes.remove(&p).is_some() {
                        self.stats.prefixes_withdrawn += 1;
                    }
                }
                RouteChange::Reach(prefix) => {
                    let t = template.get_or_insert_with(|| route_template(update));
                    let next_hop = if prefix.is_ipv4() && update.nlri.contains(&prefix) {
                        update.next_hop().map(IpAddr::V4)
                    } else {
                        update.mp_next_hop().map(|n| n.addr())
                    };
                    self.stats.prefixes_received += 1;
                    self.routes.insert(
                        prefix,
                        ReceivedRoute {
                            prefix,
                            next_hop,
                            ..t.clone()
                        },
                    );
                }
                RouteChange::Ignored(..) => self.stats.ignored_families += 1,
            }
        }
    }
}

fn route_template(u: &Update) -> ReceivedRoute {
    ReceivedRoute {
        prefix: Prefix::host(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        next_hop: None,
        origin: u.origin(),
        as_path: u.as_path(),
        med: u.med(),
        local_pref: u.local_pref(),
        communities: u.communities().to_vec(),
        large_communities: u.large_communities().to_vec(),
        other_attrs: u
            .attrs
            .iter()
            .filter(|a| matches!(a.value, AttrValue::Unknown { .. }))
            .map(|a| (a.type_code(), a.flags))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
