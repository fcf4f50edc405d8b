//! Withdrawal latency at a real peer: time from `Instance::withdraw()` to the VIP leaving
//! FRR's kernel FIB, versus BIRD withdrawing the same route (its static protocol disabled, and
//! its OSPF protocol disabled) on the same topology; time to Full adjacency from start, and
//! from `ip link set eth1 up` after the LVS node's link was down.
//!
//! `cargo bench -p vgw-ospf --bench withdraw` (root; FRR and BIRD 2 installed).
//! FIB removal is observed with `ip monitor route` inside the switch namespace, not by polling.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vgw_lab::peers::{Bird, Frr};
use vgw_lab::{wait_until, Host, Lab};
use vgw_ospf::neighbor::NbrState;
use vgw_ospf::packet::AuthKey;
use vgw_ospf::NetworkType;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{vgw_config, vip, Vgw};

const ROUNDS: usize = 10;
const FLAPS: usize = 5;

const FRR_CONF: &str = "interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n ip ospf network point-to-point\nexit\nrouter ospf\n ospf router-id 10.0.0.1\n network 10.0.0.0/24 area 0\nexit\n";

const BIRD_CONF: &str = "router id 10.0.0.2;\nprotocol device { scan time 1; }\nprotocol static s1 { ipv4; route 192.0.2.10/32 blackhole; }\nprotocol ospf v2 o1 {\n  ipv4 { import none; export where source = RTS_STATIC; };\n  area 0 { interface \"eth1\" { type ptp; hello 1; dead 4; }; };\n}\n";

/// Watches route deletions of the VIP in a host with `ip monitor route`.
struct Monitor {
    rx: mpsc::Receiver<Instant>,
    child: std::process::Child,
}

impl Monitor {
    fn start(host: &Host) -> Monitor {
        let mut child = host
            .command("ip")
            .args(["monitor", "route"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("ip monitor");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.starts_with("Deleted") && line.contains("192.0.2.10") {
                    let _ = tx.send(Instant::now());
                }
            }
        });
        Monitor { rx, child }
    }

    fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    fn deleted_after(&self, t0: Instant) -> Duration {
        let at = self
            .rx
            .recv_timeout(Duration::from_secs(15))
            .expect("route deletion seen");
        at.saturating_duration_since(t0)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_vip(sw: &Host) -> bool {
    sw.route("192.0.2.10/32").ok().flatten().is_some()
}

fn topo(name: &str) -> (Lab, Host, Host) {
    let lab = Lab::new(name).expect("lab (needs root)");
    let sw = lab.host("sw").expect("host");
    let lvs = lab.host("lvs").expect("host");
    lab.link((&sw, "eth1"), (&lvs, "eth1")).expect("link");
    sw.add_addr("eth1", "10.0.0.1/24").expect("addr");
    lvs.add_addr("eth1", "10.0.0.2/24").expect("addr");
    (lab, sw, lvs)
}

fn summary(name: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<3} min {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms",
        v.len(),
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1])
    );
}

/// Takes the LVS node's link down and up `FLAPS` times; returns the times from `ip link set
/// up` to `full()` (both sides Full).
fn flaps_to_full(lvs: &Host, full: impl Fn() -> vgw_lab::Result<bool>) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..FLAPS {
        lvs.ip(&["link", "set", "eth1", "down"]).expect("link down");
        wait_until("adjacency gone", Duration::from_secs(10), || Ok(!full()?))
            .expect("adjacency gone");
        let t = Instant::now();
        lvs.ip(&["link", "set", "eth1", "up"]).expect("link up");
        wait_until("Full after link up", Duration::from_secs(30), &full).expect("Full");
        times.push(t.elapsed());
    }
    times
}

fn bench_vgw() {
    let (lab, sw, lvs) = topo("ospf-bench-vgw");
    let frr = Frr::start(&lab, &sw, &["ospfd"], FRR_CONF).expect("frr");
    let t0 = Instant::now();
    let v = Vgw::start(
        &lvs,
        vgw_config(
            Ipv4Addr::new(10, 0, 0, 2),
            NetworkType::PointToPoint,
            1,
            AuthKey::Null,
        ),
    );
    wait_until("Full", Duration::from_secs(30), || {
        Ok(
            v.nbr_state(Ipv4Addr::new(10, 0, 0, 1)) == Some(NbrState::Full)
                && frr.vtysh("show ip ospf neighbor")?.contains("Full/"),
        )
    })
    .expect("Full");
    let full = t0.elapsed();
    let mon = Monitor::start(&sw);
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        v.rt.block_on(v.inst.announce(vip(), 20)).expect("announce");
        wait_until("VIP installed", Duration::from_secs(15), || {
            Ok(has_vip(&sw))
        })
        .expect("route");
        // Past MinLSArrival since the announcement, as in production.
        std::thread::sleep(Duration::from_millis(1100));
        mon.drain();
        let t = Instant::now();
        v.rt.block_on(v.inst.withdraw(vip())).expect("withdraw");
        times.push(mon.deleted_after(t));
    }
    summary("vgw withdraw() -> FRR kernel FIB", &mut times);
    summary("vgw time to Full with FRR (ptp, hello 1s)", &mut [full]);
    let mut flaps = flaps_to_full(&lvs, || {
        Ok(
            v.nbr_state(Ipv4Addr::new(10, 0, 0, 1)) == Some(NbrState::Full)
                && frr.vtysh("show ip ospf neighbor")?.contains("Full/"),
        )
    });
    summary("vgw link up -> Full with FRR", &mut flaps);
}

fn bench_bird(what: &str) {
    let (lab, sw, lvs) = topo(&format!("ospf-bench-bird-{what}"));
    let frr = Frr::start(&lab, &sw, &["ospfd"], FRR_CONF).expect("frr");
    let t0 = Instant::now();
    let bird = Bird::start(&lab, &lvs, BIRD_CONF).expect("bird");
    let full = || {
        frr.vtysh("show ip ospf neighbor")
            .map(|s| s.contains("Full/"))
    };
    wait_until("Full", Duration::from_secs(30), full).expect("Full");
    let full_at = t0.elapsed();
    let mon = Monitor::start(&sw);
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        bird.birdc(&format!("enable {what}")).expect("enable");
        wait_until("VIP installed", Duration::from_secs(30), || {
            Ok(has_vip(&sw))
        })
        .expect("route");
        std::thread::sleep(Duration::from_millis(1100));
        mon.drain();
        let t = Instant::now();
        bird.birdc(&format!("disable {what}")).expect("disable");
        times.push(mon.deleted_after(t));
    }
    summary(
        &format!("BIRD `disable {what}` -> FRR kernel FIB"),
        &mut times,
    );
    if what == "s1" {
        summary("BIRD time to Full with FRR (ptp, hello 1s)", &mut [full_at]);
        let mut flaps = flaps_to_full(&lvs, || {
            Ok(frr.vtysh("show ip ospf neighbor")?.contains("Full/")
                && bird.birdc("show ospf neighbors o1")?.contains("Full/"))
        });
        summary("BIRD link up -> Full with FRR", &mut flaps);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    bench_vgw();
    bench_bird("s1");
    bench_bird("o1");
}
