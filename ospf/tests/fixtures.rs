//! Packets captured from FRR 8.4 ospfd and BIRD 2.0 (see `examples/capture.rs`) decode,
//! authenticate with the key they were sent with, and re-encode to the very same bytes.

use std::collections::BTreeSet;

use vgw_ospf::packet::{verify, AuthField, AuthKey, Body, CryptoAlg, Packet};

fn hex(line: &str) -> Vec<u8> {
    (0..line.len() / 2)
        .map(|i| {
            u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap_or_else(|e| panic!("hex: {e}"))
        })
        .collect()
}

fn check(file: &str, key: AuthKey) -> BTreeSet<&'static str> {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut kinds = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let raw = hex(line.trim());
        let rx = Packet::decode(&raw).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
        let seq = verify(&raw, &rx, &key, None).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
        let again = rx.packet.encode(&key, seq.unwrap_or(0));
        let wire_len = match rx.auth {
            AuthField::Crypto { data_len, .. } => rx.length + usize::from(data_len),
            _ => rx.length,
        };
        assert_eq!(
            again,
            raw[..wire_len],
            "{file}:{}: re-encoding differs",
            n + 1
        );
        kinds.insert(match rx.packet.body {
            Body::Hello(_) => "hello",
            Body::DbDesc(_) => "dd",
            Body::LsRequest(_) => "lsr",
            Body::LsUpdate(_) => "lsu",
            Body::LsAck(_) => "lsack",
        });
    }
    kinds
}

fn all_kinds(k: &BTreeSet<&str>) {
    for want in ["hello", "dd", "lsu", "lsack"] {
        assert!(k.contains(want), "capture lacks {want}: {k:?}");
    }
}

#[test]
fn frr_null_auth() {
    all_kinds(&check("frr-null.hex", AuthKey::Null));
}

#[test]
fn frr_md5() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::Md5,
        key_id: 7,
        key: b"s3cret".to_vec(),
    };
    all_kinds(&check("frr-md5.hex", key));
}

#[test]
fn bird_null_auth() {
    all_kinds(&check("bird-null.hex", AuthKey::Null));
}

#[test]
fn bird_hmac_sha256() {
    let key = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha256,
        key_id: 3,
        key: b"s3cret-sha".to_vec(),
    };
    all_kinds(&check("bird-hmac-sha256.hex", key));
}

#[test]
fn wrong_key_rejects_captured_packets() {
    let path = format!(
        "{}/tests/fixtures/bird-hmac-sha256.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("empty fixture"));
    let raw = hex(line.trim());
    let rx = Packet::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
    let key = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha256,
        key_id: 3,
        key: b"other".to_vec(),
    };
    assert!(verify(&raw, &rx, &key, None).is_err());
    // A replayed packet (sequence number below the last seen) is refused.
    let AuthField::Crypto { seq, .. } = rx.auth else {
        panic!("not crypto")
    };
    let good = AuthKey::Crypto {
        alg: CryptoAlg::HmacSha256,
        key_id: 3,
        key: b"s3cret-sha".to_vec(),
    };
    assert!(verify(&raw, &rx, &good, Some(seq + 1)).is_err());
    assert!(verify(&raw, &rx, &good, Some(seq)).is_ok());
}
