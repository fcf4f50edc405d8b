//! Interop with FRR bgpd, GoBGP and ExaBGP as the switch, in lab namespaces (needs root).

mod lab_util;

use std::time::Duration;

use lab_util::*;
use serde_json::Value;
use vgw_bgp::fsm::State;
use vgw_bgp::{NeighborConfig, Prefix, RouteAttrs, SpeakerConfig};
use vgw_lab::peers::{Exabgp, Frr, Gobgp};
use vgw_lab::{wait_until, Host, Lab};

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn attrs() -> RouteAttrs {
    RouteAttrs {
        communities: vec!["65000:100".parse().expect("c")],
        large_communities: vec!["65011:1:2".parse().expect("lc")],
        med: Some(10),
        as_path_prepend: 2,
        local_pref: None,
    }
}

fn speaker_cfg(listen: bool) -> SpeakerConfig {
    SpeakerConfig {
        asn: 65011,
        router_id: "10.0.0.11".parse().expect("id"),
        listen: if listen {
            vec!["0.0.0.0:179".parse().expect("a")]
        } else {
            vec![]
        },
        graceful_restart: None,
    }
}

fn neighbor() -> NeighborConfig {
    let mut n = NeighborConfig::new("sw", "10.0.0.1".parse().expect("addr"), 65000);
    n.connect_retry = 1;
    n.hold_time = 9;
    n
}

fn two_hosts(name: &str) -> (Lab, Host, Host) {
    let lab = Lab::new(name).expect("lab");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    sw.add_addr("eth1", "2001:db8::1/64").expect("addr");
    n1.add_addr("eth1", "10.0.0.11/24").expect("addr");
    n1.add_addr("eth1", "2001:db8::11/64").expect("addr");
    (lab, sw, n1)
}

fn announce_both(s: &NsSpeaker) {
    s.run(|sp| async move {
        sp.announce(p("192.0.2.10/32"), attrs())
            .await
            .expect("announce");
        sp.announce(p("2001:db8:ff::10/128"), attrs())
            .await
            .expect("announce");
    });
}

fn withdraw_both(s: &NsSpeaker) {
    s.run(|sp| async move {
        sp.withdraw(p("192.0.2.10/32")).await.expect("withdraw");
        sp.withdraw(p("2001:db8:ff::10/128"))
            .await
            .expect("withdraw");
    });
}

// ---------------------------------------------------------------- FRR

fn frr_config(extra: &str) -> String {
    format!(
        "router bgp 65000\n bgp router-id 10.0.0.1\n no bgp ebgp-requires-policy\n \
         neighbor 10.0.0.11 remote-as 65011\n neighbor 10.0.0.11 timers connect 1\n{extra}\
         \n address-family ipv6 unicast\n  neighbor 10.0.0.11 activate\n exit-address-family\n"
    )
}

/// FRR's best path for `prefix` as JSON, if it has one.
fn frr_path(frr: &Frr, afi: &str, prefix: &str) -> Option<Value> {
    let v = frr
        .vtysh_json(&format!("show bgp {afi} unicast {prefix} json"))
        .ok()?;
    v["paths"].as_array()?.first().cloned()
}

