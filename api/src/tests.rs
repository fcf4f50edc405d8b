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
