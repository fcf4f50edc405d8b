use super::*;
use rand::{Rng, SeedableRng};

fn head(s: &str) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    parse_head(s.as_bytes(), 16 * 1024)
}

#[test]
fn simple_response() {
    let raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello";
    let (h, used) = head(raw).expect("ok").expect("complete");
    assert_eq!(h.status, 200);
    assert_eq!(h.reason, "OK");
    assert_eq!(h.minor_version, 1);
    assert_eq!(used, raw.len() - 5);
    assert_eq!(h.header("x-a").collect::<Vec<_>>(), vec![b"b".as_slice()]);
    assert_eq!(body_framing(&h, false), Ok(BodyFraming::Length(5)));
}

#[test]
fn incomplete_head_asks_for_more() {
    for cut in [
        "",
        "HTTP/1.1 200",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nA: b\r\n\r",
    ] {
        assert_eq!(head(cut), Ok(None), "{cut:?}");
    }
}

#[test]
fn bare_lf_and_empty_reason_and_obs_fold() {
    let (h, _) = head("HTTP/1.0 204 \nA: 1\n  2\n\n")
        .expect("ok")
        .expect("complete");
    assert_eq!(h.status, 204);
    assert_eq!(h.reason, "");
    assert_eq!(h.minor_version, 0);
    assert_eq!(h.header("a").next(), Some(b"1 2".as_slice()));
    let (h, _) = head("HTTP/1.1 503\r\n\r\n").expect("ok").expect("complete");
    assert_eq!(h.status, 503);
    assert_eq!(body_framing(&h, false), Ok(BodyFraming::UntilClose));
}

type Expect = fn(&HeadError) -> bool;

