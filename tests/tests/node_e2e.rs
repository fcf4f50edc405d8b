//! One LVS node end to end, inside the lab VM (real IPVS): a BIRD switch, vgwd, three real
//! servers behind it with direct routing, and a client (issue 6's acceptance).
//!
//! ```text
//!  client ── sw (BIRD, AS 65000) ── fabric (bridge) ── lvs1 (vgwd, AS 65011, IPVS DR)
//!  172.16.0.2   172.16.0.1 / 10.0.0.1        │          10.0.0.11, VIP 192.0.2.10 on vgw0
//!                                            ├── real1..real4 10.0.0.21-24 (VIP on lo)
//! ```

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use vgw_lab::peers::Bird;
use vgw_lab::{wait_until, Host, Lab};
use vgw_tests::{start_private_bus, start_real_http, workspace_bin};

const VIP: &str = "192.0.2.10";
const VIP32: &str = "192.0.2.10/32";
/// Generous: the VM runs under software emulation, on a machine shared with the build.
const T: Duration = Duration::from_secs(120);
/// fall × interval + 1 s, the bound issue 6 sets for a failed real to reach weight 0.
const FAIL_BOUND: Duration = Duration::from_secs(3);

fn vgwd_config(reals: &[&str], bus: &str) -> String {
    let mut c = format!(
        r#"[node]
name = "lvs1"
router_id = "10.0.0.11"
vip_interface = "vgw0"
dataplane = "ipvs"

[api]
dbus = "{bus}"

[bgp]
asn = 65011
hold_time = 9
graceful_restart = 120

[[bgp.neighbor]]
name = "sw"
address = "10.0.0.1"
remote_asn = 65000

[sync]
interface = "eth1"
sync_id = 7
ttl = 2

[[vip]]
address = "{VIP}"
announce = ["bgp"]
communities = ["65000:100"]

[[service]]
name = "web"
vip = "{VIP}"
port = 80
protocol = "tcp"
scheduler = "wrr"
forward = "dr"
quorum = 1

[service.check]
type = "http"
path = "/"
expect_status = [200]
interval = "1s"
timeout = "500ms"
rise = 2
fall = 2
"#
    );
    for r in reals {
        c.push_str(&format!(
            "\n[[service.real]]\naddress = \"{r}\"\nport = 80\nweight = 100\n"
        ));
    }
    c
}

/// `ipvsadm -Ln` of the node, and the weight of each real of the VIP's service.
fn weights(lvs: &Host) -> vgw_lab::Result<Vec<(String, u32)>> {
    let text = lvs.run(&["ipvsadm", "-Ln"])?;
    Ok(text
        .lines()
        .filter(|l| l.trim_start().starts_with("->") && !l.contains("RemoteAddress"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(1)?.to_string(), f.get(3)?.parse().ok()?))
        })
        .collect())
}

fn weight_of(lvs: &Host, real: &str) -> vgw_lab::Result<Option<u32>> {
    Ok(weights(lvs)?
        .into_iter()
        .find(|(a, _)| a == &format!("{real}:80"))
        .map(|(_, w)| w))
}

fn curl_vip(client: &Host) -> Option<String> {
    let out = client
        .exec(&["curl", "-s", "-m", "2", &format!("http://{VIP}/")])
        .ok()?;
    let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !body.is_empty()).then_some(body)
}

fn vip_route(sw: &Host) -> bool {
    sw.route(VIP32)
        .is_ok_and(|r| r.is_some_and(|r| r.gateways() == ["10.0.0.11"]))
}

fn vip_on_interface(lvs: &Host) -> bool {
    lvs.run(&["ip", "-o", "addr", "show"])
        .is_ok_and(|t| t.contains(&format!("{VIP}/32")))
}

struct Node {
    lab: Lab,
    host: Host,
    conf: std::path::PathBuf,
    bus: String,
    pid: u32,
    logs: Vec<std::path::PathBuf>,
}

/// On failure, show what vgwd said (the VM's files are gone once it powers off).
impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for log in &self.logs {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                eprintln!("---- {} (last 60 lines)", log.display());
                for l in tail.into_iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}

impl Node {
    fn start(&mut self) {
        let mut cmd = Command::new(workspace_bin("vgwd"));
        cmd.arg("--config")
            .arg(&self.conf)
            .arg("--bus")
            .arg(&self.bus)
            .env("RUST_LOG", "info");
        let spawned = self.lab.spawn(&self.host, &cmd).unwrap();
        eprintln!("vgwd pid {} log {}", spawned.pid, spawned.log.display());
        self.pid = spawned.pid;
        self.logs.push(spawned.log);
    }
}

