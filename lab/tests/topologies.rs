//! The shipped containerlab files parse, and deploy as namespaces where every real server
//! answers the client through the switch (the L2/L3 plumbing the demo stands on).

use std::path::PathBuf;
use std::time::Duration;

use vgw_lab::clab::Topology;
use vgw_lab::{wait_until, Lab};

fn topologies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies")
}

#[test]
fn every_topology_file_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(topologies()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".clab.yml") {
            let t = Topology::load(&path).unwrap();
            assert!(
                t.topology.nodes.contains_key("client"),
                "{}",
                path.display()
            );
            assert!(t
                .topology
                .nodes
                .values()
                .any(|n| n.kind == "linux" && n.image.is_none()));
            n += 1;
        }
    }
    assert!(n >= 3, "topologies (a), (b) and (c) are shipped");
}

fn client_reaches_every_real(file: &str) {
    let topo = Topology::load(&topologies().join(file)).unwrap();
    let lab = Lab::new(&topo.name).unwrap();
    let hosts = topo.deploy(&lab).unwrap();
    let client = &hosts["client"];
    for (real, addr) in [
        ("real1", "10.0.0.21"),
        ("real2", "10.0.0.22"),
        ("real3", "10.0.0.23"),
    ] {
        wait_until(
            &format!("{real} to answer the client"),
            Duration::from_secs(30),
            || {
                let out = client.exec(&["curl", "-s", "-m", "2", &format!("http://{addr}/")])?;
                Ok(String::from_utf8_lossy(&out.stdout).trim() == real)
            },
        )
        .unwrap();
    }
}

#[test]
fn bgp_topology_deploys_and_reals_answer() {
    client_reaches_every_real("bgp-ecmp.clab.yml");
}

#[test]
fn ospf_topology_deploys_and_reals_answer() {
    client_reaches_every_real("ospf-ecmp.clab.yml");
}
