//! Interop with FRR ospfd in lab namespaces: adjacency, VIP route in FRR's RIB and kernel FIB,
//! withdraw, peer restart, authentication, stub-router drain, the interface going down and up
//! (and losing its address, changing its MTU) at run time.
//! Needs root, `ip`, and FRR (`/usr/lib/frr/ospfd`).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vgw_lab::peers::Frr;
use vgw_lab::{wait_until, Host, Lab};
use vgw_ospf::interface::IfState;
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::{AuthKey, CryptoAlg};
use vgw_ospf::NetworkType;

mod common;
use common::{vgw_config, vip, Vgw};

fn frr_config(network: &str, priority: u8, auth: &str) -> String {
    format!(
        "interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n ip ospf priority {priority}\n{network}{auth}exit\n\
         router ospf\n ospf router-id 10.0.0.1\n network 10.0.0.0/24 area 0\nexit\n"
    )
}

fn frr_nbr_full(frr: &Frr) -> bool {
    frr.vtysh("show ip ospf neighbor")
        .map(|s| s.contains("Full/"))
        .unwrap_or(false)
}

struct Topo {
    _lab: Lab,
    sw: Host,
    lvs: Host,
}

fn topo(name: &str) -> Topo {
    let lab = Lab::new(name).expect("lab (needs root)");
    let sw = lab.host("sw").expect("host");
    let lvs = lab.host("lvs").expect("host");
    lab.link((&sw, "eth1"), (&lvs, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    lvs.add_addr("eth1", "10.0.0.2/24").expect("addr");
    Topo { _lab: lab, sw, lvs }
}

fn has_vip(sw: &Host) -> vgw_lab::Result<bool> {
    Ok(sw
        .route("192.0.2.10/32")?
        .is_some_and(|r| r.gateways().contains(&"10.0.0.2".to_string())))
}

/// `Frr::restart` can apply the config before the new ospfd listens (the old vty socket file
/// is still there), leaving OSPF unconfigured: apply it again in that case.
fn ensure_config(lab: &Lab, host: &Host, frr: &Frr, config: &str) {
    let ok = wait_until(
        "FRR ospfd configured after restart",
        Duration::from_secs(5),
        || Ok(frr.vtysh("show running-config")?.contains("router ospf")),
    );
    if ok.is_ok() {
        return;
    }
    let dir = lab.dir().join(format!("frr-{}", host.name()));
    let conf = dir.join("frr-again.conf");
    std::fs::write(&conf, config).expect("write FRR config");
    wait_until("FRR accepts its config", Duration::from_secs(15), || {
        let out = std::process::Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&dir)
            .arg("-f")
            .arg(&conf)
            .output()
            .map_err(|e| vgw_lab::LabError::Invalid(e.to_string()))?;
        Ok(out.status.success() && frr.vtysh("show running-config")?.contains("router ospf"))
    })
    .expect("FRR configured");
}

/// Waits for Full on both sides; on timeout shows both sides' view.
fn wait_full(v: &Vgw, frr: &Frr, secs: u64) {
    let frr_rid = Ipv4Addr::new(10, 0, 0, 1);
    let full = wait_until(
        "adjacency Full on both sides",
        Duration::from_secs(secs),
        || Ok(v.nbr_state(frr_rid) == Some(NbrState::Full) && frr_nbr_full(frr)),
    );
    if let Err(e) = full {
        let st = v.rt.block_on(v.inst.state());
        panic!(
            "{e}\nours: {st:#?}\nFRR: {}\n{}",
            frr.vtysh("show ip ospf neighbor").unwrap_or_default(),
            frr.vtysh("show ip ospf interface").unwrap_or_default()
        );
    }
}

/// Full adjacency, VIP in FRR's kernel FIB, withdraw removes it, FRR restart re-forms.
fn run_case(name: &str, network: NetworkType, our_prio: u8, frr_prio: u8, expect_if: &str) {
    let t = topo(name);
    let frr_net = if network == NetworkType::PointToPoint {
        " ip ospf network point-to-point\n"
    } else {
        ""
    };
    let mut frr = Frr::start(
        &t._lab,
        &t.sw,
        &["ospfd"],
        &frr_config(frr_net, frr_prio, ""),
    )
    .expect("frr");
    let rid = Ipv4Addr::new(10, 0, 0, 2);
    let v = Vgw::start(&t.lvs, vgw_config(rid, network, our_prio, AuthKey::Null));
    let t0 = Instant::now();
    wait_full(&v, &frr, 30);
    eprintln!("{name}: Full after {:?}", t0.elapsed());
    let st = v.rt.block_on(v.inst.state()).expect("state");
    let ifstate = format!("{:?}", st.interfaces[0].state);
    assert_eq!(ifstate, expect_if, "our interface state");
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    wait_until("VIP in FRR's kernel FIB", Duration::from_secs(15), || {
        has_vip(&t.sw)
    })
    .expect("route");
    let rib = frr.vtysh("show ip route 192.0.2.10/32").expect("vtysh");
    assert!(rib.contains("ospf") || rib.contains("O>"), "FRR RIB: {rib}");
    let t1 = Instant::now();
    v.rt.block_on(v.inst.withdraw(vip())).expect("withdraw");
    wait_until("VIP gone from FRR's FIB", Duration::from_secs(10), || {
        Ok(!has_vip(&t.sw)?)
    })
    .expect("withdrawn");
    eprintln!("{name}: withdraw reached FRR's FIB in {:?}", t1.elapsed());
    // Peer restart: the adjacency re-forms and the VIP comes back.
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    if let Err(e) = frr.restart() {
        // vgw-lab's restart applies the config as soon as the (stale) vty socket file exists;
        // the daemons are started by then, so the config is applied again below.
        eprintln!("{name}: FRR restart could not apply its config ({e})");
    }
    ensure_config(&t._lab, &t.sw, &frr, &frr_config(frr_net, frr_prio, ""));
    wait_full(&v, &frr, 40);
    wait_until("VIP back in FRR's FIB", Duration::from_secs(15), || {
        has_vip(&t.sw)
    })
    .expect("route again");
}

#[test]
fn frr_broadcast_we_are_dr() {
    run_case("ospf-frr-dr", NetworkType::Broadcast, 100, 1, "Dr");
}

#[test]
fn frr_broadcast_we_are_bdr() {
    run_case("ospf-frr-bdr", NetworkType::Broadcast, 1, 100, "Backup");
}

#[test]
fn frr_broadcast_we_are_drother() {
    run_case("ospf-frr-drother", NetworkType::Broadcast, 0, 1, "DrOther");
}

#[test]
fn frr_point_to_point() {
    run_case(
        "ospf-frr-p2p",
        NetworkType::PointToPoint,
        1,
        1,
        "PointToPoint",
    );
}

fn auth_case(name: &str, ours: AuthKey, frr_auth: &str, expect_full: bool) {
    let t = topo(name);
    let frr = Frr::start(&t._lab, &t.sw, &["ospfd"], &frr_config("", 1, frr_auth)).expect("frr");
    let v = Vgw::start(
        &t.lvs,
        vgw_config(Ipv4Addr::new(10, 0, 0, 2), NetworkType::Broadcast, 1, ours),
    );
    let frr_rid = Ipv4Addr::new(10, 0, 0, 1);
    let full = wait_until(
        "Full with authentication",
        Duration::from_secs(if expect_full { 30 } else { 10 }),
        || Ok(v.nbr_state(frr_rid) == Some(NbrState::Full) && frr_nbr_full(&frr)),
    );
    if expect_full {
        full.expect("Full with matching key");
    } else {
        assert!(full.is_err(), "adjacency must not form with a wrong key");
        assert_eq!(
            v.nbr_state(frr_rid),
            None,
            "no neighbor at all from unauthenticated hellos"
        );
        let st = v.rt.block_on(v.inst.state()).expect("state");
        assert!(
            st.drops
                .iter()
                .any(|(r, n)| r.starts_with("auth_") && *n > 0),
            "{:?}",
            st.drops
        );
    }
}

#[test]
fn frr_md5_auth() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::Md5,
        key_id: 7,
        key: b"s3cret".to_vec(),
    };
    auth_case(
        "ospf-frr-md5",
        key,
        " ip ospf authentication message-digest\n ip ospf message-digest-key 7 md5 s3cret\n",
        true,
    );
}

