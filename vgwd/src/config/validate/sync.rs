//! `[sync]`: the kernel's connection-sync daemons (DAEMON attributes of the IPVS family).

use std::net::IpAddr;
use std::ops::Range;

use super::super::error::Collector;
use super::super::raw::RawSync;
use super::super::types::*;
use super::opt_int;

pub(super) fn sync(
    s: RawSync,
    span: Range<usize>,
    dataplane: Dataplane,
    c: &mut Collector,
) -> Option<Sync> {
    if dataplane == Dataplane::None {
        c.hint(
            span.clone(),
            "[sync] needs IPVS, and this node has dataplane = \"none\"",
            "remove [sync], or set dataplane = \"ipvs\" in [node]",
        );
    }
    let interface = s.interface.get_ref().clone();
    // IFNAMSIZ - 1: the kernel's limit on interface names (and on IPVS_DAEMON_ATTR_MCAST_IFN).
    if interface.is_empty() || interface.len() > 15 || interface.contains(['/', ' ']) {
        c.hint(
            s.interface.span(),
            format!("\"{interface}\" is not an interface name"),
            "name the interface the nodes share, e.g. interface = \"eth1\" (at most 15 bytes)",
        );
    }
    let roles = match &s.roles {
        Some(r) => {
            let mut v = r.get_ref().clone();
            v.sort();
            v.dedup();
            if v.is_empty() {
                c.hint(
                    r.span(),
                    "roles is empty: no sync daemon would run",
                    "use roles = [\"master\", \"backup\"] (the default), or remove [sync]",
                );
            }
            v
        }
        None => vec![SyncRole::Master, SyncRole::Backup],
    };
    let group = s.group.as_ref().and_then(|g| {
        let text = g.get_ref();
        match text.parse::<IpAddr>() {
            Ok(a) if a.is_multicast() => Some(a),
            _ => {
                c.hint(
                    g.span(),
                    format!("\"{text}\" is not a multicast group"),
                    "use an IPv4 or IPv6 multicast address such as \"224.0.0.81\" (the default)",
                );
                None
            }
        }
    });
    let sync_id = opt_int(&s.sync_id, "sync_id", 0, 255, 0u8, c);
    let port = s
        .port
        .as_ref()
        .map(|_| opt_int(&s.port, "port", 1, 65535, 8848u16, c));
    let ttl = s
        .ttl
        .as_ref()
        .map(|_| opt_int(&s.ttl, "ttl", 1, 255, 1u8, c));
    let max_len = s
        .max_len
        .as_ref()
        .map(|_| opt_int(&s.max_len, "max_len", 256, 65507, 1472u16, c));
    Some(Sync {
        interface,
        sync_id,
        roles,
        group,
        port,
        ttl,
        max_len,
    })
}
