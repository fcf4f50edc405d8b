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

/// `vgw-lab up --vm FILE -- CMD`: the lab is deployed inside the VM (real IPVS), CMD sees it
/// through `vgw-lab exec`, and everything goes with the VM.
#[test]
fn up_in_the_vm_runs_a_command_with_the_lab_up() {
    let bin = env!("CARGO_BIN_EXE_vgw-lab");
    let file = topologies().join("ospf-ecmp.clab.yml");
    let out = std::process::Command::new(bin)
        .args(["up", "--vm"])
        .arg(&file)
        .args([
            "--",
            "sh",
            "-c",
            "ipvsadm -Ln && vgw-lab exec real1 -- ip -o -4 addr show dev eth1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("IP Virtual Server version"), "{stdout}");
    assert!(stdout.contains("inet 10.0.0.21/24"), "{stdout}");
    // Without a command the VM would have nothing to keep it up: a usage error that says so.
    let out = std::process::Command::new(bin)
        .args(["up", "--vm"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give one after --"));
}
