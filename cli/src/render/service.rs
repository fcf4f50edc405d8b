//! `service list|show`.

use vgw_api::{addr_port, ServiceInfo};

use super::{duration, kv, latency, or_dash, Style, Table};

fn vip_port(s: &ServiceInfo) -> String {
    addr_port(&s.vip, s.port)
}

/// `vgwctl service list`.
pub fn list(services: &[ServiceInfo], style: Style) -> String {
    let mut t = Table::new(&[
        "SERVICE", "VIP:PORT", "PROTO", "SCHED", "FORWARD", "STATE", "HEALTHY", "QUORUM", "CHECK",
    ]);
    for s in services {
        t.row(vec![
            s.name.clone().into(),
            vip_port(s).into(),
            s.protocol.clone().into(),
            s.scheduler.clone().into(),
            s.forward.clone().into(),
            style.state(&s.state),
            format!("{}/{}", s.healthy, s.reals.len()).into(),
            s.quorum.to_string().into(),
            or_dash(&s.check).into(),
        ]);
    }
    t.render()
}

/// `vgwctl service show NAME`.
pub fn show(s: &ServiceInfo, style: Style) -> String {
    let mut out = String::new();
    kv(&mut out, "Service", &s.name);
    kv(&mut out, "VIP", &format!("{} {}", vip_port(s), s.protocol));
    kv(&mut out, "Scheduler", &s.scheduler);
    kv(&mut out, "Forward", &s.forward);
    kv(
        &mut out,
        "State",
        &format!(
            "{} ({} of {} reals healthy, quorum {})",
            s.state,
            s.healthy,
            s.reals.len(),
            s.quorum
        ),
    );
    kv(&mut out, "Check", &or_dash(&s.check));
    out.push('\n');
    let mut t = Table::new(&[
        "REAL", "HEALTH", "ADMIN", "WEIGHT", "LAST", "LATENCY", "CHECKED", "SINCE", "REASON",
    ]);
    for r in &s.reals {
        let port = if r.port == 0 { s.port } else { r.port };
        let checked = if r.last_result.is_empty() {
            "never".to_owned()
        } else {
            format!("{} ago", duration(r.last_check_secs))
        };
        t.row(vec![
            addr_port(&r.address, port).into(),
            style.state(&r.health),
            style.state(&r.admin),
            format!("{}/{}", r.effective_weight, r.configured_weight).into(),
            or_dash(&r.last_result).into(),
            if r.last_result.is_empty() {
                "-".to_owned()
            } else {
                latency(r.last_latency_us)
            }
            .into(),
            checked.into(),
            duration(r.in_state_secs).into(),
            or_dash(&r.last_reason).into(),
        ]);
    }
    out.push_str(&t.render());
    out
}
