//! Benchmark of the health checker on this machine.
//!
//! ```text
//! health-bench rate     [--secs 10] [--concurrency 64] [--addrs 8] [--threads 2]
//! health-bench schedule [--targets 10000] [--interval 1s] [--secs 60] [--threads 2] [--addrs 8]
//! ```
//!
//! `rate` measures sustained TCP checks per second against local listeners three ways, each
//! for `--secs`: a plain connect+close loop (the physical limit of this machine), the tcp
//! checker called in a loop with the same concurrency, and the full service (scheduler +
//! checker) with enough targets to saturate it. `schedule` runs `--targets` TCP targets at
//! `--interval` for `--secs` and reports the lateness of check starts (p50/p99/max) and the CPU
//! used by the checking process. Listeners run in a child process (this binary with `serve`),
//! so the CPU figures are the checker's alone; several 127.0.0.x addresses spread the
//! connections over more 4-tuples than one address allows.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use nix::sys::resource::{getrusage, UsageWho};
use vgw_health::spec::{Probe, TcpProbe};
use vgw_health::{
    check, parse_duration, CheckResult, CheckSpec, HealthService, Hysteresis, Runner,
    SchedulerConfig, ServiceOptions, Target, Timing,
};

#[derive(Parser)]
#[command(about = "Benchmark of vgw-health TCP checks on this machine")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Checks per second versus a raw connect+close loop.
    Rate {
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 8)]
        addrs: u8,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Many targets at a fixed interval: lateness of check starts and CPU used.
    Schedule {
        #[arg(long, default_value_t = 10_000)]
        targets: usize,
        #[arg(long, default_value = "1s")]
        interval: String,
        #[arg(long, default_value_t = 60)]
        secs: u64,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 8)]
        addrs: u8,
        #[arg(long, default_value_t = 1024)]
        concurrency: usize,
        /// Print one line per second (checks, failures, lateness p99/max, running).
        #[arg(long)]
        timeline: bool,
        /// `tcp`: real TCP checks; `none`: a check that returns "up" at once, to measure
        /// the scheduler and the runtime alone.
        #[arg(long, default_value = "tcp")]
        probe: String,
    },
    /// (internal) Run the listeners: accept and close, until stdin closes.
    Serve {
        #[arg(long)]
        addrs: u8,
    },
}

static FIRST_FAILURE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn loopback(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + i))
}

/// Machine-wide TCP counters from /proc/net/netstat that show a listener that did not keep
/// up (its accept queue full: the SYN or the final ACK dropped, the client retransmits later).
fn listen_drops() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/net/netstat") else {
        return (0, 0);
    };
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let (Some(names), Some(values)) = (lines.first(), lines.get(1)) else {
        return (0, 0);
    };
    let mut overflows = 0;
    let mut drops = 0;
    for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
        match n {
            "ListenOverflows" => overflows = v.parse().unwrap_or(0),
            "ListenDrops" => drops = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    (overflows, drops)
}

/// CPU seconds (user + system) used so far by process `pid`, from /proc/PID/stat.
fn cpu_seconds_of(pid: u32) -> f64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // In USER_HZ, which the kernel fixes at 100 for /proc on every architecture we run on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Nanoseconds the threads of process `pid` spent on a CPU and runnable but waiting for one
/// (summed over /proc/PID/task/*/schedstat): the second is the time the machine's other load
/// took from this process.
fn sched_times(pid: u32) -> (u64, u64) {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let (mut run, mut wait) = (0u64, 0u64);
    for t in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) {
            let mut f = text
                .split_whitespace()
                .map(|v| v.parse::<u64>().unwrap_or(0));
            run += f.next().unwrap_or(0);
            wait += f.next().unwrap_or(0);
        }
    }
    (run, wait)
}

/// Listener child process; killed (by PID) when dropped.
struct Listeners {
    child: Child,
    addrs: Vec<SocketAddr>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_listeners(n: u8) -> Result<Listeners, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    // The listeners stay in this session. Moving them to their own (`setsid`, a separate
    // autogroup for the kernel's scheduler) was tried on 1 Dec 2026 and made the checker's
    // lateness worse (p99 119 ms against 8.7 and 11.3 ms in the runs around it, and more time
    // runnable without a CPU), so it is not done.
    let mut cmd = Command::new(exe);
    let mut child = cmd
        .args(["serve", "--addrs", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start listener process: {e}"))?;
    let out = child
        .stdout
        .take()
        .ok_or("no stdout from listener process")?;
    let mut lines = BufReader::new(out).lines();
    let mut addrs = Vec::new();
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("listener process: {e}"))?;
        if line == "ready" {
            break;
        }
        addrs.push(
            line.parse()
                .map_err(|e| format!("listener process said {line:?}: {e}"))?,
        );
    }
    if addrs.is_empty() {
        let _ = child.kill();
        return Err("listener process reported no address".to_string());
    }
    Ok(Listeners { child, addrs })
}

