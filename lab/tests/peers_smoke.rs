//! Smoke tests of the namespace lab with real routing peers (run as root, as CI does).

use std::time::Duration;

use vgw_lab::peers::{Bird, Exabgp, Frr, Gobgp};
use vgw_lab::{lab_namespaces, wait_until, Lab};

const T: Duration = Duration::from_secs(60);

/// Every namespace and process of a dropped lab is gone.
fn assert_cleaned(prefix_of: &[String], pids: &[u32]) {
    let left: Vec<String> = lab_namespaces()
        .into_iter()
        .filter(|n| prefix_of.contains(n))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "process {pid} still runs after the lab was dropped"
        );
    }
}

#[test]
fn bird_installs_a_route_announced_by_gobgp() {
    let lab = Lab::new("smoke-bird-gobgp").unwrap();
    let sw = lab.host("sw").unwrap();
    let n1 = lab.host("n1").unwrap();
    lab.link((&sw, "eth1"), (&n1, "eth1")).unwrap();
    sw.add_addr("eth1", "10.0.0.1/24").unwrap();
    n1.add_addr("eth1", "10.0.0.2/24").unwrap();

    let bird = Bird::start(
        &lab,
        &sw,
        r#"
router id 10.0.0.1;
protocol device {}
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp n1 {
  local 10.0.0.1 as 65000;
  neighbor 10.0.0.2 as 65001;
  ipv4 { import all; export none; };
}
"#,
    )
    .unwrap();
    let gobgp = Gobgp::start(
        &lab,
        &n1,
        r#"
[global.config]
  as = 65001
  router-id = "10.0.0.2"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 65000
"#,
    )
    .unwrap();
    bird.wait_established("n1", T).unwrap();
    gobgp.wait_established("10.0.0.1", T).unwrap();
    gobgp.announce("192.0.2.10/32").unwrap();

    wait_until(
        "BIRD to install 192.0.2.10/32 in its kernel table",
        T,
        || {
            Ok(sw
                .route("192.0.2.10/32")?
                .is_some_and(|r| r.gateways() == ["10.0.0.2"]))
        },
    )
    .unwrap();
    let route = bird.route_all("192.0.2.10/32").unwrap();
    assert!(
        route.contains("AS65001"),
        "BIRD's view of the route: {route}"
    );

    let namespaces = vec![sw.netns().to_string(), n1.netns().to_string()];
    let pids = vec![bird.pid(), gobgp.pid()];
    drop((bird, gobgp));
    drop(lab);
    assert_cleaned(&namespaces, &pids);
}

#[test]
fn frr_installs_a_route_announced_by_exabgp() {
    let lab = Lab::new("smoke-frr-exabgp").unwrap();
    let sw = lab.host("sw").unwrap();
    let n1 = lab.host("n1").unwrap();
    lab.link((&sw, "eth1"), (&n1, "eth1")).unwrap();
    sw.add_addr("eth1", "10.0.1.1/24").unwrap();
    n1.add_addr("eth1", "10.0.1.2/24").unwrap();

    let frr = Frr::start(
        &lab,
        &sw,
        &["bgpd"],
        r#"
router bgp 65000
 bgp router-id 10.0.1.1
 no bgp ebgp-requires-policy
 neighbor 10.0.1.2 remote-as 65002
"#,
    )
    .unwrap();
    let exa = Exabgp::start(
        &lab,
        &n1,
        r#"
process vgwlab-recorder {
  run {recorder};
  encoder json;
}
neighbor 10.0.1.1 {
  router-id 10.0.1.2;
  local-address 10.0.1.2;
  local-as 65002;
  peer-as 65000;
  api { processes [ vgwlab-recorder ]; receive { parsed; update; } neighbor-changes; }
  static { route 198.51.100.7/32 next-hop 10.0.1.2; }
}
"#,
    )
    .unwrap();
    frr.wait_bgp_established("10.0.1.2", T).unwrap();
    wait_until(
        "FRR to install 198.51.100.7/32 in its kernel table",
        T,
        || {
            Ok(sw
                .route("198.51.100.7/32")?
                .is_some_and(|r| r.gateways() == ["10.0.1.2"]))
        },
    )
    .unwrap();
    let rib = frr
        .vtysh_json("show bgp ipv4 unicast 198.51.100.7/32 json")
        .unwrap();
    assert_eq!(rib["prefix"], "198.51.100.7/32", "FRR's view: {rib}");
    // The recorder saw ExaBGP's session come up.
    wait_until("ExaBGP's recorder to see the session up", T, || {
        Ok(exa
            .received()?
            .iter()
            .any(|m| m["type"] == "state" && m["neighbor"]["state"] == "up"))
    })
    .unwrap();
}
