//! Topology (b) end to end inside the lab VM (real IPVS): FRR ospfd on the switch, two LVS
//! nodes running vgwd with OSPF only, three real servers, one client (issues 6, 8 and 9).
//!
//! Deploys `lab/topologies/ospf-ecmp.clab.yml` with the namespace runner and proves that both
//! nodes reach Full with FRR, the switch installs the VIP with both nodes as ECMP next hops,
//! the client gets answers through the VIP, `vgwctl ospf ...` shows the adjacency and the
//! database, a node drain moves the VIP off the drained node before it is withdrawn, undrain
//! brings it back, and a SIGTERM drains the node (worst metric; within MinLSInterval of the
//! undrain's re-origination, so up to 5 s later) and then flushes every LSA it originated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use vgw_lab::clab::Topology;
use vgw_lab::{wait_until, Host, Lab};
use vgw_tests::{repo_root, workspace_bin};

const VIP32: &str = "192.0.2.10/32";

fn gateways(sw: &Host) -> Vec<String> {
    let mut g = sw
        .route(VIP32)
        .ok()
        .flatten()
        .map(|r| r.gateways())
        .unwrap_or_default();
    g.sort();
    g
}

fn vgwctl(host: &Host, node: &str, args: &[&str]) -> (bool, String) {
    let bus = format!("unix:path=/run/vgw-{node}.bus");
    let ctl = workspace_bin("vgwctl");
    let mut argv = vec![ctl.to_str().unwrap(), "--bus", &bus];
    argv.extend_from_slice(args);
    match host.exec(&argv) {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

fn json(host: &Host, node: &str, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend_from_slice(&["-o", "json"]);
    let (ok, out) = vgwctl(host, node, &a);
    assert!(ok, "vgwctl {args:?} on {node}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("vgwctl {args:?}: {e}: {out}"))
}

/// The vgwd process of a lab node (a process this test started through the runner).
fn vgwd_pid(host: &Host) -> Option<u32> {
    let out = Command::new("ip")
        .args(["netns", "pids", host.netns()])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "vgwd")
        })
}

/// On failure, show what the nodes and the switch said.
struct Diagnose<'a> {
    lab: &'a Lab,
    hosts: &'a BTreeMap<String, Host>,
}

impl Drop for Diagnose<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if let Some(sw) = self.hosts.get("sw1") {
            eprintln!(
                "--- sw1 ip route\n{}",
                sw.run(&["ip", "route"]).unwrap_or_default()
            );
        }
        if let Ok(dir) = std::fs::read_dir(self.lab.dir()) {
            for e in dir.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "log") {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(40).collect();
                    eprintln!("---- {} (last 40 lines)", p.display());
                    for l in tail.into_iter().rev() {
                        eprintln!("{l}");
                    }
                }
            }
        }
    }
}

