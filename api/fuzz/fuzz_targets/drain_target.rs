//! `Drain(kind, target)` arguments come from any bus client: the parser must never panic, and
//! whatever it accepts must survive a round trip through its wire form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgw_api::DrainTarget;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (kind, target) = text.split_once('\n').unwrap_or(("real", &text));
    if let Ok(t) = DrainTarget::parse(kind, target) {
        assert_eq!(DrainTarget::parse(t.kind().as_str(), &t.wire_target()), Ok(t));
    }
});
