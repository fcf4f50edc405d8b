//! FRR (`zebra` plus `bgpd`, `ospfd`, `bfdd`, ... started by hand in one namespace).
//!
//! The daemons start with empty configs and private vty/zserv sockets; the test's config is then
//! applied with `vtysh -f`, exactly as an operator would paste it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::{IoContext, LabError, Result};
use crate::ns::{Host, Lab};
use crate::util::{self, require_tool, wait_until};

const FRR_DIR: &str = "/usr/lib/frr";

/// A running set of FRR daemons in one host.
pub struct Frr {
    lab: Lab,
    host: Host,
    dir: PathBuf,
    daemons: Vec<String>,
    config: String,
    pids: Vec<u32>,
}

impl Frr {
    /// Starts zebra and `daemons` (e.g. `["bgpd"]`, `["ospfd"]`) in `host` and applies `config`
    /// (vtysh syntax, as in an integrated `frr.conf`).
    pub fn start(lab: &Lab, host: &Host, daemons: &[&str], config: &str) -> Result<Frr> {
        require_tool("vtysh", "frr")?;
        let dir = lab.dir().join(format!("frr-{}", host.name()));
        std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        // The daemons run as user frr and write their sockets and pid files here.
        for (path, mode) in [(lab.dir(), 0o755), (dir.as_path(), 0o777)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .ctx(|| format!("cannot chmod {}", path.display()))?;
        }
        let mut f = Frr {
            lab: lab.clone(),
            host: host.clone(),
            dir,
            daemons: daemons.iter().map(|d| d.to_string()).collect(),
            config: config.to_string(),
            pids: Vec::new(),
        };
        f.launch()?;
        Ok(f)
    }

    fn launch(&mut self) -> Result<()> {
        let zserv = self.dir.join("zserv.api");
        let empty = self.dir.join("empty.conf");
        std::fs::write(&empty, "").ctx(|| format!("cannot write {}", empty.display()))?;
        let mut all = vec!["zebra".to_string()];
        all.extend(self.daemons.iter().filter(|d| *d != "zebra").cloned());
        for daemon in &all {
            // A killed daemon leaves its socket behind; waiting for it must see the new one.
            let _ = std::fs::remove_file(self.dir.join(format!("{daemon}.vty")));
            let bin = PathBuf::from(FRR_DIR).join(daemon);
            if !bin.is_file() {
                return Err(LabError::MissingTool {
                    tool: bin.display().to_string(),
                    package: "frr".into(),
                });
            }
            let mut cmd = Command::new(&bin);
            cmd.arg("-f")
                .arg(&empty)
                .arg("-i")
                .arg(self.dir.join(format!("{daemon}.pid")))
                .arg("-z")
                .arg(&zserv)
                .arg("--vty_socket")
                .arg(&self.dir)
                // FRR insists on its vty group; its packaged user has it.
                .args(["-u", "frr", "-g", "frr", "-P", "0", "--log", "stdout"]);
            let spawned = self.lab.spawn(&self.host, &cmd)?;
            self.pids.push(spawned.pid);
            let vty = self.dir.join(format!("{daemon}.vty"));
            wait_until(
                &format!(
                    "FRR {daemon} in {} to open its vty (log: {})",
                    self.host.name(),
                    spawned.log.display()
                ),
                Duration::from_secs(10),
                || Ok(vty.exists()),
            )?;
        }
        let conf = self.dir.join("frr.conf");
        std::fs::write(&conf, &self.config).ctx(|| format!("cannot write {}", conf.display()))?;
        util::run(
            Command::new("vtysh")
                .arg("--vty_socket")
                .arg(&self.dir)
                .arg("-f")
                .arg(&conf),
        )?;
        Ok(())
    }

    /// Runs one vtysh command (e.g. `show bgp summary json`) and returns its output.
    pub fn vtysh(&self, command: &str) -> Result<String> {
        util::run(
            Command::new("vtysh")
                .arg("--vty_socket")
                .arg(&self.dir)
                .args(["-c", command]),
        )
    }

    /// Runs a vtysh command that prints JSON and parses it.
    pub fn vtysh_json(&self, command: &str) -> Result<serde_json::Value> {
        let text = self.vtysh(command)?;
        serde_json::from_str(&text)
            .map_err(|e| LabError::Invalid(format!("`{command}`: {e}: {text}")))
    }

    /// Whether bgpd's session with `peer` is Established.
    pub fn bgp_established(&self, peer: &str) -> Result<bool> {
        let v = self.vtysh_json(&format!("show bgp neighbors {peer} json"))?;
        Ok(v[peer]["bgpState"] == "Established")
    }

    /// Waits until bgpd's session with `peer` is Established.
    pub fn wait_bgp_established(&self, peer: &str, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("FRR bgp neighbor {peer} to be Established"),
            timeout,
            || self.bgp_established(peer),
        )
    }

    /// Stops all daemons and starts them again with the same config.
    pub fn restart(&mut self) -> Result<()> {
        for pid in self.pids.drain(..).rev() {
            self.lab.stop(pid, Duration::from_secs(5))?;
        }
        self.launch()
    }

    /// The daemons' pids (zebra first).
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }
}
