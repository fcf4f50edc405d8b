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

fn bgp(
    b: raw::RawBgp,
    span: Range<usize>,
    neighbors: Vec<(raw::RawNeighbor, Range<usize>)>,
    router_id: Option<Ipv4Addr>,
    c: &mut Collector,
) -> Option<Bgp> {
    let asn = match &b.asn {
        // RFC 7607 2: AS 0 MUST NOT be used in the My Autonomous System field of OPEN.
        Some(a) => int::<u32>(a, "asn", 1, i64::from(u32::MAX), c),
        None => {
            c.hint(
                span.clone(),
                "[bgp] has no asn",
                "add asn = <this node's AS number>",
            );
            None
        }
    };
    // RFC 4271 4.2: "Hold Time MUST be either zero or at least three seconds."
    let hold_time = match &b.hold_time {
        Some(h) if *h.get_ref() == 1 || *h.get_ref() == 2 => {
            c.hint(
                h.span(),
                format!("hold_time {} is not allowed", h.get_ref()),
                "RFC 4271 4.2: the hold time is 0 (no keepalives) or at least 3 seconds",
            );
            90
        }
        other => opt_int(other, "hold_time", 0, 65535, 90, c),
    };
    // RFC 4724 3: Restart Time is a 12-bit number of seconds.
    let graceful_restart = opt_int(&b.graceful_restart, "graceful_restart", 0, 4095, 120, c);
    if router_id.is_none() {
        c.hint(
            span.clone(),
            "[bgp] needs a router id, and [node] has no valid router_id",
            "add router_id = \"<an IPv4 address of this node>\" to [node]",
        );
    }
    let mut names = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    let mut out = Vec::new();
    for (n, nspan) in neighbors {
        let name = n.name.get_ref().clone();
        if name.is_empty() {
            c.hint(
                n.name.span(),
                "neighbor name is empty",
                "give every neighbor a name",
            );
        } else if names.insert(name.clone(), ()).is_some() {
            c.hint(
                n.name.span(),
                format!("BGP neighbor name \"{name}\" is used twice"),
                "give every [[bgp.neighbor]] a unique name",
            );
        }
        let address = host(&n.address, "neighbor address", c);
        if let Some(a) = address {
            if addrs.insert(a, ()).is_some() {
                c.hint(
                    n.address.span(),
                    format!("BGP neighbor {a} is declared twice"),
                    "remove one of the [[bgp.neighbor]] entries",
                );
            }
        }
        let remote_asn = match &n.remote_asn {
            Some(a) => int::<u32>(a, "remote_asn", 1, i64::from(u32::MAX), c),
            None => {
                c.hint(
                    nspan.clone(),
                    format!("BGP neighbor \"{name}\" has no remote_asn"),
                    "add remote_asn = <the peer's AS number>",
                );
                None
            }
        };
        // Linux TCP_MD5SIG_MAXKEYLEN is 80 bytes.
        if let Some(p) = &n.password {
            if p.get_ref().is_empty() || p.get_ref().len() > 80 {
                c.hint(
                    p.span(),
                    "TCP-MD5 password must have 1 to 80 bytes",
                    "shorten it, or remove the key to run without TCP-MD5",
                );
            }
        }
        let port = opt_int(&n.port, "port", 1, 65535, 179u16, c);
        if let (Some(address), Some(remote_asn)) = (address, remote_asn) {
            out.push(Neighbor {
                name,
                address,
                remote_asn,
                password: n.password.map(S::into_inner),
                ttl_security: n.ttl_security,
                passive: n.passive,
                port,
            });
        }
    }
    Some(Bgp {
        asn: asn?,
        hold_time,
        graceful_restart,
        neighbors: out,
    })
}

