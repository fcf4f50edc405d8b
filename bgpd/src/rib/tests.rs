use super::*;
use crate::packet::{Message, MAX_LEN};
use std::collections::BTreeSet;

fn ctx(ibgp: bool, extended: bool) -> ExportContext {
    ExportContext {
        local_as: 65011,
        ibgp,
        codec: DecodeContext {
            four_octet_as: true,
            extended_message: extended,
            ibgp,
        },
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        next_hop_v4: Some(Ipv4Addr::new(10, 0, 0, 11)),
        next_hop_v6: Some((
            "2001:db8::11".parse().unwrap(),
            Some("fe80::11".parse().unwrap()),
        )),
    }
}

fn v4_hosts(n: u32) -> Vec<Prefix> {
    (0..n)
        .map(|i| Prefix::host(IpAddr::V4(Ipv4Addr::from(0x0a64_0000 + i))))
        .collect()
}

fn v6_hosts(n: u32) -> Vec<Prefix> {
    (0..n)
        .map(|i| {
            Prefix::host(IpAddr::V6(Ipv6Addr::from(
                0x2001_0db8_00ff_u128 << 80 | u128::from(i),
            )))
        })
        .collect()
}

/// Encodes, checks the size limit, decodes back: the routes the peer would see.
fn wire(updates: &[Update], c: &ExportContext) -> (BTreeSet<Prefix>, BTreeSet<Prefix>) {
    let (mut reach, mut unreach) = (BTreeSet::new(), BTreeSet::new());
    for u in updates {
        let b = Message::Update(u.clone()).encode(&c.codec);
        assert!(
            b.len() <= c.codec.max_message_len(),
            "message of {} octets",
            b.len()
        );
        let Ok(Message::Update(back)) = Message::decode(&b, &c.codec) else {
            panic!("decode")
        };
        assert!(back.issues.is_empty(), "{:?}", back.issues);
        for ch in back.changes() {
            match ch {
                RouteChange::Reach(p) => {
                    reach.insert(p);
                }
                RouteChange::Unreach(p) => {
                    unreach.insert(p);
                }
                RouteChange::Ignored(..) => panic!("ignored family"),
            }
        }
    }
    (reach, unreach)
}

#[test]
fn packs_identical_attributes_into_few_messages() {
    let c = ctx(false, false);
    let mut rib = AdjRibOut::new();
    let attrs = Arc::new(RouteAttrs::default());
    for p in v4_hosts(1000) {
        rib.announce(p, attrs.clone());
    }
    let ups = rib.flush(&c);
    // 4096 - 23 - 20 octets of attributes = 4053 octets of NLRI = 810 host routes each.
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[0].nlri.len(), 810);
    let (reach, unreach) = wire(&ups, &c);
    assert_eq!(reach, v4_hosts(1000).into_iter().collect());
    assert!(unreach.is_empty());
    assert!(rib.flush(&c).is_empty(), "nothing changed, nothing sent");

    // Extended messages: one UPDATE.
    let c = ctx(false, true);
    rib.reset();
    assert_eq!(rib.flush(&c).len(), 1);
}

#[test]
fn v6_uses_mp_reach_with_link_local_and_mp_unreach() {
    let c = ctx(false, false);
    let mut rib = AdjRibOut::new();
    let attrs = Arc::new(RouteAttrs::default());
    for p in v6_hosts(500) {
        rib.announce(p, attrs.clone());
    }
    let ups = rib.flush(&c);
    // 17 octets per /128: (4096 - 23 - 20 + 0 (no NEXT_HOP: -7) - 41) / 17 = 236 per message.
    assert_eq!(ups.len(), 3);
    match ups[0].mp_reach() {
        Some(MpReach::Unicast {
            next_hop:
                MpNextHop::V6 {
                    link_local: Some(ll),
                    ..
                },
            ..
        }) => {
            assert_eq!(ll.to_string(), "fe80::11")
        }
        other => panic!("{other:?}"),
    }
    assert!(ups[0].next_hop().is_none());
    let (reach, _) = wire(&ups, &c);
    assert_eq!(reach.len(), 500);
    for p in v6_hosts(500).into_iter().take(300) {
        rib.withdraw(p);
    }
    let ups = rib.flush(&c);
    let (reach, unreach) = wire(&ups, &c);
    assert!(reach.is_empty());
    assert_eq!(unreach.len(), 300);
    assert_eq!(rib.sent_routes().len(), 200);
}

