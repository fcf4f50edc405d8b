//! The daemon binary serving the D-Bus API on a private `dbus-daemon` (`--bus`), with a
//! `[node]`-only configuration: it starts, answers `Status`, rejects a broken reload with the
//! file's location and keeps running, applies a good reload, drains the node, and stops on
//! SIGTERM. vgwd runs in its own network namespace (`unshare --net`); the bus socket is a file,
//! reachable from both sides.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vgw_api::Vgwd1Proxy;
use vgwd::dbus::private_bus::PrivateBus;

#[test]
fn node_only_daemon_serves_the_api_on_a_private_bus() {
    for tool in ["dbus-daemon", "unshare"] {
        if Command::new(tool).arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{tool} is missing, and CI must have it (scripts/setup installs it)"
            );
            eprintln!("SKIP: {tool} is missing");
            return;
        }
    }
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/org.vgw.Vgwd1.conf");
    let bus = PrivateBus::start(&[&policy]).expect("private dbus-daemon");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vgw.toml");
    std::fs::write(&cfg, "[node]\nname = \"lvs-api\"\n").expect("write config");
    let notify = dir.path().join("notify");
    let sock = UnixDatagram::bind(&notify).expect("bind notify");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");

    let mut child = Command::new("unshare")
        .arg("--net")
        .arg(env!("CARGO_BIN_EXE_vgwd"))
        .arg("--config")
        .arg(&cfg)
        .arg("--bus")
        .arg(bus.address())
        .env("NOTIFY_SOCKET", &notify)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vgwd");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let mut buf = [0u8; 512];
    let ready = sock
        .recv(&mut buf)
        .map(|n| buf.get(..n).map(|b| b.to_vec()));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ready = ready.expect("READY=1 within 20 s").unwrap_or_default();
        assert!(String::from_utf8_lossy(&ready).starts_with("READY=1"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let conn = zbus::connection::Builder::address(bus.address())
                .expect("address")
                .build()
                .await
                .expect("connect to the private bus");
            let proxy = Vgwd1Proxy::new(&conn).await.expect("proxy");
            let status = proxy.status().await.expect("Status()");
            assert_eq!(status.node, "lvs-api");
            assert_eq!(status.dataplane, "ipvs");
            assert_eq!(status.config_generation, 1);

            std::fs::write(&cfg, "[node]\nname = \"lvs-api\"\nbogus = 1\n").expect("write");
            let err = proxy.reload().await.expect_err("broken config rejected");
            let text = err.to_string();
            assert!(
                text.contains("vgw.toml:3:1: unknown field `bogus`"),
                "{text}"
            );
            assert_eq!(
                proxy
                    .status()
                    .await
                    .expect("still serving")
                    .config_generation,
                1
            );

            std::fs::write(
                &cfg,
                "[node]\nname = \"lvs-api\"\n\n[[vip]]\naddress = \"192.0.2.10\"\n",
            )
            .expect("write");
            let outcome = proxy.reload().await.expect("good reload");
            assert_eq!(outcome.generation, 2);
            assert_eq!(outcome.changes, vec!["vip 192.0.2.10 added".to_string()]);
            proxy.drain("node", "").await.expect("root may drain");
            assert!(proxy.status().await.expect("status").node_drained);
        });
    }));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let t0 = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if t0.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    if let Err(panic) = result {
        eprintln!("vgwd log:\n{log}");
        std::panic::resume_unwind(panic);
    }
    assert!(out.status.success(), "{log}");
    assert!(log.contains("D-Bus API served"), "{log}");
    // The reload's VIP was withdrawn (it never was announced) and its address removed on exit.
    assert!(log.contains("removing VIP address"), "{log}");
}
