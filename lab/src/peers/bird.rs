//! BIRD 2 (`bird`, `birdc`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::{IoContext, Result};
use crate::ns::{Host, Lab};
use crate::util::{self, require_tool, wait_until};

/// A running BIRD instance.
pub struct Bird {
    lab: Lab,
    host: Host,
    conf: PathBuf,
    sock: PathBuf,
    pid: u32,
    pub log: PathBuf,
}

/// One line of `birdc show protocols`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BirdProtocol {
    pub name: String,
    pub proto: String,
    pub state: String,
    /// When the protocol last changed state (BIRD's "Since" column).
    pub since: String,
    pub info: String,
}

impl Bird {
    /// Starts `bird` in `host` with `config` (BIRD 2 syntax).
    pub fn start(lab: &Lab, host: &Host, config: &str) -> Result<Bird> {
        require_tool("bird", "bird2")?;
        let conf = lab.dir().join(format!("bird-{}.conf", host.name()));
        std::fs::write(&conf, config).ctx(|| format!("cannot write {}", conf.display()))?;
        let sock = lab.dir().join(format!("bird-{}.ctl", host.name()));
        let mut b = Bird {
            lab: lab.clone(),
            host: host.clone(),
            conf,
            sock,
            pid: 0,
            log: PathBuf::new(),
        };
        b.launch()?;
        Ok(b)
    }

    fn launch(&mut self) -> Result<()> {
        let _ = std::fs::remove_file(&self.sock);
        let mut cmd = Command::new("bird");
        cmd.arg("-f")
            .arg("-c")
            .arg(&self.conf)
            .arg("-s")
            .arg(&self.sock);
        let spawned = self.lab.spawn(&self.host, &cmd)?;
        self.pid = spawned.pid;
        self.log = spawned.log;
        let log = self.log.clone();
        wait_until(
            &format!(
                "BIRD in {} to answer on its socket (log: {})",
                self.host.name(),
                log.display()
            ),
            Duration::from_secs(10),
            || {
                Ok(self
                    .birdc("show status")
                    .is_ok_and(|s| s.contains("Daemon is up")))
            },
        )
    }

    /// Runs a `birdc` command and returns what it printed.
    pub fn birdc(&self, command: &str) -> Result<String> {
        util::run(
            Command::new("birdc")
                .arg("-s")
                .arg(&self.sock)
                .args(command.split_whitespace()),
        )
    }

    /// `show protocols`, parsed.
    pub fn protocols(&self) -> Result<Vec<BirdProtocol>> {
        let text = self.birdc("show protocols")?;
        Ok(text
            .lines()
            .skip_while(|l| !l.starts_with("Name"))
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 4).then(|| BirdProtocol {
                    name: f[0].to_string(),
                    proto: f[1].to_string(),
                    state: f[3].to_string(),
                    since: f.get(4).map(|s| s.to_string()).unwrap_or_default(),
                    info: f.get(5..).map(|r| r.join(" ")).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Whether BGP protocol `name` is Established.
    pub fn established(&self, name: &str) -> Result<bool> {
        Ok(self
            .protocols()?
            .iter()
            .any(|p| p.name == name && p.info.starts_with("Established")))
    }

    /// Waits until BGP protocol `name` is Established.
    pub fn wait_established(&self, name: &str, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("BIRD protocol {name} to be Established"),
            timeout,
            || self.established(name),
        )
    }

    /// `show route all for PREFIX` (empty when BIRD has no such route; birdc then exits 1).
    pub fn route_all(&self, prefix: &str) -> Result<String> {
        let out = util::output(
            Command::new("birdc")
                .arg("-s")
                .arg(&self.sock)
                .args(["show", "route", "all", "for", prefix]),
        )?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else if text.contains("Network not found") {
            Ok(String::new())
        } else {
            Err(crate::LabError::Command {
                command: format!("birdc show route all for {prefix}"),
                status: out.status.to_string(),
                stderr: format!(
                    "{}{}",
                    text.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }

    /// Number of routes BIRD holds in `table` (e.g. `master4`).
    pub fn route_count(&self, table: &str) -> Result<u64> {
        let text = self.birdc(&format!("show route table {table} count"))?;
        Ok(text
            .lines()
            .find_map(|l| {
                l.split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|_| l.contains("of"))
            })
            .unwrap_or(0))
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops BIRD gracefully (SIGTERM).
    pub fn stop(&self) -> Result<()> {
        self.lab.stop(self.pid, Duration::from_secs(5))
    }

    /// Restarts BIRD with the same config.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.launch()
    }
}
