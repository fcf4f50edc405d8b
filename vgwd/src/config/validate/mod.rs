//! Step 3 of reading a configuration: what serde cannot check. References between sections,
//! duplicates, address families, ranges, and combinations that cannot work. Defaults are applied
//! here too. Every rule reports through the collector and carries on, so one run lists every
//! mistake.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::time::Duration;

use super::error::Collector;
use super::raw::{self, S};
use super::types::*;
use super::values::{parse_host_address, Community, LargeCommunity};
use super::{Document, ServiceDoc};

mod check;
mod routing;
mod sync;

use check::{check, default_check};
use routing::{bgp, ospf};

const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

pub(crate) fn validate(doc: Document, c: &mut Collector) -> Option<Config> {
    let raw_node = match doc.node {
        Some((n, _)) => n,
        None => {
            if !doc.node_broken {
                c.hint(
                    0..0,
                    "the [node] section is missing",
                    "add a [node] section, e.g. [node] name = \"lvs1\"",
                );
            }
            raw::RawNode::default()
        }
    };
    let node = node(raw_node, c);
    let api = api(doc.api.unwrap_or_default(), c);

    let bgp = doc
        .bgp
        .map(|(b, span)| bgp(b, span, doc.neighbors, node.router_id, c));
    let ospf = doc
        .ospf
        .map(|(o, span)| ospf(o, span, doc.ospf_interfaces, node.router_id, c));

    let vips = vips(doc.vips, bgp.is_some(), ospf.is_some(), node.drain_time, c);
    let declared: BTreeSet<IpAddr> = vips.iter().map(|v| v.address).collect();
    let services = services(doc.services, &declared, !doc.vip_broken, node.dataplane, c);

    let metrics = doc.metrics.and_then(|m| match m.listen.get_ref().parse() {
        Ok(listen) => Some(Metrics { listen }),
        Err(_) => {
            c.hint(
                m.listen.span(),
                format!(
                    "\"{}\" is not an address:port to listen on",
                    m.listen.get_ref()
                ),
                "write it like \"127.0.0.1:9469\" or \"[::1]:9469\"",
            );
            None
        }
    });
    let sync = doc
        .sync
        .and_then(|(s, span)| sync::sync(s, span, node.dataplane, c));
    let raw_log = doc.log.unwrap_or_default();
    let log = Log {
        format: raw_log.format.unwrap_or(LogFormat::Text),
        level: raw_log
            .level
            .map(S::into_inner)
            .unwrap_or_else(|| "info".to_string()),
    };
    Some(Config {
        node,
        api,
        bgp: bgp.flatten(),
        ospf: ospf.flatten(),
        vips,
        services,
        metrics,
        sync,
        log,
    })
}

fn node(n: raw::RawNode, c: &mut Collector) -> Node {
    let name = n.name.and_then(|name| {
        if name.get_ref().trim().is_empty() {
            c.hint(
                name.span(),
                "node name is empty",
                "remove it to use the host name",
            );
            None
        } else {
            Some(name.into_inner())
        }
    });
    let router_id = n
        .router_id
        .and_then(|r| match r.get_ref().parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => {
                c.hint(
                    r.span(),
                    format!("router_id \"{}\" is not an IPv4 address", r.get_ref()),
                    "BGP identifiers and OSPF router ids are written like \"10.0.0.11\"",
                );
                None
            }
        });
    let vip_interface = match n.vip_interface {
        Some(i) => {
            let name = i.get_ref();
            // Linux IFNAMSIZ is 16 including the terminating NUL.
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', ':']) {
                c.hint(
                    i.span(),
                    format!("\"{name}\" is not a valid interface name"),
                    "interface names have 1 to 15 characters and no '/', ':' or spaces",
                );
            }
            i.into_inner()
        }
        None => "vgw0".to_string(),
    };
    Node {
        name,
        router_id,
        vip_interface,
        dataplane: n.dataplane.unwrap_or(Dataplane::Ipvs),
        drain_time: n.drain_time.map_or(DEFAULT_DRAIN, |d| d.0),
    }
}

