//! The service on a real private dbus-daemon: starting errors an operator can act on, and
//! signals as a plain D-Bus client (not vgwctl) sees them.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use vgw_api::{Event, Vgwd1Proxy, VipChange};

use super::memory::MemoryBackend;
use super::private_bus::PrivateBus;
use super::sample::sample_state;
use super::{emit, serve, AccessPolicy, BusAddress, ServeError};

fn policy() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/org.vgw.Vgwd1.conf")
}

fn bus(policies: &[&Path]) -> PrivateBus {
    match PrivateBus::start(policies) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_second_vgwd_is_told_the_name_is_taken() {
    let p = policy();
    let bus = bus(&[p.as_path()]);
    let addr = BusAddress::Address(bus.address().to_owned());
    let (b1, _e1) = MemoryBackend::new(sample_state());
    let first = serve(&addr, Arc::new(b1), AccessPolicy::default()).await;
    assert!(first.is_ok(), "{:?}", first.err());
    let (b2, _e2) = MemoryBackend::new(sample_state());
    match serve(&addr, Arc::new(b2), AccessPolicy::default()).await {
        Err(e @ ServeError::NameTaken { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "org.vgw.Vgwd1 is already owned on bus {}: is another vgwd running?",
                bus.address()
            )
        ),
        other => panic!("expected NameTaken, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn without_the_policy_file_the_bus_refuses_the_name() {
    // The same system-bus defaults, but vgwd's policy file is not installed.
    let bus = bus(&[]);
    let addr = BusAddress::Address(bus.address().to_owned());
    let (b, _e) = MemoryBackend::new(sample_state());
    match serve(&addr, Arc::new(b), AccessPolicy::default()).await {
        Err(e @ ServeError::NotAllowed { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("Install vgwd/dist/org.vgw.Vgwd1.conf"),
                "{text}"
            );
        }
        other => panic!("expected NotAllowed, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn no_bus_is_a_connect_error_naming_the_address() {
    let addr = BusAddress::Address("unix:path=/nonexistent/vgw/bus".to_owned());
    let (b, _e) = MemoryBackend::new(sample_state());
    match serve(&addr, Arc::new(b), AccessPolicy::default()).await {
        Err(e @ ServeError::Connect { .. }) => {
            assert!(e
                .to_string()
                .starts_with("cannot connect to bus unix:path=/nonexistent/vgw/bus"))
        }
        other => panic!("expected Connect, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn emitted_events_arrive_as_typed_signals() {
    let p = policy();
    let bus = bus(&[p.as_path()]);
    let addr = BusAddress::Address(bus.address().to_owned());
    let (b, _e) = MemoryBackend::new(sample_state());
    let server = match serve(&addr, Arc::new(b), AccessPolicy::default()).await {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let client = match zbus::connection::Builder::address(bus.address()) {
        Ok(b) => b.build().await,
        Err(e) => Err(e),
    };
    let Ok(client) = client else {
        panic!("client: {:?}", client.err())
    };
    let proxy = match Vgwd1Proxy::new(&client).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let mut signals = match proxy.inner().receive_all_signals().await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let sent = Event::VipChanged(VipChange {
        address: "192.0.2.10".into(),
        state: "withdrawn".into(),
        previous: "announced".into(),
        reason: "web below quorum".into(),
    });
    assert!(emit(&server, &sent).await.is_ok());
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), signals.next()).await;
    let Ok(Some(msg)) = got else {
        panic!("no signal within 5 s")
    };
    assert_eq!(
        msg.header().member().map(|m| m.to_string()).as_deref(),
        Some("VipChanged")
    );
    assert_eq!(Event::from_message(&msg).ok().flatten(), Some(sent));
    // A typed read through the same proxy still works while signals flow.
    assert_eq!(
        proxy.status().await.ok().map(|s| s.node).as_deref(),
        Some("lvs1")
    );
}
