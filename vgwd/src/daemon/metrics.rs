//! Prometheus metrics on an optional listen address: a tiny HTTP/1.0 responder (GET /metrics)
//! rendering the core's last [`Status`] in the text exposition format.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::controller::{Health, VipState};

use super::core::Status;
use super::routing_view::OspfViews;

/// Routing-protocol state sampled by the API pollers (BGP neighbours, OSPF views).
#[derive(Debug, Clone, Default)]
pub struct RoutingSamples {
    /// `ListBgpNeighbors` as last polled.
    pub bgp: Arc<Mutex<Vec<vgw_api::BgpNeighborInfo>>>,
    /// `ListOspf*` as last polled.
    pub ospf: Arc<Mutex<OspfViews>>,
}

/// BGP neighbour state (RFC 4271 8.2.2 numbering, 6 = Established) and prefixes, OSPF
/// neighbour state (RFC 2328 10.1 numbering, 8 = Full) and LSDB size.
pub fn render_routing(r: &RoutingSamples) -> String {
    let mut out = String::new();
    let bgp = r.bgp.lock().map(|b| b.clone()).unwrap_or_default();
    let _ = writeln!(
        out,
        "# HELP vgw_bgp_neighbor_state BGP FSM state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established."
    );
    let _ = writeln!(out, "# TYPE vgw_bgp_neighbor_state gauge");
    for n in &bgp {
        let v = match n.state.as_str() {
            "Idle" => 1,
            "Connect" => 2,
            "Active" => 3,
            "OpenSent" => 4,
            "OpenConfirm" => 5,
            "Established" => 6,
            _ => 0,
        };
        let _ = writeln!(
            out,
            "vgw_bgp_neighbor_state{{neighbor=\"{}\",address=\"{}\"}} {v}",
            esc(&n.name),
            esc(&n.address)
        );
    }
    for (name, help, pick) in [
        (
            "vgw_bgp_prefixes_advertised",
            "Prefixes advertised to the neighbour.",
            (|n: &vgw_api::BgpNeighborInfo| n.prefixes_advertised) as fn(&_) -> u32,
        ),
        (
            "vgw_bgp_prefixes_received",
            "Prefixes received from the neighbour (kept, never installed).",
            |n: &vgw_api::BgpNeighborInfo| n.prefixes_received,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for n in &bgp {
            let _ = writeln!(out, "{name}{{neighbor=\"{}\"}} {}", esc(&n.name), pick(n));
        }
    }
    let ospf = r.ospf.lock().map(|o| o.clone()).unwrap_or_default();
    let _ = writeln!(
        out,
        "# HELP vgw_ospf_neighbor_state OSPF neighbour state: 1 Down, 3 Init, 4 2-Way, 5 ExStart, 6 Exchange, 7 Loading, 8 Full."
    );
    let _ = writeln!(out, "# TYPE vgw_ospf_neighbor_state gauge");
    for n in &ospf.neighbors {
        let v = match n.state.as_str() {
            "Down" => 1,
            "Init" => 3,
            "2-Way" => 4,
            "ExStart" => 5,
            "Exchange" => 6,
            "Loading" => 7,
            "Full" => 8,
            _ => 0,
        };
        let _ = writeln!(
            out,
            "vgw_ospf_neighbor_state{{interface=\"{}\",router_id=\"{}\"}} {v}",
            esc(&n.interface),
            esc(&n.router_id)
        );
    }
    let _ = writeln!(
        out,
        "# HELP vgw_ospf_lsas LSAs in the database (self = originated by this router).\n# TYPE vgw_ospf_lsas gauge"
    );
    if !ospf.interfaces.is_empty() {
        let own = ospf.database.iter().filter(|l| l.self_originated).count();
        let _ = writeln!(out, "vgw_ospf_lsas{{origin=\"self\"}} {own}");
        let _ = writeln!(
            out,
            "vgw_ospf_lsas{{origin=\"other\"}} {}",
            ospf.database.len() - own
        );
    }
    out
}

/// Renders the metrics page.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP vgw_vip_announced 1 when the VIP is announced (any state but withdrawn)."
    );
    let _ = writeln!(out, "# TYPE vgw_vip_announced gauge");
    for v in status.view.vips.values() {
        let announced = u8::from(v.state != VipState::Withdrawn);
        let _ = writeln!(out, "vgw_vip_announced{{vip=\"{}\"}} {announced}", v.vip);
    }
    let _ = writeln!(
        out,
        "# HELP vgw_vip_state VIP state (1 for the current one)."
    );
    let _ = writeln!(out, "# TYPE vgw_vip_state gauge");
    for v in status.view.vips.values() {
        let state = serde_json::to_string(&v.state).unwrap_or_default();
        let _ = writeln!(out, "vgw_vip_state{{vip=\"{}\",state={state}}} 1", v.vip);
    }
    let _ = writeln!(
        out,
        "# HELP vgw_real_healthy 1 healthy, 0 failing, -1 not checked yet."
    );
    let _ = writeln!(out, "# TYPE vgw_real_healthy gauge");
    for r in status.view.reals.values() {
        let h: i8 = match r.health {
            Health::Up => 1,
            Health::Down => 0,
            Health::Unknown => -1,
        };
        let _ = writeln!(
            out,
            "vgw_real_healthy{{service=\"{}\",real=\"{}\"}} {h}",
            esc(&r.service),
            r.real
        );
    }
    let _ = writeln!(out, "# HELP vgw_real_weight Effective IPVS weight.");
    let _ = writeln!(out, "# TYPE vgw_real_weight gauge");
    for r in status.view.reals.values() {
        if let Some(w) = r.weight {
            let _ = writeln!(
                out,
                "vgw_real_weight{{service=\"{}\",real=\"{}\"}} {w}",
                esc(&r.service),
                r.real
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP vgw_check_latency_seconds Duration of the last health check."
    );
    let _ = writeln!(out, "# TYPE vgw_check_latency_seconds gauge");
    for ((service, real), c) in &status.checks {
        let _ = writeln!(
            out,
            "vgw_check_latency_seconds{{service=\"{}\",real=\"{real}\"}} {:.6}",
            esc(service),
            c.latency.as_secs_f64()
        );
    }
    let _ = writeln!(
        out,
        "# HELP vgw_threshold_protection 1 while a service's failing reals are kept in rotation."
    );
    let _ = writeln!(out, "# TYPE vgw_threshold_protection gauge");
    for s in &status.config.services {
        let on = u8::from(status.view.alarms.contains_key(&s.name));
        let _ = writeln!(
            out,
            "vgw_threshold_protection{{service=\"{}\"}} {on}",
            esc(&s.name)
        );
    }
    let _ = writeln!(out, "# HELP vgw_bgp_neighbor_configured Configured BGP neighbors (session state comes from the speaker).");
    let _ = writeln!(out, "# TYPE vgw_bgp_neighbor_configured gauge");
    if let Some(bgp) = &status.config.bgp {
        for n in &bgp.neighbors {
            let _ = writeln!(
                out,
                "vgw_bgp_neighbor_configured{{neighbor=\"{}\",address=\"{}\"}} 1",
                esc(&n.name),
                n.address
            );
        }
    }
    let c = &status.counters;
    for (name, help, v) in [
        (
            "vgw_ipvs_reconcile_total",
            "IPVS applies that succeeded.",
            c.reconcile_ok,
        ),
        (
            "vgw_ipvs_reconcile_errors_total",
            "IPVS applies that failed.",
            c.reconcile_errors,
        ),
        (
            "vgw_announce_errors_total",
            "Announcements or withdrawals that failed.",
            c.announce_errors,
        ),
        (
            "vgw_address_errors_total",
            "VIP address changes that failed.",
            c.address_errors,
        ),
        (
            "vgw_reloads_total",
            "Configuration reloads applied.",
            c.reloads,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP vgw_first_round_done 1 once every real had its first check."
    );
    let _ = writeln!(out, "# TYPE vgw_first_round_done gauge");
    let _ = writeln!(
        out,
        "vgw_first_round_done {}",
        u8::from(status.first_round_done)
    );
    let _ = writeln!(
        out,
        "# HELP vgw_dataplane_usable 1 when IPVS and the VIP interface are usable."
    );
    let _ = writeln!(out, "# TYPE vgw_dataplane_usable gauge");
    let _ = writeln!(
        out,
        "vgw_dataplane_usable {}",
        u8::from(status.ipvs_usable && status.interface_usable)
    );
    out
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds `addr` and serves until the task is aborted; returns the bound address (port 0 picks
/// a free one) and the task.
pub async fn serve(
    addr: SocketAddr,
    status: watch::Receiver<Arc<Status>>,
    routing: RoutingSamples,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let (mut sock, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let status = status.clone();
            let routing = routing.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                // One read with a deadline: requests are a single short GET line plus headers.
                let n = match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    sock.read(&mut buf),
                )
                .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let request = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let response = if request.starts_with("GET ") && (path == "/metrics" || path == "/")
                {
                    let mut body = render(&status.borrow().clone());
                    body.push_str(&render_routing(&routing));
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
                };
                if let Err(e) = sock.write_all(response.as_bytes()).await {
                    debug!(%peer, "metrics: write failed: {e}");
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_metrics_follow_the_samples() {
        let r = RoutingSamples::default();
        r.bgp.lock().unwrap().push(vgw_api::BgpNeighborInfo {
            name: "tor1".into(),
            address: "10.0.0.1".into(),
            local_asn: 65011,
            remote_asn: 65000,
            state: "Established".into(),
            in_state_secs: 5,
            router_id: "10.0.0.1".into(),
            hold_time: 9,
            prefixes_received: 0,
            prefixes_advertised: 3,
            last_error: String::new(),
        });
        r.ospf
            .lock()
            .unwrap()
            .neighbors
            .push(vgw_api::OspfNeighbor {
                router_id: "10.0.0.1".into(),
                address: "10.0.0.1".into(),
                interface: "eth1".into(),
                state: "Full".into(),
                priority: 1,
                role: "DR".into(),
                dead_in_secs: 3,
                in_state_secs: 9,
            });
        let text = render_routing(&r);
        assert!(text.contains("vgw_bgp_neighbor_state{neighbor=\"tor1\",address=\"10.0.0.1\"} 6"));
        assert!(text.contains("vgw_bgp_prefixes_advertised{neighbor=\"tor1\"} 3"));
        assert!(
            text.contains("vgw_ospf_neighbor_state{interface=\"eth1\",router_id=\"10.0.0.1\"} 8")
        );
        r.bgp.lock().unwrap()[0].state = "Active".into();
        assert!(render_routing(&r).contains("address=\"10.0.0.1\"} 3"));
    }
}