fn api(a: raw::RawApi, c: &mut Collector) -> Api {
    let dbus = match a.dbus {
        Some(d) => {
            let v = d.get_ref();
            if v != "system" && v != "session" && !v.contains(':') {
                c.hint(
                    d.span(),
                    format!("\"{v}\" is not a D-Bus bus"),
                    "use \"system\", \"session\" or an address such as \"unix:path=/run/vgw/bus\"",
                );
            }
            d.into_inner()
        }
        None => "system".to_string(),
    };
    let group = a.group.and_then(|g| {
        if g.get_ref().is_empty() {
            c.hint(
                g.span(),
                "api group is empty",
                "remove it or name a Unix group",
            );
            None
        } else {
            Some(g.into_inner())
        }
    });
    Api { dbus, group }
}

/// Checks an integer against a range; reports and returns `None` when outside.
fn int<T: TryFrom<i64>>(v: &S<i64>, what: &str, lo: i64, hi: i64, c: &mut Collector) -> Option<T> {
    let n = *v.get_ref();
    if n < lo || n > hi {
        c.hint(
            v.span(),
            format!("{what} {n} is out of range"),
            format!("use a value from {lo} to {hi}"),
        );
        return None;
    }
    T::try_from(n).ok()
}

fn opt_int<T: TryFrom<i64>>(
    v: &Option<S<i64>>,
    what: &str,
    lo: i64,
    hi: i64,
    default: T,
    c: &mut Collector,
) -> T {
    match v {
        Some(v) => int(v, what, lo, hi, c).unwrap_or(default),
        None => default,
    }
}

fn host(a: &S<String>, what: &str, c: &mut Collector) -> Option<IpAddr> {
    match parse_host_address(a.get_ref()) {
        Ok(ip) => Some(ip),
        Err(msg) => {
            c.hint(
                a.span(),
                format!("{what}: {msg}"),
                "write an address such as \"192.0.2.10\" or \"2001:db8::10\"",
            );
            None
        }
    }
}

fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn vips(
    raw: Vec<(raw::RawVip, Range<usize>)>,
    have_bgp: bool,
    have_ospf: bool,
    node_drain: Duration,
    c: &mut Collector,
) -> Vec<Vip> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (v, _span) in raw {
        let Some(address) = host(&v.address, "VIP address", c) else {
            continue;
        };
        if !seen.insert(address) {
            c.hint(
                v.address.span(),
                format!("VIP {address} is declared twice"),
                "remove one of the [[vip]] entries",
            );
            continue;
        }
        let announce = match &v.announce {
            Some(list) => {
                let mut protocols: Vec<RouteProtocol> = list.get_ref().clone();
                protocols.sort();
                protocols.dedup();
                for p in &protocols {
                    match p {
                        RouteProtocol::Bgp if !have_bgp => c.hint(
                            list.span(),
                            format!("VIP {address} is announced with bgp, but there is no [bgp] section"),
                            "add [bgp] with asn and neighbors, or remove \"bgp\" from announce",
                        ),
                        RouteProtocol::Ospf if !have_ospf => c.hint(
                            list.span(),
                            format!("VIP {address} is announced with ospf, but there is no [ospf] section"),
                            "add [ospf] with interfaces, or remove \"ospf\" from announce",
                        ),
                        RouteProtocol::Ospf if address.is_ipv6() => c.hint(
                            list.span(),
                            format!("VIP {address} is IPv6, and OSPFv2 carries IPv4 routes only"),
                            "announce IPv6 VIPs with bgp",
                        ),
                        _ => {}
                    }
                }
                protocols
            }
            None => {
                let mut p = Vec::new();
                if have_bgp {
                    p.push(RouteProtocol::Bgp);
                }
                if have_ospf && address.is_ipv4() {
                    p.push(RouteProtocol::Ospf);
                }
                p
            }
        };
        let med = v
            .med
            .as_ref()
            .and_then(|m| int::<u32>(m, "med", 0, i64::from(u32::MAX), c));
        let standby = match &v.standby {
            Some(s) => Standby {
                as_path_prepend: opt_int(&s.as_path_prepend, "as_path_prepend", 0, 32, 0u8, c),
                med: s
                    .med
                    .as_ref()
                    .and_then(|m| int::<u32>(m, "standby med", 0, i64::from(u32::MAX), c)),
            },
            None => Standby::default(),
        };
        let mut communities = Vec::new();
        for text in &v.communities {
            match Community::parse(text.get_ref()) {
                Ok(x) => communities.push(x),
                Err(msg) => c.hint(
                    text.span(),
                    msg,
                    "communities are \"ASN:VALUE\" with two numbers 0-65535, or a well-known name such as \"no-export\"",
                ),
            }
        }
        let mut large_communities = Vec::new();
        for text in &v.large_communities {
            match LargeCommunity::parse(text.get_ref()) {
                Ok(x) => large_communities.push(x),
                Err(msg) => c.hint(
                    text.span(),
                    msg,
                    "large communities are \"ASN:X:Y\" with three numbers 0-4294967295",
                ),
            }
        }
        out.push(Vip {
            address,
            announce,
            communities,
            large_communities,
            med,
            standby,
            drain_time: v.drain_time.map_or(node_drain, |d| d.0),
        });
    }
    out
}

