//! Session behaviour over real TCP on loopback with a raw peer: route refresh re-sends the
//! Adj-RIB-Out, administrative shutdown carries the RFC 9003 message, removing a neighbor
//! sends Cease / Peer De-configured, and the RFC 8326 GRACEFUL_SHUTDOWN helper.

mod common;

use common::*;
use vgw_bgp::packet::{Community, Message, Prefix};
use vgw_bgp::{NeighborConfig, RouteAttrs, Speaker, SpeakerConfig};

fn p(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

async fn established(n: u8) -> (Speaker, RawPeer) {
    let speaker = Speaker::start(SpeakerConfig {
        asn: 65011,
        router_id: "10.0.0.11".parse().expect("id"),
        listen: vec!["127.0.0.1:0".parse().expect("addr")],
        graceful_restart: None,
    })
    .await
    .expect("speaker");
    let mut cfg = NeighborConfig::new("peer", lo(n), 65000);
    cfg.passive = true;
    speaker.add_neighbor(cfg).await.expect("neighbor");
    speaker
        .announce(
            p("192.0.2.10/32"),
            RouteAttrs::default().graceful_shutdown(),
        )
        .await
        .expect("announce");
    let mut peer = RawPeer::connect(lo(n), speaker.listen_addrs()[0]).await;
    peer.establish(65000, [10, 0, 0, n]).await;
    (speaker, peer)
}

#[tokio::test]
async fn route_refresh_resends_the_table() {
    let (_speaker, mut peer) = established(21).await;
    let first = peer.read_initial_table().await;
    let [Message::Update(u)] = &first[..] else {
        panic!("{first:?}")
    };
    assert_eq!(u.nlri, vec![p("192.0.2.10/32")]);
    assert_eq!(u.communities(), &[Community::GRACEFUL_SHUTDOWN]);
    assert_eq!(u.local_pref(), None, "no LOCAL_PREF to an external peer");
    // ROUTE-REFRESH for IPv4 unicast.
    peer.send(&frame(5, &[0, 1, 0, 1])).await;
    loop {
        match peer.read_decoded().await.expect("refresh") {
            Message::Update(again) if again.nlri == u.nlri => {
                assert_eq!(again, *u);
                break;
            }
            Message::Keepalive => {}
            m => panic!("unexpected {m:?}"),
        }
    }
}

#[tokio::test]
async fn shutdown_sends_the_operator_message() {
    let (speaker, mut peer) = established(22).await;
    peer.read_initial_table().await;
    speaker
        .shutdown("draining lvs1 for kernel upgrade")
        .await
        .expect("shutdown");
    let mut data = vec![32u8];
    data.extend_from_slice(b"draining lvs1 for kernel upgrade");
    assert_eq!(peer.expect_notification().await, notification(6, 2, &data));
    peer.expect_eof().await;
}

#[tokio::test]
async fn removing_a_neighbor_sends_peer_deconfigured() {
    let (speaker, mut peer) = established(23).await;
    peer.read_initial_table().await;
    speaker.remove_neighbor("peer").await.expect("remove");
    assert_eq!(peer.expect_notification().await, notification(6, 3, &[]));
    peer.expect_eof().await;
    assert!(speaker.neighbors().await.expect("list").is_empty());
}
