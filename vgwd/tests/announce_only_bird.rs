//! Announce-only mode end to end on the host kernel: a BIRD "switch" in one namespace, vgwd in
//! another (`dataplane = "none"`, VIP on `lo`), a local TCP service as the health target.
//! The VIP route appears in the switch while the service is healthy, disappears when it dies,
//! comes back with it, and on SIGTERM the route is withdrawn before the address is removed.
//! Over a private D-Bus, `ListBgpNeighbors` and `ListBgpRoutes` show the session and the
//! route as BIRD receives it.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vgw_api::Vgwd1Proxy;
use vgwd::dbus::private_bus::PrivateBus;

use vgw_lab::peers::Bird;
use vgw_lab::{wait_until, Lab};

const VIP: &str = "192.0.2.53";

fn vgwd_config() -> String {
    r#"
[node]
name = "anycast1"
router_id = "10.0.0.11"
vip_interface = "lo"
dataplane = "none"
drain_time = "0s"

[bgp]
asn = 65011
hold_time = 9

[[bgp.neighbor]]
name = "sw"
address = "10.0.0.1"
remote_asn = 65000

[[vip]]
address = "192.0.2.53"

[[service]]
name = "local"
vip = "192.0.2.53"
port = 8053

[service.check]
type = "tcp"
interval = "200ms"
timeout = "100ms"
rise = 1
fall = 1

[[service.real]]
address = "127.0.0.1"
"#
    .to_string()
}

#[test]
fn announce_only_node_follows_local_service_health() {
    if Command::new("bird").arg("--version").output().is_err() {
        // CI installs bird2 (scripts/setup): a missing BIRD there is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "bird (package bird2) is missing"
        );
        eprintln!("SKIP: bird (package bird2) is missing");
        return;
    }
    let lab = Lab::new("vgwd-anycast").expect("lab (needs root)");
    let sw = lab.host("sw").expect("sw");
    let n1 = lab.host("n1").expect("n1");
    lab.link((&sw, "eth1"), (&n1, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    n1.add_addr("eth1", "10.0.0.11/24").expect("addr");
    let bird = Bird::start(
        &lab,
        &sw,
        r#"
router id 10.0.0.1;
protocol device {}
protocol kernel { ipv4 { export all; }; }
protocol bgp n1 {
  local 10.0.0.1 as 65000;
  neighbor 10.0.0.11 as 65011;
  ipv4 { import all; export none; };
}
"#,
    )
    .expect("bird");

    let bind = || {
        n1.run_in(|| TcpListener::bind("127.0.0.1:8053"))
            .expect("enter n1")
            .expect("bind the local service")
    };
    let service = bind();

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vgw.toml");
    std::fs::write(&cfg, vgwd_config()).expect("config");
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/org.vgw.Vgwd1.conf");
    let bus = PrivateBus::start(&[&policy]).expect("private dbus-daemon");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vgwd"));
    cmd.arg("--config")
        .arg(&cfg)
        .arg("--bus")
        .arg(bus.address());
    let vgwd = lab.spawn(&n1, &cmd).expect("start vgwd");

    let sw = &sw;
    let route = |present: bool| {
        move || -> vgw_lab::Result<bool> {
            Ok(sw.route(&format!("{VIP}/32"))?.is_some() == present)
        }
    };
    bird.wait_established("n1", Duration::from_secs(30))
        .expect("session up");
    wait_until("VIP route announced", Duration::from_secs(20), route(true)).expect("announced");
    check_bgp_listings(bus.address());

    drop(service);
    wait_until(
        "VIP route withdrawn after the service died",
        Duration::from_secs(10),
        route(false),
    )
    .expect("withdrawn");

    let service = bind();
    wait_until(
        "VIP route back with the service",
        Duration::from_secs(10),
        route(true),
    )
    .expect("re-announced");

    // SIGHUP with a second VIP (no services: announced as soon as it is configured): it is
    // added without touching the BGP session (BIRD's "since" stays the same).
    let since = |b: &Bird| {
        b.protocols()
            .expect("birdc")
            .into_iter()
            .find(|p| p.name == "n1")
            .map(|p| (p.state, p.since))
            .expect("protocol n1")
    };
    let before = since(&bird);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        &cfg,
        vgwd_config() + "\n[[vip]]\naddress = \"192.0.2.54\"\n",
    )
    .expect("config");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(vgwd.pid).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    wait_until(
        "second VIP announced after SIGHUP",
        Duration::from_secs(10),
        || Ok(sw.route("192.0.2.54/32")?.is_some()),
    )
    .expect("reloaded");
    assert_eq!(
        since(&bird),
        before,
        "the BGP session must not be reset by a reload"
    );
    // A broken file on SIGHUP is rejected; the running configuration stays.
    std::fs::write(&cfg, "[node]\nbogus = 1\n").expect("config");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    wait_until("reload rejection logged", Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&vgwd.log).unwrap_or_default();
        Ok(log.contains("vgw.toml:2:1: unknown field `bogus`"))
    })
    .expect("rejected with file:line");
    assert!(sw.route("192.0.2.54/32").expect("route").is_some());

    lab.stop(vgwd.pid, Duration::from_secs(10))
        .expect("SIGTERM vgwd");
    wait_until(
        "VIP route withdrawn on shutdown",
        Duration::from_secs(10),
        route(false),
    )
    .expect("withdrawn on SIGTERM");
    let addrs = n1
        .run(&["ip", "-o", "addr", "show", "dev", "lo"])
        .expect("ip addr");
    assert!(
        !addrs.contains(VIP),
        "VIP address left on lo after shutdown: {addrs}"
    );
    let log = std::fs::read_to_string(&vgwd.log).expect("vgwd log");
    let withdraw = log.rfind("withdraw").expect("withdraw logged");
    let removed = log
        .rfind("removing VIP address")
        .expect("address removal logged");
    assert!(
        withdraw < removed,
        "the VIP must be withdrawn before its address is removed:\n{log}"
    );
    drop(service);
}

