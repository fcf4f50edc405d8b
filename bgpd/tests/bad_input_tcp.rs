//! Malformed input over real TCP on loopback: a raw peer sends crafted bytes to a running
//! speaker; each test asserts the exact NOTIFICATION received (or RFC 7606 treat-as-withdraw
//! without a reset) and that another established session on the same speaker keeps working.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::net::TcpListener;
use vgw_bgp::fsm::State;
use vgw_bgp::packet::{AsPath, Message, Prefix};
use vgw_bgp::rib::ReceivedRoute;
use vgw_bgp::{NeighborConfig, RouteAttrs, Speaker, SpeakerConfig};

const OUR_AS: u32 = 65011;
const PEER_AS: u32 = 65000;

struct Setup {
    speaker: Speaker,
    addr: SocketAddr,
    good: RawPeer,
}

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

/// A speaker on 127.0.0.1 with a passive neighbor "bad" (127.0.0.2) for the crafted bytes and
/// an established neighbor "good" (127.0.0.3) that must not notice anything.
async fn setup() -> Setup {
    let speaker = Speaker::start(SpeakerConfig {
        asn: OUR_AS,
        router_id: "10.0.0.11".parse().expect("id"),
        listen: vec!["127.0.0.1:0".parse().expect("addr")],
        graceful_restart: None,
    })
    .await
    .expect("speaker");
    let addr = speaker.listen_addrs()[0];
    for (name, n) in [("bad", 2), ("good", 3)] {
        let mut cfg = NeighborConfig::new(name, lo(n), PEER_AS);
        cfg.passive = true;
        speaker.add_neighbor(cfg).await.expect("neighbor");
    }
    speaker
        .announce(p("198.51.100.1/32"), RouteAttrs::default())
        .await
        .expect("announce");
    let mut good = RawPeer::connect(lo(3), addr).await;
    good.establish(PEER_AS, [10, 0, 0, 3]).await;
    let table = good.read_initial_table().await;
    assert!(matches!(&table[..], [Message::Update(u)] if u.nlri == vec![p("198.51.100.1/32")]));
    Setup {
        speaker,
        addr,
        good,
    }
}

/// The other session still works: a new announcement reaches it and it is Established.
async fn assert_good_session_unaffected(s: &mut Setup) {
    s.speaker
        .announce(p("198.51.100.2/32"), RouteAttrs::default())
        .await
        .expect("announce");
    loop {
        match s
            .good
            .read_decoded()
            .await
            .expect("good session still open")
        {
            Message::Update(u) if u.nlri == vec![p("198.51.100.2/32")] => break,
            // Announced by the treat-as-withdraw tests before this check.
            Message::Update(u) if u.nlri == vec![p("198.51.100.3/32")] => {}
            Message::Keepalive => {}
            m => panic!("good peer got {m:?}"),
        }
    }
    let n = s.speaker.neighbor("good").await.expect("good");
    assert_eq!(n.state, State::Established);
    assert!(n.last_error.is_none());
}

/// Sends `crafted` to a fresh session of "bad" (after our OPEN, before theirs when `pre_open`)
/// and asserts the exact NOTIFICATION and the close.
async fn expect_reset(pre_open: bool, crafted: &[u8], want: Vec<u8>) {
    let mut s = setup().await;
    let mut bad = RawPeer::connect(lo(2), s.addr).await;
    if pre_open {
        bad.expect_open().await;
    } else {
        bad.establish(PEER_AS, [10, 0, 0, 2]).await;
        bad.read_initial_table().await;
    }
    bad.send(crafted).await;
    let got = bad.expect_notification().await;
    assert_eq!(
        vgw_bgp::packet::hex::encode(&got),
        vgw_bgp::packet::hex::encode(&want)
    );
    bad.expect_eof().await;
    let n = s.speaker.neighbor("bad").await.expect("bad");
    assert_eq!(n.state, State::Idle);
    let last = n.last_error.expect("last error recorded");
    assert_eq!(last.direction, "sent");
    assert_eq!(
        (last.notification.code, last.notification.subcode),
        (want[19], want[20])
    );
    assert_good_session_unaffected(&mut s).await;
}

// ---- Message header errors (RFC 4271 6.1) ----

#[tokio::test]
async fn header_bad_marker() {
    let mut m = keepalive();
    m[5] = 0;
    expect_reset(true, &m, notification(1, 1, &[])).await;
}

#[tokio::test]
async fn header_bad_length() {
    let mut m = keepalive();
    m[17] = 18;
    expect_reset(true, &m, notification(1, 2, &[0, 18])).await;
}