fn ospf(
    o: raw::RawOspf,
    span: Range<usize>,
    interfaces: Vec<(raw::RawOspfInterface, Range<usize>)>,
    router_id: Option<Ipv4Addr>,
    c: &mut Collector,
) -> Option<Ospf> {
    let area = match &o.area {
        Some(a) => {
            let text = a.get_ref();
            let parsed = text
                .parse::<Ipv4Addr>()
                .ok()
                .or_else(|| text.parse::<u32>().ok().map(Ipv4Addr::from));
            if parsed.is_none() {
                c.hint(
                    a.span(),
                    format!("OSPF area \"{text}\" is not an area id"),
                    "write it as \"0.0.0.0\" or as a number such as \"0\"",
                );
            }
            parsed.unwrap_or(Ipv4Addr::UNSPECIFIED)
        }
        None => Ipv4Addr::UNSPECIFIED,
    };
    if router_id.is_none() {
        c.hint(
            span,
            "[ospf] needs a router id, and [node] has no valid router_id",
            "add router_id = \"<an IPv4 address of this node>\" to [node]",
        );
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, _ispan) in interfaces {
        let name = i.name.get_ref().clone();
        if !seen.insert(name.clone()) {
            c.hint(
                i.name.span(),
                format!("OSPF interface \"{name}\" is listed twice"),
                "remove one of the [[ospf.interface]] entries",
            );
        }
        let hello_interval = opt_int(&i.hello_interval, "hello_interval", 1, 65535, 10u16, c);
        let dead_interval = opt_int(
            &i.dead_interval,
            "dead_interval",
            1,
            i64::from(u32::MAX),
            u32::from(hello_interval) * 4,
            c,
        );
        if let Some(d) = &i.dead_interval {
            if *d.get_ref() <= i64::from(hello_interval) {
                c.hint(
                    d.span(),
                    format!(
                        "dead_interval {} must be longer than hello_interval {hello_interval}",
                        d.get_ref()
                    ),
                    "use about four times the hello interval",
                );
            }
        }
        let cost = opt_int(&i.cost, "cost", 1, 65535, 10u16, c);
        let priority = opt_int(&i.priority, "priority", 0, 255, 1u8, c);
        let auth = match i.auth {
            None => OspfAuth::None,
            Some(a) => ospf_auth(a, c),
        };
        out.push(OspfInterface {
            name,
            network: i.network.unwrap_or(OspfNetwork::Broadcast),
            hello_interval,
            dead_interval,
            cost,
            priority,
            auth,
        });
    }
    // Below LSInfinity - 1 (0xFFFFFE), which a draining VIP uses.
    let metric = opt_int(&o.metric, "metric", 1, 0xFF_FFFD, 20u32, c);
    Some(Ospf {
        area,
        metric,
        interfaces: out,
    })
}

fn ospf_auth(a: S<raw::RawOspfAuth>, c: &mut Collector) -> OspfAuth {
    let span = a.span();
    let a = a.into_inner();
    let key = a.key.as_ref().map(|k| k.get_ref().clone());
    match a.kind.get_ref().as_str() {
        "none" => OspfAuth::None,
        // RFC 2328 D.3: simple password: a 64-bit field.
        "simple" => {
            let key = key.unwrap_or_default();
            if key.is_empty() || key.len() > 8 {
                c.hint(
                    a.key.as_ref().map_or(span, S::span),
                    "simple authentication needs a key of 1 to 8 bytes",
                    "RFC 2328 D.3: the password is a 64-bit field",
                );
            }
            OspfAuth::Simple { key }
        }
        // RFC 2328 D.3: cryptographic authentication: key id and a 16-byte MD5 key.
        "md5" => {
            let key_id = crypto_key_id(&a, "md5", span.clone(), c);
            let key = key.unwrap_or_default();
            if key.is_empty() || key.len() > 16 {
                c.hint(
                    a.key.as_ref().map_or(span, S::span),
                    "md5 authentication needs a key of 1 to 16 bytes",
                    "RFC 2328 D.3: the MD5 key is 16 bytes (shorter keys are zero-padded)",
                );
            }
            OspfAuth::Md5 { key_id, key }
        }
        // RFC 5709: HMAC-SHA keys of any length (hashed down when longer than a block).
        kind @ ("hmac-sha1" | "hmac-sha256" | "hmac-sha384" | "hmac-sha512") => {
            let key_id = crypto_key_id(&a, kind, span.clone(), c);
            let key = key.unwrap_or_default();
            if key.is_empty() {
                c.hint(
                    a.key.as_ref().map_or(span, S::span),
                    format!("{kind} authentication needs a key"),
                    "add key = \"<the secret shared with the neighbours>\"",
                );
            }
            let bits = kind.trim_start_matches("hmac-sha").parse().unwrap_or(1);
            OspfAuth::HmacSha { bits, key_id, key }
        }
        other => {
            c.hint(
                a.kind.span(),
                format!("unknown OSPF authentication type \"{other}\""),
                "use \"none\", \"simple\", \"md5\", \"hmac-sha1\", \"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\"",
            );
            OspfAuth::None
        }
    }
}

