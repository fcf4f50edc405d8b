//! Deterministic stand-in for the cargo-fuzz target (fuzz/ needs nightly): random and mutated
//! packets from a fixed seed through the decoder, the authentication check and a live router.
//! Nothing may panic, every valid packet must round-trip.

use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vgw_ospf::packet::lsa::{ExternalLsa, ExternalMetric, Lsa, LsaBody, LsaHeader, OPT_E};
use vgw_ospf::packet::{verify, AuthKey, Body, CryptoAlg, DbDesc, Hello, LsAck, LsUpdate, Packet};
use vgw_ospf::{Config, IfConfig, Input, NetworkType, Router};

fn seeds() -> Vec<Vec<u8>> {
    let rid = Ipv4Addr::new(10, 0, 0, 1);
    let hdr = LsaHeader {
        age: 1,
        options: OPT_E,
        ls_type: 5,
        ls_id: Ipv4Addr::new(192, 0, 2, 1),
        adv_rtr: rid,
        seq: 0x8000_0001,
        checksum: 0,
        length: 0,
    };
    let ext = Lsa::new(
        hdr,
        LsaBody::AsExternal(ExternalLsa {
            mask: Ipv4Addr::new(255, 255, 255, 255),
            metrics: vec![ExternalMetric {
                tos: 0,
                e2: true,
                metric: 1,
                forwarding: Ipv4Addr::UNSPECIFIED,
                tag: 0,
            }],
        }),
    );
    let bodies = vec![
        Body::Hello(Hello {
            mask: Ipv4Addr::new(255, 255, 255, 0),
            hello_interval: 1,
            options: OPT_E,
            priority: 1,
            dead_interval: 4,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: vec![Ipv4Addr::new(10, 0, 0, 2)],
        }),
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPT_E,
            flags: 7,
            seq: 9,
            headers: vec![ext.header],
        }),
        Body::LsUpdate(LsUpdate {
            lsas: vec![ext.clone()],
        }),
        Body::LsAck(LsAck {
            headers: vec![ext.header],
        }),
    ];
    let keys = [
        AuthKey::Null,
        AuthKey::simple("pw"),
        AuthKey::Crypto {
            alg: CryptoAlg::Md5,
            key_id: 1,
            key: b"k".to_vec(),
        },
        AuthKey::Crypto {
            alg: CryptoAlg::HmacSha256,
            key_id: 1,
            key: b"k".to_vec(),
        },
    ];
    let mut out = Vec::new();
    for b in bodies {
        for k in &keys {
            let p = Packet {
                router_id: rid,
                area_id: Ipv4Addr::UNSPECIFIED,
                body: b.clone(),
            };
            out.push(p.encode(k, 5));
        }
    }
    out
}

#[test]
fn fixed_seed_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x05bf);
    let seeds = seeds();
    let mut router = Router::new(Config {
        router_id: Ipv4Addr::new(10, 0, 0, 2),
        area_id: Ipv4Addr::UNSPECIFIED,
        interfaces: vec![IfConfig {
            hello_interval: 1,
            dead_interval: 4,
            ..IfConfig::new("eth0", NetworkType::Broadcast)
        }],
        dd_seq_seed: 1,
        crypto_seq_base: 1,
    });
    router.process(
        0,
        Input::InterfaceUp {
            ifname: "eth0".into(),
            ifindex: 1,
            addr: Ipv4Addr::new(10, 0, 0, 2),
            prefix_len: 24,
            mtu: 1500,
        },
    );
    let (mut decoded, mut rejected) = (0u32, 0u32);
    for i in 0..200_000u64 {
        let mut buf = if i % 10 == 0 {
            let len = rng.random_range(0..300);
            (0..len).map(|_| rng.random()).collect::<Vec<u8>>()
        } else {
            seeds[rng.random_range(0..seeds.len())].clone()
        };
        for _ in 0..rng.random_range(1..6) {
            match rng.random_range(0..4) {
                0 if !buf.is_empty() => {
                    let j = rng.random_range(0..buf.len());
                    buf[j] = rng.random();
                }
                1 if !buf.is_empty() => {
                    let j = rng.random_range(0..buf.len());
                    buf.truncate(j);
                }
                2 => buf.push(rng.random()),
                _ if buf.len() > 4 => {
                    // Length field fiddling.
                    let v: u16 = rng.random_range(0..400);
                    buf[2..4].copy_from_slice(&v.to_be_bytes());
                }
                _ => {}
            }
        }
        match Packet::decode(&buf) {
            Ok(rx) => {
                decoded += 1;
                let _ = verify(&buf, &rx, &AuthKey::Null, None);
                let again = rx.packet.encode(&AuthKey::Null, 0);
                assert_eq!(Packet::decode(&again).map(|r| r.packet), Ok(rx.packet));
            }
            Err(_) => rejected += 1,
        }
        if i % 7 == 0 {
            let src = Ipv4Addr::new(10, 0, 0, 1);
            router.process(
                i,
                Input::Packet {
                    ifname: "eth0".into(),
                    src,
                    dst: Ipv4Addr::new(224, 0, 0, 5),
                    data: buf,
                },
            );
        }
    }
    eprintln!("decoded {decoded}, rejected {rejected}");
    assert!(
        decoded > 1000 && rejected > 1000,
        "decoded {decoded}, rejected {rejected}"
    );
}
