//! A private `dbus-daemon` for places without a system bus (containers, lab nodes) and for
//! tests: configured like a system bus (default deny for owning names and for method calls,
//! any local user may connect) plus the policy files given, listening on a socket in a fresh
//! world-accessible directory under `/tmp`. Killed (by its PID) and removed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A running private bus.
pub struct PrivateBus {
    child: Child,
    dir: PathBuf,
    address: String,
}

/// Why the bus did not start.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBusError {
    /// Filesystem trouble in the bus directory.
    #[error("cannot prepare {path}: {source}")]
    Dir {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `dbus-daemon` could not be started.
    #[error("cannot run dbus-daemon ({source}); install the `dbus` package")]
    Spawn {
        /// The error.
        source: std::io::Error,
    },
    /// It started but did not print its address.
    #[error("dbus-daemon did not print its address within 10 s (config {config}): {log}")]
    NoAddress {
        /// The configuration file it was given.
        config: PathBuf,
        /// What it wrote to stderr.
        log: String,
    },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PrivateBus {
    /// Starts a bus that includes `policies` (e.g. `vgwd/dist/org.vgw.Vgwd1.conf`).
    pub fn start(policies: &[&Path]) -> Result<PrivateBus, PrivateBusError> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vgw-bus-{}-{n}", std::process::id()));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| PrivateBusError::Dir { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        // Other users (a non-root vgwctl) must reach the socket inside.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                .map_err(io(&dir))?;
        }
        let config = dir.join("bus.conf");
        std::fs::write(&config, bus_config(&dir.join("socket"), policies)).map_err(io(&config))?;
        // Its complaints (e.g. "Failed to set fd limit") go to a log beside the socket.
        let log_path = dir.join("dbus-daemon.log");
        let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|source| PrivateBusError::Spawn { source })?;
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(out).read_line(&mut line);
                let _ = tx.send(line);
            });
        }
        let bus = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if !line.trim().is_empty() => PrivateBus {
                child,
                dir,
                address: line.trim().to_owned(),
            },
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(PrivateBusError::NoAddress { config, log });
            }
        };
        Ok(bus)
    }

    /// The D-Bus address to connect to (`unix:path=/tmp/vgw-bus-.../socket,guid=...`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The bus daemon's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The system bus's default policy (as Debian's `system.conf` has it) without its includes.
fn bus_config(socket: &Path, policies: &[&Path]) -> String {
    let includes: String = policies
        .iter()
        .map(|p| format!("  <include>{}</include>\n", p.display()))
        .collect();
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
{includes}</busconfig>
"#,
        socket = socket.display()
    )
}