fn crypto_key_id(a: &raw::RawOspfAuth, kind: &str, span: Range<usize>, c: &mut Collector) -> u8 {
    match &a.key_id {
        Some(k) => int::<u8>(k, "key_id", 0, 255, c).unwrap_or(0),
        None => {
            c.hint(
                span,
                format!("{kind} authentication needs key_id"),
                "add key_id = 1",
            );
            0
        }
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

fn default_check(protocol: Protocol) -> Check {
    let kind = match protocol {
        Protocol::Tcp => CheckKind::Tcp,
        Protocol::Udp => CheckKind::Udp {
            send: None,
            expect: None,
        },
        Protocol::Sctp => CheckKind::Icmp,
    };
    Check {
        kind,
        port: None,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        rise: 2,
        fall: 2,
    }
}

const CHECK_TYPES: &str = "tcp udp http https dns icmp exec file";
const DNS_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"];

fn check(
    chk: raw::RawCheck,
    span: Range<usize>,
    protocol: Protocol,
    service: &str,
    c: &mut Collector,
) -> Option<Check> {
    let kind_name = chk.kind.get_ref().as_str();
    let proto = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    // Which keys each type accepts besides the common ones.
    let allowed: &[&str] = match kind_name {
        "http" | "https" => &["path", "host", "expect_status"],
        "udp" => &["send", "expect"],
        "dns" => &["query", "query_type"],
        "exec" => &["command"],
        "file" => &["path"],
        "tcp" | "icmp" => &[],
        other => {
            c.hint(
                chk.kind.span(),
                format!("unknown check type \"{other}\""),
                format!("use one of: {CHECK_TYPES}"),
            );
            return None;
        }
    };
    let present: [(&str, Option<Range<usize>>); 8] = [
        ("path", chk.path.as_ref().map(S::span)),
        ("host", chk.host.as_ref().map(S::span)),
        ("expect_status", chk.expect_status.as_ref().map(S::span)),
        ("send", chk.send.as_ref().map(S::span)),
        ("expect", chk.expect.as_ref().map(S::span)),
        ("query", chk.query.as_ref().map(S::span)),
        ("query_type", chk.query_type.as_ref().map(S::span)),
        ("command", chk.command.as_ref().map(S::span)),
    ];
    for (key, at) in present {
        if let Some(at) = at {
            if !allowed.contains(&key) {
                c.hint(
                    at,
                    format!("`{key}` does not apply to a {kind_name} check"),
                    "remove it, or change the check type",
                );
            }
        }
    }
    let tcp_only = matches!(kind_name, "tcp" | "http" | "https");
    if (tcp_only && protocol != Protocol::Tcp) || (kind_name == "udp" && protocol != Protocol::Udp)
    {
        let hint = if protocol == Protocol::Udp {
            "use type = \"udp\", \"dns\", \"icmp\" or \"exec\" for a udp service"
        } else {
            "use a check that speaks the service's protocol, or \"icmp\"/\"exec\""
        };
        c.hint(
            chk.kind.span(),
            format!("a {kind_name} check cannot work on {proto} service \"{service}\""),
            hint,
        );
    }
    let kind = match kind_name {
        "tcp" => CheckKind::Tcp,
        "icmp" => CheckKind::Icmp,
        "udp" => CheckKind::Udp {
            send: chk.send.map(S::into_inner),
            expect: chk.expect.map(S::into_inner),
        },
        "http" | "https" => {
            let path = chk.path.map_or_else(|| "/".to_string(), S::into_inner);
            let mut expect_status = Vec::new();
            match &chk.expect_status {
                Some(list) if list.get_ref().is_empty() => c.hint(
                    list.span(),
                    "expect_status is empty",
                    "list the accepted codes, e.g. [200]",
                ),
                Some(list) => {
                    for code in list.get_ref() {
                        if let Some(v) = int::<u16>(code, "HTTP status", 100, 599, c) {
                            expect_status.push(v);
                        }
                    }
                }
                None => expect_status.push(200),
            }
            if !path.starts_with('/') {
                c.hint(
                    span.clone(),
                    format!("check path \"{path}\" does not start with '/'"),
                    "write it like \"/healthz\"",
                );
            }
            let h = HttpCheck {
                path,
                host: chk.host.map(S::into_inner),
                expect_status,
            };
            if kind_name == "http" {
                CheckKind::Http(h)
            } else {
                CheckKind::Https(h)
            }
        }
        "dns" => {
            let query = match chk.query {
                Some(q) => q.into_inner(),
                None => {
                    c.hint(
                        span.clone(),
                        "a dns check needs query",
                        "add query = \"example.org\"",
                    );
                    String::new()
                }
            };
            let query_type = match chk.query_type {
                Some(t) => {
                    let up = t.get_ref().to_ascii_uppercase();
                    if !DNS_TYPES.contains(&up.as_str()) {
                        c.hint(
                            t.span(),
                            format!("unknown DNS query type \"{}\"", t.get_ref()),
                            format!("use one of: {}", DNS_TYPES.join(" ")),
                        );
                    }
                    up
                }
                None => "A".to_string(),
            };
            CheckKind::Dns { query, query_type }
        }
        "exec" => match chk.command {
            Some(cmd) if !cmd.get_ref().is_empty() => CheckKind::Exec {
                command: cmd.into_inner(),
            },
            other => {
                c.hint(
                    other.as_ref().map_or(span.clone(), S::span),
                    "an exec check needs a command",
                    "add command = [\"/usr/local/bin/check\", \"arg\"]",
                );
                return None;
            }
        },
        _ => match chk.path {
            Some(p) => CheckKind::File {
                path: p.into_inner(),
            },
            None => {
                c.hint(
                    span.clone(),
                    "a file check needs path",
                    "add path = \"/run/healthy\"",
                );
                return None;
            }
        },
    };
    let port = chk
        .port
        .as_ref()
        .and_then(|p| int::<u16>(p, "check port", 1, 65535, c));
    let interval = chk
        .interval
        .as_ref()
        .map_or(Duration::from_secs(2), |d| d.get_ref().0);
    let timeout = chk
        .timeout
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.get_ref().0);
    if interval.is_zero() {
        if let Some(i) = &chk.interval {
            c.hint(
                i.span(),
                "check interval is zero",
                "use a positive interval such as \"2s\"",
            );
        }
    }
    if timeout.is_zero() {
        if let Some(t) = &chk.timeout {
            c.hint(
                t.span(),
                "check timeout is zero",
                "use a positive timeout such as \"1s\"",
            );
        }
    }
    if timeout > interval {
        let at = chk.timeout.as_ref().map_or(span.clone(), S::span);
        c.hint(
            at,
            format!(
                "check timeout ({}) is longer than its interval ({})",
                super::format_duration(timeout),
                super::format_duration(interval)
            ),
            "make the timeout shorter than the interval",
        );
    }
    let rise = opt_int(&chk.rise, "rise", 1, 100, 2u32, c);
    let fall = opt_int(&chk.fall, "fall", 1, 100, 2u32, c);
    Some(Check {
        kind,
        port,
        interval,
        timeout,
        rise,
        fall,
    })
}