#[test]
fn frr_receives_exact_attributes_withdraw_and_restart() {
    let (lab, sw, n1) = two_hosts("bgp-frr-attrs");
    let mut frr = Frr::start(&lab, &sw, &["bgpd"], &frr_config("")).expect("frr");
    let s = NsSpeaker::start(&n1, speaker_cfg(false), vec![neighbor()]);
    frr.wait_bgp_established("10.0.0.11", T)
        .expect("established");
    announce_both(&s);
    wait_until("FRR to hold both VIPs", T, || {
        Ok(frr_path(&frr, "ipv4", "192.0.2.10/32").is_some()
            && frr_path(&frr, "ipv6", "2001:db8:ff::10/128").is_some())
    })
    .expect("routes");
    for (afi, pfx) in [("ipv4", "192.0.2.10/32"), ("ipv6", "2001:db8:ff::10/128")] {
        let path = frr_path(&frr, afi, pfx).expect("path");
        assert_eq!(path["aspath"]["string"], "65011 65011 65011", "{path}");
        assert_eq!(path["origin"], "IGP", "{path}");
        assert_eq!(path["metric"], 10, "{path}");
        assert_eq!(path["community"]["string"], "65000:100", "{path}");
        assert_eq!(path["largeCommunity"]["string"], "65011:1:2", "{path}");
        assert!(
            path.get("locPrf").is_none() || path["locPrf"] == 100,
            "{path}"
        );
        let hops: Vec<&str> = path["nexthops"]
            .as_array()
            .expect("nexthops")
            .iter()
            .filter_map(|h| h["ip"].as_str())
            .collect();
        if afi == "ipv4" {
            assert_eq!(hops, ["10.0.0.11"], "{path}");
        } else {
            assert!(hops.contains(&"2001:db8::11"), "{path}");
            assert!(
                hops.iter().any(|h| h.starts_with("fe80::")),
                "link-local next hop: {path}"
            );
        }
    }
    withdraw_both(&s);
    wait_until("FRR to drop both VIPs", T, || {
        Ok(frr_path(&frr, "ipv4", "192.0.2.10/32").is_none()
            && frr_path(&frr, "ipv6", "2001:db8:ff::10/128").is_none())
    })
    .expect("withdrawn");
    s.run(|sp| async move {
        sp.announce(p("192.0.2.20/32"), RouteAttrs::default())
            .await
            .expect("a")
    });
    wait_until("FRR to hold 192.0.2.20", T, || {
        Ok(frr_path(&frr, "ipv4", "192.0.2.20/32").is_some())
    })
    .expect("r");
    // vgw-lab's Frr::restart can run vtysh before the new daemons listen (the old vty socket
    // files still exist); see /work/briefs/requests-bgp.md. Retry until the config applies.
    let mut restarted = frr.restart();
    for _ in 0..5 {
        if restarted.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        restarted = frr.restart();
    }
    restarted.expect("restart");
    // Same race: the config may have gone to the old daemons. Apply it again until bgpd has it.
    let dir = lab.dir().join(format!("frr-{}", sw.name()));
    wait_until("FRR bgpd to have its config after the restart", T, || {
        if frr
            .vtysh("show bgp summary")
            .is_ok_and(|t| !t.contains("not found"))
        {
            return Ok(true);
        }
        let _ = std::process::Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&dir)
            .arg("-f")
            .arg(dir.join("frr.conf"))
            .output();
        Ok(false)
    })
    .expect("FRR config applied");
    if let Err(e) = frr.wait_bgp_established("10.0.0.11", T) {
        let st = s.run(|sp| async move { sp.neighbor("sw").await.expect("n") });
        let frr_view = frr
            .vtysh("show bgp neighbors 10.0.0.11")
            .unwrap_or_default();
        panic!("not re-established: {e}\nour side: {st:?}\nFRR: {frr_view}");
    }
    wait_until("FRR to hold 192.0.2.20 again", T, || {
        Ok(frr_path(&frr, "ipv4", "192.0.2.20/32").is_some())
    })
    .expect("re-announced");
    assert_eq!(s.state("sw"), State::Established);
}

#[test]
fn frr_tcp_md5_right_key_up_wrong_key_never() {
    let (lab, sw, n1) = two_hosts("bgp-frr-md5");
    let frr = Frr::start(
        &lab,
        &sw,
        &["bgpd"],
        &frr_config(" neighbor 10.0.0.11 password s3cret\n"),
    )
    .expect("frr");
    let mut wrong = neighbor();
    wrong.password = Some("wrong".into());
    let s = NsSpeaker::start(&n1, speaker_cfg(false), vec![wrong]);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !frr.bgp_established("10.0.0.11").unwrap_or(false),
        "wrong key must never establish"
    );
    assert_ne!(s.state("sw"), State::Established);
    drop(s);
    let mut right = neighbor();
    right.password = Some("s3cret".into());
    let s = NsSpeaker::start(&n1, speaker_cfg(false), vec![right]);
    frr.wait_bgp_established("10.0.0.11", T)
        .expect("right key establishes");
    assert_eq!(s.state("sw"), State::Established);
}

