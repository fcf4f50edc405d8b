//! icmp checker: loopback v4/v6, and between two lab namespaces with both socket kinds
//! (raw sockets where ping sockets are not allowed, ping sockets where
//! net.ipv4.ping_group_range allows them; the sysctl is per namespace).

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vgw_health::check::icmp::IcmpFailure;
use vgw_health::{CheckResult, Reason};

fn icmp() -> vgw_health::CheckSpec {
    spec("type = \"icmp\"\ntimeout = \"500ms\"")
}

#[tokio::test]
async fn loopback_v4_v6() {
    assert_up(&run_ip(&icmp(), "127.0.0.1".parse().expect("ip")).await);
    assert_up(&run_ip(&icmp(), "::1".parse().expect("ip")).await);
}

/// Run checks from inside `host` on a fresh current-thread runtime.
fn check_from(host: &vgw_lab::Host, targets: Vec<IpAddr>) -> Vec<CheckResult> {
    host.run_in(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut out = Vec::new();
            for t in targets {
                out.push(run_ip(&icmp(), t).await);
            }
            out
        })
    })
    .expect("thread in namespace")
}

#[test]
fn between_namespaces_raw_and_ping_sockets() {
    let lab = vgw_lab::Lab::new("health-icmp").expect("lab (needs root)");
    let a = lab.host("a").expect("host a");
    let b = lab.host("b").expect("host b");
    lab.link((&a, "eth1"), (&b, "eth1")).expect("link");
    a.add_addr("eth1", "10.0.0.1/24").expect("addr");
    b.add_addr("eth1", "10.0.0.2/24").expect("addr");
    a.ip(&["-6", "addr", "add", "fd00::1/64", "dev", "eth1", "nodad"])
        .expect("addr6");
    b.ip(&["-6", "addr", "add", "fd00::2/64", "dev", "eth1", "nodad"])
        .expect("addr6");

    let targets: Vec<IpAddr> = vec![
        "10.0.0.2".parse().expect("ip"),
        "fd00::2".parse().expect("ip"),
        // Nobody has these: no reply (and no ARP/ND answer), so a timeout.
        "10.0.0.3".parse().expect("ip"),
        "fd00::3".parse().expect("ip"),
    ];
    for range in ["1 0", "0 2147483647"] {
        // "1 0": ping sockets refused, raw sockets used; "0 ...": ping sockets used.
        a.sysctl("net.ipv4.ping_group_range", range)
            .expect("sysctl");
        let r = check_from(&a, targets.clone());
        assert_up(&r[0]);
        assert_up(&r[1]);
        for dead in &r[2..] {
            let reason = down(dead);
            assert!(
                matches!(
                    reason,
                    Reason::Icmp(IcmpFailure::NoReply { .. } | IcmpFailure::Unreachable { .. })
                ),
                "range {range}: {reason}"
            );
            bounded(dead, Duration::from_millis(500));
        }
    }

    // A reject route in b's direction: the router answers with an ICMP error at once.
    a.ip(&["route", "add", "unreachable", "198.51.100.0/24"])
        .expect("route");
    a.sysctl("net.ipv4.ping_group_range", "1 0")
        .expect("sysctl");
    let r = check_from(&a, vec!["198.51.100.1".parse().expect("ip")]);
    let reason = down(&r[0]).to_string();
    assert!(
        reason.contains("unreachable") || reason.contains("No route") || reason.contains("Network"),
        "{reason}"
    );
}
