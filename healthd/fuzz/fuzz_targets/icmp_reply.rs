//! Classification of received ICMP packets on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgw_health::check::icmp::Echo;

fuzz_target!(|data: &[u8]| {
    for v6 in [false, true] {
        let echo = Echo { v6, id: 1, seq: 2, payload: b"token".to_vec(), check_id: true };
        let _ = echo.classify(data, !v6);
        let _ = echo.classify(data, false);
    }
});
