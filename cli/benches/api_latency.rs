//! How long vgwctl's calls take over a real private dbus-daemon, and how long rendering a big
//! IPVS table takes. Run: `cargo bench -p vgwctl --bench api_latency`.
//!
//! Measures (mean and max of N calls, one client connection, debug or release as built):
//! - `Status()` round trip,
//! - `ListIpvs()` with 1,000 services x 10 destinations (11,000 rows) including decoding,
//! - rendering that table in the `ipvsadm -Ln` layout (the vgwctl binary's code path is
//!   measured end to end by timing the binary itself).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vgw_api::{IpvsDest, IpvsService, Vgwd1Proxy};
use vgwd::dbus::memory::MemoryBackend;
use vgwd::dbus::private_bus::PrivateBus;
use vgwd::dbus::sample::sample_state;
use vgwd::dbus::{serve, AccessPolicy, BusAddress};

fn big_state() -> vgwd::dbus::memory::MemoryState {
    let mut state = sample_state();
    let mut services = Vec::new();
    for s in 0..1_000u32 {
        let dests = (0..10u32)
            .map(|d| IpvsDest {
                address: format!("10.{}.{}.{}", 1 + s / 250, s % 250, 1 + d),
                port: 8080,
                forward: "Masq".into(),
                weight: 100,
                u_threshold: 0,
                l_threshold: 0,
                active_conns: 1_000 + d,
                inactive_conns: 20_000 + d,
                persist_conns: 0,
                stats: Default::default(),
                rates: Default::default(),
            })
            .collect();
        services.push(IpvsService {
            family: "inet".into(),
            protocol: "tcp".into(),
            address: format!("192.0.{}.{}", 2 + s / 250, s % 250),
            port: 80,
            fwmark: 0,
            scheduler: "wrr".into(),
            sched_flags: vec![],
            persistent_secs: 0,
            netmask: "255.255.255.255".into(),
            pe_name: String::new(),
            one_packet: false,
            local_addresses: vec![],
            stats: Default::default(),
            rates: Default::default(),
            dests,
        });
    }
    if let Some(t) = state.ipvs.as_mut() {
        t.services = services;
    }
    state
}

fn report(name: &str, samples: &[Duration]) {
    let n = u32::try_from(samples.len()).unwrap_or(1).max(1);
    let total: Duration = samples.iter().sum();
    let max = samples.iter().max().copied().unwrap_or_default();
    println!(
        "{name:<44} n={n:<5} mean={:>10.3?} max={:>10.3?}",
        total / n,
        max
    );
}

fn main() {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vgwd/dist/org.vgw.Vgwd1.conf");
    let bus = match PrivateBus::start(&[policy.as_path()]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot start dbus-daemon: {e}");
            std::process::exit(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (backend, _events) = MemoryBackend::new(big_state());
    let address = BusAddress::Address(bus.address().to_owned());
    let result: Result<zbus::Connection, String> = rt.block_on(async {
        let server = serve(&address, Arc::new(backend), AccessPolicy::default())
            .await
            .map_err(|e| e.to_string())?;
        let conn = zbus::connection::Builder::address(bus.address())
            .map_err(|e| e.to_string())?
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let proxy = Vgwd1Proxy::new(&conn).await.map_err(|e| e.to_string())?;
        let mut samples = Vec::new();
        for _ in 0..500 {
            let t = Instant::now();
            proxy.status().await.map_err(|e| e.to_string())?;
            samples.push(t.elapsed());
        }
        report("Status() round trip", &samples);
        let mut samples = Vec::new();
        let mut rows = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let table = proxy.list_ipvs().await.map_err(|e| e.to_string())?;
            samples.push(t.elapsed());
            rows = table
                .services
                .iter()
                .map(|s| 1 + s.dests.len())
                .sum::<usize>();
        }
        report(&format!("ListIpvs() round trip, {rows} rows"), &samples);
        Ok(server)
    });
    // The server keeps serving (on the runtime's workers) while the processes below run.
    let _server = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    };
    let vgwctl = Some(Path::new(env!("CARGO_BIN_EXE_vgwctl")).to_path_buf());
    if let Some(vgwctl) = vgwctl {
        for (name, args) in [
            ("vgwctl status (process, end to end)", &["status"][..]),
            (
                "vgwctl ipvs list (process, 11,000 rows)",
                &["ipvs", "list", "-n"],
            ),
        ] {
            let mut samples = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let ok = Command::new(&vgwctl)
                    .args(["--bus", bus.address()])
                    .args(args)
                    .output()
                    .is_ok_and(|o| o.status.success());
                samples.push(t.elapsed());
                if !ok {
                    eprintln!("{} failed", vgwctl.display());
                    std::process::exit(1);
                }
            }
            report(name, &samples);
        }
    }
}
