//! The API's views of the routing protocols: BGP route listings from the speaker's
//! Adj-RIBs, and OSPF neighbours, interfaces and database sampled from the router.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vgw_api::{
    BgpRoute, Event, NeighborChange, OspfInterface, OspfLsa, OspfNeighbor, RouteDirection,
};
use vgw_bgp::{Community, LargeCommunity, RouteAttrs, Speaker};
use vgw_ospf::interface::IfState;
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::state::State as OspfState;

use crate::config::{self, OspfNetwork};

fn community(c: &Community) -> String {
    if *c == Community::GRACEFUL_SHUTDOWN {
        "graceful-shutdown".into()
    } else {
        c.to_string()
    }
}

fn large(l: &LargeCommunity) -> String {
    l.to_string()
}

fn origin_name(o: Option<u8>) -> String {
    match o {
        Some(0) => "igp",
        Some(1) => "egp",
        Some(2) => "incomplete",
        _ => "",
    }
    .into()
}

fn join_asns(asns: impl IntoIterator<Item = u32>) -> String {
    asns.into_iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One advertised route as the neighbour receives it: next hop self (the session's local
/// address), our AS once towards external peers plus the standby prepends, LOCAL_PREF only
/// towards internal peers (RFC 4271 5.1.5).
pub fn advertised(
    neighbor: &vgw_bgp::NeighborState,
    local_asn: u32,
    prefix: &vgw_bgp::Prefix,
    a: &RouteAttrs,
) -> BgpRoute {
    let ibgp = neighbor.remote_as == local_asn;
    let copies = usize::from(a.as_path_prepend) + usize::from(!ibgp);
    BgpRoute {
        neighbor: neighbor.name.clone(),
        direction: RouteDirection::Advertised.as_str().into(),
        prefix: prefix.to_string(),
        next_hop: neighbor
            .local_address
            .map(|s| s.ip().to_string())
            .unwrap_or_default(),
        as_path: join_asns(std::iter::repeat_n(local_asn, copies)),
        origin: "igp".into(),
        med: a.med.map_or(-1, i64::from),
        local_pref: if ibgp {
            i64::from(a.local_pref.unwrap_or(vgw_bgp::rib::DEFAULT_LOCAL_PREF))
        } else {
            -1
        },
        communities: a.communities.iter().map(community).collect(),
        large_communities: a.large_communities.iter().map(large).collect(),
    }
}

/// One route of the Adj-RIB-In.
pub fn received(neighbor: &str, r: &vgw_bgp::rib::ReceivedRoute) -> BgpRoute {
    BgpRoute {
        neighbor: neighbor.into(),
        direction: RouteDirection::Received.as_str().into(),
        prefix: r.prefix.to_string(),
        next_hop: r.next_hop.map(|n| n.to_string()).unwrap_or_default(),
        as_path: r
            .as_path
            .as_ref()
            .map(|p| join_asns(p.segments.iter().flat_map(|s| s.asns.iter().copied())))
            .unwrap_or_default(),
        origin: origin_name(r.origin),
        med: r.med.map_or(-1, i64::from),
        local_pref: r.local_pref.map_or(-1, i64::from),
        communities: r.communities.iter().map(community).collect(),
        large_communities: r.large_communities.iter().map(large).collect(),
    }
}

/// `ListBgpRoutes`: the routes of one neighbour (or of all when `only` is `None`).
pub async fn bgp_routes(
    speaker: &Speaker,
    local_asn: u32,
    only: Option<&str>,
    direction: RouteDirection,
) -> Result<Vec<BgpRoute>, vgw_bgp::SpeakerError> {
    let mut out = Vec::new();
    for n in speaker.neighbors().await? {
        if only.is_some_and(|o| o != n.name) {
            continue;
        }
        match direction {
            RouteDirection::Advertised => {
                for (p, a) in speaker.adj_rib_out(&n.name).await? {
                    out.push(advertised(&n, local_asn, &p, &a));
                }
            }
            RouteDirection::Received => {
                for r in speaker.adj_rib_in(&n.name).await? {
                    out.push(received(&n.name, &r));
                }
            }
        }
    }
    Ok(out)
}

/// The OSPF part of the API, refreshed by [`poll_ospf`].
#[derive(Debug, Clone, Default)]
pub struct OspfViews {
    /// `ListOspfNeighbors()`.
    pub neighbors: Vec<OspfNeighbor>,
    /// `ListOspfInterfaces()`.
    pub interfaces: Vec<OspfInterface>,
    /// `ListOspfDatabase()`.
    pub database: Vec<OspfLsa>,
}

/// RFC 2328 10.1 names (as FRR and BIRD print them).
pub fn nbr_state_name(s: NbrState) -> &'static str {
    match s {
        NbrState::Down => "Down",
        NbrState::Init => "Init",
        NbrState::TwoWay => "2-Way",
        NbrState::ExStart => "ExStart",
        NbrState::Exchange => "Exchange",
        NbrState::Loading => "Loading",
        NbrState::Full => "Full",
    }
}

fn if_state_name(s: IfState) -> &'static str {
    match s {
        IfState::Down => "Down",
        IfState::Waiting => "Waiting",
        IfState::PointToPoint => "Point-to-point",
        IfState::DrOther => "DR Other",
        IfState::Backup => "Backup",
        IfState::Dr => "DR",
    }
}

fn lsa_type_name(t: u8) -> String {
    match t {
        1 => "router".into(),
        2 => "network".into(),
        3 => "summary".into(),
        4 => "asbr-summary".into(),
        5 => "external".into(),
        7 => "nssa".into(),
        other => format!("type-{other}"),
    }
}

