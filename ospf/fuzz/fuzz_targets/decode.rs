#![no_main]
//! Any bytes through the packet decoder and authentication check; decodable packets must
//! re-encode to bytes that decode to the same packet.

use libfuzzer_sys::fuzz_target;
use vgw_ospf::packet::{verify, AuthKey, Packet};

fuzz_target!(|data: &[u8]| {
    if let Ok(rx) = Packet::decode(data) {
        let _ = verify(data, &rx, &AuthKey::Null, None);
        let again = rx.packet.encode(&AuthKey::Null, 0);
        let back = Packet::decode(&again).map(|r| r.packet);
        assert_eq!(back.as_ref(), Ok(&rx.packet));
    }
});
