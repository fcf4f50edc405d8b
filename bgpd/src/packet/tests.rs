//! Codec tests: hand-assembled byte vectors, round trips, and each error's exact NOTIFICATION.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn ctx4() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        extended_message: false,
        ibgp: false,
    }
}

fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(body);
    v
}

fn notif(e: DecodeError) -> (u8, u8, Vec<u8>) {
    (
        e.notification.code,
        e.notification.subcode,
        e.notification.data,
    )
}

#[test]
fn keepalive_round_trip() {
    let b = Message::Keepalive.encode(&ctx4());
    assert_eq!(&b[..], &frame(4, &[])[..]);
    assert_eq!(Message::decode(&b, &ctx4()), Ok(Message::Keepalive));
}

#[test]
fn open_round_trip_with_all_capabilities() {
    let open = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(10, 0, 0, 11),
        vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
            },
            Capability::Multiprotocol {
                family: Family::IPV6_UNICAST,
            },
            Capability::RouteRefresh,
            Capability::ExtendedMessage,
            Capability::FourOctetAs { asn: 4_200_000_001 },
            Capability::GracefulRestart {
                flags: capability::GR_FLAG_RESTART,
                restart_time: 120,
                families: vec![GrFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding: true,
                    other_flags: 0,
                }],
            },
        ],
    );
    assert_eq!(open.my_as, 23456);
    let b = Message::Open(open.clone()).encode(&ctx4());
    assert_eq!(
        Message::decode(&b, &ctx4()),
        Ok(Message::Open(open.clone()))
    );
    assert_eq!(open.asn(), 4_200_000_001);
    // The graceful restart capability, byte for byte: R bit + 120 s, IPv4 unicast with F.
    let gr = [64, 6, 0x80, 120, 0, 1, 1, 0x80];
    assert!(b.windows(gr.len()).any(|w| w == gr));
}

#[test]
fn open_bad_version() {
    let body = [3, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1, 0];
    let e = Message::decode(&frame(1, &body), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (2, 1, vec![0, 4]));
}

#[test]
fn open_unsupported_optional_parameter() {
    let body = [4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1, 3, 1, 1, 0];
    let e = Message::decode(&frame(1, &body), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (2, 4, vec![]));
}

#[test]
fn open_unknown_capability_is_kept() {
    let body = [4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1, 5, 2, 3, 99, 1, 7];
    let Ok(Message::Open(o)) = Message::decode(&frame(1, &body), &ctx4()) else {
        panic!()
    };
    assert_eq!(
        o.params,
        vec![vec![Capability::Other {
            code: 99,
            value: vec![7]
        }]]
    );
}

#[test]
fn header_errors() {
    let mut bad_marker = frame(4, &[]);
    bad_marker[3] = 0;
    assert_eq!(
        notif(Message::decode(&bad_marker, &ctx4()).unwrap_err()),
        (1, 1, vec![])
    );
    let mut bad_len = frame(4, &[]);
    bad_len[17] = 18;
    assert_eq!(
        notif(Header::check(&bad_len, &ctx4()).unwrap_err()),
        (1, 2, vec![0, 18])
    );
    let long_keepalive = frame(4, &[0]);
    assert_eq!(
        notif(Message::decode(&long_keepalive, &ctx4()).unwrap_err()),
        (1, 2, vec![0, 20])
    );
    let bad_type = frame(9, &[]);
    assert_eq!(
        notif(Message::decode(&bad_type, &ctx4()).unwrap_err()),
        (1, 3, vec![9])
    );
    let mut huge = frame(2, &[0, 0, 0, 0]);
    huge[16..18].copy_from_slice(&5000u16.to_be_bytes());
    assert_eq!(
        notif(Header::check(&huge, &ctx4()).unwrap_err()),
        (1, 2, vec![0x13, 0x88])
    );
    let ext = DecodeContext {
        extended_message: true,
        ..ctx4()
    };
    assert!(Header::check(&huge, &ext).unwrap().is_some());
    // OPEN stays capped at 4096 even with extended messages (RFC 8654 4).
    huge[18] = 1;
    assert_eq!(notif(Header::check(&huge, &ext).unwrap_err()).1, 2);
}

fn v4_update_body(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    b
}

const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH_65000: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8];
const NH_10_0_0_1: [u8; 7] = [0x40, 3, 4, 10, 0, 0, 1];