#[test]
fn frr_gtsm_one_hop() {
    let (lab, sw, n1) = two_hosts("bgp-frr-gtsm");
    let frr = Frr::start(
        &lab,
        &sw,
        &["bgpd"],
        &frr_config(" neighbor 10.0.0.11 ttl-security hops 1\n"),
    )
    .expect("frr");
    // Without GTSM our packets leave with TTL 64 and FRR (minimum TTL 254) drops them.
    let s = NsSpeaker::start(&n1, speaker_cfg(false), vec![neighbor()]);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !frr.bgp_established("10.0.0.11").unwrap_or(false),
        "TTL 64 must be dropped"
    );
    drop(s);
    let mut gtsm = neighbor();
    gtsm.ttl_security = true;
    let s = NsSpeaker::start(&n1, speaker_cfg(false), vec![gtsm]);
    frr.wait_bgp_established("10.0.0.11", T)
        .expect("GTSM session establishes");
    assert_eq!(s.state("sw"), State::Established);
}

// ---------------------------------------------------------------- GoBGP

const GOBGP_CONFIG: &str = r#"
[global.config]
  as = 65000
  router-id = "10.0.0.1"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.11"
    peer-as = 65011
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#;

/// The attributes GoBGP holds for `prefix` in its global RIB.
fn gobgp_attrs(g: &Gobgp, ipv6: bool, prefix: &str) -> Option<Vec<Value>> {
    let rib = g.rib(ipv6).ok()?;
    rib[prefix].as_array()?.first()?["attrs"]
        .as_array()
        .cloned()
}

fn attr(attrs: &[Value], t: u64) -> Value {
    attrs
        .iter()
        .find(|a| a["type"] == t)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn gobgp_receives_exact_attributes_withdraw_and_restart() {
    let (lab, sw, n1) = two_hosts("bgp-gobgp-attrs");
    let mut g = Gobgp::start(&lab, &sw, GOBGP_CONFIG).expect("gobgp");
    let s = NsSpeaker::start(&n1, speaker_cfg(true), vec![neighbor()]);
    g.wait_established("10.0.0.11", T).expect("established");
    announce_both(&s);
    wait_until("GoBGP to hold both VIPs", T, || {
        Ok(gobgp_attrs(&g, false, "192.0.2.10/32").is_some()
            && gobgp_attrs(&g, true, "2001:db8:ff::10/128").is_some())
    })
    .expect("routes");
    for (v6, pfx) in [(false, "192.0.2.10/32"), (true, "2001:db8:ff::10/128")] {
        let a = gobgp_attrs(&g, v6, pfx).expect("attrs");
        let all = Value::Array(a.clone());
        assert_eq!(attr(&a, 1)["value"], 0, "ORIGIN IGP: {all}");
        assert_eq!(
            attr(&a, 2)["as_paths"][0]["asns"],
            serde_json::json!([65011, 65011, 65011]),
            "{all}"
        );
        assert_eq!(attr(&a, 4)["metric"], 10, "{all}");
        assert_eq!(attr(&a, 5), Value::Null, "no LOCAL_PREF to eBGP: {all}");
        assert_eq!(
            attr(&a, 8)["communities"],
            serde_json::json!([(65000u32 << 16) | 100]),
            "{all}"
        );
        let lc = &attr(&a, 32)["value"][0];
        assert_eq!(
            (
                lc["ASN"].as_u64(),
                lc["LocalData1"].as_u64(),
                lc["LocalData2"].as_u64()
            ),
            (Some(65011), Some(1), Some(2)),
            "{all}"
        );
        if v6 {
            let nh = attr(&a, 14);
            assert_eq!(nh["nexthop"], "2001:db8::11", "{all}");
        } else {
            assert_eq!(attr(&a, 3)["nexthop"], "10.0.0.11", "{all}");
        }
    }
    withdraw_both(&s);
    wait_until("GoBGP to drop both VIPs", T, || {
        Ok(gobgp_attrs(&g, false, "192.0.2.10/32").is_none()
            && gobgp_attrs(&g, true, "2001:db8:ff::10/128").is_none())
    })
    .expect("withdrawn");
    s.run(|sp| async move {
        sp.announce(p("192.0.2.20/32"), RouteAttrs::default())
            .await
            .expect("a")
    });
    wait_until("GoBGP to hold 192.0.2.20", T, || {
        Ok(gobgp_attrs(&g, false, "192.0.2.20/32").is_some())
    })
    .expect("r");
    g.restart().expect("restart");
    g.wait_established("10.0.0.11", T).expect("re-established");
    wait_until("GoBGP to hold 192.0.2.20 again", T, || {
        Ok(gobgp_attrs(&g, false, "192.0.2.20/32").is_some())
    })
    .expect("re-announced");
}

// ---------------------------------------------------------------- ExaBGP

const EXABGP_CONFIG: &str = r#"
process vgwlab-recorder {
  run {recorder};
  encoder json;
}
neighbor 10.0.0.11 {
  router-id 10.0.0.1;
  local-address 10.0.0.1;
  local-as 65000;
  peer-as 65011;
  family { ipv4 unicast; ipv6 unicast; }
  api { processes [ vgwlab-recorder ]; receive { parsed; update; } neighbor-changes; }
}
"#;

/// The update messages ExaBGP's API process received.
fn exa_updates(e: &Exabgp) -> Vec<Value> {
    e.received()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["type"] == "update")
        .map(|m| m["neighbor"]["message"]["update"].clone())
        .collect()
}

