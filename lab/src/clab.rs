//! Containerlab topology files (`*.clab.yml`) deployed as network namespaces.
//!
//! The same file drives `containerlab deploy` where Docker exists and `vgw-lab up` where it does
//! not. The runner reads the parts that shape the network — `name`, `topology.nodes` (kind,
//! image, `exec` commands run after the links exist) and `topology.links` (`endpoints:
//! ["a:eth1", "b:eth1"]`) — and keeps the rest (images, binds) for containerlab itself.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{IoContext, LabError, Result};
use crate::ns::{Host, Lab};

/// A parsed topology file.
#[derive(Debug, Clone, Deserialize)]
pub struct Topology {
    pub name: String,
    pub topology: TopologyBody,
    /// The directory bind sources are relative to (the file's; the current one for text).
    #[serde(skip)]
    pub base: std::path::PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TopologyBody {
    #[serde(default)]
    pub kinds: BTreeMap<String, NodeDefaults>,
    pub nodes: BTreeMap<String, Node>,
    #[serde(default)]
    pub links: Vec<Link>,
}

/// Per-kind defaults (containerlab's `topology.kinds`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeDefaults {
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub exec: Vec<String>,
}

/// One node. Fields containerlab knows but a namespace lab cannot use are accepted and ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    pub kind: String,
    #[serde(default)]
    pub image: Option<String>,
    /// Commands run inside the node once its links are up.
    #[serde(default)]
    pub exec: Vec<String>,
    #[serde(default)]
    pub binds: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub cmd: Option<String>,
    #[serde(rename = "startup-config", default)]
    pub startup_config: Option<String>,
}

/// A point-to-point link.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub endpoints: [String; 2],
}

impl Topology {
    /// Reads and checks a topology file.
    pub fn load(path: &Path) -> Result<Topology> {
        let text =
            std::fs::read_to_string(path).ctx(|| format!("cannot read {}", path.display()))?;
        let mut topo = Self::parse(&text)
            .map_err(|e| LabError::Invalid(format!("{}: {e}", path.display())))?;
        topo.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(topo)
    }

    /// Parses and checks topology text.
    pub fn parse(text: &str) -> std::result::Result<Topology, String> {
        let topo: Topology = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        topo.check()?;
        Ok(topo)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.topology.nodes.is_empty() {
            return Err("topology.nodes is empty".into());
        }
        let mut used = std::collections::BTreeSet::new();
        for (i, link) in self.topology.links.iter().enumerate() {
            for ep in &link.endpoints {
                let (node, ifname) = split_endpoint(ep)
                    .ok_or_else(|| format!("links[{i}]: endpoint {ep:?} is not NODE:IFNAME"))?;
                if !self.topology.nodes.contains_key(node) {
                    return Err(format!(
                        "links[{i}]: node {node:?} is not in topology.nodes"
                    ));
                }
                if ifname.is_empty() || ifname.len() > 15 {
                    return Err(format!(
                        "links[{i}]: interface {ifname:?} must be 1 to 15 characters"
                    ));
                }
                if !used.insert(ep.clone()) {
                    return Err(format!("links[{i}]: endpoint {ep:?} is used twice"));
                }
            }
        }
        Ok(())
    }

    /// The exec commands of a node, kind defaults first.
    pub fn exec_of(&self, node: &str) -> Vec<String> {
        let Some(n) = self.topology.nodes.get(node) else {
            return Vec::new();
        };
        let mut v = self
            .topology
            .kinds
            .get(&n.kind)
            .map(|k| k.exec.clone())
            .unwrap_or_default();
        v.extend(n.exec.iter().cloned());
        v
    }

