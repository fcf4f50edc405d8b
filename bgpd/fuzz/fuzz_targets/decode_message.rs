//! `cargo +nightly fuzz run decode_message` (from bgpd/): every message decoder and the stream
//! framer under all decode contexts. Must never panic; a clean decode must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgw_bgp::packet::{DecodeContext, Message};
use vgw_bgp::transport::Framer;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else { return };
    let ctx = DecodeContext {
        four_octet_as: flags & 1 != 0,
        extended_message: flags & 2 != 0,
        ibgp: flags & 4 != 0,
    };
    if let Ok(msg) = Message::decode(bytes, &ctx) {
        let clean = !matches!(&msg, Message::Update(u) if !u.issues.is_empty());
        if clean {
            assert_eq!(Message::decode(&msg.encode(&ctx), &ctx).as_ref(), Ok(&msg));
        }
    }
    let mut framer = Framer::new();
    framer.buffer().extend_from_slice(bytes);
    while let Ok(Some(_)) = framer.next(&ctx) {}
});