fn services(
    raw: Vec<ServiceDoc>,
    declared: &BTreeSet<IpAddr>,
    check_vips: bool,
    dataplane: Dataplane,
    c: &mut Collector,
) -> Vec<Service> {
    let mut names = BTreeSet::new();
    let mut keys: BTreeMap<(IpAddr, u16, Protocol), String> = BTreeMap::new();
    let mut out = Vec::new();
    for doc in raw {
        if let Some(s) = service(
            doc, declared, check_vips, dataplane, &mut names, &mut keys, c,
        ) {
            out.push(s);
        }
    }
    out
}

#[allow(clippy::too_many_lines)]
fn service(
    doc: ServiceDoc,
    declared: &BTreeSet<IpAddr>,
    check_vips: bool,
    dataplane: Dataplane,
    names: &mut BTreeSet<String>,
    keys: &mut BTreeMap<(IpAddr, u16, Protocol), String>,
    c: &mut Collector,
) -> Option<Service> {
    let s = doc.service;
    let name = s.name.get_ref().clone();
    if name.is_empty() {
        c.hint(
            s.name.span(),
            "service name is empty",
            "give every service a unique name",
        );
    } else if !names.insert(name.clone()) {
        c.hint(
            s.name.span(),
            format!("service name \"{name}\" is used twice"),
            "give every [[service]] a unique name",
        );
    }
    let vip = host(&s.vip, "service VIP", c);
    if let Some(v) = vip {
        if check_vips && !declared.contains(&v) {
            c.hint(
                s.vip.span(),
                format!("service \"{name}\" uses VIP {v}, which no [[vip]] declares"),
                format!("add a [[vip]] with address = \"{v}\", or fix the address"),
            );
        }
    }
    // Port 0 would make this a fwmark or "all ports" service, which vgw does not configure.
    let port = int::<u16>(&s.port, "port", 1, 65535, c);
    let protocol = s.protocol.unwrap_or(Protocol::Tcp);
    if let (Some(v), Some(p)) = (vip, port) {
        if let Some(other) = keys.insert((v, p, protocol), name.clone()) {
            let proto = serde_json::to_string(&protocol).unwrap_or_default();
            c.hint(
                s.port.span(),
                format!("service \"{name}\" is the same VIP, port and protocol ({v} {p} {}) as service \"{other}\"", proto.trim_matches('"')),
                "merge the two services or change the port",
            );
        }
    }
    let scheduler = match &s.scheduler {
        Some(sch) => {
            if !SCHEDULERS.contains(&sch.get_ref().as_str()) {
                c.hint(
                    sch.span(),
                    format!("unknown scheduler \"{}\"", sch.get_ref()),
                    format!("use one of: {}", SCHEDULERS.join(" ")),
                );
            }
            sch.get_ref().clone()
        }
        None => "wrr".to_string(),
    };
    let forward = s.forward.as_ref().map_or(Forward::Dr, |f| *f.get_ref());
    let forward_span = s.forward.as_ref().map_or(doc.span.clone(), S::span);
    let families_matter = dataplane == Dataplane::Ipvs && forward != Forward::Tun;

    let mut local_addresses = Vec::new();
    match (&s.local_addresses, forward) {
        (None, Forward::Fullnat) => c.hint(
            forward_span.clone(),
            format!("service \"{name}\" uses forward = \"fullnat\" without local_addresses"),
            "add local_addresses = [\"10.1.0.100\", ...]: FULLNAT needs a pool of source addresses",
        ),
        (Some(list), Forward::Fullnat) if list.get_ref().is_empty() => c.hint(
            list.span(),
            "local_addresses is empty",
            "FULLNAT needs at least one local address",
        ),
        (Some(list), Forward::Fullnat) => {
            for a in list.get_ref() {
                if let Some(ip) = host(a, "local address", c) {
                    if let Some(v) = vip {
                        if family(&ip) != family(&v) {
                            c.hint(
                                a.span(),
                                format!(
                                    "local address {ip} is {} but VIP {v} is {}",
                                    family(&ip),
                                    family(&v)
                                ),
                                "FULLNAT local addresses have the family of the VIP",
                            );
                        }
                    }
                    local_addresses.push(ip);
                }
            }
        }
        (Some(list), _) => c.hint(
            list.span(),
            "local_addresses only apply to forward = \"fullnat\"",
            "remove local_addresses, or set forward = \"fullnat\"",
        ),
        (None, _) => {}
    }
    let persistence = s
        .persistence
        .as_ref()
        .and_then(|p| int::<u32>(p, "persistence", 1, i64::from(u32::MAX), c));
    let protect_threshold = s.protect_threshold.as_ref().and_then(|t| {
        let v = *t.get_ref();
        if v > 0.0 && v < 1.0 {
            Some(v)
        } else {
            c.hint(
                t.span(),
                format!("protect_threshold {v} is out of range"),
                "use a share between 0 and 1, e.g. 0.5 (never take out more than half at once)",
            );
            None
        }
    });
    let mk_real = |r: &raw::RawReal, what: &str, c: &mut Collector| -> Option<Real> {
        let address = host(&r.address, what, c)?;
        let rport = match &r.port {
            Some(p) => int::<u16>(p, "port", 1, 65535, c)?,
            None => port.unwrap_or(0),
        };
        let weight = opt_int(&r.weight, "weight", 0, 65535, 1u32, c);
        if let Some(v) = vip {
            if families_matter && family(&address) != family(&v) {
                c.hint(
                    r.address.span(),
                    format!(
                        "{what} {address} is {} but VIP {v} is {}",
                        family(&address),
                        family(&v)
                    ),
                    "the kernel mixes address families only for forward = \"tun\"",
                );
            }
        }
        if dataplane == Dataplane::Ipvs
            && matches!(forward, Forward::Dr | Forward::Tun)
            && port.is_some_and(|p| p != rport)
        {
            if let Some(p) = &r.port {
                c.hint(
                    p.span(),
                    format!("{what} port {rport} differs from the service port, which forward = \"{}\" cannot do", if forward == Forward::Dr { "dr" } else { "tun" }),
                    "DR and TUN forward packets unchanged: use the service port, or forward = \"nat\"",
                );
            }
        }
        Some(Real {
            address,
            port: rport,
            weight,
        })
    };
    let sorry_server = s
        .sorry_server
        .as_ref()
        .and_then(|r| mk_real(r.get_ref(), "sorry server", c));

    let mut reals = Vec::new();
    let mut seen = BTreeSet::new();
    for (r, _rspan) in &doc.reals {
        if let Some(real) = mk_real(r, "real", c) {
            if !seen.insert(real.endpoint()) {
                c.hint(
                    r.address.span(),
                    format!(
                        "real {} is listed twice in service \"{name}\"",
                        real.endpoint()
                    ),
                    "remove one of the [[service.real]] entries",
                );
                continue;
            }
            reals.push(real);
        }
    }
    let quorum = match &s.quorum {
        Some(q) => int::<usize>(q, "quorum", 0, 65535, c).unwrap_or(1),
        None => 1,
    };
    if !doc.reals_broken && quorum > doc.reals.len() {
        let span = s.quorum.as_ref().map_or(doc.span.clone(), S::span);
        c.hint(
            span,
            format!(
                "quorum {quorum} is larger than the {} real(s) of service \"{name}\": its VIP could never be announced",
                doc.reals.len()
            ),
            "lower quorum or add [[service.real]] entries",
        );
    }
    let check = match doc.check {
        Some((chk, span)) => check(chk, span, protocol, &name, c),
        None if doc.check_ok => Some(default_check(protocol)),
        None => None,
    };
    Some(Service {
        name,
        vip: vip?,
        port: port?,
        protocol,
        scheduler,
        forward,
        local_addresses,
        persistence,
        quorum,
        protect_threshold,
        on_failure: s.on_failure.unwrap_or(OnFailure::Quiesce),
        slow_start: s.slow_start.map(|d| d.0).filter(|d| !d.is_zero()),
        sorry_server,
        check: check?,
        reals,
    })
}
