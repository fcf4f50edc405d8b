//! Any datagram through the reply decoder in every dialect, then through the model builders
//! and back through the encoder: typed errors only, no panic.
//!
//!     cargo +nightly fuzz run decode_reply
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgw_ipvs::model::Af;
use vgw_ipvs::netlink::{daemon, dest, frame, laddr, service, Dialect, Features};

fuzz_target!(|data: &[u8]| {
    let dialects = [
        Dialect::Mainline(Features::CURRENT),
        Dialect::Fullnat,
        Dialect::UnknownFork { ops: vec![21] },
    ];
    for d in &dialects {
        let Ok(msgs) = frame::decode(data, 0x20, d) else {
            continue;
        };
        for m in &msgs {
            let _ = frame::encode(m);
            if let netlink_packet_core::NetlinkPayload::InnerMessage(g) = &m.payload {
                if let Some(s) = g.payload.service() {
                    let _ = service::to_service(&s.attrs);
                }
                if let Some(x) = g.payload.dest() {
                    let _ = dest::to_dest(&x.attrs, Af::Inet);
                }
                if let Some(x) = g.payload.daemon() {
                    let _ = daemon::to_daemon(&x.attrs);
                }
                if let Some(x) = g.payload.laddr() {
                    let _ = laddr::to_laddr(&x.attrs, Af::Inet6);
                }
            }
        }
    }
});
