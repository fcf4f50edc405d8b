//! HTTP response head, body framing and chunked decoding on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgw_health::check::http::parse::{body_framing, parse_head, BodyFraming, ChunkedDecoder};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, used))) = parse_head(data, 4096) {
        assert!(used <= data.len());
        if let Ok(BodyFraming::Chunked) = body_framing(&head, false) {
            let mut d = ChunkedDecoder::new(1 << 16);
            let mut body = Vec::new();
            let _ = d.feed(&data[used..], &mut body);
            assert!(body.len() <= 1 << 16);
        }
    }
    let mut d = ChunkedDecoder::new(1024);
    let mut body = Vec::new();
    if let Ok(n) = d.feed(data, &mut body) {
        assert!(n <= data.len());
    }
});