#[test]
fn exabgp_receives_exact_attributes_withdraw_and_restart() {
    let (lab, sw, n1) = two_hosts("bgp-exabgp-attrs");
    let mut e = Exabgp::start(&lab, &sw, EXABGP_CONFIG).expect("exabgp");
    let s = NsSpeaker::start(&n1, speaker_cfg(true), vec![neighbor()]);
    wait_until("ExaBGP session up", T, || {
        Ok(s.state("sw") == State::Established)
    })
    .expect("up");
    announce_both(&s);
    let find = |fam: &str, pfx: &str| -> Option<Value> {
        exa_updates(&e).into_iter().find(|u| {
            u["announce"][fam].as_object().is_some_and(|m| {
                m.values().any(|v| {
                    v.as_array()
                        .is_some_and(|a| a.iter().any(|n| n["nlri"] == pfx))
                })
            })
        })
    };
    wait_until("ExaBGP to receive both VIPs", T, || {
        Ok(find("ipv4 unicast", "192.0.2.10/32").is_some()
            && find("ipv6 unicast", "2001:db8:ff::10/128").is_some())
    })
    .expect("received");
    for (fam, pfx) in [
        ("ipv4 unicast", "192.0.2.10/32"),
        ("ipv6 unicast", "2001:db8:ff::10/128"),
    ] {
        let u = find(fam, pfx).expect("update");
        let a = &u["attribute"];
        assert_eq!(a["origin"], "igp", "{u}");
        assert_eq!(
            a["as-path"],
            serde_json::json!([65011, 65011, 65011]),
            "{u}"
        );
        assert_eq!(a["med"], 10, "{u}");
        assert_eq!(a["community"], serde_json::json!([[65000, 100]]), "{u}");
        assert_eq!(
            a["large-community"],
            serde_json::json!([[65011, 1, 2]]),
            "{u}"
        );
        assert!(a.get("local-preference").is_none(), "{u}");
        let hops: Vec<&String> = u["announce"][fam]
            .as_object()
            .expect("announce")
            .keys()
            .collect();
        let want = if fam.starts_with("ipv4") {
            "10.0.0.11"
        } else {
            "2001:db8::11"
        };
        assert!(hops.iter().any(|h| h.contains(want)), "{u}");
    }
    withdraw_both(&s);
    wait_until("ExaBGP to receive both withdrawals", T, || {
        let ups = exa_updates(&e);
        let w = |fam: &str, pfx: &str| {
            ups.iter().any(|u| {
                u["withdraw"][fam]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n["nlri"] == pfx))
            })
        };
        Ok(w("ipv4 unicast", "192.0.2.10/32") && w("ipv6 unicast", "2001:db8:ff::10/128"))
    })
    .expect("withdrawn");
    s.run(|sp| async move {
        sp.announce(p("192.0.2.20/32"), RouteAttrs::default())
            .await
            .expect("a")
    });
    wait_until("ExaBGP to receive 192.0.2.20", T, || {
        Ok(find("ipv4 unicast", "192.0.2.20/32").is_some())
    })
    .expect("r");
    let before = exa_updates(&e).len();
    e.restart().expect("restart");
    wait_until(
        "ExaBGP to receive 192.0.2.20 again after its restart",
        T,
        || {
            Ok(exa_updates(&e).iter().skip(before).any(|u| {
                u["announce"]["ipv4 unicast"].as_object().is_some_and(|m| {
                    m.values().any(|v| {
                        v.as_array()
                            .is_some_and(|a| a.iter().any(|n| n["nlri"] == "192.0.2.20/32"))
                    })
                })
            }))
        },
    )
    .expect("re-announced");
}
