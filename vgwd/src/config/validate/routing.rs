//! `[bgp]` and `[ospf]`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::ops::Range;

use super::super::error::Collector;
use super::super::raw::{self, S};
use super::super::types::*;
use super::{host, int, opt_int};

pub(super) fn bgp(
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

pub(super) fn ospf(
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
