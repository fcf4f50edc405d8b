//! The daemon core with recording fakes: the exact ordered sequence of effects for start-up,
//! reload through the handle, dataplane failure and ordered shutdown. Time is paused (tokio
//! test-util), so drain timers elapse instantly and deterministically.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vgwd::config::{self, RouteProtocol};
use vgwd::controller::{AdminError, Attributes, Input, IpvsService, Target, VipState};
use vgwd::daemon::{
    self, Announcer, Dataplane, EffectError, Handle, HandleError, NoHealth, VipAddresses,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Apply(Vec<(String, Vec<(SocketAddr, u32)>)>),
    Announce(IpAddr, RouteProtocol, Vec<String>),
    Withdraw(IpAddr, RouteProtocol),
    Add(IpAddr),
    Remove(IpAddr),
}

type Log = Arc<Mutex<Vec<Call>>>;

fn record(log: &Log, call: Call) {
    log.lock().expect("log lock").push(call);
}

fn take(log: &Log) -> Vec<Call> {
    std::mem::take(&mut *log.lock().expect("log lock"))
}

struct FakeIpvs {
    log: Log,
    broken: Arc<AtomicBool>,
}

impl Dataplane for FakeIpvs {
    async fn apply(&mut self, desired: &[IpvsService]) -> Result<(), EffectError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(EffectError("netlink: Operation not permitted".into()));
        }
        record(
            &self.log,
            Call::Apply(
                desired
                    .iter()
                    .map(|s| {
                        (
                            s.key.name.clone(),
                            s.reals.iter().map(|r| (r.real, r.weight)).collect(),
                        )
                    })
                    .collect(),
            ),
        );
        Ok(())
    }

    async fn usable(&mut self) -> bool {
        !self.broken.load(Ordering::SeqCst)
    }
}

struct FakeSpeaker(Log);

impl Announcer for FakeSpeaker {
    async fn announce(
        &mut self,
        vip: IpAddr,
        protocol: RouteProtocol,
        a: &Attributes,
    ) -> Result<(), EffectError> {
        record(
            &self.0,
            Call::Announce(
                vip,
                protocol,
                a.communities.iter().map(|c| c.to_string()).collect(),
            ),
        );
        Ok(())
    }

    async fn withdraw(&mut self, vip: IpAddr, protocol: RouteProtocol) -> Result<(), EffectError> {
        record(&self.0, Call::Withdraw(vip, protocol));
        Ok(())
    }
}

struct FakeAddrs(Log);

impl VipAddresses for FakeAddrs {
    async fn add(&mut self, vip: IpAddr) -> Result<(), EffectError> {
        record(&self.0, Call::Add(vip));
        Ok(())
    }

    async fn remove(&mut self, vip: IpAddr) -> Result<(), EffectError> {
        record(&self.0, Call::Remove(vip));
        Ok(())
    }

    async fn usable(&mut self) -> bool {
        true
    }
}

const CONFIG: &str = r#"
[node]
name = "lvs1"
router_id = "10.0.0.11"
drain_time = "5s"

[bgp]
asn = 65011

[[vip]]
address = "192.0.2.10"
communities = ["65000:100"]

[[service]]
name = "web"
vip = "192.0.2.10"
port = 80
forward = "nat"

[[service.real]]
address = "10.1.1.1"
weight = 10

[[service.real]]
address = "10.1.1.2"
weight = 20
"#;

const VIP: &str = "192.0.2.10";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

struct Rig {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
    log: Log,
    broken: Arc<AtomicBool>,
}

fn rig(text: &str) -> Rig {
    let cfg = config::parse(text, "test.toml").expect("valid config");
    let log: Log = Arc::default();
    let broken = Arc::new(AtomicBool::new(false));
    let (handle, task) = daemon::start(
        cfg,
        FakeIpvs {
            log: log.clone(),
            broken: broken.clone(),
        },
        FakeSpeaker(log.clone()),
        FakeAddrs(log.clone()),
        NoHealth,
    );
    Rig {
        handle,
        task,
        log,
        broken,
    }
}

