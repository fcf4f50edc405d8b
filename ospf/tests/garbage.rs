//! A Full adjacency with FRR survives garbage on the segment: malformed and foreign OSPF
//! packets sent from a raw socket in the switch's namespace (IP_HDRINCL, source 10.0.0.3, a
//! station that does not exist) to our address and to AllSPFRouters. Each kind is dropped and
//! counted under its own reason, nothing else is counted, and the adjacency never leaves Full.
//! Needs root, `ip`, and FRR (`/usr/lib/frr/ospfd`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use vgw_lab::peers::Frr;
use vgw_lab::{wait_until, Lab};
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::hello::Hello;
use vgw_ospf::packet::{AuthKey, Body, Packet, ALL_SPF_ROUTERS};
use vgw_ospf::NetworkType;

mod common;
use common::{vgw_config, vip, Vgw};

const FRR_CONF: &str = "interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 4\nexit\nrouter ospf\n ospf router-id 10.0.0.1\n network 10.0.0.0/24 area 0\nexit\n";
const ROUNDS: u64 = 20;
const JUNK_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn hello(area: Ipv4Addr, hello_interval: u16, auth: &AuthKey) -> Vec<u8> {
    Packet {
        router_id: Ipv4Addr::new(10, 9, 9, 9),
        area_id: area,
        body: Body::Hello(Hello {
            mask: Ipv4Addr::new(255, 255, 255, 0),
            hello_interval,
            options: 0x02,
            priority: 1,
            dead_interval: 4,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
        }),
    }
    .encode(auth, 1)
}

/// The kinds of garbage, each with the drop counter it must land in.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    let area0 = Ipv4Addr::UNSPECIFIED;
    let good = hello(area0, 1, &AuthKey::Null);
    let mut bad_checksum = good.clone();
    bad_checksum[12] ^= 0x5a;
    let mut bad_length = good.clone();
    let long = u16::try_from(good.len() + 40).expect("short packet");
    bad_length[2..4].copy_from_slice(&long.to_be_bytes());
    let mut bad_version = good.clone();
    bad_version[0] = 3;
    let simple = AuthKey::Simple {
        password: *b"letmein!",
    };
    vec![
        ("decode_bad_checksum", bad_checksum),
        ("decode_bad_length", bad_length),
        ("decode_bad_version", bad_version),
        ("decode_truncated", good[..14].to_vec()),
        (
            "area_mismatch",
            hello(Ipv4Addr::new(0, 0, 0, 1), 1, &AuthKey::Null),
        ),
        ("auth_type_mismatch", hello(area0, 1, &simple)),
        ("hello_interval_mismatch", hello(area0, 10, &AuthKey::Null)),
    ]
}

/// An IPv4 header for `payload` (the kernel fills in the checksum and total length).
fn ip_packet(dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(20 + payload.len()).expect("small");
    let mut p = vec![0x45, 0xc0];
    p.extend(len.to_be_bytes());
    p.extend([0, 0, 0, 0, 1, 89, 0, 0]);
    p.extend(JUNK_SRC.octets());
    p.extend(dst.octets());
    p.extend(payload);
    p
}

fn counters(v: &Vgw) -> BTreeMap<String, u64> {
    let st = v.rt.block_on(v.inst.state()).expect("state");
    st.drops.into_iter().collect()
}

#[test]
fn full_adjacency_survives_garbage() {
    let lab = Lab::new("ospf-garbage").expect("lab (needs root)");
    let sw = lab.host("sw").expect("host");
    let lvs = lab.host("lvs").expect("host");
    lab.link((&sw, "eth1"), (&lvs, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    lvs.add_addr("eth1", "10.0.0.2/24").expect("addr");
    let frr = Frr::start(&lab, &sw, &["ospfd"], FRR_CONF).expect("frr");
    let v = Vgw::start(
        &lvs,
        vgw_config(
            Ipv4Addr::new(10, 0, 0, 2),
            NetworkType::Broadcast,
            1,
            AuthKey::Null,
        ),
    );
    let frr_rid = Ipv4Addr::new(10, 0, 0, 1);
    let frr_full = || {
        frr.vtysh("show ip ospf neighbor")
            .map(|s| s.contains("Full/"))
            .unwrap_or(false)
    };
    wait_until("Full with FRR", Duration::from_secs(30), || {
        Ok(v.nbr_state(frr_rid) == Some(NbrState::Full) && frr_full())
    })
    .expect("Full");
    v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
    wait_until("VIP in FRR's FIB", Duration::from_secs(15), || {
        Ok(sw.route("192.0.2.10/32")?.is_some())
    })
    .expect("route");

    let before = counters(&v);
    let kinds = garbage();
    // The sender lives on its own thread in the switch namespace; the adjacency is sampled
    // here meanwhile.
    let sender = sw
        .spawn_thread(move || {
            let s = Socket::new(
                Domain::IPV4,
                Type::RAW,
                Some(Protocol::from(libc::IPPROTO_RAW)),
            )
            .expect("raw socket");
            s.bind_device(Some(b"eth1")).expect("bind eth1");
            s.set_multicast_loop_v4(false).expect("no loop");
            for round in 0..ROUNDS {
                for (_, payload) in &kinds {
                    let dst = if round % 2 == 0 {
                        Ipv4Addr::new(10, 0, 0, 2)
                    } else {
                        ALL_SPF_ROUTERS
                    };
                    let to = SocketAddrV4::new(dst, 0).into();
                    s.send_to(&ip_packet(dst, payload), &to).expect("send");
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        })
        .expect("sender thread");
    let t0 = Instant::now();
    let mut samples = 0;
    while !sender.is_finished() || t0.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            v.nbr_state(frr_rid),
            Some(NbrState::Full),
            "adjacency left Full during the garbage"
        );
        samples += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    sender.join().expect("join").expect("sender");
    assert!(frr_full(), "FRR still Full");
    assert!(
        sw.route("192.0.2.10/32").expect("route").is_some(),
        "VIP still in FRR's FIB"
    );
    let st = v.rt.block_on(v.inst.state()).expect("state");
    assert!(
        st.neighbors.iter().all(|n| n.router_id == frr_rid),
        "the junk router never became a neighbor: {:?}",
        st.neighbors
    );

    let after = counters(&v);
    let delta: BTreeMap<String, u64> = after
        .iter()
        .map(|(k, n)| (k.clone(), n - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let want: BTreeMap<String, u64> = garbage()
        .into_iter()
        .map(|(k, _)| (k.to_string(), ROUNDS))
        .collect();
    eprintln!("{samples} samples, all Full; drops counted: {delta:?}");
    assert_eq!(
        delta, want,
        "each kind counted under its reason, nothing else"
    );
}
