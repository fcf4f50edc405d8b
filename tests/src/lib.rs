//! Helpers for vgw's cross-crate tests: finding the workspace's binaries, and the pieces of a
//! one-node LVS lab (switch, real servers, client) the end-to-end tests share.

use std::path::PathBuf;
use std::process::Command;

use vgw_lab::{Host, Lab, Result};

/// A binary of this workspace (`vgwd`, `vgwctl`, `vgw-lab`), built next to the test binary.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first with `cargo build -p {name}` (scripts/test does)",
        path.display()
    );
    path
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Starts the lab's HTTP real server (busybox httpd answering its own name) on port 80 of
/// `host`.
pub fn start_real_http(lab: &Lab, host: &Host) -> Result<u32> {
    let script = repo_root().join("lab/topologies/configs/real-httpd.sh");
    let mut cmd = Command::new("sh");
    cmd.arg(script).arg(host.name());
    Ok(lab.spawn(host, &cmd)?.pid)
}

/// Starts a private dbus-daemon (in the root namespace; its socket is a path) and returns its
/// address.
pub fn start_private_bus(lab: &Lab, host: &Host) -> Result<String> {
    let sock = lab.dir().join("bus.sock");
    let conf = lab.dir().join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
"#,
            sock.display()
        ),
    )
    .map_err(|e| vgw_lab::LabError::Invalid(format!("cannot write {}: {e}", conf.display())))?;
    let mut cmd = Command::new("dbus-daemon");
    cmd.arg(format!("--config-file={}", conf.display()))
        .arg("--nofork");
    lab.spawn(host, &cmd)?;
    let address = format!("unix:path={}", sock.display());
    vgw_lab::wait_until(
        "the private dbus-daemon",
        std::time::Duration::from_secs(10),
        || Ok(sock.exists()),
    )?;
    Ok(address)
}