#[test]
fn frr_md5_wrong_key_never_forms() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::Md5,
        key_id: 7,
        key: b"wrong".to_vec(),
    };
    auth_case(
        "ospf-frr-md5bad",
        key,
        " ip ospf authentication message-digest\n ip ospf message-digest-key 7 md5 s3cret\n",
        false,
    );
}

/// Two vgw routers announce the same VIP: FRR installs ECMP over both. Then a stub-router drain
/// of one moves all traffic to the other while its route stays (higher cost), before any
/// withdrawal.
#[test]
fn frr_ecmp_from_two_vgw_and_stub_router_drain() {
    let lab = Lab::new("ospf-frr-ecmp").expect("lab (needs root)");
    let sw = lab.host("sw").expect("host");
    let l1 = lab.host("lvs1").expect("host");
    let l2 = lab.host("lvs2").expect("host");
    lab.link((&sw, "eth1"), (&l1, "eth1")).expect("link");
    lab.link((&sw, "eth2"), (&l2, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    sw.add_addr("eth2", "10.0.1.1/24").expect("addr");
    l1.add_addr("eth1", "10.0.0.2/24").expect("addr");
    l2.add_addr("eth1", "10.0.1.2/24").expect("addr");
    let iface = |n: &str| {
        format!(
            "interface {n}\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n ip ospf network point-to-point\nexit\n"
        )
    };
    let conf = format!(
        "{}{}router ospf\n ospf router-id 10.0.0.1\n network 10.0.0.0/16 area 0\nexit\n",
        iface("eth1"),
        iface("eth2")
    );
    let frr = Frr::start(&lab, &sw, &["ospfd"], &conf).expect("frr");
    let p2p = NetworkType::PointToPoint;
    let v1 = Vgw::start(
        &l1,
        vgw_config(Ipv4Addr::new(10, 0, 0, 2), p2p, 1, AuthKey::Null),
    );
    let v2 = Vgw::start(
        &l2,
        vgw_config(Ipv4Addr::new(10, 0, 1, 2), p2p, 1, AuthKey::Null),
    );
    for v in [&v1, &v2] {
        v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    }
    let gateways = || -> vgw_lab::Result<Vec<String>> {
        let mut g = sw
            .route("192.0.2.10/32")?
            .map(|r| r.gateways())
            .unwrap_or_default();
        g.sort();
        Ok(g)
    };
    let both = vec!["10.0.0.2".to_string(), "10.0.1.2".to_string()];
    wait_until(
        "ECMP route with both next hops",
        Duration::from_secs(40),
        || Ok(gateways()? == both),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {:?}\n{}",
            gateways(),
            frr.vtysh("show ip ospf route").unwrap_or_default()
        )
    });
    // Drain lvs1: its VIP gets the drain metric, FRR keeps only lvs2.
    v1.rt
        .block_on(v1.inst.set_stub_router(true))
        .expect("drain");
    wait_until(
        "drained node leaves the ECMP set",
        Duration::from_secs(10),
        || Ok(gateways()? == vec!["10.0.1.2".to_string()]),
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}", gateways()));
    // lvs2 withdraws: the drained node still carries the VIP (higher cost, not withdrawn).
    v2.rt.block_on(v2.inst.withdraw(vip())).expect("withdraw");
    wait_until(
        "drained node is the fallback",
        Duration::from_secs(10),
        || Ok(gateways()? == vec!["10.0.0.2".to_string()]),
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}", gateways()));
    // Shutdown flushes everything: the route disappears without waiting for dead intervals.
    let t = Instant::now();
    v1.rt
        .block_on(v1.inst.shutdown(Duration::from_secs(2)))
        .expect("shutdown");
    wait_until(
        "route gone after shutdown flush",
        Duration::from_secs(3),
        || Ok(gateways()?.is_empty()),
    )
    .expect("flushed on shutdown");
    eprintln!("shutdown flush reached FRR's FIB in {:?}", t.elapsed());
}