#[test]
fn one_node_end_to_end() {
    if let Some(outcome) = vgw_lab::vm::reexec_test("one_node_end_to_end").unwrap() {
        assert_eq!(
            outcome.status, 0,
            "the end-to-end test failed inside the VM (output above)"
        );
        return;
    }
    let lab = Lab::new("e2e").unwrap();
    let sw = lab.host("sw").unwrap();
    let client = lab.host("client").unwrap();
    let fabric = lab.host("fabric").unwrap();
    let lvs = lab.host("lvs1").unwrap();
    fabric
        .ip(&["link", "add", "br0", "type", "bridge"])
        .unwrap();
    fabric.ip(&["link", "set", "br0", "up"]).unwrap();
    let attach = |h: &Host, port: &str| {
        lab.link((h, "eth1"), (&fabric, port)).unwrap();
        fabric.ip(&["link", "set", port, "master", "br0"]).unwrap();
    };
    lab.link((&client, "eth1"), (&sw, "eth1")).unwrap();
    client.add_addr("eth1", "172.16.0.2/24").unwrap();
    client.add_route("0.0.0.0/0", "172.16.0.1").unwrap();
    sw.add_addr("eth1", "172.16.0.1/24").unwrap();
    lab.link((&sw, "eth2"), (&fabric, "sw")).unwrap();
    fabric.ip(&["link", "set", "sw", "master", "br0"]).unwrap();
    sw.add_addr("eth2", "10.0.0.1/24").unwrap();
    attach(&lvs, "lvs1");
    lvs.add_addr("eth1", "10.0.0.11/24").unwrap();
    lvs.add_route("0.0.0.0/0", "10.0.0.1").unwrap();

    let real_addrs = ["10.0.0.21", "10.0.0.22", "10.0.0.23", "10.0.0.24"];
    let mut reals = Vec::new();
    for (i, addr) in real_addrs.iter().enumerate() {
        let h = lab.host(&format!("real{}", i + 1)).unwrap();
        attach(&h, &format!("real{}", i + 1));
        h.add_addr("eth1", &format!("{addr}/24")).unwrap();
        h.add_route("0.0.0.0/0", "10.0.0.1").unwrap();
        h.add_addr("lo", &format!("{VIP}/32")).unwrap();
        h.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
        h.sysctl("net.ipv4.conf.all.arp_announce", "2").unwrap();
        let pid = start_real_http(&lab, &h).unwrap();
        reals.push((h, pid));
    }

    let bird = Bird::start(
        &lab,
        &sw,
        r#"
router id 10.0.0.1;
protocol device {}
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp lvs1 {
  local 10.0.0.1 as 65000;
  neighbor 10.0.0.11 as 65011;
  hold time 9;
  ipv4 { import all; export none; };
}
"#,
    )
    .unwrap();

    let bus = start_private_bus(&lab, &lvs).unwrap();
    let conf = lab.dir().join("vgw.toml");
    std::fs::write(&conf, vgwd_config(&real_addrs[..3], &bus)).unwrap();
    let mut node = Node {
        lab: lab.clone(),
        host: lvs.clone(),
        conf: conf.clone(),
        bus,
        pid: 0,
        logs: Vec::new(),
    };
    node.start();

    // 1. The session comes up, the VIP is announced, the client reaches the reals.
    bird.wait_established("lvs1", T).unwrap();
    wait_until("the VIP route at the switch", T, || Ok(vip_route(&sw))).unwrap();
    let mut seen = BTreeSet::new();
    wait_until(
        "the client to reach all three reals through the VIP",
        T,
        || {
            if let Some(name) = curl_vip(&client) {
                seen.insert(name);
            }
            Ok(seen.len() == 3)
        },
    )
    .unwrap();
    eprintln!("step 1: VIP announced, client reached {seen:?}");

    // [sync]: both kernel sync daemons run as configured, and SyncStatus reports them.
    let daemons = lvs.run(&["ipvsadm", "-L", "--daemon"]).unwrap();
    assert!(
        daemons.contains("master sync daemon (mcast=eth1, syncid=7,")
            && daemons.contains("backup sync daemon (mcast=eth1, syncid=7,")
            && daemons.matches("ttl=2)").count() == 2,
        "{daemons}"
    );
    let ctl = workspace_bin("vgwctl");
    let out = lvs
        .run(&[
            ctl.to_str().unwrap(),
            "--bus",
            &node.bus,
            "sync",
            "status",
            "-o",
            "json",
        ])
        .unwrap();
    let sync: serde_json::Value = serde_json::from_str(&out).unwrap();
    let roles: Vec<&str> = sync["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["master", "backup"], "{out}");
    assert_eq!(sync["daemons"][0]["ttl"], 2, "{out}");
    eprintln!("step 1: sync daemons master+backup on eth1, syncid 7");

    // 2. One real fails: weight 0 within fall × interval + 1 s.
    let (real2, real2_pid) = &reals[1];
    lab.stop(*real2_pid, Duration::from_secs(2)).unwrap();
    let t0 = Instant::now();
    wait_until(
        "real2's weight to drop to 0",
        Duration::from_secs(20),
        || Ok(weight_of(&lvs, "10.0.0.22")? == Some(0)),
    )
    .unwrap();
    let took = t0.elapsed();
    eprintln!("step 2: real2 at weight 0 after {took:?}");
    assert!(
        took <= FAIL_BOUND,
        "real2 took {took:?} to be quiesced (bound {FAIL_BOUND:?})"
    );
    assert!(
        vip_route(&sw),
        "one failed real of three keeps the VIP announced"
    );

    // 3. All fail: the switch loses the VIP route.
    let (real1, real1_pid) = &reals[0];
    let (real3, real3_pid) = &reals[2];
    lab.stop(*real1_pid, Duration::from_secs(2)).unwrap();
    lab.stop(*real3_pid, Duration::from_secs(2)).unwrap();
    wait_until("the switch to lose the VIP route", T, || {
        Ok(!vip_route(&sw))
    })
    .unwrap();
    let shown = bird.route_all(VIP32).unwrap();
    assert!(!shown.contains(VIP), "BIRD still has the VIP: {shown}");
    eprintln!("step 3: all reals down, VIP withdrawn");

    // 4. They come back: route and weights return.
    for h in [real1, real2, real3] {
        start_real_http(&lab, h).unwrap();
    }
    wait_until("the VIP route to return", T, || Ok(vip_route(&sw))).unwrap();
    wait_until("all weights back at 100", T, || {
        Ok(weights(&lvs)?.iter().filter(|(_, w)| *w == 100).count() == 3)
    })
    .unwrap();
    eprintln!("step 4: reals back, VIP announced, weights 100");

    // 5. SIGHUP with a fourth real: added, the BGP session untouched.
    let since = bird
        .protocols()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "lvs1")
        .unwrap()
        .since;
    std::fs::write(&conf, vgwd_config(&real_addrs, &node.bus)).unwrap();
    kill(Pid::from_raw(node.pid as i32), Signal::SIGHUP).unwrap();
    wait_until("real4 to be added", T, || {
        Ok(weight_of(&lvs, "10.0.0.24")?.is_some())
    })
    .unwrap();
    let after = bird
        .protocols()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "lvs1")
        .unwrap();
    assert_eq!(
        after.since, since,
        "the reload must not reset the BGP session"
    );
    assert!(after.info.starts_with("Established"));
    wait_until("real4 healthy at weight 100", T, || {
        Ok(weight_of(&lvs, "10.0.0.24")? == Some(100))
    })
    .unwrap();
    eprintln!("step 5: SIGHUP added real4, session since {since} untouched");

    // 6. SIGTERM: the route leaves the switch before the VIP leaves the interface.
    let table_before = lvs.run(&["ipvsadm", "-Ln", "--stats"]).unwrap();
    kill(Pid::from_raw(node.pid as i32), Signal::SIGTERM).unwrap();
    let t0 = Instant::now();
    let (mut route_gone, mut addr_gone) = (None, None);
    while t0.elapsed() < T && (route_gone.is_none() || addr_gone.is_none()) {
        if route_gone.is_none() && !vip_route(&sw) {
            route_gone = Some(t0.elapsed());
        }
        if addr_gone.is_none() && !vip_on_interface(&lvs) {
            addr_gone = Some(t0.elapsed());
        }
    }
    let (route_gone, addr_gone) = (route_gone.unwrap(), addr_gone.unwrap());
    eprintln!("step 6: route gone after {route_gone:?}, address gone after {addr_gone:?}");
    assert!(
        route_gone <= addr_gone,
        "withdraw first, then remove the address"
    );
    wait_until("vgwd to exit", T, || Ok(!lab.is_running(node.pid))).unwrap();

    // 7. A restart adopts the kernel's table: entries and counters untouched.
    let table_between = lvs.run(&["ipvsadm", "-Ln", "--stats"]).unwrap();
    assert_eq!(table_between, table_before, "SIGTERM leaves IPVS as it is");
    node.start();
    bird.wait_established("lvs1", T).unwrap();
    wait_until("the VIP route after the restart", T, || Ok(vip_route(&sw))).unwrap();
    let table_after = lvs.run(&["ipvsadm", "-Ln", "--stats"]).unwrap();
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("Conns"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&table_after),
        strip(&table_before),
        "the restart did not touch IPVS"
    );
    assert!(
        curl_vip(&client).is_some(),
        "traffic flows after the restart"
    );
    eprintln!("step 7: restart adopted IPVS untouched");
}