#[test]
fn ebgp_and_ibgp_attributes() {
    let attrs = RouteAttrs {
        communities: vec!["65000:100".parse().unwrap()],
        large_communities: vec!["65011:1:2".parse().unwrap()],
        med: Some(10),
        as_path_prepend: 2,
        local_pref: Some(200),
    };
    let e = ctx(false, false).path_attrs(&attrs, Family::IPV4_UNICAST);
    let codes: Vec<u8> = e.iter().map(|a| a.type_code()).collect();
    assert_eq!(
        codes,
        vec![1, 2, 3, 4, 8, 32],
        "no LOCAL_PREF to an external peer"
    );
    assert_eq!(
        e[1].value,
        AttrValue::AsPath(AsPath::sequence(vec![65011; 3]))
    );
    let i = ctx(true, false).path_attrs(&attrs, Family::IPV4_UNICAST);
    let codes: Vec<u8> = i.iter().map(|a| a.type_code()).collect();
    assert_eq!(codes, vec![1, 2, 3, 4, 5, 8, 32]);
    assert_eq!(
        i[1].value,
        AttrValue::AsPath(AsPath::sequence(vec![65011; 2]))
    );
    assert_eq!(i[4].value, AttrValue::LocalPref(200));
    let plain = ctx(true, false).path_attrs(&RouteAttrs::default(), Family::IPV4_UNICAST);
    assert_eq!(plain[1].value, AttrValue::AsPath(AsPath::default()));
    assert_eq!(plain[3].value, AttrValue::LocalPref(DEFAULT_LOCAL_PREF));
}

#[test]
fn two_octet_peer_gets_as4_path() {
    let mut c = ctx(false, false);
    c.local_as = 4_200_000_011;
    c.codec.four_octet_as = false;
    let a = c.path_attrs(&RouteAttrs::default(), Family::IPV4_UNICAST);
    assert!(a
        .iter()
        .any(|a| a.value == AttrValue::As4Path(AsPath::sequence(vec![4_200_000_011]))));
    let u = Update {
        attrs: a,
        nlri: v4_hosts(1),
        ..Update::default()
    };
    let b = Message::Update(u).encode(&c.codec);
    let Ok(Message::Update(back)) = Message::decode(&b, &c.codec) else {
        panic!()
    };
    assert_eq!(back.as_path(), Some(AsPath::sequence(vec![4_200_000_011])));
}

#[test]
fn attribute_change_resends_and_refresh_resends_family() {
    let c = ctx(false, false);
    let mut rib = AdjRibOut::new();
    let p = v4_hosts(2);
    rib.announce(p[0], Arc::new(RouteAttrs::default()));
    rib.announce(p[1], Arc::new(RouteAttrs::default()));
    rib.announce(v6_hosts(1)[0], Arc::new(RouteAttrs::default()));
    assert_eq!(rib.flush(&c).len(), 2);
    let drain = Arc::new(RouteAttrs::default().graceful_shutdown());
    rib.announce(p[0], drain);
    let ups = rib.flush(&c);
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].nlri, vec![p[0]]);
    assert_eq!(ups[0].communities(), &[Community::GRACEFUL_SHUTDOWN]);
    rib.refresh(Family::IPV4_UNICAST);
    let ups = rib.flush(&c);
    let (reach, _) = wire(&ups, &c);
    assert_eq!(reach, p.iter().copied().collect(), "only IPv4 is re-sent");
}