fn serve(n: u8) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut out = std::io::stdout().lock();
        for i in 0..n {
            // A deep accept queue (tokio's default backlog is 1024; the kernel caps it at
            // net.core.somaxconn): when this process is starved of CPU for a moment, a full
            // queue drops SYNs, and the client's retransmission comes after 1 s, past the
            // check timeout, so a busy machine would show up as failed checks.
            let sock = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
            sock.bind(SocketAddr::new(loopback(i), 0))
                .map_err(|e| format!("bind {}: {e}", loopback(i)))?;
            let l = sock
                .listen(65535)
                .map_err(|e| format!("listen {}: {e}", loopback(i)))?;
            let a = l.local_addr().map_err(|e| e.to_string())?;
            writeln!(out, "{a}").map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                loop {
                    // Accept and close at once; errors (e.g. EMFILE under load) are retried.
                    match l.accept().await {
                        Ok((s, _)) => drop(s),
                        Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
            });
        }
        writeln!(out, "ready").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        // Run until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
        Ok(())
    })
}

fn cpu_seconds() -> f64 {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => f64::NAN,
    }
}

fn tcp_spec(interval: Duration, timeout: Duration) -> CheckSpec {
    CheckSpec::new(Probe::Tcp(TcpProbe {
        send: None,
        expect: None,
        max_reply: 0,
    }))
    .with_timing(Timing {
        interval,
        timeout,
        hysteresis: Hysteresis::new(1, 1),
        doubt_interval: None,
    })
}

/// A check that is up at once: the scheduler, the service and the runtime without any I/O.
struct NullRunner;

