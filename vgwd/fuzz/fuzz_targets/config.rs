//! `cargo +nightly fuzz run config`: arbitrary bytes through the configuration reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vgwd::config::parse(text, "fuzz.toml");
    }
});