#[test]
fn unsendable_family_is_held_back() {
    let mut c = ctx(false, false);
    c.families = vec![Family::IPV4_UNICAST];
    let mut rib = AdjRibOut::new();
    rib.announce(v6_hosts(1)[0], Arc::new(RouteAttrs::default()));
    assert!(rib.flush(&c).is_empty());
    assert_eq!(rib.stats.prefixes_unsendable, 1);
}

#[test]
fn adj_rib_in_applies_changes_and_counts() {
    let c = ctx(false, false);
    let mut out = AdjRibOut::new();
    let attrs = Arc::new(RouteAttrs {
        med: Some(5),
        ..RouteAttrs::default()
    });
    for p in v4_hosts(3).into_iter().chain(v6_hosts(2)) {
        out.announce(p, attrs.clone());
    }
    let mut rin = AdjRibIn::new();
    for u in out.flush(&c) {
        rin.apply(&u);
    }
    assert_eq!(rin.len(), 5);
    let r = &rin.routes()[0];
    assert_eq!(r.med, Some(5));
    assert_eq!(r.next_hop, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 11))));
    rin.apply(&Update::end_of_rib(Family::IPV6_UNICAST));
    assert!(rin.end_of_rib.contains(&Family::IPV6_UNICAST));
    out.withdraw(v4_hosts(1)[0]);
    for u in out.flush(&c) {
        rin.apply(&u);
    }
    assert_eq!(rin.len(), 4);
    assert_eq!(rin.stats.prefixes_withdrawn, 1);
}

#[test]
fn message_size_limit_holds_for_every_size() {
    let mut c = ctx(true, false);
    c.codec.extended_message = false;
    let attrs = Arc::new(RouteAttrs {
        communities: (0..50).map(|i| Community::new(65000, i)).collect(),
        ..RouteAttrs::default()
    });
    for n in [1, 2, 700, 701, 5000] {
        let mut rib = AdjRibOut::new();
        for p in v4_hosts(n).into_iter().chain(v6_hosts(n)) {
            rib.announce(p, attrs.clone());
        }
        let ups = rib.flush(&c);
        let (reach, _) = wire(&ups, &c);
        assert_eq!(reach.len(), 2 * n as usize);
        for u in &ups {
            assert!(Message::Update(u.clone()).encode(&c.codec).len() <= MAX_LEN);
        }
    }
}

#[test]
fn session_restart_resends_the_table_and_forgets_what_was_sent() {
    let c = ctx(false, false);
    let mut rib = AdjRibOut::new();
    let attrs = Arc::new(RouteAttrs::default());
    let p = v4_hosts(3);
    for &q in &p {
        rib.announce(q, attrs.clone());
    }
    assert_eq!(rib.flush(&c).len(), 1);
    assert_eq!(rib.sent_len(), 3);
    rib.withdraw(p[2]);
    rib.reset();
    // Session down: the peer has nothing, and nothing is owed to it either.
    assert_eq!((rib.sent_len(), rib.sent_routes()), (0, vec![]));
    assert!(rib.has_pending());
    rib.withdraw(p[1]);
    let ups = rib.flush(&c);
    let (reach, unreach) = wire(&ups, &c);
    assert_eq!(reach, [p[0]].into_iter().collect());
    assert!(
        unreach.is_empty(),
        "no withdrawal for routes the new session never had"
    );
    assert_eq!(rib.sent_routes(), vec![(p[0], RouteAttrs::default())]);
    assert_eq!(rib.desired_len(), 1);
}

#[test]
fn refresh_keeps_an_owed_withdrawal() {
    let c = ctx(false, false);
    let mut rib = AdjRibOut::new();
    let p = v4_hosts(2);
    rib.announce(p[0], Arc::new(RouteAttrs::default()));
    rib.announce(p[1], Arc::new(RouteAttrs::default()));
    rib.flush(&c);
    rib.withdraw(p[1]);
    rib.refresh(Family::IPV4_UNICAST);
    let (reach, unreach) = wire(&rib.flush(&c), &c);
    assert_eq!(reach, [p[0]].into_iter().collect());
    assert_eq!(unreach, [p[1]].into_iter().collect());
    assert_eq!(rib.sent_len(), 1);
}
