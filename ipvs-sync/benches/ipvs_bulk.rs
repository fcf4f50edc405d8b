//! Bulk programming benchmark against a real kernel (run inside the lab VM when this kernel has
//! no IPVS):
//!
//!     CARGO_TARGET_DIR=... cargo bench -p vgw-ipvs --bench ipvs_bulk
//!
//! 1. 1,000 services x 10 reals from an empty table: `ipvsadm -R` versus this crate
//!    (plan against the table read from the kernel, then pipelined apply), same VM, alternating,
//!    median of RUNS.
//! 2. One weight change in that table: plan against the last applied state + apply (what the
//!    controller does, O(change)), and re-read + plan + apply (drift-repair path, O(table) read).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vgw_ipvs::model::{Destination, FwdMethod, Protocol, Service, ServiceKey};
use vgw_ipvs::reconcile::{plan, Ownership, ServiceState, State};

const SERVICES: u32 = 1000;
const REALS: u32 = 10;
const RUNS: usize = 5;

fn table() -> State {
    let mut st = State::default();
    for i in 0..SERVICES {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: std::net::Ipv4Addr::from(0x0a64_0000 + i).into(),
            port: 80,
        };
        let mut s = ServiceState::new(Service::new(key, "wrr"));
        for j in 0..REALS {
            let addr = std::net::Ipv4Addr::from(0x0ac8_0000 + i * 16 + j).into();
            s = s.with_dest(Destination::new(addr, 80, FwdMethod::Route, 1));
        }
        st.insert(s);
    }
    st
}

fn rules(st: &State) -> String {
    let mut out = String::new();
    for s in st.services.values() {
        let ServiceKey::Addr { addr, port, .. } = s.service.key else {
            continue;
        };
        out.push_str(&format!("-A -t {addr}:{port} -s {}\n", s.service.scheduler));
        for d in s.dests.values() {
            out.push_str(&format!(
                "-a -t {addr}:{port} -r {}:{} -g -w {}\n",
                d.addr, d.port, d.weight
            ));
        }
    }
    out
}

fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("run ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ipvsadm_restore(text: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run ipvsadm -R");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed ipvsadm -R");
    let status = child.wait().expect("wait for ipvsadm -R");
    let took = start.elapsed();
    assert!(status.success(), "ipvsadm -R failed");
    took
}

fn count_reals() -> usize {
    ipvsadm(&["-Sn"])
        .lines()
        .filter(|l| l.starts_with("-a "))
        .count()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench() {
    let desired = table();
    let text = rules(&desired);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut client = rt
        .block_on(vgw_ipvs::connect())
        .expect("connect to kernel IPVS");
    println!(
        "kernel: {}; table: {SERVICES} services x {REALS} reals = {} objects",
        client.dialect(),
        SERVICES * (REALS + 1)
    );

    let mut ours = Vec::new();
    let mut ours_seq = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..RUNS {
        rt.block_on(client.flush()).expect("flush");
        theirs.push(ipvsadm_restore(&text));
        assert_eq!(count_reals(), (SERVICES * REALS) as usize);

        rt.block_on(client.flush()).expect("flush");
        let start = Instant::now();
        let actual = rt.block_on(client.read_state()).expect("read");
        let ops = plan(&desired, &actual, &Ownership::All);
        let res = rt.block_on(client.apply(&ops));
        ours.push(start.elapsed());
        assert!(res.iter().all(Result::is_ok));
        assert_eq!(ops.len(), (SERVICES * (REALS + 1)) as usize);
        assert_eq!(count_reals(), (SERVICES * REALS) as usize);

        // Same work one request at a time (no pipelining), to show what the window buys.
        rt.block_on(client.flush()).expect("flush");
        client.set_window(1);
        let start = Instant::now();
        let res = rt.block_on(client.apply(&ops));
        ours_seq.push(start.elapsed());
        client.set_window(256);
        assert!(res.iter().all(Result::is_ok));
    }
    let (t, o, s) = (median(theirs), median(ours), median(ours_seq));
    println!(
        "bulk load, median of {RUNS}: ipvsadm -R {:.1} ms; vgw-ipvs read+plan+apply {:.1} ms \
         (pipelined); {:.1} ms unpipelined; speed-up {:.2}x over ipvsadm -R",
        ms(t),
        ms(o),
        ms(s),
        t.as_secs_f64() / o.as_secs_f64()
    );

    // One weight change in the full table.
    let mut last = rt.block_on(client.read_state()).expect("read");
    assert!(plan(&desired, &last, &Ownership::All).is_empty());
    let mut cached = Vec::new();
    let mut reread = Vec::new();
    for run in 0..RUNS {
        let mut next = last.clone();
        let svc = next.services.values_mut().nth(500).expect("service 500");
        let d = svc.dests.values_mut().nth(3).expect("real 3");
        d.weight = 2 + run as u32;
        let start = Instant::now();
        let ops = plan(&next, &last, &Ownership::All);
        let res = rt.block_on(client.apply(&ops));
        cached.push(start.elapsed());
        assert_eq!(ops.len(), 1);
        assert!(res.iter().all(Result::is_ok));
        last = next;

        let mut next = last.clone();
        let svc = next.services.values_mut().nth(700).expect("service 700");
        let d = svc.dests.values_mut().nth(5).expect("real 5");
        d.weight = 20 + run as u32;
        let start = Instant::now();
        let actual = rt.block_on(client.read_state()).expect("read");
        let ops = plan(&next, &actual, &Ownership::All);
        let res = rt.block_on(client.apply(&ops));
        reread.push(start.elapsed());
        assert_eq!(ops.len(), 1);
        assert!(res.iter().all(Result::is_ok));
        last = next;
    }
    println!(
        "one weight change in the 11,000-object table, median of {RUNS}: plan against last \
         applied state + apply {:.3} ms; re-read kernel + plan + apply {:.1} ms",
        ms(median(cached)),
        ms(median(reread))
    );
    rt.block_on(client.flush()).expect("flush");
}

fn main() {
    if !vgw_lab::vm::in_vm() && !vgw_lab::vm::kernel_has_ipvs() {
        let exe = std::env::current_exe().expect("bench binary path");
        let argv = vec![exe.to_string_lossy().into_owned(), "--bench".to_string()];
        let outcome = vgw_lab::vm::run(&argv, &vgw_lab::vm::VmOptions::default())
            .expect("run the benchmark in the lab VM");
        std::process::exit(outcome.status);
    }
    // A namespace of our own, so the host table (and anyone else's) is untouched.
    let lab = vgw_lab::Lab::new("ipvs-bench").expect("lab");
    let host = lab.host("bench").expect("namespace");
    host.run_in(bench).expect("benchmark inside the namespace");
}
