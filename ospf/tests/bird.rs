//! Interop with BIRD 2 OSPF in lab namespaces: adjacency on broadcast and point-to-point,
//! the VIP in BIRD's table and kernel FIB, withdraw, HMAC-SHA authentication (RFC 5709).
//! Needs root, `ip`, and BIRD 2.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vgw_lab::peers::Bird;
use vgw_lab::{wait_until, Host, Lab};
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

fn run_case(
    name: &str,
    ty: &str,
    network: NetworkType,
    our_prio: u8,
    bird_prio: u8,
    auth: AuthKey,
    bird_auth: &str,
) {
    let (lab, sw, lvs) = topo(name);
    let bird = Bird::start(&lab, &sw, &bird_config(ty, bird_prio, bird_auth)).expect("bird");
    let v = Vgw::start(
        &lvs,
        vgw_config(Ipv4Addr::new(10, 0, 0, 2), network, our_prio, auth),
    );
    let t0 = Instant::now();
    wait_full(&v, &bird, 30);
    eprintln!("{name}: Full after {:?}", t0.elapsed());
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    wait_until("VIP in BIRD's kernel FIB", Duration::from_secs(15), || {
        has_vip(&sw)
    })
    .expect("route");
    let table = bird.birdc("show route 192.0.2.10/32").expect("birdc");
    assert!(table.contains("E2"), "BIRD sees an E2 route: {table}");
    let t1 = Instant::now();
    v.rt.block_on(v.inst.withdraw(vip())).expect("withdraw");
    wait_until("VIP gone from BIRD's FIB", Duration::from_secs(10), || {
        Ok(!has_vip(&sw)?)
    })
    .expect("withdrawn");
    eprintln!("{name}: withdraw reached BIRD's FIB in {:?}", t1.elapsed());
}

#[test]
fn bird_broadcast_we_are_dr() {
    run_case(
        "ospf-bird-dr",
        "broadcast",
        NetworkType::Broadcast,
        100,
        1,
        AuthKey::Null,
        "",
    );
}

#[test]
fn bird_broadcast_we_are_drother() {
    run_case(
        "ospf-bird-drother",
        "broadcast",
        NetworkType::Broadcast,
        0,
        1,
        AuthKey::Null,
        "",
    );
}

#[test]
fn bird_point_to_point() {
    run_case(
        "ospf-bird-p2p",
        "ptp",
        NetworkType::PointToPoint,
        1,
        1,
        AuthKey::Null,
        "",
    );
}

#[test]
fn bird_hmac_sha256_auth() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha256,
        key_id: 3,
        key: b"s3cret-sha".to_vec(),
    };
    let bird_auth = "      authentication cryptographic;\n      password \"s3cret-sha\" { id 3; algorithm hmac sha256; };\n";
    run_case(
        "ospf-bird-sha256",
        "broadcast",
        NetworkType::Broadcast,
        1,
        1,
        key,
        bird_auth,
    );
}

#[test]
fn bird_hmac_sha1_auth() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha1,
        key_id: 4,
        key: b"k1".to_vec(),
    };
    let bird_auth = "      authentication cryptographic;\n      password \"k1\" { id 4; algorithm hmac sha1; };\n";
    run_case(
        "ospf-bird-sha1",
        "ptp",
        NetworkType::PointToPoint,
        1,
        1,
        key,
        bird_auth,
    );
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
        st.drops.iter().any(|(r, n)| r == "auth" && *n > 0),
        "{:?}",
        st.drops
    );
}
