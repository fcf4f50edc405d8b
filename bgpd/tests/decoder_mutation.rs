//! Deterministic malformed-input run over the decoder (the stable-toolchain stand-in for the
//! cargo-fuzz target in `fuzz/`): valid messages are mutated with a fixed-seed RNG and decoded
//! under every decode context. Nothing may panic, and whatever decodes without RFC 7606 issues
//! must survive encode → decode unchanged.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vgw_bgp::packet::{DecodeContext, Message};
use vgw_bgp::transport::Framer;

mod common;
use common::*;

fn corpus() -> Vec<Vec<u8>> {
    let attrs = [
        &[0x40u8, 1, 1, 0][..],
        &[0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0xfd, 0xf3],
        &[0x40, 3, 4, 10, 0, 0, 1],
        &[0x80, 4, 4, 0, 0, 0, 10],
        &[0x40, 5, 4, 0, 0, 0, 100],
        &[0x40, 6, 0],
        &[0xc0, 7, 8, 0, 0, 0xfd, 0xe8, 10, 0, 0, 1],
        &[0xc0, 8, 8, 0xfd, 0xe8, 0, 100, 0xff, 0xff, 0, 0],
        &[0xc0, 32, 12, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 0, 0, 0, 2],
        &[0xc0, 17, 6, 2, 1, 0xfa, 0x56, 0xea, 0x00],
        &[0xe0, 99, 2, 1, 2],
    ]
    .concat();
    let mut mp = vec![0x90, 14, 0, 0, 0, 2, 1, 32];
    mp.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    mp.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    mp.push(0);
    mp.extend_from_slice(&[
        128, 0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]);
    mp.extend_from_slice(&[64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
    let mp_len = (mp.len() - 4) as u16;
    mp[2..4].copy_from_slice(&mp_len.to_be_bytes());
    let unreach = [0x80u8, 15, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8];
    vec![
        open(65000, [10, 0, 0, 1]),
        frame(1, &open_body(4, 4_200_000_000, 3, [1, 2, 3, 4])),
        keepalive(),
        notification(6, 2, &[3, b'b', b'y', b'e']),
        frame(5, &[0, 2, 0, 1]),
        update(
            &[24, 10, 1, 2, 32, 10, 9, 9, 9],
            &attrs,
            &[32, 192, 0, 2, 10, 0, 8, 10],
        ),
        update(
            &[],
            &[&mp[..], &[0x40, 1, 1, 0], &[0x40, 2, 0]].concat(),
            &[],
        ),
        update(&[], &unreach, &[]),
        update(&[], &[], &[]),
    ]
}

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = m.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                m[i] = rng.random();
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                m[i] ^= 1 << rng.random_range(0..8);
            }
            2 if len > 19 => m.truncate(rng.random_range(19..len)),
            3 => {
                let i = rng.random_range(0..=len);
                let b: u8 = rng.random();
                m.insert(i, b);
            }
            4 if len > 20 => {
                let i = rng.random_range(19..len);
                m.remove(i);
            }
            // Keep the header length consistent so the body decoders are reached.
            5 if len >= 19 => {
                let l = (len as u16).to_be_bytes();
                m[16] = l[0];
                m[17] = l[1];
            }
            6 if len > 23 => {
                // Clobber an inner length-looking octet with a small or huge value.
                let i = rng.random_range(19..len);
                m[i] = if rng.random() { 0 } else { 0xff };
            }
            _ => {}
        }
    }
    if rng.random_range(0..4) != 0 && m.len() >= 19 {
        let l = (m.len() as u16).to_be_bytes();
        m[16] = l[0];
        m[17] = l[1];
    }
    m
}

/// Default run; `VGW_MUTATION_ITERATIONS=N` runs longer (e.g. for a report).
const ITERATIONS: usize = 200_000;

fn iterations() -> usize {
    std::env::var("VGW_MUTATION_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ITERATIONS)
}

#[test]
fn mutated_messages_never_panic_and_round_trip() {
    let contexts = [
        DecodeContext {
            four_octet_as: true,
            extended_message: false,
            ibgp: false,
        },
        DecodeContext {
            four_octet_as: false,
            extended_message: false,
            ibgp: false,
        },
        DecodeContext {
            four_octet_as: true,
            extended_message: true,
            ibgp: true,
        },
    ];
    let seeds = corpus();
    for s in &seeds {
        if let Err(e) = Message::decode(s, &contexts[0]) {
            panic!("seed {s:02x?} must be valid: {e}");
        }
    }
    let mut rng = StdRng::seed_from_u64(0x7667_7762_6770);
    let (mut ok, mut err) = (0usize, 0usize);
    let iterations = iterations();
    for i in 0..iterations {
        let seed = &seeds[i % seeds.len()];
        let m = if i % 50 == 0 {
            let n = rng.random_range(0..64);
            (0..n).map(|_| rng.random()).collect()
        } else {
            mutate(&mut rng, seed)
        };
        for ctx in &contexts {
            match Message::decode(&m, ctx) {
                Ok(msg) => {
                    ok += 1;
                    let clean = !matches!(&msg, Message::Update(u) if !u.issues.is_empty());
                    if clean {
                        let again = Message::decode(&msg.encode(ctx), ctx);
                        assert_eq!(again.as_ref(), Ok(&msg), "round trip of {:02x?}", m);
                    }
                }
                Err(e) => {
                    err += 1;
                    // Every error is a NOTIFICATION with a defined error code.
                    assert!((1..=7).contains(&e.notification.code), "{e}");
                }
            }
            // The stream framer sees the same bytes twice in a row.
            let mut f = Framer::new();
            f.buffer().extend_from_slice(&m);
            f.buffer().extend_from_slice(&m);
            for _ in 0..4 {
                match f.next(ctx) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
    println!("{iterations} mutated inputs x 3 contexts: {ok} decoded, {err} rejected");
    assert!(
        ok > 1000 && err > 1000,
        "the mutations must exercise both paths"
    );
}