async fn health(h: &Handle, real: &str, healthy: bool) {
    h.input(Input::Health {
        service: "web".into(),
        real: sa(real),
        healthy,
    })
    .await
    .expect("send");
}

/// Waits (in paused time, bounded) until the VIP reaches `state`.
async fn wait_vip(h: &Handle, state: VipState) {
    let mut watch = h.watch_status();
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    loop {
        if watch
            .borrow_and_update()
            .view
            .vips
            .get(&ip(VIP))
            .map(|v| v.state)
            == Some(state)
        {
            return;
        }
        tokio::select! {
            r = watch.changed() => r.expect("core alive"),
            _ = &mut deadline => panic!("VIP never reached {state:?}"),
        }
    }
}

async fn up_and_announced(r: &Rig) {
    health(&r.handle, "10.1.1.1:80", true).await;
    health(&r.handle, "10.1.1.2:80", true).await;
    wait_vip(&r.handle, VipState::Announced).await;
}

fn both_up() -> Call {
    Call::Apply(vec![(
        "web".into(),
        vec![(sa("10.1.1.1:80"), 10), (sa("10.1.1.2:80"), 20)],
    )])
}

#[tokio::test(start_paused = true)]
async fn startup_then_ordered_shutdown() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    r.handle.shutdown().await.expect("shutdown");
    tokio::time::timeout(Duration::from_secs(60), r.task)
        .await
        .expect("shutdown finishes after the drain time")
        .expect("core task");
    assert_eq!(
        take(&r.log),
        vec![
            Call::Add(ip(VIP)),
            both_up(),
            Call::Announce(ip(VIP), RouteProtocol::Bgp, vec!["65000:100".into()]),
            // SIGTERM: graceful shutdown community for drain_time, then withdraw, then remove
            // the address. IPVS is left as it is.
            Call::Announce(
                ip(VIP),
                RouteProtocol::Bgp,
                vec!["65000:100".into(), "65535:0".into()]
            ),
            Call::Withdraw(ip(VIP), RouteProtocol::Bgp),
            Call::Remove(ip(VIP)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_the_drain_time() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    let t0 = tokio::time::Instant::now();
    r.handle.shutdown().await.expect("shutdown");
    r.task.await.expect("core task");
    let waited = t0.elapsed();
    // The drain time (5 s), then the withdrawal's settle time before the address goes.
    let expected = Duration::from_secs(5) + vgwd::daemon::core::WITHDRAW_SETTLE;
    assert!(
        waited >= expected && waited < expected + Duration::from_secs(1),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn reload_through_the_handle_applies_only_the_difference() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    take(&r.log);
    let added = CONFIG.replace(
        "[[service.real]]\naddress = \"10.1.1.2\"",
        "[[service.real]]\naddress = \"10.1.1.3\"\n\n[[service.real]]\naddress = \"10.1.1.2\"",
    );
    r.handle
        .reload(config::parse(&added, "t.toml").expect("valid"))
        .await
        .expect("reload");
    // Only IPVS changes: the new real quiesced until checked; no withdraw, no re-announce.
    assert_eq!(
        take(&r.log),
        vec![Call::Apply(vec![(
            "web".into(),
            vec![
                (sa("10.1.1.1:80"), 10),
                (sa("10.1.1.3:80"), 0),
                (sa("10.1.1.2:80"), 20)
            ]
        )])]
    );

    // A broken file is rejected with its location and nothing changes.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("vgw.toml");
    std::fs::write(&bad, CONFIG.replace("weight = 10", "weight = \"ten\"")).expect("write");
    let err = r
        .handle
        .reload_file(&bad)
        .await
        .expect_err("broken config rejected");
    assert!(matches!(err, HandleError::Config(_)), "{err}");
    assert!(err.to_string().contains("vgw.toml:22:10:"), "{err}");
    assert_eq!(take(&r.log), vec![]);
    assert_eq!(r.handle.status().config.services[0].reals.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn admin_commands_through_the_handle() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    take(&r.log);
    let err = r
        .handle
        .drain(Target::Vip(ip("192.0.2.99")))
        .await
        .expect_err("unknown VIP");
    assert!(
        matches!(err, HandleError::Admin(AdminError::UnknownVip(_))),
        "{err}"
    );
    r.handle
        .drain(Target::Real {
            service: "web".into(),
            real: sa("10.1.1.2:80"),
        })
        .await
        .expect("drain real");
    r.handle
        .drain(Target::Vip(ip(VIP)))
        .await
        .expect("drain vip");
    wait_vip(&r.handle, VipState::Withdrawn).await;
    assert_eq!(
        take(&r.log),
        vec![
            Call::Apply(vec![(
                "web".into(),
                vec![(sa("10.1.1.1:80"), 10), (sa("10.1.1.2:80"), 0)]
            )]),
            Call::Announce(
                ip(VIP),
                RouteProtocol::Bgp,
                vec!["65000:100".into(), "65535:0".into()]
            ),
            Call::Withdraw(ip(VIP), RouteProtocol::Bgp),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_dataplane_withdraws_everything_until_it_recovers() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    take(&r.log);
    r.broken.store(true, Ordering::SeqCst);
    // The next IPVS change fails: the node withdraws rather than black-holing traffic.
    health(&r.handle, "10.1.1.1:80", false).await;
    wait_vip(&r.handle, VipState::Withdrawn).await;
    assert_eq!(
        take(&r.log),
        vec![Call::Withdraw(ip(VIP), RouteProtocol::Bgp)]
    );
    assert_eq!(r.handle.status().counters.reconcile_errors, 1);
    // The periodic probe sees IPVS back: the table is re-applied, then the VIP announced.
    r.broken.store(false, Ordering::SeqCst);
    wait_vip(&r.handle, VipState::Announced).await;
    assert_eq!(
        take(&r.log),
        vec![
            Call::Apply(vec![(
                "web".into(),
                vec![(sa("10.1.1.1:80"), 0), (sa("10.1.1.2:80"), 20)]
            )]),
            Call::Announce(ip(VIP), RouteProtocol::Bgp, vec!["65000:100".into()]),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn node_only_config_starts_and_stops() {
    let r = rig("[node]\nname = \"lvs1\"\n");
    let status = r.handle.watch_status();
    assert!(status.borrow().view.vips.is_empty());
    r.handle.shutdown().await.expect("shutdown");
    tokio::time::timeout(Duration::from_secs(1), r.task)
        .await
        .expect("nothing announced: shutdown is immediate")
        .expect("core task");
    assert_eq!(take(&r.log), vec![]);
}

#[tokio::test(start_paused = true)]
async fn metrics_render_the_status() {
    let r = rig(CONFIG);
    up_and_announced(&r).await;
    let text = daemon::metrics::render(&r.handle.status());
    for line in [
        "vgw_vip_announced{vip=\"192.0.2.10\"} 1",
        "vgw_real_healthy{service=\"web\",real=\"10.1.1.1:80\"} 1",
        "vgw_real_weight{service=\"web\",real=\"10.1.1.2:80\"} 20",
        "vgw_ipvs_reconcile_total 1",
        "vgw_first_round_done 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
}

#[tokio::test]
async fn metrics_are_served_over_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = rig(CONFIG);
    let (addr, server) = daemon::metrics::serve(
        sa("127.0.0.1:0"),
        r.handle.watch_status(),
        daemon::metrics::RoutingSamples::default(),
    )
    .await
    .expect("bind");
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    sock.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .expect("write");
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(5), sock.read_to_string(&mut body))
        .await
        .expect("answer within 5 s")
        .expect("read");
    assert!(body.starts_with("HTTP/1.0 200 OK\r\n"), "{body}");
    assert!(
        body.contains("\nvgw_vip_announced{vip=\"192.0.2.10\"} 0\n"),
        "{body}"
    );
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    sock.write_all(b"GET /nope HTTP/1.0\r\n\r\n")
        .await
        .expect("write");
    let mut body = String::new();
    sock.read_to_string(&mut body).await.expect("read");
    assert!(body.starts_with("HTTP/1.0 404"), "{body}");
    server.abort();
}
