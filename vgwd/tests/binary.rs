//! The `vgwd` binary: `--check` exit codes and messages, and a `[node]`-only configuration
//! that starts, tells systemd it is ready, and stops on SIGTERM. The daemon runs inside a network
//! namespace of its own (`unshare --net`), so its VIP interface handling touches nothing else.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn vgwd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vgwd"))
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(name)
        .display()
        .to_string()
}

#[test]
fn check_accepts_valid_files() {
    for f in [
        "examples/full.toml",
        "examples/minimal.toml",
        "examples/announce-only.toml",
    ] {
        let out = vgwd()
            .args(["--config", &example(f), "--check"])
            .output()
            .expect("run vgwd");
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "config OK\n");
    }
}

#[test]
fn check_rejects_broken_files_with_locations() {
    let f = example("tests/config/broken/duplicates.toml");
    let out = vgwd()
        .args(["--config", &f, "--check"])
        .output()
        .expect("run vgwd");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{f}:8:11: VIP 192.0.2.10 is declared twice")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:22:8: service name \"web\" is used twice")),
        "{err}"
    );
    assert!(err.contains("  hint: "), "{err}");
    let out = vgwd()
        .args(["--config", "/nonexistent/vgw.toml", "--check"])
        .output()
        .expect("run vgwd");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vgw.toml: cannot read"));
}

#[test]
fn node_only_config_starts_notifies_systemd_and_stops_on_sigterm() {
    if Command::new("unshare").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare (util-linux) is missing, and CI must have it"
        );
        eprintln!("SKIP: unshare (util-linux) is missing");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut child = Command::new("unshare")
        .args([
            "--net",
            env!("CARGO_BIN_EXE_vgwd"),
            "--config",
            &example("examples/minimal.toml"),
        ])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start vgwd");
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("READY=1 from vgwd within 20 s");
    let msg = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).to_string();
    assert!(
        msg.starts_with("READY=1\nSTATUS=0/0 VIPs announced"),
        "{msg}"
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("vgwd did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{log}");
    assert!(log.contains("SIGTERM: ordered shutdown"), "{log}");
    assert!(log.contains("vgwd stopped"), "{log}");
}