/// `ListBgpNeighbors` / `ListBgpRoutes` of the running daemon: the session to BIRD and the
/// VIP route as it went out (next hop self, our AS once, no LOCAL_PREF to an external peer).
fn check_bgp_listings(address: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let conn = zbus::connection::Builder::address(address)
            .expect("address")
            .build()
            .await
            .expect("connect to the private bus");
        let proxy = Vgwd1Proxy::new(&conn).await.expect("proxy");
        let mut neighbors = Vec::new();
        for _ in 0..50 {
            neighbors = proxy.list_bgp_neighbors().await.expect("ListBgpNeighbors");
            if neighbors.first().is_some_and(|n| n.state == "Established") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let n = neighbors.first().expect("one neighbour");
        assert_eq!(
            (n.name.as_str(), n.state.as_str()),
            ("sw", "Established"),
            "{n:?}"
        );
        assert_eq!((n.local_asn, n.remote_asn), (65011, 65000));
        assert_eq!(n.router_id, "10.0.0.1");
        let routes = proxy
            .list_bgp_routes("", "advertised")
            .await
            .expect("ListBgpRoutes advertised");
        let r = routes
            .iter()
            .find(|r| r.prefix == "192.0.2.53/32")
            .unwrap_or_else(|| panic!("VIP route advertised: {routes:?}"));
        assert_eq!(r.neighbor, "sw");
        assert_eq!(r.next_hop, "10.0.0.11");
        assert_eq!(r.as_path, "65011");
        assert_eq!(r.origin, "igp");
        assert_eq!(r.local_pref, -1, "no LOCAL_PREF towards an external peer");
        let received = proxy
            .list_bgp_routes("sw", "received")
            .await
            .expect("ListBgpRoutes received");
        assert!(received.is_empty(), "BIRD exports nothing: {received:?}");
        let err = proxy
            .list_bgp_routes("nosuch", "advertised")
            .await
            .expect_err("unknown neighbour");
        assert!(err.to_string().contains("nosuch"), "{err}");
    });
}
