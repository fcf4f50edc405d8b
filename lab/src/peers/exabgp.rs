//! ExaBGP 4 (`exabgp`). Received updates are recorded as JSON lines by an API process the lab
//! provides; the config names it `vgwlab-recorder` (write `{recorder}` where the path belongs).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::{IoContext, LabError, Result};
use crate::ns::{Host, Lab};
use crate::util::require_tool;

/// A running ExaBGP.
pub struct Exabgp {
    lab: Lab,
    host: Host,
    conf: PathBuf,
    received: PathBuf,
    pid: u32,
    pub log: PathBuf,
}

impl Exabgp {
    /// Starts ExaBGP in `host` with `config`. In the config, `{recorder}` is replaced by the path
    /// of a program that appends every JSON message ExaBGP sends it to a file, so a neighbor
    /// with `api { processes [ vgwlab-recorder ]; receive { parsed; update; } }` and a
    /// `process vgwlab-recorder { run {recorder}; encoder json; }` block records what it got.
    pub fn start(lab: &Lab, host: &Host, config: &str) -> Result<Exabgp> {
        require_tool("exabgp", "exabgp")?;
        let received = lab
            .dir()
            .join(format!("exabgp-{}-received.jsonl", host.name()));
        let recorder = lab
            .dir()
            .join(format!("exabgp-{}-recorder.sh", host.name()));
        std::fs::write(
            &recorder,
            // ExaBGP takes a helper whose stdout closes for dead, so only the writes redirect.
            format!(
                "#!/bin/sh\nwhile IFS= read -r line; do printf '%s\\n' \"$line\" >> '{}'; done\n",
                received.display()
            ),
        )
        .ctx(|| format!("cannot write {}", recorder.display()))?;
        set_executable(&recorder)?;
        let conf = lab.dir().join(format!("exabgp-{}.conf", host.name()));
        let text = config.replace("{recorder}", &recorder.to_string_lossy());
        std::fs::write(&conf, text).ctx(|| format!("cannot write {}", conf.display()))?;
        let mut e = Exabgp {
            lab: lab.clone(),
            host: host.clone(),
            conf,
            received,
            pid: 0,
            log: PathBuf::new(),
        };
        e.launch()?;
        Ok(e)
    }

    fn launch(&mut self) -> Result<()> {
        let mut cmd = Command::new("exabgp");
        cmd.arg(&self.conf)
            .env("exabgp_daemon_daemonize", "false")
            .env("exabgp_daemon_user", "root")
            .env("exabgp_api_cli", "false")
            .env("exabgp_log_destination", "stdout")
            .env("exabgp_tcp_port", "179");
        let spawned = self.lab.spawn(&self.host, &cmd)?;
        self.pid = spawned.pid;
        self.log = spawned.log;
        Ok(())
    }

    /// Every JSON message the recorder got so far (updates, state changes).
    pub fn received(&self) -> Result<Vec<serde_json::Value>> {
        let text = match std::fs::read_to_string(&self.received) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(LabError::io(
                    format!("cannot read {}", self.received.display()),
                    e,
                ))
            }
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops and starts ExaBGP with the same config.
    pub fn restart(&mut self) -> Result<()> {
        self.lab.stop(self.pid, Duration::from_secs(5))?;
        self.launch()
    }
}

fn set_executable(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .ctx(|| format!("cannot make {} executable", path.display()))
}