    /// Builds the topology in `lab`: a host per node, a veth pair per link, the bridge of every
    /// `kind: bridge` node with its links enslaved, each node's `exec` commands (run with
    /// `sh -c`, to completion), and last each node's `cmd` as its long-running process.
    /// Returns the hosts by node name.
    ///
    /// A `bridge` node is an L2 segment (containerlab makes it a bridge on the host; here it is
    /// a bridge `br0` in the node's own namespace, which switches frames the same way).
    pub fn deploy(&self, lab: &Lab) -> Result<BTreeMap<String, Host>> {
        let mut hosts = BTreeMap::new();
        for (name, node) in &self.topology.nodes {
            let host = lab.host(name)?;
            if node.kind == "bridge" {
                host.ip(&["link", "add", "br0", "type", "bridge"])?;
                host.ip(&["link", "set", "br0", "up"])?;
            }
            hosts.insert(name.clone(), host);
        }
        for link in &self.topology.links {
            let [a, b] = &link.endpoints;
            let (an, ai) =
                split_endpoint(a).ok_or_else(|| LabError::Invalid(format!("bad endpoint {a}")))?;
            let (bn, bi) =
                split_endpoint(b).ok_or_else(|| LabError::Invalid(format!("bad endpoint {b}")))?;
            let ha = hosts
                .get(an)
                .ok_or_else(|| LabError::Invalid(format!("unknown node {an}")))?;
            let hb = hosts
                .get(bn)
                .ok_or_else(|| LabError::Invalid(format!("unknown node {bn}")))?;
            lab.link((ha, ai), (hb, bi))?;
            for (node, host, ifname) in [(an, ha, ai), (bn, hb, bi)] {
                if self
                    .topology
                    .nodes
                    .get(node)
                    .is_some_and(|n| n.kind == "bridge")
                {
                    host.ip(&["link", "set", ifname, "master", "br0"])?;
                }
            }
        }
        let mut binds: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        for (name, node) in &self.topology.nodes {
            if let Some(host) = hosts.get(name) {
                for bind in &node.binds {
                    binds
                        .entry(name)
                        .or_default()
                        .push(apply_bind(lab, host, &self.base, bind)?);
                }
            }
        }
        let no_binds = Vec::new();
        for (name, host) in &hosts {
            let node_binds = binds.get(name.as_str()).unwrap_or(&no_binds);
            for line in self.exec_of(name) {
                let line = rebind(&line, node_binds);
                let out = host.exec(&["sh", "-c", &line])?;
                if !out.status.success() {
                    return Err(LabError::Invalid(format!(
                        "node {name}: exec `{line}` failed ({}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
            }
        }
        for (name, node) in &self.topology.nodes {
            if let (Some(cmd), Some(host)) = (&node.cmd, hosts.get(name)) {
                let cmd = rebind(cmd, binds.get(name.as_str()).unwrap_or(&no_binds));
                let mut c = std::process::Command::new("sh");
                c.args(["-c", &cmd]).envs(&node.env);
                lab.spawn(host, &c)?;
            }
        }
        Ok(hosts)
    }
}

/// A containerlab bind `SRC:DST[:ro]`: the file SRC (relative to the topology file) is copied into the lab directory, and DST is returned with
/// the copy's path, so that the node's `exec` and `cmd` lines can name it. (Containers see the
/// file at DST; a namespace shares the host's filesystem, which is read-only inside the VM.)
fn apply_bind(lab: &Lab, host: &Host, base: &Path, bind: &str) -> Result<(String, String)> {
    let mut parts = bind.split(':');
    let (Some(src), Some(dst)) = (parts.next(), parts.next()) else {
        return Err(LabError::Invalid(format!("bind {bind:?} is not SRC:DST")));
    };
    if !dst.starts_with('/') {
        return Err(LabError::Invalid(format!(
            "bind {bind:?}: DST must be an absolute path"
        )));
    }
    let target = lab
        .dir()
        .join("binds")
        .join(host.name())
        .join(dst.trim_start_matches('/'));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).ctx(|| format!("cannot create {}", parent.display()))?;
    }
    let src = base.join(src);
    std::fs::copy(&src, &target).ctx(|| {
        format!(
            "bind {bind}: cannot copy {} to {}",
            src.display(),
            target.display()
        )
    })?;
    Ok((dst.to_string(), target.to_string_lossy().into_owned()))
}

/// Replaces bound paths in a command line by their copies.
fn rebind(line: &str, binds: &[(String, String)]) -> String {
    binds.iter().fold(line.to_string(), |l, (dst, copy)| {
        l.replace(dst.as_str(), copy)
    })
}

fn split_endpoint(ep: &str) -> Option<(&str, &str)> {
    ep.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
name: t
topology:
  kinds:
    linux:
      image: debian:bookworm
  nodes:
    sw1: { kind: linux, image: frrouting/frr:v8.4.1 }
    lvs1:
      kind: linux
      exec: ["ip addr add 10.0.0.11/24 dev eth1"]
  links:
    - endpoints: ["sw1:eth1", "lvs1:eth1"]
"#;

    #[test]
    fn parses_containerlab_fields() {
        let t = Topology::parse(SAMPLE).unwrap();
        assert_eq!(t.name, "t");
        assert_eq!(t.topology.nodes.len(), 2);
        assert_eq!(t.topology.links[0].endpoints[1], "lvs1:eth1");
        assert_eq!(t.exec_of("lvs1"), ["ip addr add 10.0.0.11/24 dev eth1"]);
        assert_eq!(
            t.topology.nodes["sw1"].image.as_deref(),
            Some("frrouting/frr:v8.4.1")
        );
    }

    #[test]
    fn bridge_nodes_parse() {
        let t = Topology::parse(
            "name: b\ntopology:\n  nodes:\n    seg: { kind: bridge }\n    a: { kind: linux, cmd: sleep 1 }\n  links:\n    - endpoints: [\"seg:p1\", \"a:eth1\"]\n",
        )
        .unwrap();
        assert_eq!(t.topology.nodes["seg"].kind, "bridge");
        assert_eq!(t.topology.nodes["a"].cmd.as_deref(), Some("sleep 1"));
    }

    #[test]
    fn rejects_links_to_unknown_nodes_and_reused_endpoints() {
        let bad = SAMPLE.replace("lvs1:eth1\"]", "lvs9:eth1\"]");
        assert!(Topology::parse(&bad).unwrap_err().contains("lvs9"));
        let twice = format!("{SAMPLE}    - endpoints: [\"sw1:eth1\", \"lvs1:eth2\"]\n");
        assert!(Topology::parse(&twice).unwrap_err().contains("used twice"));
        let long = SAMPLE.replace("sw1:eth1", "sw1:averyveryverylongname");
        assert!(Topology::parse(&long)
            .unwrap_err()
            .contains("15 characters"));
    }
}