/// Polls our state until `ok` holds; returns how long that took.
fn wait_ours(
    v: &Vgw,
    what: &str,
    secs: u64,
    ok: impl Fn(&vgw_ospf::state::State) -> bool,
) -> Duration {
    let t = Instant::now();
    loop {
        let st = v.rt.block_on(v.inst.state()).expect("state");
        if ok(&st) {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s: {st:#?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The interface is taken down and up, its address removed and re-added, and its MTU changed,
/// at run time: each reaches us through an rtnetlink notification (well inside the 5 s
/// re-sync), the adjacency drops and re-forms, the VIP leaves and comes back, and the MTU we
/// send in DD packets follows the kernel's (the config leaves `mtu` at 0).
#[test]
fn frr_interface_down_up_at_run_time() {
    let t = topo("ospf-frr-ifupdown");
    let p2p = " ip ospf network point-to-point\n";
    let frr = Frr::start(&t._lab, &t.sw, &["ospfd"], &frr_config(p2p, 1, "")).expect("frr");
    let cfg = vgw_config(
        Ipv4Addr::new(10, 0, 0, 2),
        NetworkType::PointToPoint,
        1,
        AuthKey::Null,
    );
    assert_eq!(cfg.interfaces[0].mtu, 0, "MTU from the kernel");
    let v = Vgw::start(&t.lvs, cfg);
    wait_full(&v, &frr, 30);
    let st = v.rt.block_on(v.inst.state()).expect("state");
    assert_eq!(st.interfaces[0].mtu, 1500, "the veth's MTU: {st:?}");
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    wait_until("VIP in FRR's kernel FIB", Duration::from_secs(15), || {
        has_vip(&t.sw)
    })
    .expect("route");
    let down = |st: &vgw_ospf::state::State| {
        st.interfaces[0].state == IfState::Down && st.neighbors.is_empty()
    };

    for round in 0..3 {
        t.lvs
            .ip(&["link", "set", "eth1", "down"])
            .expect("link down");
        let d = wait_ours(&v, "interface Down after link down", 2, down);
        eprintln!("round {round}: link down -> our interface Down, neighbor gone in {d:?}");
        assert!(
            d < Duration::from_millis(400),
            "event-driven, not polled: {d:?}"
        );
        wait_until("VIP gone from FRR's FIB", Duration::from_secs(10), || {
            Ok(!has_vip(&t.sw)?)
        })
        .expect("VIP gone with the link");
        let t0 = Instant::now();
        t.lvs.ip(&["link", "set", "eth1", "up"]).expect("link up");
        wait_full(&v, &frr, 15);
        let full = t0.elapsed();
        eprintln!("round {round}: link up -> Full on both sides in {full:?}");
        assert!(full < Duration::from_secs(8), "re-forms quickly: {full:?}");
        wait_until("VIP back in FRR's FIB", Duration::from_secs(15), || {
            has_vip(&t.sw)
        })
        .expect("VIP back");
    }

    // The address goes away (RTNLGRP_IPV4_IFADDR) and comes back.
    t.lvs
        .ip(&["addr", "del", "10.0.0.2/24", "dev", "eth1"])
        .expect("addr del");
    let d = wait_ours(&v, "interface Down after address removal", 2, down);
    eprintln!("address removed -> our interface Down in {d:?}");
    assert!(d < Duration::from_millis(400), "event-driven: {d:?}");
    let t0 = Instant::now();
    t.lvs.add_addr("eth1", "10.0.0.2/24").expect("addr add");
    wait_full(&v, &frr, 15);
    eprintln!("address re-added -> Full in {:?}", t0.elapsed());

    // An MTU change is followed without restarting the adjacency. Only our side changes: FRR
    // resets its own interface when its MTU changes, which would drop the adjacency anyway.
    t.lvs
        .ip(&["link", "set", "eth1", "mtu", "1400"])
        .expect("mtu");
    let d = wait_ours(&v, "MTU 1400 from the kernel", 2, |st| {
        st.interfaces[0].mtu == 1400
    });
    eprintln!("MTU change seen in {d:?}");
    assert!(d < Duration::from_millis(400), "event-driven: {d:?}");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            v.nbr_state(Ipv4Addr::new(10, 0, 0, 1)),
            Some(NbrState::Full),
            "an MTU change does not reset the adjacency"
        );
        assert!(frr_nbr_full(&frr), "FRR stays Full");
        std::thread::sleep(Duration::from_millis(100));
    }
}