fn dotted_or_empty(a: Ipv4Addr) -> String {
    if a.is_unspecified() {
        String::new()
    } else {
        a.to_string()
    }
}

/// Builds the API views from a router snapshot. `since` holds when each neighbour entered
/// its state (key: interface and router id).
pub fn ospf_views(
    st: &OspfState,
    cfg: &config::Ospf,
    since: &BTreeMap<(String, Ipv4Addr), (NbrState, Instant)>,
) -> OspfViews {
    let ifcfg: BTreeMap<&str, &config::OspfInterface> = cfg
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    // DR and BDR are kept as interface addresses (RFC 2328 9); show router ids.
    let rid_of = |addr: Ipv4Addr, ours: Ipv4Addr| -> String {
        if addr.is_unspecified() {
            return String::new();
        }
        if addr == ours {
            return st.router_id.to_string();
        }
        st.neighbors
            .iter()
            .find(|n| n.addr == addr)
            .map_or_else(|| addr.to_string(), |n| n.router_id.to_string())
    };
    let interfaces = st
        .interfaces
        .iter()
        .map(|i| {
            let c = ifcfg.get(i.name.as_str());
            let nbrs = st.neighbors.iter().filter(|n| n.ifname == i.name);
            OspfInterface {
                name: i.name.clone(),
                address: if i.addr.is_unspecified() {
                    String::new()
                } else {
                    format!("{}/{}", i.addr, i.prefix_len)
                },
                area: cfg.area.to_string(),
                network: match c.map(|c| c.network) {
                    Some(OspfNetwork::PointToPoint) => "point-to-point",
                    _ => "broadcast",
                }
                .into(),
                state: if_state_name(i.state).into(),
                cost: i.cost,
                hello_interval: c.map_or(10, |c| c.hello_interval),
                dead_interval: c.map_or(40, |c| c.dead_interval),
                dr: rid_of(i.dr, i.addr),
                bdr: rid_of(i.bdr, i.addr),
                neighbors: u32::try_from(nbrs.clone().count()).unwrap_or(u32::MAX),
                adjacencies: u32::try_from(nbrs.filter(|n| n.state == NbrState::Full).count())
                    .unwrap_or(u32::MAX),
            }
        })
        .collect();
    let neighbors = st
        .neighbors
        .iter()
        .map(|n| {
            let iface = st.interfaces.iter().find(|i| i.name == n.ifname);
            let p2p = iface.is_some_and(|i| i.state == IfState::PointToPoint);
            let role = match iface {
                _ if p2p => "",
                Some(i) if n.addr == i.dr => "DR",
                Some(i) if n.addr == i.bdr => "BDR",
                _ => "DROther",
            };
            OspfNeighbor {
                router_id: n.router_id.to_string(),
                address: n.addr.to_string(),
                interface: n.ifname.clone(),
                state: nbr_state_name(n.state).into(),
                priority: n.priority,
                role: role.into(),
                dead_in_secs: u32::try_from(n.dead_in_ms / 1000).unwrap_or(u32::MAX),
                in_state_secs: since
                    .get(&(n.ifname.clone(), n.router_id))
                    .map_or(0, |(_, t)| t.elapsed().as_secs()),
            }
        })
        .collect();
    let database = st
        .lsdb
        .iter()
        .map(|l| OspfLsa {
            area: if l.key.ls_type == 5 {
                String::new()
            } else {
                cfg.area.to_string()
            },
            lsa_type: lsa_type_name(l.key.ls_type),
            ls_id: l.key.ls_id.to_string(),
            adv_router: dotted_or_empty(l.key.adv_rtr),
            seq: l.seq,
            age: l.age,
            checksum: l.checksum,
            self_originated: l.self_originated,
        })
        .collect();
    OspfViews {
        neighbors,
        interfaces,
        database,
    }
}

/// Samples the router every second into `cache`, and sends `NeighborChanged` (protocol
/// `"ospf"`, name = neighbour router id) when a neighbour changes state or goes away.
pub fn poll_ospf(
    instance: vgw_ospf::Instance,
    cfg: config::Ospf,
    cache: Arc<Mutex<OspfViews>>,
    events: mpsc::UnboundedSender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut since: BTreeMap<(String, Ipv4Addr), (NbrState, Instant)> = BTreeMap::new();
        loop {
            tick.tick().await;
            let Ok(st) = instance.state().await else {
                return;
            };
            let mut seen = BTreeMap::new();
            for n in &st.neighbors {
                let key = (n.ifname.clone(), n.router_id);
                seen.insert(key.clone(), n.addr);
                let prev = since.get(&key).map(|(s, _)| *s);
                if prev != Some(n.state) {
                    since.insert(key, (n.state, Instant::now()));
                    let _ = events.send(Event::NeighborChanged(NeighborChange {
                        protocol: "ospf".into(),
                        name: n.router_id.to_string(),
                        address: n.addr.to_string(),
                        state: nbr_state_name(n.state).into(),
                        previous: prev.map(nbr_state_name).unwrap_or_default().into(),
                    }));
                }
            }
            let gone: Vec<_> = since
                .keys()
                .filter(|k| !seen.contains_key(*k))
                .cloned()
                .collect();
            for key in gone {
                if let Some((prev, _)) = since.remove(&key) {
                    let _ = events.send(Event::NeighborChanged(NeighborChange {
                        protocol: "ospf".into(),
                        name: key.1.to_string(),
                        address: String::new(),
                        state: "Down".into(),
                        previous: nbr_state_name(prev).into(),
                    }));
                }
            }
            let views = ospf_views(&st, &cfg, &since);
            if let Ok(mut c) = cache.lock() {
                *c = views;
            }
        }
    })
}
