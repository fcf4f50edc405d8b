//! Interop with BIRD 2 OSPF in lab namespaces: adjacency on broadcast and point-to-point,
//! our DR/BDR/DROther role, the VIP in BIRD's table and kernel FIB, withdraw, keyed MD5 and
//! HMAC-SHA authentication (RFC 5709), BIRD restart.
//! Needs root, `ip`, and BIRD 2.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vgw_lab::peers::Bird;
use vgw_lab::{wait_until, Host, Lab};
use vgw_ospf::interface::IfState;
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::{AuthKey, CryptoAlg};
use vgw_ospf::NetworkType;

mod common;
use common::{vgw_config, vip, Vgw};

fn bird_config(ty: &str, priority: u8, auth: &str) -> String {
    format!(
        "router id 10.0.0.1;\n\
         protocol device {{ scan time 1; }}\n\
         protocol kernel {{ ipv4 {{ export all; }}; merge paths on; }}\n\
         protocol ospf v2 o1 {{\n  ipv4 {{ import all; export none; }};\n  area 0 {{\n    interface \"eth1\" {{\n      type {ty}; hello 1; dead 4; priority {priority};\n{auth}    }};\n  }};\n}}\n"
    )
}

fn topo(name: &str) -> (Lab, Host, Host) {
    let lab = Lab::new(name).expect("lab (needs root)");
    let sw = lab.host("sw").expect("host");
    let lvs = lab.host("lvs").expect("host");
    lab.link((&sw, "eth1"), (&lvs, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    lvs.add_addr("eth1", "10.0.0.2/24").expect("addr");
    (lab, sw, lvs)
}

fn bird_full(bird: &Bird) -> bool {
    bird.birdc("show ospf neighbors o1")
        .map(|s| s.contains("Full/"))
        .unwrap_or(false)
}

fn wait_full(v: &Vgw, bird: &Bird, secs: u64) {
    let rid = Ipv4Addr::new(10, 0, 0, 1);
    let r = wait_until(
        "adjacency Full with BIRD",
        Duration::from_secs(secs),
        || Ok(v.nbr_state(rid) == Some(NbrState::Full) && bird_full(bird)),
    );
    if let Err(e) = r {
        panic!(
            "{e}\nours: {:#?}\nBIRD: {}",
            v.rt.block_on(v.inst.state()),
            bird.birdc("show ospf neighbors o1").unwrap_or_default()
        );
    }
}

fn has_vip(sw: &Host) -> vgw_lab::Result<bool> {
    Ok(sw
        .route("192.0.2.10/32")?
        .is_some_and(|r| r.gateways().contains(&"10.0.0.2".to_string())))
}

/// One case: the network type and priorities on both sides, the key, and the role our
/// interface must take (RFC 2328 9.4 election; p2p links are `PointToPoint`).
struct Case {
    name: &'static str,
    ty: &'static str,
    network: NetworkType,
    our_prio: u8,
    bird_prio: u8,
    auth: AuthKey,
    bird_auth: &'static str,
    role: IfState,
}

impl Case {
    fn broadcast(name: &'static str, our_prio: u8, bird_prio: u8, role: IfState) -> Case {
        Case {
            name,
            ty: "broadcast",
            network: NetworkType::Broadcast,
            our_prio,
            bird_prio,
            auth: AuthKey::Null,
            bird_auth: "",
            role,
        }
    }
}

/// A running case: both routers up and Full.
struct Running {
    _lab: Lab,
    sw: Host,
    bird: Bird,
    v: Vgw,
}

/// Our interface has the expected role, and BIRD agrees on who is DR and BDR.
fn assert_role(c: &Case, r: &Running) {
    let st = r.v.rt.block_on(r.v.inst.state()).expect("state");
    let ifv = st.interfaces.first().expect("one interface");
    let bird_if = r.bird.birdc("show ospf interface o1").unwrap_or_default();
    assert_eq!(
        ifv.state, c.role,
        "{}: our interface role; ours: {ifv:?}\nBIRD: {bird_if}",
        c.name
    );
    let ours = Ipv4Addr::new(10, 0, 0, 2);
    let theirs = Ipv4Addr::new(10, 0, 0, 1);
    let (dr, bdr) = match c.role {
        IfState::Dr => (ours, theirs),
        IfState::Backup => (theirs, ours),
        IfState::DrOther => (theirs, Ipv4Addr::UNSPECIFIED),
        _ => return,
    };
    assert_eq!((ifv.dr, ifv.bdr), (dr, bdr), "{}: our DR/BDR", c.name);
    // BIRD prints "Designated router (ID): 10.0.0.x" (the router ID, equal to the address here).
    assert!(
        bird_if.contains(&format!("Designated router (ID): {dr}")),
        "{}: BIRD must agree that {dr} is DR: {bird_if}",
        c.name
    );
}

fn start(c: &Case) -> Running {
    let (lab, sw, lvs) = topo(c.name);
    let bird = Bird::start(&lab, &sw, &bird_config(c.ty, c.bird_prio, c.bird_auth)).expect("bird");
    let v = Vgw::start(
        &lvs,
        vgw_config(
            Ipv4Addr::new(10, 0, 0, 2),
            c.network,
            c.our_prio,
            c.auth.clone(),
        ),
    );
    let t0 = Instant::now();
    wait_full(&v, &bird, 30);
    eprintln!("{}: Full after {:?}", c.name, t0.elapsed());
    let r = Running {
        _lab: lab,
        sw,
        bird,
        v,
    };
    assert_role(c, &r);
    r
}

fn announce_and_wait(name: &str, r: &Running) {
    r.v.rt
        .block_on(r.v.inst.announce(vip(), 20))
        .expect("announce");
    wait_until("VIP in BIRD's kernel FIB", Duration::from_secs(15), || {
        has_vip(&r.sw)
    })
    .expect("route");
    let table = r.bird.birdc("show route 192.0.2.10/32").expect("birdc");
    assert!(
        table.contains("E2"),
        "{name}: BIRD sees an E2 route: {table}"
    );
}

fn withdraw_and_wait(name: &str, r: &Running) {
    let t1 = Instant::now();
    r.v.rt.block_on(r.v.inst.withdraw(vip())).expect("withdraw");
    wait_until("VIP gone from BIRD's FIB", Duration::from_secs(10), || {
        Ok(!has_vip(&r.sw)?)
    })
    .expect("withdrawn");
    eprintln!("{name}: withdraw reached BIRD's FIB in {:?}", t1.elapsed());
}

/// Full adjacency with the expected roles, the VIP in BIRD's table and FIB, withdraw removes it.
fn run_case(c: Case) {
    let r = start(&c);
    announce_and_wait(c.name, &r);
    withdraw_and_wait(c.name, &r);
}

#[test]
fn bird_broadcast_we_are_dr() {
    run_case(Case::broadcast("ospf-bird-dr", 100, 1, IfState::Dr));
}

#[test]
fn bird_broadcast_we_are_bdr() {
    run_case(Case::broadcast("ospf-bird-bdr", 1, 100, IfState::Backup));
}

#[test]
fn bird_broadcast_we_are_drother() {
    run_case(Case::broadcast("ospf-bird-drother", 0, 1, IfState::DrOther));
}

#[test]
fn bird_point_to_point() {
    run_case(Case {
        ty: "ptp",
        network: NetworkType::PointToPoint,
        role: IfState::PointToPoint,
        ..Case::broadcast("ospf-bird-p2p", 1, 1, IfState::PointToPoint)
    });
}

#[test]
fn bird_md5_auth() {
    run_case(Case {
        auth: AuthKey::Crypto {
            alg: CryptoAlg::Md5,
            key_id: 7,
            key: b"s3cret-md5".to_vec(),
        },
        bird_auth: "      authentication cryptographic;\n      password \"s3cret-md5\" { id 7; algorithm keyed md5; };\n",
        ..Case::broadcast("ospf-bird-md5", 100, 1, IfState::Dr)
    });
}

#[test]
fn bird_hmac_sha256_auth() {
    run_case(Case {
        auth: AuthKey::Crypto {
            alg: CryptoAlg::HmacSha256,
            key_id: 3,
            key: b"s3cret-sha".to_vec(),
        },
        bird_auth: "      authentication cryptographic;\n      password \"s3cret-sha\" { id 3; algorithm hmac sha256; };\n",
        ..Case::broadcast("ospf-bird-sha256", 1, 100, IfState::Backup)
    });
}

#[test]
fn bird_hmac_sha1_auth() {
    run_case(Case {
        ty: "ptp",
        network: NetworkType::PointToPoint,
        auth: AuthKey::Crypto {
            alg: CryptoAlg::HmacSha1,
            key_id: 4,
            key: b"k1".to_vec(),
        },
        bird_auth: "      authentication cryptographic;\n      password \"k1\" { id 4; algorithm hmac sha1; };\n",
        ..Case::broadcast("ospf-bird-sha1", 1, 1, IfState::PointToPoint)
    });
}

/// BIRD restarts with the VIP announced: the new BIRD starts with an empty table and (its
/// kernel protocol has no `persist`) removes its routes from the kernel when it stops, so the
/// VIP in its table and FIB afterwards was learned again over the re-formed adjacency.
#[test]
fn bird_peer_restart() {
    let c = Case::broadcast("ospf-bird-restart", 100, 1, IfState::Dr);
    let mut r = start(&c);
    announce_and_wait(c.name, &r);
    let old_pid = r.bird.pid();
    let t0 = Instant::now();
    r.bird.restart().expect("BIRD restart");
    assert_ne!(r.bird.pid(), old_pid, "a new BIRD process");
    wait_full(&r.v, &r.bird, 40);
    eprintln!(
        "{}: Full again {:?} after the restart began",
        c.name,
        t0.elapsed()
    );
    wait_until("VIP back in BIRD's FIB", Duration::from_secs(15), || {
        has_vip(&r.sw)
    })
    .expect("route again");
    let table = r.bird.birdc("show route 192.0.2.10/32").expect("birdc");
    assert!(table.contains("E2"), "BIRD relearned the E2 route: {table}");
    eprintln!(
        "{}: VIP back in BIRD's FIB {:?} after the restart began",
        c.name,
        t0.elapsed()
    );
    assert_role(&c, &r);
    withdraw_and_wait(c.name, &r);
}

#[test]
fn bird_hmac_sha512_wrong_key_never_forms() {
    let (lab, sw, lvs) = topo("ospf-bird-sha-bad");
    let bird_auth = "      authentication cryptographic;\n      password \"right\" { id 5; algorithm hmac sha512; };\n";
    let bird = Bird::start(&lab, &sw, &bird_config("broadcast", 1, bird_auth)).expect("bird");
    let key = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha512,
        key_id: 5,
        key: b"wrong".to_vec(),
    };
    let v = Vgw::start(
        &lvs,
        vgw_config(Ipv4Addr::new(10, 0, 0, 2), NetworkType::Broadcast, 1, key),
    );
    let r = wait_until("any adjacency", Duration::from_secs(8), || {
        Ok(v.nbr_state(Ipv4Addr::new(10, 0, 0, 1)).is_some() || bird_full(&bird))
    });
    assert!(r.is_err(), "no neighbor may appear with a wrong key");
    let st = v.rt.block_on(v.inst.state()).expect("state");
    assert!(
        st.drops
            .iter()
            .any(|(r, n)| r.starts_with("auth_") && *n > 0),
        "{:?}",
        st.drops
    );
}
