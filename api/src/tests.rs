use super::*;
use std::str::FromStr;
use zbus::zvariant::Type;

#[test]
fn drain_kind_is_a_string_on_the_bus_and_in_json() {
    assert_eq!(DrainKind::SIGNATURE.to_string(), "s");
    assert_eq!(
        serde_json::to_string(&DrainKind::Real).ok().as_deref(),
        Some("\"real\"")
    );
    assert_eq!(DrainKind::from_str("node"), Ok(DrainKind::Node));
    let err = DrainKind::from_str("host").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("unknown drain kind \"host\": expected \"vip\", \"real\" or \"node\"")
    );
}

#[test]
fn signatures_are_stable() {
    // These are the D-Bus contract; a change here breaks every deployed vgwctl.
    assert_eq!(Alarm::SIGNATURE.to_string(), "(ssst)");
    assert_eq!(Status::SIGNATURE.to_string(), "(sststsbbuuuuua(ssst))");
    assert_eq!(RealInfo::SIGNATURE.to_string(), "(sqssuuststt)");
    assert_eq!(VipChange::SIGNATURE.to_string(), "(ssss)");
    assert_eq!(RealChange::SIGNATURE.to_string(), "(ssssus)");
}

#[test]
fn addr_port_brackets_ipv6() {
    assert_eq!(addr_port("10.1.1.1", 80), "10.1.1.1:80");
    assert_eq!(addr_port("2001:db8::1", 443), "[2001:db8::1]:443");
}

#[test]
fn event_json_is_tagged() {
    let ev = Event::VipChanged(VipChange {
        address: "192.0.2.10".into(),
        state: "drained".into(),
        previous: "announced".into(),
        reason: "admin drain".into(),
    });
    assert_eq!(
        serde_json::to_string(&ev).ok().as_deref(),
        Some(
            r#"{"event":"vip_changed","address":"192.0.2.10","state":"drained","previous":"announced","reason":"admin drain"}"#
        )
    );
    assert_eq!(ev.member(), "VipChanged");
}

#[test]
fn drain_targets_round_trip() {
    let cases = [
        ("vip", "192.0.2.10"),
        ("vip", "2001:db8::10"),
        ("real", "web/10.1.1.1:8080"),
        ("real", "web/10.1.1.1"),
        ("real", "web/[2001:db8::1]:80"),
        ("real", "web/2001:db8::1"),
        ("node", ""),
    ];
    for (kind, target) in cases {
        let parsed = DrainTarget::parse(kind, target);
        let Ok(t) = parsed else {
            panic!("{kind} {target}: {parsed:?}");
        };
        assert_eq!(t.kind().as_str(), kind);
        assert_eq!(t.wire_target(), target, "{kind} {target}");
    }
    assert_eq!(
        DrainTarget::parse("real", "web/[2001:db8::1]").map(|t| t.wire_target()),
        Ok("web/2001:db8::1".to_owned())
    );
}

#[test]
fn drain_target_errors_say_what_is_expected() {
    let msg = |k: &str, t: &str| DrainTarget::parse(k, t).err().map(|e| e.to_string());
    assert_eq!(
        msg("vip", "web").as_deref(),
        Some("\"web\" is not a VIP address (expected e.g. 192.0.2.10 or 2001:db8::10)")
    );
    for bad in [
        "10.1.1.1:80",
        "/10.1.1.1",
        "web/10.1.1.1:http",
        "web/[::1",
        "web/1.2.3.4:99999",
    ] {
        assert!(
            msg("real", bad).is_some_and(|m| m.contains("SERVICE/ADDR[:PORT]")),
            "{bad}"
        );
    }
    assert_eq!(
        msg("node", "x").as_deref(),
        Some("a node drain takes no target, got \"x\"")
    );
    assert!(msg("host", "").is_some_and(|m| m.starts_with("unknown drain kind")));
}

/// Deterministic malformed-input test (the stand-in for `api/fuzz`, which needs nightly):
/// random and mutated strings through the `Drain` argument parser never panic, and whatever
/// parses re-parses from its wire form to the same target.
#[test]
fn drain_target_parser_survives_random_input() {
    let mut seed: u64 = 0x5eed_1234_abcd_ef01;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: &[u8] = b"0123456789abcdef:./[]%-_ vipreal\xff\x00web";
    let seeds = [
        "web/10.1.1.1:8080",
        "web/[2001:db8::1]:80",
        "192.0.2.10",
        "2001:db8::10",
        "",
    ];
    let kinds = ["vip", "real", "node", "host", ""];
    let mut parsed = 0;
    for i in 0..20_000 {
        let base = seeds[i % seeds.len()].as_bytes().to_vec();
        let mut bytes = base;
        for _ in 0..(next() % 6) {
            let pos = (next() as usize) % (bytes.len() + 1);
            let c = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 => bytes.insert(pos, c),
                1 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                _ if pos < bytes.len() => bytes[pos] = c,
                _ => bytes.push(c),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let kind = kinds[(next() as usize) % kinds.len()];
        if let Ok(t) = DrainTarget::parse(kind, &text) {
            parsed += 1;
            assert_eq!(
                DrainTarget::parse(t.kind().as_str(), &t.wire_target()),
                Ok(t)
            );
        }
    }
    assert!(
        parsed > 1_000,
        "the mutations should keep many inputs valid, got {parsed}"
    );
}
