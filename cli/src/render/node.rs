//! `status`, `vip list|show`, `sync status`.

use vgw_api::{Status, SyncStatus, VipInfo};

use super::{duration, kv, list, or_dash, Style, Table};

/// `vgwctl status`.
pub fn status(s: &Status, style: Style) -> String {
    let mut out = String::new();
    kv(
        &mut out,
        "Node",
        &format!(
            "{} (vgwd {}, up {})",
            s.node,
            s.version,
            duration(s.uptime_secs)
        ),
    );
    kv(
        &mut out,
        "Config",
        &format!("{} (generation {})", s.config_path, s.config_generation),
    );
    kv(&mut out, "Dataplane", &s.dataplane);
    kv(
        &mut out,
        "First checks",
        if s.first_round_done {
            "done"
        } else {
            "pending (nothing is announced until done)"
        },
    );
    kv(
        &mut out,
        "Node drain",
        if s.node_drained { "DRAINED" } else { "no" },
    );
    kv(
        &mut out,
        "VIPs",
        &format!(
            "{} announced, {} withdrawn, {} drained",
            s.vips_announced, s.vips_withdrawn, s.vips_drained
        ),
    );
    kv(
        &mut out,
        "Neighbors",
        &format!("{} of {} up", s.neighbors_up, s.neighbors_total),
    );
    if s.alarms.is_empty() {
        kv(&mut out, "Alarms", "none");
    } else {
        kv(&mut out, "Alarms", &s.alarms.len().to_string());
        let mut t = Table::new(&["  ALARM", "SUBJECT", "SINCE", "MESSAGE"]);
        for a in &s.alarms {
            t.row(vec![
                style.state(&a.kind).clone_with_prefix("  "),
                or_dash(&a.subject).into(),
                duration(a.since_secs).into(),
                a.message.clone().into(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

/// `vgwctl vip list`.
pub fn vip_list(vips: &[VipInfo], style: Style) -> String {
    let mut t = Table::new(&[
        "VIP",
        "STATE",
        "ANNOUNCED VIA",
        "SERVICES",
        "SINCE",
        "REASON",
    ]);
    for v in vips {
        t.row(vec![
            v.address.clone().into(),
            style.state(&v.state),
            list(&v.announced_via).into(),
            list(&v.services).into(),
            duration(v.in_state_secs).into(),
            v.reason.clone().into(),
        ]);
    }
    t.render()
}

/// `vgwctl vip show VIP`.
pub fn vip_show(v: &VipInfo) -> String {
    let mut out = String::new();
    kv(&mut out, "VIP", &v.address);
    kv(
        &mut out,
        "State",
        &format!("{} for {}", v.state, duration(v.in_state_secs)),
    );
    kv(&mut out, "Reason", &or_dash(&v.reason));
    kv(&mut out, "Announce", &list(&v.announce));
    kv(&mut out, "Announced via", &list(&v.announced_via));
    kv(&mut out, "Services", &list(&v.services));
    kv(&mut out, "Communities", &list(&v.communities));
    kv(
        &mut out,
        "MED",
        &if v.med < 0 {
            "-".to_owned()
        } else {
            v.med.to_string()
        },
    );
    out
}

/// `vgwctl sync status`.
pub fn sync_status(s: &SyncStatus) -> String {
    let mut out = String::new();
    if s.daemons.is_empty() {
        out.push_str("Kernel sync daemons: none running\n");
    }
    for d in &s.daemons {
        out.push_str(&format!(
            "{} sync daemon (mcast={}, syncid={}, group {}:{}, ttl {}, maxlen {})\n",
            d.role, d.interface, d.sync_id, d.group, d.port, d.ttl, d.max_len
        ));
    }
    let r = &s.relay;
    if r.enabled {
        out.push_str(&format!(
            "Relay: on, peers {}; sent {}, received {}, dropped {}\n",
            list(&r.peers),
            r.sent,
            r.received,
            r.dropped
        ));
    } else {
        out.push_str("Relay: off\n");
    }
    out
}
