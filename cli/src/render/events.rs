//! `vgwctl events`: one line per signal.

use vgw_api::Event;

/// One line (without newline) describing `event`.
pub fn line(event: &Event) -> String {
    match event {
        Event::VipChanged(v) => format!(
            "VipChanged       {} {} -> {} ({})",
            v.address, v.previous, v.state, v.reason
        ),
        Event::RealChanged(r) => format!(
            "RealChanged      {} {} {} -> {}, weight {} ({})",
            r.service, r.real, r.previous, r.state, r.effective_weight, r.reason
        ),
        Event::NeighborChanged(n) => format!(
            "NeighborChanged  {} {} {} {} -> {}",
            n.protocol, n.name, n.address, n.previous, n.state
        ),
        Event::ConfigReloaded(r) => {
            if r.changes.is_empty() {
                format!("ConfigReloaded   generation {} (no changes)", r.generation)
            } else {
                format!(
                    "ConfigReloaded   generation {}: {}",
                    r.generation,
                    r.changes.join("; ")
                )
            }
        }
        Event::AlarmChanged(a) => format!(
            "AlarmChanged     {} {} {}: {}",
            if a.active { "raised" } else { "cleared" },
            a.kind,
            if a.subject.is_empty() {
                "-"
            } else {
                &a.subject
            },
            a.message
        ),
    }
}
