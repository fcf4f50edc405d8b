//! CPU cost of the initial table send, without sockets: N /32s announced into one peer's
//! Adj-RIB-Out, then the session comes up (`reset`) and the whole table is built and encoded,
//! as the neighbor task does right after Established.
//!
//! `cargo bench -p vgw-bgp --bench rib_flush` (env `VGW_BENCH_SIZES=10000,100000`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use vgw_bgp::packet::{DecodeContext, Family, Message};
use vgw_bgp::rib::{AdjRibOut, ExportContext};
use vgw_bgp::{Prefix, RouteAttrs};

fn ctx() -> ExportContext {
    let codec = DecodeContext {
        four_octet_as: true,
        extended_message: false,
        ibgp: false,
    };
    ExportContext {
        local_as: 65011,
        ibgp: false,
        codec,
        families: vec![Family::IPV4_UNICAST],
        next_hop_v4: Some(Ipv4Addr::new(10, 0, 0, 2)),
        next_hop_v6: None,
    }
}

/// One full initial send: (time, messages, octets).
fn once(rib: &mut AdjRibOut, ctx: &ExportContext) -> (Duration, usize, usize) {
    let t0 = Instant::now();
    rib.reset();
    let updates = rib.flush(ctx);
    let mut buf = BytesMut::with_capacity(updates.len() * 512);
    let n = updates.len();
    for u in updates {
        Message::Update(u).encode_into(&mut buf, &ctx.codec);
    }
    (t0.elapsed(), n, buf.len())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<u32> = std::env::var("VGW_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ctx = ctx();
    println!("initial table build + encode (no I/O), best of 10");
    for n in sizes {
        let mut rib = AdjRibOut::new();
        // `Speaker::announce_many` shares one allocation per attribute set.
        let attrs = Arc::new(RouteAttrs::default());
        for i in 0..n {
            let p = Prefix::host(IpAddr::V4(Ipv4Addr::from(0x0a64_0000 + i)));
            rib.announce(p, attrs.clone());
        }
        let runs: Vec<_> = (0..10).map(|_| once(&mut rib, &ctx)).collect();
        let best = runs.iter().map(|r| r.0).min().unwrap_or_default();
        let (_, msgs, octets) = runs[0];
        println!(
            "  N={n:>6}  {:>8.2} ms  {msgs} UPDATEs, {octets} octets",
            best.as_secs_f64() * 1000.0
        );
    }
}