fn attrs(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn update_v4_decodes_all_attributes() {
    let a = attrs(&[
        &ORIGIN_IGP,
        &AS_PATH_65000,
        &NH_10_0_0_1,
        &[0x80, 4, 4, 0, 0, 0, 10],
        &[0xc0, 8, 4, 0xfd, 0xe8, 0, 100],
        &[0xc0, 32, 12, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 0, 0, 0, 2],
        &[0xc0, 99, 2, 0xab, 0xcd],
    ]);
    let f = frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10]));
    let Ok(Message::Update(u)) = Message::decode(&f, &ctx4()) else {
        panic!()
    };
    assert_eq!(u.origin(), Some(0));
    assert_eq!(u.as_path(), Some(AsPath::sequence(vec![65000])));
    assert_eq!(u.next_hop(), Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(u.med(), Some(10));
    assert_eq!(u.communities(), &["65000:100".parse().unwrap()]);
    assert_eq!(u.large_communities(), &["65000:1:2".parse().unwrap()]);
    assert_eq!(u.nlri, vec!["192.0.2.10/32".parse().unwrap()]);
    assert!(u.issues.is_empty());
    // Unknown optional transitive: kept, and propagated with the Partial bit.
    let unknown = u.attrs.last().unwrap();
    assert_eq!(unknown.for_propagation().unwrap().flags, 0xe0);
    assert_eq!(&Message::Update(u).encode(&ctx4())[..], &f[..]);
}

#[test]
fn update_missing_well_known_is_treat_as_withdraw() {
    let a = attrs(&[&ORIGIN_IGP, &NH_10_0_0_1]);
    let f = frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10]));
    let Ok(Message::Update(u)) = Message::decode(&f, &ctx4()) else {
        panic!()
    };
    assert!(u.treat_as_withdraw());
    assert_eq!(u.issues[0].type_code, attr::AS_PATH);
}

#[test]
fn update_bad_flags_and_bad_values() {
    // ORIGIN marked optional: treat-as-withdraw.
    let a = attrs(&[&[0xc0, 1, 1, 0], &AS_PATH_65000, &NH_10_0_0_1]);
    let Ok(Message::Update(u)) = Message::decode(
        &frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10])),
        &ctx4(),
    ) else {
        panic!()
    };
    assert!(u.treat_as_withdraw());
    // NEXT_HOP 0.0.0.0: treat-as-withdraw.
    let a = attrs(&[&ORIGIN_IGP, &AS_PATH_65000, &[0x40, 3, 4, 0, 0, 0, 0]]);
    let Ok(Message::Update(u)) = Message::decode(
        &frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10])),
        &ctx4(),
    ) else {
        panic!()
    };
    assert!(u.treat_as_withdraw());
    // AS_PATH segment overrun: treat-as-withdraw.
    let a = attrs(&[
        &ORIGIN_IGP,
        &[0x40, 2, 6, 2, 2, 0, 0, 0xfd, 0xe8],
        &NH_10_0_0_1,
    ]);
    let Ok(Message::Update(u)) = Message::decode(
        &frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10])),
        &ctx4(),
    ) else {
        panic!()
    };
    assert!(u.treat_as_withdraw());
    // ATOMIC_AGGREGATE with a value: discarded, route kept.
    let a = attrs(&[&ORIGIN_IGP, &AS_PATH_65000, &NH_10_0_0_1, &[0x40, 6, 1, 0]]);
    let Ok(Message::Update(u)) = Message::decode(
        &frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10])),
        &ctx4(),
    ) else {
        panic!()
    };
    assert!(!u.treat_as_withdraw());
    assert_eq!(u.issues[0].handling, Handling::AttributeDiscard);
}

