//! GoBGP (`gobgpd`, `gobgp`). Each instance's gRPC API listens on the loopback of its own
//! namespace, so the default port never clashes.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::{IoContext, Result};
use crate::ns::{Host, Lab};
use crate::util::{require_tool, wait_until};

const API: &str = "127.0.0.1:50051";

/// A running gobgpd.
pub struct Gobgp {
    lab: Lab,
    host: Host,
    conf: PathBuf,
    pid: u32,
    pub log: PathBuf,
}

impl Gobgp {
    /// Starts `gobgpd` in `host` with a TOML `config`.
    pub fn start(lab: &Lab, host: &Host, config: &str) -> Result<Gobgp> {
        require_tool("gobgpd", "gobgpd")?;
        let conf = lab.dir().join(format!("gobgpd-{}.toml", host.name()));
        std::fs::write(&conf, config).ctx(|| format!("cannot write {}", conf.display()))?;
        let mut g = Gobgp {
            lab: lab.clone(),
            host: host.clone(),
            conf,
            pid: 0,
            log: PathBuf::new(),
        };
        g.launch()?;
        Ok(g)
    }

    fn launch(&mut self) -> Result<()> {
        let mut cmd = Command::new("gobgpd");
        cmd.arg("-f")
            .arg(&self.conf)
            .args(["-t", "toml", "-p", "--pprof-disable"]);
        cmd.arg(format!("--api-hosts={API}"));
        let spawned = self.lab.spawn(&self.host, &cmd)?;
        self.pid = spawned.pid;
        self.log = spawned.log;
        wait_until(
            &format!("gobgpd in {} to answer on its API", self.host.name()),
            Duration::from_secs(15),
            || Ok(self.gobgp(&["global"]).is_ok()),
        )
    }

    /// Runs `gobgp ARGS` against this instance and returns stdout.
    pub fn gobgp(&self, args: &[&str]) -> Result<String> {
        let mut argv = vec!["gobgp", "-u", "127.0.0.1", "-p", "50051"];
        argv.extend_from_slice(args);
        self.host.run(&argv)
    }

    /// The session state of neighbor `address` as gobgp names it (e.g. `established`).
    pub fn neighbor_state(&self, address: &str) -> Result<String> {
        let text = self.gobgp(&["neighbor", address, "-j"])?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| crate::LabError::Invalid(format!("gobgp neighbor -j: {e}")))?;
        let state = &v["state"]["session_state"];
        Ok(match state {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(6) => "established".to_string(),
                Some(n) => format!("state-{n}"),
                None => n.to_string(),
            },
            serde_json::Value::String(s) => s.to_lowercase(),
            other => other.to_string(),
        })
    }

    /// Waits until neighbor `address` is established.
    pub fn wait_established(&self, address: &str, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("gobgp neighbor {address} to be established"),
            timeout,
            || Ok(self.neighbor_state(address)?.contains("establish")),
        )
    }

    /// Announces a prefix from gobgp's global RIB (`gobgp global rib add PREFIX [-a ipv6]`).
    pub fn announce(&self, prefix: &str) -> Result<()> {
        let mut args = vec!["global", "rib", "add", prefix];
        if prefix.contains(':') {
            args.extend_from_slice(&["-a", "ipv6"]);
        }
        self.gobgp(&args).map(drop)
    }

    /// The routes gobgp holds in its global RIB (`gobgp global rib -j`), as JSON.
    pub fn rib(&self, ipv6: bool) -> Result<serde_json::Value> {
        let mut args = vec!["global", "rib", "-j"];
        if ipv6 {
            args.extend_from_slice(&["-a", "ipv6"]);
        }
        let text = self.gobgp(&args)?;
        serde_json::from_str(&text)
            .map_err(|e| crate::LabError::Invalid(format!("gobgp rib -j: {e}")))
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Restarts gobgpd with the same config.
    pub fn restart(&mut self) -> Result<()> {
        self.lab.stop(self.pid, Duration::from_secs(5))?;
        self.launch()
    }
}
