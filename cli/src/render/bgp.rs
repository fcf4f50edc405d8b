//! `bgp summary|neighbors|routes`.

use vgw_api::{BgpNeighborInfo, BgpRoute};

use super::{duration, kv, list, or_dash, Style, Table};

/// `vgwctl bgp summary`.
pub fn summary(neighbors: &[BgpNeighborInfo], style: Style) -> String {
    let up = neighbors
        .iter()
        .filter(|n| n.state == "Established")
        .count();
    let mut out = format!("BGP: {up} of {} neighbors established\n", neighbors.len());
    let mut t = Table::new(&[
        "NEIGHBOR",
        "ADDRESS",
        "AS",
        "STATE",
        "SINCE",
        "RECEIVED",
        "ADVERTISED",
        "LAST ERROR",
    ]);
    for n in neighbors {
        t.row(vec![
            n.name.clone().into(),
            n.address.clone().into(),
            n.remote_asn.to_string().into(),
            style.state(&n.state),
            duration(n.in_state_secs).into(),
            n.prefixes_received.to_string().into(),
            n.prefixes_advertised.to_string().into(),
            or_dash(&n.last_error).into(),
        ]);
    }
    out.push_str(&t.render());
    out
}

/// `vgwctl bgp neighbors [NAME]`.
pub fn neighbors(neighbors: &[BgpNeighborInfo]) -> String {
    let mut blocks = Vec::new();
    for n in neighbors {
        let mut out = String::new();
        kv(&mut out, "Neighbor", &format!("{} ({})", n.name, n.address));
        kv(
            &mut out,
            "AS",
            &format!("local {}, remote {}", n.local_asn, n.remote_asn),
        );
        kv(
            &mut out,
            "State",
            &format!("{} for {}", n.state, duration(n.in_state_secs)),
        );
        kv(&mut out, "Router ID", &or_dash(&n.router_id));
        kv(
            &mut out,
            "Hold time",
            &if n.hold_time == 0 {
                "-".to_owned()
            } else {
                format!("{}s", n.hold_time)
            },
        );
        kv(
            &mut out,
            "Prefixes",
            &format!(
                "{} received, {} advertised",
                n.prefixes_received, n.prefixes_advertised
            ),
        );
        kv(&mut out, "Last error", &or_dash(&n.last_error));
        blocks.push(out);
    }
    blocks.join("\n")
}

fn opt(v: i64) -> String {
    if v < 0 {
        "-".to_owned()
    } else {
        v.to_string()
    }
}

/// `vgwctl bgp routes`.
pub fn routes(routes: &[BgpRoute]) -> String {
    let mut t = Table::new(&[
        "NEIGHBOR",
        "PREFIX",
        "NEXT HOP",
        "AS PATH",
        "ORIGIN",
        "MED",
        "LOCPRF",
        "COMMUNITIES",
        "LARGE COMMUNITIES",
    ]);
    for r in routes {
        t.row(vec![
            r.neighbor.clone().into(),
            r.prefix.clone().into(),
            r.next_hop.clone().into(),
            or_dash(&r.as_path).into(),
            r.origin.clone().into(),
            opt(r.med).into(),
            opt(r.local_pref).into(),
            list(&r.communities).into(),
            list(&r.large_communities).into(),
        ]);
    }
    t.render()
}