impl Runner for NullRunner {
    fn run(
        &self,
        _spec: Arc<CheckSpec>,
        _target: Target,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CheckResult> + Send>> {
        Box::pin(async { CheckResult::new(vgw_health::Outcome::up(), Duration::ZERO) })
    }
}

/// Run `concurrency` loops of `one` for `secs`; returns (ok, failed) counts.
async fn loop_for<F, Fut>(secs: u64, concurrency: usize, addrs: &[SocketAddr], one: F) -> (u64, u64)
where
    F: Fn(SocketAddr) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let (ok, bad, stop, one) = (ok.clone(), bad.clone(), stop.clone(), one.clone());
        let addr = addrs[i % addrs.len()];
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if one(addr).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (ok.load(Ordering::Relaxed), bad.load(Ordering::Relaxed))
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// One window of the saturated service: fresh service, `targets` TCP targets at 1 s (more
/// than it can do, so concurrency is the limit); completions counted after a 200 ms ramp.
async fn service_window(
    addrs: &[SocketAddr],
    targets: usize,
    concurrency: usize,
    window: Duration,
) -> (u64, f64, f64) {
    let svc = HealthService::start(ServiceOptions {
        scheduler: SchedulerConfig {
            max_concurrency: concurrency,
            stall_threshold: Duration::from_secs(3600),
            seed: 1,
        },
        ..ServiceOptions::default()
    });
    let h = svc.handle();
    for i in 0..targets {
        let a = addrs[i % addrs.len()];
        let _ = h.add(
            Target::new(format!("t{i}"), a.ip(), a.port()),
            tcp_spec(Duration::from_millis(250), Duration::from_secs(1)),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c0 = h.stats().completed;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let n = h.stats().completed - c0;
    (n, t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0)
}

fn rate(secs: u64, concurrency: usize, n_addrs: u8, threads: usize) -> Result<(), String> {
    let listeners = start_listeners(n_addrs)?;
    let addrs = listeners.addrs.clone();
    let rt = runtime(threads)?;
    rt.block_on(async move {
        println!(
            "# TCP check rate: {secs} rounds of 1 s raw FIN / 1 s raw RST / 1 s checker / 1 s service, interleaved so machine load hits all three alike; concurrency {concurrency}, {threads} runtime threads, {} listener addresses",
            addrs.len()
        );
        let spec = Arc::new(tcp_spec(Duration::from_secs(1), Duration::from_secs(1)));
        let (mut raw_n, mut raw_cpu, mut raw_bad) = (0u64, 0f64, 0u64);
        let mut rst_n = 0u64;
        let (mut chk_n, mut chk_cpu, mut chk_bad) = (0u64, 0f64, 0u64);
        let (mut svc_n, mut svc_t, mut svc_cpu) = (0u64, 0f64, 0f64);
        for _ in 0..secs.max(1) {
            let cpu0 = cpu_seconds();
            let (ok, bad) = loop_for(1, concurrency, &addrs, |a| async move {
                tokio::net::TcpStream::connect(a).await.is_ok()
            })
            .await;
            raw_cpu += cpu_seconds() - cpu0;
            raw_n += ok;
            raw_bad += bad;

            // The same with a reset on close, as the checker does by default.
            let (ok, _) = loop_for(1, concurrency, &addrs, |a| async move {
                match tokio::net::TcpStream::connect(a).await {
                    Ok(s) => {
                        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                        true
                    }
                    Err(_) => false,
                }
            })
            .await;
            rst_n += ok;

            let spec = spec.clone();
            let cpu0 = cpu_seconds();
            let (ok, bad) = loop_for(1, concurrency, &addrs, move |a| {
                let spec = spec.clone();
                async move {
                    let t = Target::new("bench", a.ip(), a.port());
                    let r = check::run(&spec, &t).await;
                    if let vgw_health::Outcome::Down { reason } = &r.outcome {
                        FIRST_FAILURE.get_or_init(|| reason.to_string());
                    }
                    r.outcome.is_up()
                }
            })
            .await;
            chk_cpu += cpu_seconds() - cpu0;
            chk_n += ok;
            chk_bad += bad;

            // 4x the raw rate of this round at a 250 ms interval: always saturated.
            let targets = (ok as usize).clamp(1000, 100_000);
            let (n, t, c) = service_window(&addrs, targets, concurrency, Duration::from_secs(1)).await;
            svc_n += n;
            svc_t += t;
            svc_cpu += c;
        }
        let s = secs.max(1) as f64;
        let raw_fin = raw_n as f64 / s;
        let raw_rst = rst_n as f64 / s;
        // Ratios against the faster of the two raw loops.
        let raw = raw_fin.max(raw_rst);
        let chk = chk_n as f64 / s;
        let svc = svc_n as f64 / svc_t;
        println!("raw connect+close loop : {raw_fin:>9.0} /s  (FIN close; failed {raw_bad}, cpu {:.0}% of one core)", raw_cpu / s * 100.0);
        println!("raw connect+reset loop : {raw_rst:>9.0} /s  (RST close, as the checker)");
        println!("tcp checker in a loop  : {chk:>9.0} /s  (failed {chk_bad}, cpu {:.0}%)  ratio {:.2}", chk_cpu / s * 100.0, chk / raw);
        if let Some(f) = FIRST_FAILURE.get() {
            println!("  (first checker failure: {f})");
        }
        println!("service (saturated)    : {svc:>9.0} /s  (cpu {:.0}%)  ratio {:.2}", svc_cpu / svc_t * 100.0, svc / raw);
        drop(listeners);
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
fn schedule(
    targets: usize,
    interval: &str,
    secs: u64,
    threads: usize,
    n_addrs: u8,
    concurrency: usize,
    timeline: bool,
    probe: &str,
) -> Result<(), String> {
    let interval = parse_duration(interval).map_err(|e| e.to_string())?;
    let runner: Arc<dyn Runner> = match probe {
        "tcp" => Arc::new(vgw_health::RealRunner),
        "none" => Arc::new(NullRunner),
        other => return Err(format!("--probe {other:?}: expected tcp or none")),
    };
    let listeners = start_listeners(n_addrs)?;
    let addrs = listeners.addrs.clone();
    let rt = runtime(threads)?;
    rt.block_on(async move {
        let svc = HealthService::start_with_runner(ServiceOptions {
            scheduler: SchedulerConfig {
                max_concurrency: concurrency,
                stall_threshold: Duration::from_millis(500),
                seed: 7,
            },
            ..ServiceOptions::default()
        }, runner);
        let h = svc.handle();
        let mut wd = h.watchdog_events();
        let timeout = (interval / 2).max(Duration::from_millis(100));
        for i in 0..targets {
            let a = addrs[i % addrs.len()];
            h.add(Target::new(format!("t{i}"), a.ip(), a.port()), tcp_spec(interval, timeout))
                .map_err(|e| e.to_string())?;
        }
        // Warm-up: the first round, then one more interval; lateness counted from then on.
        if tokio::time::timeout(interval * 3 + timeout, h.wait_first_round()).await.is_err() {
            let s = h.stats();
            return Err(format!(
                "first round did not finish within 3 intervals: {} started, {} completed, {} running",
                s.started, s.completed, s.running
            ));
        }
        tokio::time::sleep(interval).await;
        // Reasons of the failures during the measurement (every failure is a transition to
        // down with rise = fall = 1); a lagging receiver is counted, not hidden.
        let mut events = h.subscribe();
        let addr_names: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        let reasons = tokio::spawn(async move {
            let mut by_reason: std::collections::BTreeMap<String, u64> = Default::default();
            loop {
                match events.recv().await {
                    Ok(e) if e.to == vgw_health::State::Down => {
                        let mut text = e.reason.to_string();
                        for a in &addr_names {
                            text = text.replace(a.as_str(), "ADDR");
                        }
                        *by_reason.entry(text).or_default() += 1;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        *by_reason.entry("(events lost: receiver lagged)".into()).or_default() += n;
                    }
                    Err(_) => return by_reason,
                }
            }
        });
        h.reset_lateness();
        let s0 = h.stats();
        let cpu0 = cpu_seconds();
        let child_cpu0 = cpu_seconds_of(listeners.child.id());
        let (lo0, ld0) = listen_drops();
        let sched0 = sched_times(std::process::id());
        let t0 = Instant::now();
        let start = tokio::time::Instant::now();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        // One window per second: its lateness histogram is merged into the whole and printed
        // with --timeline, so a burst of lateness can be placed in time.
        let mut lateness = vgw_health::histogram::Histogram::default();
        let mut prev = s0.clone();
        let mut worst_secs = Vec::new();
        for sec in 1..=secs {
            tokio::time::sleep_until(start + Duration::from_secs(sec)).await;
            let s = h.stats();
            h.reset_lateness();
            let w = &s.start_lateness;
            lateness.merge(w);
            worst_secs.push((w.quantile(0.99), sec));
            if timeline {
                println!(
                    "t={sec:>3}s  completed {:>6}  failed {:>5}  skipped {:>5}  running {:>5}  late p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
                    s.completed - prev.completed,
                    s.failed - prev.failed,
                    s.skipped_slots - prev.skipped_slots,
                    s.running,
                    ms(w.quantile(0.5)),
                    ms(w.quantile(0.99)),
                    ms(w.max()),
                );
            }
            prev = s;
        }
        let el = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let child_cpu = cpu_seconds_of(listeners.child.id()) - child_cpu0;
        let (lo1, ld1) = listen_drops();
        let sched1 = sched_times(std::process::id());
        let s = h.stats();
        let mut down = 0;
        for i in 0..targets {
            if let Some(st) = h.latest(&format!("t{i}").into()) {
                if st.state != vgw_health::State::Up {
                    down += 1;
                }
            }
        }
        let mut stalls = 0;
        while let Ok(e) = wd.try_recv() {
            if matches!(e, vgw_health::WatchdogEvent::Stalled { .. }) {
                stalls += 1;
            }
        }
        println!("# {targets} {probe} targets at {interval:?} for {secs} s, {threads} runtime threads, concurrency limit {concurrency}");
        println!("checks completed : {} ({:.0}/s), failed {}", s.completed - s0.completed, (s.completed - s0.completed) as f64 / el, s.failed - s0.failed);
        println!("start lateness   : p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  ({} samples)",
            ms(lateness.quantile(0.5)), ms(lateness.quantile(0.99)), ms(lateness.max()), lateness.count());
        worst_secs.sort();
        let worst: Vec<String> = worst_secs.iter().rev().take(3).map(|(p, t)| format!("t={t}s {:.1} ms", ms(*p))).collect();
        println!("worst seconds    : p99 {}", worst.join(", "));
        println!("skipped slots    : {}", s.skipped_slots - s0.skipped_slots);
        println!("targets not up   : {down} (at the end)");
        println!("watchdog stalls  : {stalls}");
        println!("cpu              : {cpu:.2} s over {el:.1} s = {:.1}% of one core; listener process {:.1}%", cpu / el * 100.0, child_cpu / el * 100.0);
        let (run_s, wait_s) = ((sched1.0 - sched0.0) as f64 / 1e9, (sched1.1 - sched0.1) as f64 / 1e9);
        println!("runnable, no cpu : {wait_s:.2} s summed over threads ({:.1}% of the time on a CPU, {run_s:.2} s): the machine's other load", wait_s / run_s.max(1e-9) * 100.0);
        println!("listen queue     : {} overflows, {} drops (machine-wide TcpExt counters)", lo1.saturating_sub(lo0), ld1.saturating_sub(ld0));
        drop(svc);
        if let Ok(Ok(by_reason)) = tokio::time::timeout(Duration::from_secs(2), reasons).await {
            for (r, n) in by_reason {
                println!("  failure        : {n} x {r}");
            }
        }
        drop(listeners);
        Ok(())
    })
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Rate {
            secs,
            concurrency,
            addrs,
            threads,
        } => rate(secs, concurrency, addrs, threads),
        Cmd::Schedule {
            targets,
            interval,
            secs,
            threads,
            addrs,
            concurrency,
            timeline,
            probe,
        } => schedule(
            targets,
            &interval,
            secs,
            threads,
            addrs,
            concurrency,
            timeline,
            &probe,
        ),
        Cmd::Serve { addrs } => serve(addrs),
    };
    if let Err(e) = r {
        eprintln!("health-bench: {e}");
        std::process::exit(1);
    }
}