#[test]
fn ospf_topology_converges_drains_and_flushes() {
    if let Some(outcome) =
        vgw_lab::vm::reexec_test("ospf_topology_converges_drains_and_flushes").unwrap()
    {
        assert_eq!(
            outcome.status, 0,
            "the OSPF topology test failed inside the VM (output above)"
        );
        return;
    }
    // The nodes' `cmd` lines run `vgwd` from PATH.
    let bin: PathBuf = workspace_bin("vgwd").parent().unwrap().to_path_buf();
    workspace_bin("vgwctl");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    std::env::set_var("RUST_LOG", "info");

    let topo = Topology::load(&repo_root().join("lab/topologies/ospf-ecmp.clab.yml")).unwrap();
    let lab = Lab::new(&topo.name).unwrap();
    let hosts = topo.deploy(&lab).unwrap();
    let _diag = Diagnose {
        lab: &lab,
        hosts: &hosts,
    };
    let (sw, client, lvs1, lvs2) = (
        &hosts["sw1"],
        &hosts["client"],
        &hosts["lvs1"],
        &hosts["lvs2"],
    );
    let both = vec!["10.0.0.11".to_string(), "10.0.0.12".to_string()];

    let t0 = Instant::now();
    wait_until(
        "FRR to install the VIP with both LVS nodes as ECMP next hops",
        Duration::from_secs(120),
        || Ok(gateways(sw) == both),
    )
    .unwrap();
    eprintln!("ECMP over both nodes after {:?}", t0.elapsed());

    // The client reaches the reals through the VIP.
    let mut answers = BTreeMap::new();
    for _ in 0..30 {
        let out = client
            .exec(&["curl", "-s", "-m", "2", "http://192.0.2.10/"])
            .unwrap();
        let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
        *answers.entry(body).or_insert(0u32) += 1;
    }
    eprintln!("answers through the VIP: {answers:?}");
    assert!(
        answers.keys().all(|b| b.starts_with("real")),
        "every request answered by a real server: {answers:?}"
    );

    // The operator's view over D-Bus.
    for (host, node) in [(lvs1, "lvs1"), (lvs2, "lvs2")] {
        let nbrs = json(host, node, &["ospf", "neighbors"]);
        let sw1 = nbrs
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["router_id"] == "10.0.0.1")
            .unwrap_or_else(|| panic!("{node}: no neighbour 10.0.0.1 in {nbrs}"));
        assert_eq!(sw1["state"], "Full", "{node}: {sw1}");
        assert_eq!(sw1["role"], "DR", "{node}: FRR has priority 255: {sw1}");
        let ifs = json(host, node, &["ospf", "interfaces"]);
        assert_eq!(ifs[0]["name"], "eth1", "{ifs}");
        assert_eq!(ifs[0]["dr"], "10.0.0.1", "{ifs}");
        let db = json(host, node, &["ospf", "database"]);
        assert!(
            db.as_array()
                .unwrap()
                .iter()
                .any(|l| l["lsa_type"] == "external"
                    && l["ls_id"] == "192.0.2.10"
                    && l["self_originated"] == true),
            "{node}: our VIP LSA in the database: {db}"
        );
        let vips = json(host, node, &["vip", "list"]);
        assert_eq!(vips[0]["announced_via"][0], "ospf", "{vips}");
    }

    // Node drain: lvs1 re-originates the VIP with the worst metric (the switch moves to lvs2
    // at once), then withdraws it when the drain time ends.
    let (ok, out) = vgwctl(lvs1, "lvs1", &["drain", "node"]);
    assert!(ok, "drain node: {out}");
    let t = Instant::now();
    wait_until(
        "the switch to send the VIP to lvs2 only",
        Duration::from_secs(15),
        || Ok(gateways(sw) == ["10.0.0.12"]),
    )
    .unwrap();
    eprintln!(
        "drain of lvs1 effective at the switch after {:?}",
        t.elapsed()
    );
    let (ok, out) = vgwctl(lvs1, "lvs1", &["undrain", "node"]);
    assert!(ok, "undrain node: {out}");
    wait_until(
        "ECMP over both nodes again after undrain",
        Duration::from_secs(30),
        || Ok(gateways(sw) == both),
    )
    .unwrap();

    // SIGTERM: the ordered shutdown drains (the VIP LSA with the worst metric; RFC 2328
    // MinLSInterval holds it until 5 s after the undrain's re-origination), withdraws, and
    // flushes the router-LSA on exit.
    let pid = vgwd_pid(lvs1).expect("vgwd runs on lvs1");
    let t = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_until(
        "the switch to move the VIP off lvs1 after its SIGTERM",
        Duration::from_secs(10),
        || Ok(gateways(sw) == ["10.0.0.12"]),
    )
    .unwrap();
    eprintln!("VIP off lvs1 at the switch {:?} after SIGTERM", t.elapsed());
    wait_until(
        "vgwd on lvs1 to finish its ordered shutdown",
        Duration::from_secs(30),
        || Ok(vgwd_pid(lvs1).is_none()),
    )
    .unwrap();
    eprintln!("vgwd on lvs1 exited {:?} after SIGTERM", t.elapsed());
    wait_until(
        "every LSA of lvs1 to be flushed from the area (seen from lvs2): gone or at MaxAge",
        Duration::from_secs(10),
        || {
            let db = json(lvs2, "lvs2", &["ospf", "database"]);
            let live: Vec<_> = db
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["adv_router"] == "10.0.0.11" && l["age"].as_u64() < Some(3600))
                .collect();
            if !live.is_empty() {
                eprintln!("lvs1's LSAs still live at lvs2: {live:?}");
            }
            Ok(live.is_empty())
        },
    )
    .unwrap();
    eprintln!("lvs1's LSAs flushed {:?} after SIGTERM", t.elapsed());
    assert_eq!(gateways(sw), ["10.0.0.12"]);
    let out = client
        .exec(&["curl", "-s", "-m", "2", "http://192.0.2.10/"])
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("real"),
        "lvs2 still serves the VIP"
    );
}
