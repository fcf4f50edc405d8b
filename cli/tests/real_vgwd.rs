//! vgwctl against the real vgwd binary: `config check` gives exactly `vgwd --check`'s verdict
//! on every broken example configuration, and the everyday commands work against a running
//! daemon (in its own network namespace) on a private bus.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vgwd::dbus::private_bus::PrivateBus;

/// Builds the vgwd binary (a no-op when fresh) into the target directory vgwctl lives in, so
/// it is the sibling `vgwctl config check` looks for.
fn vgwd_binary() -> PathBuf {
    let vgwctl = Path::new(VGWCTL);
    let profile_dir = vgwctl.parent().unwrap_or(Path::new("."));
    let target_dir = profile_dir.parent().unwrap_or(Path::new("."));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "vgwd", "--bin", "vgwd"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cargo build -p vgwd failed"
    );
    let vgwd = profile_dir.join("vgwd");
    assert!(vgwd.is_file(), "{} missing after the build", vgwd.display());
    vgwd
}

fn broken_configs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vgwd/tests/config/broken");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    files
}

#[test]
fn config_check_prints_vgwd_check_messages_for_every_broken_example() {
    let vgwd = vgwd_binary();
    let files = broken_configs();
    assert!(
        files.len() >= 10,
        "expected the broken examples, found {}",
        files.len()
    );
    for file in &files {
        let ours = run(Command::new(VGWCTL).arg("config").arg("check").arg(file));
        let theirs = run(Command::new(&vgwd).arg("--config").arg(file).arg("--check"));
        let name = file.display().to_string();
        assert_eq!(ours.status.code(), Some(1), "{name}");
        assert_eq!(ours.status.code(), theirs.status.code(), "{name}");
        assert_eq!(ours.stdout, theirs.stdout, "{name}");
        assert_eq!(ours.stderr, theirs.stderr, "{name}");
        let text = String::from_utf8_lossy(&ours.stderr);
        // file:line:column of the first problem.
        let located = text.lines().any(|l| {
            l.strip_prefix(&name)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        });
        assert!(located, "{name}: no file:line in\n{text}");
    }
    for good in ["minimal.toml", "full.toml", "announce-only.toml"] {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vgwd/examples")
            .join(good);
        let ours = run(Command::new(VGWCTL).arg("config").arg("check").arg(&file));
        assert_eq!(
            ours.status.code(),
            Some(0),
            "{good}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}

#[test]
fn vgwctl_drives_a_running_vgwd() {
    let vgwd = vgwd_binary();
    let bus = match PrivateBus::start(&[policy_file().as_path()]) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let dir = std::env::temp_dir().join(format!("vgwctl-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let cfg = dir.join("vgw.toml");
    assert!(std::fs::write(&cfg, "[node]\nname = \"lvs-e2e\"\n").is_ok());
    let mut child = match Command::new("unshare")
        .arg("--net")
        .arg(&vgwd)
        .arg("--config")
        .arg(&cfg)
        .arg("--bus")
        .arg(bus.address())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("start vgwd: {e}"),
    };
    let vgwctl = |args: &[&str]| {
        run(Command::new(VGWCTL)
            .arg("--bus")
            .arg(bus.address())
            .args(args))
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Up when it answers.
        let start = Instant::now();
        while !vgwctl(&["status"]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "vgwd did not serve within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = vgwctl(&["status", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
        assert_eq!(v["node"], "lvs-e2e");
        assert_eq!(v["config_generation"], 1);
        assert_eq!(vgwctl(&["vip", "list", "-o", "json"]).stdout, b"[]\n");

        assert!(std::fs::write(&cfg, "[node]\nname = \"lvs-e2e\"\nbogus = 1\n").is_ok());
        let rejected = vgwctl(&["reload"]);
        assert_eq!(rejected.status.code(), Some(1));
        let text = String::from_utf8_lossy(&rejected.stderr);
        assert!(text.contains(&format!("{}:3:1:", cfg.display())), "{text}");

        assert!(std::fs::write(
            &cfg,
            "[node]\nname = \"lvs-e2e\"\n\n[[vip]]\naddress = \"192.0.2.10\"\n"
        )
        .is_ok());
        let applied = vgwctl(&["reload"]);
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        assert!(String::from_utf8_lossy(&applied.stdout).starts_with("Reloaded: generation 2"));
        let vips = vgwctl(&["vip", "list"]);
        assert!(String::from_utf8_lossy(&vips.stdout).contains("192.0.2.10"));
        assert!(vgwctl(&["drain", "node"]).status.success());
        let status = vgwctl(&["status"]);
        assert!(String::from_utf8_lossy(&status.stdout).contains("Node drain:     DRAINED"));
        let denied = run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(VGWCTL)
            .args(["--bus", bus.address(), "undrain", "node"]));
        assert_eq!(denied.status.code(), Some(4));
    }));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let start = Instant::now();
    while child.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
