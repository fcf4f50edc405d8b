//! SO_MARK and source address follow policy routing: in a lab namespace, marked probes are
//! routed by a rule to an unreachable route, unmarked probes reach the real server.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vgw_health::CheckResult;

fn run_from(host: &vgw_lab::Host, checks: Vec<(String, &'static str)>) -> Vec<CheckResult> {
    host.run_in(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut out = Vec::new();
            for (toml_text, target) in checks {
                let s = spec(&toml_text);
                if target.contains(':') && !target.starts_with('[') {
                    out.push(run_at(&s, target.parse().expect("addr")).await);
                } else {
                    out.push(run_ip(&s, target.parse().expect("ip")).await);
                }
            }
            out
        })
    })
    .expect("thread in namespace")
}

#[test]
fn mark_selects_the_policy_route() {
    let lab = vgw_lab::Lab::new("health-mark").expect("lab (needs root)");
    let a = lab.host("a").expect("host a");
    let b = lab.host("b").expect("host b");
    lab.link((&a, "eth1"), (&b, "eth1")).expect("link");
    a.add_addr("eth1", "10.0.0.1/24").expect("addr");
    b.add_addr("eth1", "10.0.0.2/24").expect("addr");
    a.ip(&["rule", "add", "fwmark", "7", "lookup", "100", "pref", "10"])
        .expect("rule");
    a.ip(&["route", "add", "unreachable", "10.0.0.0/24", "table", "100"])
        .expect("route");

    // A TCP listener inside b, accepting for a bounded time.
    let server = b
        .spawn_thread(|| {
            let l = std::net::TcpListener::bind("10.0.0.2:8080").expect("bind in b");
            l.set_nonblocking(true).expect("nonblocking");
            let end = Instant::now() + Duration::from_secs(10);
            let mut accepted = 0;
            while Instant::now() < end && accepted < 2 {
                match l.accept() {
                    Ok(_) => accepted += 1,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            accepted
        })
        .expect("server thread");
    std::thread::sleep(Duration::from_millis(100));

    let r = run_from(
        &a,
        vec![
            (
                "type = \"tcp\"\ntimeout = \"1s\"".to_string(),
                "10.0.0.2:8080",
            ),
            (
                "type = \"tcp\"\ntimeout = \"1s\"\nmark = 7".to_string(),
                "10.0.0.2:8080",
            ),
            (
                "type = \"icmp\"\ntimeout = \"500ms\"".to_string(),
                "10.0.0.2",
            ),
            (
                "type = \"icmp\"\ntimeout = \"500ms\"\nmark = 7".to_string(),
                "10.0.0.2",
            ),
            (
                "type = \"udp\"\ntimeout = \"300ms\"\nmark = 7\nsend = \"x\"".to_string(),
                "10.0.0.2:53",
            ),
            // Source address from b's subnet that a does not own: bind fails with a reason.
            (
                "type = \"tcp\"\ntimeout = \"1s\"\nsource_address = \"10.0.0.2\"".to_string(),
                "10.0.0.2:8080",
            ),
            (
                "type = \"tcp\"\ntimeout = \"1s\"\nsource_address = \"10.0.0.1\"".to_string(),
                "10.0.0.2:8080",
            ),
        ],
    );
    assert_up(&r[0]);
    let marked = down(&r[1]).to_string();
    assert!(
        marked.contains("unreachable") || marked.contains("No route"),
        "{marked}"
    );
    assert_up(&r[2]);
    let _ = down(&r[3]);
    let _ = down(&r[4]);
    down_with(&r[5], "binding the source address");
    assert_up(&r[6]);
    let accepted = server.join().expect("join").expect("in namespace");
    assert_eq!(accepted, 2, "exactly the unmarked TCP probes reached b");
}