#[test]
fn update_session_reset_errors() {
    // Total Path Attribute Length beyond the message: Malformed Attribute List.
    let mut body = v4_update_body(&ORIGIN_IGP, &[]);
    body[3] = 40;
    let e = Message::decode(&frame(2, &body), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (3, 1, vec![]));
    // Unrecognized well-known attribute: its bytes are the data.
    let a = attrs(&[&ORIGIN_IGP, &[0x40, 99, 1, 7]]);
    let e = Message::decode(&frame(2, &v4_update_body(&a, &[])), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (3, 2, vec![0x40, 99, 1, 7]));
    // NLRI with prefix length 33: Invalid Network Field.
    let a = attrs(&[&ORIGIN_IGP, &AS_PATH_65000, &NH_10_0_0_1]);
    let e = Message::decode(
        &frame(2, &v4_update_body(&a, &[33, 1, 2, 3, 4, 5])),
        &ctx4(),
    )
    .unwrap_err();
    assert_eq!(notif(e), (3, 10, vec![]));
    // MP_REACH_NLRI too short for AFI/SAFI: Optional Attribute Error with the attribute.
    let a = attrs(&[&[0x80, 14, 2, 0, 2], &ORIGIN_IGP, &AS_PATH_65000]);
    let e = Message::decode(&frame(2, &v4_update_body(&a, &[])), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (3, 9, vec![0x80, 14, 2, 0, 2]));
    // Two MP_UNREACH_NLRI: Malformed Attribute List.
    let a = attrs(&[&[0x80, 15, 3, 0, 2, 1], &[0x80, 15, 3, 0, 2, 1]]);
    let e = Message::decode(&frame(2, &v4_update_body(&a, &[])), &ctx4()).unwrap_err();
    assert_eq!(notif(e), (3, 1, vec![]));
}

#[test]
fn attribute_overrun_is_treat_as_withdraw() {
    let a = attrs(&[
        &ORIGIN_IGP,
        &AS_PATH_65000,
        &NH_10_0_0_1,
        &[0xc0, 8, 9, 0, 0],
    ]);
    let Ok(Message::Update(u)) = Message::decode(
        &frame(2, &v4_update_body(&a, &[32, 192, 0, 2, 10])),
        &ctx4(),
    ) else {
        panic!()
    };
    assert!(u.treat_as_withdraw());
    assert_eq!(u.nlri.len(), 1);
}

#[test]
fn mp_reach_v6_round_trip_and_end_of_rib() {
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    let u = Update {
        attrs: vec![
            Attr::new(AttrValue::MpReach(MpReach::Unicast {
                family: Family::IPV6_UNICAST,
                next_hop: MpNextHop::V6 {
                    global,
                    link_local: Some(ll),
                },
                nlri: vec!["2001:db8:ff::10/128".parse().unwrap()],
            })),
            Attr::new(AttrValue::Origin(0)),
            Attr::new(AttrValue::AsPath(AsPath::sequence(vec![65011]))),
        ],
        ..Update::default()
    };
    let b = Message::Update(u.clone()).encode(&ctx4());
    assert_eq!(Message::decode(&b, &ctx4()), Ok(Message::Update(u)));
    let eor = Update::end_of_rib(Family::IPV6_UNICAST);
    let b = Message::Update(eor).encode(&ctx4());
    assert_eq!(&b[19..], &[0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]);
    let Ok(Message::Update(back)) = Message::decode(&b, &ctx4()) else {
        panic!()
    };
    assert_eq!(back.is_end_of_rib(), Some(Family::IPV6_UNICAST));
    let v4 = Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)).encode(&ctx4());
    assert_eq!(v4.len(), 23);
}

#[test]
fn two_octet_session_rebuilds_four_octet_path() {
    let ctx2 = DecodeContext {
        four_octet_as: false,
        ..ctx4()
    };
    let path = AsPath::sequence(vec![4_200_000_001]);
    let u = Update {
        attrs: vec![
            Attr::new(AttrValue::Origin(0)),
            Attr::new(AttrValue::AsPath(path.clone())),
            Attr::new(AttrValue::NextHop(Ipv4Addr::new(10, 0, 0, 11))),
            Attr::new(AttrValue::As4Path(path.clone())),
        ],
        nlri: vec!["192.0.2.10/32".parse().unwrap()],
        ..Update::default()
    };
    let b = Message::Update(u).encode(&ctx2);
    let Ok(Message::Update(back)) = Message::decode(&b, &ctx2) else {
        panic!()
    };
    assert_eq!(
        back.attr(attr::AS_PATH),
        Some(&AttrValue::AsPath(AsPath::sequence(vec![23456])))
    );
    assert_eq!(back.as_path(), Some(path));
}

#[test]
fn route_refresh_and_notification_round_trip() {
    for m in [
        Message::RouteRefresh(RouteRefresh {
            family: Family::IPV6_UNICAST,
            subtype: 0,
        }),
        Message::Notification(Notification::admin_shutdown("bye")),
        Message::Notification(Notification::new(4, 0, vec![])),
    ] {
        let b = m.encode(&ctx4());
        assert_eq!(Message::decode(&b, &ctx4()), Ok(m));
    }
}