#[tokio::test]
async fn header_length_beyond_4096() {
    let mut m = frame(2, &[0, 0, 0, 0]);
    m[16..18].copy_from_slice(&4097u16.to_be_bytes());
    expect_reset(false, &m, notification(1, 2, &[0x10, 0x01])).await;
}

#[tokio::test]
async fn header_bad_type() {
    expect_reset(false, &frame(9, &[]), notification(1, 3, &[9])).await;
}

// ---- OPEN errors (RFC 4271 6.2) ----

#[tokio::test]
async fn open_bad_version() {
    let m = frame(1, &open_body(3, PEER_AS, 90, [10, 0, 0, 2]));
    expect_reset(true, &m, notification(2, 1, &[0, 4])).await;
}

#[tokio::test]
async fn open_bad_peer_as() {
    let m = frame(1, &open_body(4, 65099, 90, [10, 0, 0, 2]));
    expect_reset(true, &m, notification(2, 2, &[])).await;
}

#[tokio::test]
async fn open_hold_time_one() {
    let m = frame(1, &open_body(4, PEER_AS, 1, [10, 0, 0, 2]));
    expect_reset(true, &m, notification(2, 6, &[])).await;
}

#[tokio::test]
async fn open_hold_time_two() {
    let m = frame(1, &open_body(4, PEER_AS, 2, [10, 0, 0, 2]));
    expect_reset(true, &m, notification(2, 6, &[])).await;
}

#[tokio::test]
async fn open_bad_bgp_identifier() {
    let m = frame(1, &open_body(4, PEER_AS, 90, [0, 0, 0, 0]));
    expect_reset(true, &m, notification(2, 3, &[])).await;
}

#[tokio::test]
async fn open_unsupported_optional_parameter() {
    // Optional parameter type 1 (deprecated authentication), length 1.
    let body = [4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 2, 3, 1, 1, 0];
    expect_reset(true, &frame(1, &body), notification(2, 4, &[])).await;
}

#[tokio::test]
async fn open_unknown_capability_is_ignored() {
    let mut s = setup().await;
    let mut bad = RawPeer::connect(lo(2), s.addr).await;
    bad.expect_open().await;
    // 4-octet AS and an unknown capability 99 in one parameter.
    let body = [&[
        4u8, 0xfd, 0xe8, 0, 90, 10, 0, 0, 2, 13, 2, 11, 65, 4, 0, 0, 0xfd, 0xe8, 99, 3, 1, 2, 3,
    ][..]]
    .concat();
    bad.send(&frame(1, &body)).await;
    bad.send(&keepalive()).await;
    assert_eq!(bad.read().await, Some(keepalive()));
    assert!(
        wait_for(Duration::from_secs(5), || async {
            s.speaker
                .neighbor("bad")
                .await
                .map(|n| n.state == State::Established)
                .unwrap_or(false)
        })
        .await
    );
    assert_good_session_unaffected(&mut s).await;
}

// ---- UPDATE errors that reset the session ----

const ORIGIN: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 10, 0, 0, 2];
const NLRI: [u8; 5] = [32, 203, 0, 113, 1];

#[tokio::test]
async fn update_malformed_attribute_list() {
    // Total Path Attribute Length 200 in a message that has 4 octets of attributes.
    let mut m = update(&[], &ORIGIN, &[]);
    m[21..23].copy_from_slice(&200u16.to_be_bytes());
    expect_reset(false, &m, notification(3, 1, &[])).await;
}

#[tokio::test]
async fn update_unrecognized_well_known_attribute() {
    let m = update(
        &[],
        &[&ORIGIN[..], &AS_PATH, &NEXT_HOP, &[0x40, 99, 1, 7]].concat(),
        &NLRI,
    );
    expect_reset(false, &m, notification(3, 2, &[0x40, 99, 1, 7])).await;
}

#[tokio::test]
async fn update_bad_mp_reach() {
    // IPv6 unicast, 16-octet next hop, then a /128 prefix with only 3 octets: the NLRI cannot
    // be parsed.
    let mut mp = vec![0x80, 14, 0, 0, 2, 1, 16];
    mp.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    mp.extend_from_slice(&[0, 128, 0x20, 0x01, 0x0d]);
    mp[2] = (mp.len() - 3) as u8;
    let m = update(&[], &[&mp[..], &ORIGIN, &AS_PATH].concat(), &[]);
    expect_reset(false, &m, notification(3, 9, &mp)).await;
}

#[tokio::test]
async fn update_invalid_network_field() {
    let m = update(
        &[],
        &[&ORIGIN[..], &AS_PATH, &NEXT_HOP].concat(),
        &[33, 1, 2, 3, 4, 5],
    );
    expect_reset(false, &m, notification(3, 10, &[])).await;
}