#[test]
fn malformed_heads() {
    let cases: &[(&str, Expect)] = &[
        ("HTTP/1.1 2000 OK\r\n\r\n", |e| {
            matches!(e, HeadError::StatusCode { .. })
        }),
        ("HTTP/1.1 20 OK\r\n\r\n", |e| {
            matches!(e, HeadError::StatusCode { .. })
        }),
        ("HTTP/1.1 abc OK\r\n\r\n", |e| {
            matches!(e, HeadError::StatusCode { .. })
        }),
        ("HTTP/1.1 099 OK\r\n\r\n", |e| {
            matches!(e, HeadError::StatusCode { .. })
        }),
        ("HTTP/1.1 600 OK\r\n\r\n", |e| {
            matches!(e, HeadError::StatusCode { .. })
        }),
        ("HTTP/2.0 200 OK\r\n\r\n", |e| {
            matches!(e, HeadError::Version { .. })
        }),
        ("HTTP/1.1\r\n\r\n", |e| {
            matches!(e, HeadError::StatusLine { .. })
        }),
        ("SSH-2.0-OpenSSH\r\n\r\n", |e| {
            matches!(e, HeadError::StatusLine { .. })
        }),
        ("\r\n\r\n", |e| matches!(e, HeadError::StatusLine { .. })),
        ("HTTP/1.1 200 O\x01K\r\n\r\n", |e| {
            matches!(e, HeadError::StatusLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\nName : x\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\n: x\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
        ("HTTP/1.1 200 OK\r\n folded-first\r\n\r\n", |e| {
            matches!(e, HeadError::HeaderLine { .. })
        }),
    ];
    for (raw, want) in cases {
        match head(raw) {
            Err(e) => assert!(want(&e), "{raw:?}: {e:?}"),
            other => panic!("{raw:?} accepted: {other:?}"),
        }
    }
}

#[test]
fn header_section_is_capped() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    while raw.len() < 100 {
        raw.extend_from_slice(b"A: b\r\n");
    }
    assert_eq!(parse_head(&raw, 64), Err(HeadError::TooLarge { limit: 64 }));
    raw.extend_from_slice(b"\r\n");
    assert_eq!(parse_head(&raw, 64), Err(HeadError::TooLarge { limit: 64 }));
    assert!(parse_head(&raw, 1024).expect("ok").is_some());
}

#[test]
fn framing_rules() {
    let f = |raw: &str, head_req: bool| {
        let (h, _) = head(raw).expect("ok").expect("complete");
        body_framing(&h, head_req)
    };
    assert_eq!(
        f("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true),
        Ok(BodyFraming::None)
    );
    assert_eq!(
        f("HTTP/1.1 304 x\r\nContent-Length: 9\r\n\r\n", false),
        Ok(BodyFraming::None)
    );
    assert_eq!(f("HTTP/1.1 204 x\r\n\r\n", false), Ok(BodyFraming::None));
    assert_eq!(
        f(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
            false
        ),
        Ok(BodyFraming::Chunked)
    );
    assert_eq!(
        f(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            false
        ),
        Ok(BodyFraming::UntilClose)
    );
    assert_eq!(
        f("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", false),
        Ok(BodyFraming::Length(3))
    );
    for bad in ["3, 4", "-1", "", "0x10", "99999999999999999999"] {
        let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
        assert!(
            matches!(f(&raw, false), Err(HeadError::ContentLength { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        f(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            false
        ),
        Err(HeadError::ContentLength { .. })
    ));
}

fn dechunk(raw: &[u8], max: usize, step: usize) -> Result<(Vec<u8>, bool), ChunkError> {
    let mut d = ChunkedDecoder::new(max);
    let mut body = Vec::new();
    let mut pending = Vec::new();
    for piece in raw.chunks(step.max(1)) {
        pending.extend_from_slice(piece);
        let used = d.feed(&pending, &mut body)?;
        pending.drain(..used);
    }
    Ok((body, d.is_done()))
}

#[test]
fn chunked_bodies_any_split() {
    let raw = b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    for step in 1..raw.len() {
        let (body, done) = dechunk(raw, 1024, step).expect("valid");
        assert_eq!(body, b"hello 0123456789");
        assert!(done, "step {step}");
    }
    let (body, done) = dechunk(b"3\r\nabc\r\n", 1024, 100).expect("partial ok");
    assert_eq!(body, b"abc");
    assert!(!done);
}

#[test]
fn chunked_malformed() {
    assert!(matches!(
        dechunk(b"zz\r\n", 100, 100),
        Err(ChunkError::SizeLine { .. })
    ));
    assert!(matches!(
        dechunk(b"\r\n", 100, 100),
        Err(ChunkError::SizeLine { .. })
    ));
    assert!(matches!(
        dechunk(b"5 x\r\n", 100, 100),
        Err(ChunkError::SizeLine { .. })
    ));
    assert!(matches!(
        dechunk(b"ffffffffffffffff\r\n", 100, 100),
        Err(ChunkError::SizeLine { .. })
    ));
    assert!(matches!(
        dechunk(b"3\r\nabcX\r\n", 100, 100),
        Err(ChunkError::MissingCrlf { .. })
    ));
    assert!(matches!(
        dechunk(b"65\r\n", 100, 100),
        Err(ChunkError::TooLarge { limit: 100 })
    ));
    let long = vec![b'1'; 2000];
    assert!(matches!(
        dechunk(&long, 100, 7),
        Err(ChunkError::SizeLineTooLong { .. })
    ));
    let mut trailer = b"0\r\n".to_vec();
    for _ in 0..2000 {
        trailer.extend_from_slice(b"T: xxxxxxx\r\n");
    }
    assert!(matches!(
        dechunk(&trailer, 100, 64),
        Err(ChunkError::TrailerTooLarge { .. })
    ));
}

/// Fixed-seed mutation test: valid responses with random flips, truncations, insertions and
/// duplications, plus random garbage, through every parser; none may panic, and what is
/// accepted must respect the caps.
#[test]
fn mutation_never_panics() {
    let seeds: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello",
        b"HTTP/1.1 301 Moved\r\nLocation: /a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.0 503 Service Unavailable\nRetry-After: 1\n\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x4854_5450);
    let mut accepted = 0usize;
    for i in 0..50_000 {
        let mut m: Vec<u8> = if i % 10 == 0 {
            (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect()
        } else {
            seeds[i % seeds.len()].to_vec()
        };
        for _ in 0..rng.random_range(1..5) {
            match rng.random_range(0..4) {
                0 if !m.is_empty() => {
                    let at = rng.random_range(0..m.len());
                    m[at] = rng.random();
                }
                1 if !m.is_empty() => {
                    let at = rng.random_range(0..m.len());
                    m.truncate(at);
                }
                2 => {
                    let at = rng.random_range(0..=m.len());
                    let b = *b"\r\n: 0HTTP/1.1 ;"
                        .get(rng.random_range(0..15))
                        .unwrap_or(&b'x');
                    m.insert(at, b);
                }
                _ if !m.is_empty() => {
                    let a = rng.random_range(0..m.len());
                    let b = rng.random_range(a..m.len());
                    let dup = m[a..b].to_vec();
                    m.splice(b..b, dup);
                }
                _ => {}
            }
        }
        let max = 128;
        match parse_head(&m, max) {
            Ok(Some((h, used))) => {
                accepted += 1;
                assert!(used <= max && used <= m.len());
                assert!((100..=599).contains(&h.status));
                if let Ok(BodyFraming::Chunked) = body_framing(&h, false) {
                    let _ = dechunk(&m[used..], 64, 1 + i % 7);
                }
            }
            Ok(None) => assert!(m.len() < max),
            Err(_) => {}
        }
        let _ = dechunk(&m, 64, 1 + i % 13);
    }
    assert!(
        accepted > 1000,
        "mutations too destructive: only {accepted} accepted"
    );
}
