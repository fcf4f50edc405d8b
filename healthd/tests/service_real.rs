//! The whole service with the real checkers, in real time, against loopback servers: a
//! listener that goes away and comes back produces exactly the transitions rise/fall allow.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::spec;
use tokio::net::TcpListener;
use vgw_health::{
    HealthService, Reason, ServiceOptions, State, Target, TargetId, TransitionReason,
};

async fn listen(addr: SocketAddr) -> TcpListener {
    // Re-binding the same port right after closing it: bounded retries.
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {addr}");
}

async fn next(
    events: &mut tokio::sync::broadcast::Receiver<vgw_health::HealthEvent>,
) -> vgw_health::HealthEvent {
    tokio::time::timeout(Duration::from_secs(3), events.recv())
        .await
        .expect("event in time")
        .expect("event")
}

fn serve(l: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_down_and_back_up() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let server = serve(l);

    let svc = HealthService::start(ServiceOptions::default());
    let h = svc.handle();
    let mut events = h.subscribe();
    let check =
        spec("type = \"tcp\"\ninterval = \"100ms\"\ntimeout = \"200ms\"\nrise = 3\nfall = 2");
    h.add(Target::new("web", addr.ip(), addr.port()), check.clone())
        .expect("add");
    // A second target that is down from the start.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr")
    };
    h.add(Target::new("dead", closed.ip(), closed.port()), check)
        .expect("add");
    assert!(!h.first_round_done());
    tokio::time::timeout(Duration::from_secs(2), h.wait_first_round())
        .await
        .expect("first round within 2 s");

    let mut first = [next(&mut events).await, next(&mut events).await];
    first.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    assert_eq!(
        (first[0].target_id.as_str(), first[0].to),
        ("dead", State::Down)
    );
    assert_eq!(
        (first[1].target_id.as_str(), first[1].to),
        ("web", State::Up)
    );

    // Take the listener away: after `fall` = 2 refused connections, web goes down.
    server.abort();
    let _ = server.await;
    let e = next(&mut events).await;
    assert_eq!(
        (e.target_id.as_str(), e.from, e.to),
        ("web", State::Up, State::Down)
    );
    match &e.reason {
        TransitionReason::Failed {
            consecutive: 2,
            reason: Reason::Refused { addr: a },
        } => assert_eq!(*a, addr),
        other => panic!("{other}"),
    }
    let st = h.latest(&TargetId::new("web")).expect("web");
    assert_eq!(st.state, State::Down);

    // Bring it back: `rise` = 3 successes later it is up again.
    let server = serve(listen(addr).await);
    let e = next(&mut events).await;
    assert_eq!(
        (e.target_id.as_str(), e.from, e.to),
        ("web", State::Down, State::Up)
    );
    assert_eq!(e.reason, TransitionReason::Passed { consecutive: 3 });

    // Remove the dead target at run time; no more events for it.
    h.remove(&TargetId::new("dead")).expect("remove");
    assert!(h.latest(&TargetId::new("dead")).is_none());
    assert!(
        tokio::time::timeout(Duration::from_millis(500), events.recv())
            .await
            .is_err()
    );
    let stats = h.stats();
    assert!(stats.completed > 10);
    assert_eq!(stats.stalls, 0);
    server.abort();
}