// ---- UPDATE errors handled as treat-as-withdraw (RFC 7606) ----

/// Announces 203.0.113.1/32 validly, then sends `bad_attrs` for the same prefix: the route
/// must leave the Adj-RIB-In and the session must stay up.
async fn expect_treat_as_withdraw(bad_attrs: Vec<u8>) {
    let mut s = setup().await;
    let mut bad = RawPeer::connect(lo(2), s.addr).await;
    bad.establish(PEER_AS, [10, 0, 0, 2]).await;
    bad.read_initial_table().await;
    bad.send(&update(
        &[],
        &[&ORIGIN[..], &AS_PATH, &NEXT_HOP].concat(),
        &NLRI,
    ))
    .await;
    let sp = s.speaker.clone();
    assert!(
        wait_for(Duration::from_secs(5), || {
            let sp = sp.clone();
            async move {
                sp.adj_rib_in("bad")
                    .await
                    .map(|r| r.len() == 1)
                    .unwrap_or(false)
            }
        })
        .await,
        "valid route arrives"
    );
    bad.send(&update(&[], &bad_attrs, &NLRI)).await;
    assert!(
        wait_for(Duration::from_secs(5), || {
            let sp = sp.clone();
            async move {
                sp.adj_rib_in("bad")
                    .await
                    .map(|r| r.is_empty())
                    .unwrap_or(false)
            }
        })
        .await,
        "malformed update withdraws the route"
    );
    let n = s.speaker.neighbor("bad").await.expect("bad");
    assert_eq!(n.state, State::Established);
    assert_eq!(n.rib_in.treat_as_withdraw, 1);
    assert!(
        n.last_error.is_none(),
        "no NOTIFICATION: {:?}",
        n.last_error
    );
    // The bad session still carries our announcements, and nothing else arrived on it.
    s.speaker
        .announce(p("198.51.100.3/32"), RouteAttrs::default())
        .await
        .expect("announce");
    loop {
        match bad.read_decoded().await.expect("session open") {
            Message::Update(u) if u.nlri.contains(&p("198.51.100.3/32")) => break,
            Message::Keepalive => {}
            m => panic!("unexpected {m:?}"),
        }
    }
    assert_good_session_unaffected(&mut s).await;
}

#[tokio::test]
async fn update_missing_well_known_attribute() {
    expect_treat_as_withdraw([&ORIGIN[..], &NEXT_HOP].concat()).await;
}

#[tokio::test]
async fn update_bad_attribute_flags() {
    expect_treat_as_withdraw([&[0xc0, 1, 1, 0][..], &AS_PATH, &NEXT_HOP].concat()).await;
}

#[tokio::test]
async fn update_bad_as_path() {
    // Segment says 2 ASes, carries 1.
    expect_treat_as_withdraw(
        [
            &ORIGIN[..],
            &[0x40, 2, 6, 2, 2, 0, 0, 0xfd, 0xe8],
            &NEXT_HOP,
        ]
        .concat(),
    )
    .await;
}

#[tokio::test]
async fn update_bad_as_path_first_segment_type() {
    expect_treat_as_withdraw(
        [
            &ORIGIN[..],
            &[0x40, 2, 6, 9, 1, 0, 0, 0xfd, 0xe8],
            &NEXT_HOP,
        ]
        .concat(),
    )
    .await;
}

#[tokio::test]
async fn update_bad_next_hop_address() {
    expect_treat_as_withdraw([&ORIGIN[..], &AS_PATH, &[0x40, 3, 4, 0, 0, 0, 0]].concat()).await;
}

#[tokio::test]
async fn update_bad_next_hop_length() {
    expect_treat_as_withdraw([&ORIGIN[..], &AS_PATH, &[0x40, 3, 5, 10, 0, 0, 2, 0]].concat()).await;
}

#[tokio::test]
async fn update_bad_origin_value() {
    expect_treat_as_withdraw([&[0x40, 1, 1, 7][..], &AS_PATH, &NEXT_HOP].concat()).await;
}

// ---- UPDATE errors handled as attribute discard (RFC 7606) ----

#[tokio::test]
async fn update_attribute_discard_keeps_the_route() {
    let mut s = setup().await;
    let mut bad = RawPeer::connect(lo(2), s.addr).await;
    bad.establish(PEER_AS, [10, 0, 0, 2]).await;
    bad.read_initial_table().await;
    let med = |m: u8| [0x80, 4, 4, 0, 0, 0, m];
    let attrs = [
        &ORIGIN[..],
        &AS_PATH,
        &NEXT_HOP,
        &med(10),
        // RFC 7606 7.7: AGGREGATOR of 5 octets (8 with 4-octet ASes): discarded.
        &[0xc0, 7, 5, 0, 0, 0xfd, 0xe8, 10],
        // RFC 7606 7.5: LOCAL_PREF from an external peer: discarded.
        &[0x40, 5, 4, 0, 0, 0, 200],
        // RFC 7606 3(g): a second MED: discarded, the first one stands.
        &med(99),
        // COMMUNITIES 65000:7, valid: kept.
        &[0xc0, 8, 4, 0xfd, 0xe8, 0, 7],
    ]
    .concat();
    bad.send(&update(&[], &attrs, &NLRI)).await;
    let sp = s.speaker.clone();
    assert!(
        wait_for(Duration::from_secs(5), || {
            let sp = sp.clone();
            async move {
                sp.adj_rib_in("bad")
                    .await
                    .map(|r| r.len() == 1)
                    .unwrap_or(false)
            }
        })
        .await,
        "the route arrives despite the discarded attributes"
    );
    let routes = s.speaker.adj_rib_in("bad").await.expect("rib in");
    assert_eq!(
        routes,
        vec![ReceivedRoute {
            prefix: p("203.0.113.1/32"),
            next_hop: Some("10.0.0.2".parse().expect("nh")),
            origin: Some(0),
            as_path: Some(AsPath::sequence(vec![PEER_AS])),
            med: Some(10),
            local_pref: None,
            communities: vec!["65000:7".parse().expect("community")],
            large_communities: vec![],
            other_attrs: vec![],
        }]
    );
    let n = s.speaker.neighbor("bad").await.expect("bad");
    assert_eq!(n.state, State::Established);
    assert_eq!(n.rib_in.attributes_discarded, 3, "{n:#?}");
    assert_eq!(n.rib_in.treat_as_withdraw, 0, "{n:#?}");
    assert_eq!(n.counters.prefixes_in, 1, "{n:#?}");
    assert!(
        n.last_error.is_none(),
        "no NOTIFICATION: {:?}",
        n.last_error
    );
    // The session stays up: it still carries our announcements and a later clean UPDATE for
    // the same prefix replaces the route.
    s.speaker
        .announce(p("198.51.100.3/32"), RouteAttrs::default())
        .await
        .expect("announce");
    loop {
        match bad.read_decoded().await.expect("session open") {
            Message::Update(u) if u.nlri.contains(&p("198.51.100.3/32")) => break,
            Message::Keepalive => {}
            m => panic!("unexpected {m:?}"),
        }
    }
    bad.send(&update(
        &[],
        &[&ORIGIN[..], &AS_PATH, &NEXT_HOP, &med(20)].concat(),
        &NLRI,
    ))
    .await;
    assert!(
        wait_for(Duration::from_secs(5), || {
            let sp = sp.clone();
            async move {
                sp.adj_rib_in("bad")
                    .await
                    .map(|r| {
                        matches!(&r[..], [route]
                            if route.med == Some(20) && route.communities.is_empty())
                    })
                    .unwrap_or(false)
            }
        })
        .await,
        "a clean UPDATE replaces the route"
    );
    assert_eq!(
        s.speaker.neighbor("bad").await.expect("bad").state,
        State::Established
    );
    assert_good_session_unaffected(&mut s).await;
}

// ---- Active side: the speaker connects to the raw peer ----

#[tokio::test]
async fn active_session_rejects_hold_time_two() {
    let speaker = Speaker::start(SpeakerConfig {
        asn: OUR_AS,
        router_id: "10.0.0.11".parse().expect("id"),
        listen: vec![],
        graceful_restart: None,
    })
    .await
    .expect("speaker");
    let listener = TcpListener::bind((lo(4), 0)).await.expect("listen");
    let mut cfg = NeighborConfig::new("switch", lo(4), PEER_AS);
    cfg.port = listener.local_addr().expect("addr").port();
    cfg.local_address = Some(lo(1));
    speaker.add_neighbor(cfg).await.expect("neighbor");
    let mut peer = RawPeer::accept(&listener).await;
    let open = peer.expect_open().await;
    // Our OPEN: version 4, AS 65011, hold 90, identifier 10.0.0.11.
    assert_eq!(&open[19..28], &[4, 0xfd, 0xf3, 0, 90, 10, 0, 0, 11]);
    peer.send(&frame(1, &open_body(4, PEER_AS, 2, [10, 0, 0, 4])))
        .await;
    assert_eq!(peer.expect_notification().await, notification(2, 6, &[]));
    peer.expect_eof().await;
}
