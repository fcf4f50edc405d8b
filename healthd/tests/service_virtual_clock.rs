//! The tokio driver on a paused (virtual) clock: no real sleeps, deterministic.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use vgw_health::spec::{Probe, TcpProbe};
use vgw_health::{
    CheckResult, CheckSpec, HealthService, Hysteresis, Outcome, Reason, Runner, SchedulerConfig,
    ServiceOptions, StallCause, State, Target, TargetId, Timing, TransitionReason, WatchdogEvent,
};

type Script = dyn Fn(&Target, usize) -> (Duration, bool) + Send + Sync;

/// Scripted checks: delay and verdict per target and run number; records concurrency and the
/// virtual start time of every run.
struct Fake {
    script: Box<Script>,
    runs: Mutex<HashMap<TargetId, usize>>,
    starts: Mutex<Vec<(TargetId, Instant)>>,
    current: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Fake {
    fn new(
        script: impl Fn(&Target, usize) -> (Duration, bool) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Fake {
            script: Box::new(script),
            runs: Mutex::new(HashMap::new()),
            starts: Mutex::new(Vec::new()),
            current: Arc::new(AtomicUsize::new(0)),
            max: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn starts_of(&self, id: &str) -> Vec<Instant> {
        self.starts
            .lock()
            .expect("lock")
            .iter()
            .filter(|(t, _)| t.as_str() == id)
            .map(|(_, at)| *at)
            .collect()
    }
}

struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runner for Fake {
    fn run(
        &self,
        _spec: Arc<CheckSpec>,
        target: Target,
    ) -> Pin<Box<dyn Future<Output = CheckResult> + Send>> {
        let n = {
            let mut runs = self.runs.lock().expect("lock");
            let n = runs.entry(target.id.clone()).or_default();
            *n += 1;
            *n
        };
        self.starts
            .lock()
            .expect("lock")
            .push((target.id.clone(), Instant::now()));
        let (delay, ok) = (self.script)(&target, n);
        let cur = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(cur, Ordering::SeqCst);
        let guard = Running(self.current.clone());
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            drop(guard);
            let outcome = if ok {
                Outcome::up()
            } else {
                Outcome::down(Reason::Timeout {
                    phase: "scripted",
                    after: delay,
                })
            };
            CheckResult::new(outcome, delay)
        })
    }
}

fn spec(interval: Duration, rise: u32, fall: u32) -> CheckSpec {
    CheckSpec::new(Probe::Tcp(TcpProbe {
        send: None,
        expect: None,
        max_reply: 0,
    }))
    .with_timing(Timing {
        interval,
        timeout: interval / 2,
        hysteresis: Hysteresis::new(rise, fall),
        doubt_interval: None,
    })
}

fn target(i: usize) -> Target {
    Target::new(format!("t{i}"), "127.0.0.1".parse().expect("ip"), 80)
}

fn options(max: usize) -> ServiceOptions {
    ServiceOptions {
        scheduler: SchedulerConfig {
            max_concurrency: max,
            stall_threshold: Duration::from_millis(200),
            seed: 1,
        },
        watchdog_period: Duration::from_millis(50),
        event_capacity: 100_000,
    }
}

const SEC: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn events_latest_and_first_round() {
    // t0 always up; t1 fails from its 3rd run on.
    let fake = Fake::new(|t, n| (Duration::from_millis(5), !(t.id.as_str() == "t1" && n >= 3)));
    let svc = HealthService::start_with_runner(options(64), fake.clone());
    let h = svc.handle();
    let mut events = h.subscribe();
    assert!(h.first_round_done());
    h.add(target(0), spec(SEC, 2, 2)).expect("add");
    h.add(target(1), spec(SEC, 2, 2)).expect("add");
    assert!(!h.first_round_done());
    assert_eq!(
        h.latest(&TargetId::new("t0")).expect("t0").state,
        State::Unknown
    );
    h.wait_first_round().await;
    assert!(h.first_round_done());
    let mut seen = Vec::new();
    for _ in 0..2 {
        let e = events.recv().await.expect("event");
        seen.push((e.target_id.to_string(), e.from, e.to));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("t0".to_string(), State::Unknown, State::Up),
            ("t1".to_string(), State::Unknown, State::Up)
        ]
    );
    // t1: run 3 fails, run 4 fails -> down (fall 2), about 3 intervals later.
    let e = tokio::time::timeout(10 * SEC, events.recv())
        .await
        .expect("in time")
        .expect("event");
    assert_eq!(
        (e.target_id.as_str(), e.from, e.to),
        ("t1", State::Up, State::Down)
    );
    assert!(matches!(
        e.reason,
        TransitionReason::Failed { consecutive: 2, .. }
    ));
    let st = h.latest(&TargetId::new("t1")).expect("t1");
    assert_eq!(st.state, State::Down);
    assert_eq!(st.checks, 4);
    // Nothing else changes for a while: no events on steady state.
    assert!(tokio::time::timeout(20 * SEC, events.recv()).await.is_err());
    let st0 = h.latest(&TargetId::new("t0")).expect("t0");
    assert!(st0.checks >= 22, "{}", st0.checks);
    assert_eq!(st0.state, State::Up);
}

/// tokio's timer wheel has a resolution of one millisecond: a sleep ends on the first tick at
/// or after its deadline, so that is the lateness floor of any tokio program.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn thousand_targets_bounded_concurrency_on_time() {
    let fake = Fake::new(|_, _| (Duration::from_millis(20), true));
    let svc = HealthService::start_with_runner(options(100), fake.clone());
    let h = svc.handle();
    for i in 0..1000 {
        h.add(target(i), spec(SEC, 1, 1)).expect("add");
    }
    tokio::time::sleep(Duration::from_secs(300)).await;
    let stats = h.stats();
    // 1000 targets x 300 s at 1 s: every slot ran, none skipped, none late beyond the timer tick.
    assert!(stats.completed >= 1000 * 299, "{}", stats.completed);
    assert_eq!(stats.skipped_slots, 0);
    assert!(
        stats.start_lateness.max() <= TIMER_RESOLUTION,
        "{:?}",
        stats.start_lateness.max()
    );
    // ~20 checks in flight on average; never more than the limit.
    let max = fake.max.load(Ordering::SeqCst);
    assert!((20..=100).contains(&max), "{max}");
}

#[tokio::test(start_paused = true)]
async fn no_drift_over_simulated_hours() {
    // Check durations vary; start times must stay on the grid for six hours.
    let fake = Fake::new(|_, n| (Duration::from_millis((n as u64 * 37) % 900), true));
    let svc = HealthService::start_with_runner(options(8), fake.clone());
    let h = svc.handle();
    h.add(target(0), spec(Duration::from_secs(2), 1, 1))
        .expect("add");
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    let starts = fake.starts_of("t0");
    assert!(starts.len() >= 6 * 1800 - 1, "{}", starts.len());
    let first = starts[0];
    for (k, s) in starts.iter().enumerate() {
        assert_eq!(*s - first, Duration::from_secs(2) * k as u32, "run {k}");
    }
    assert_eq!(h.stats().skipped_slots, 0);
}

#[tokio::test(start_paused = true)]
async fn slow_target_does_not_delay_others_and_overlap_never_happens() {
    let fake = Fake::new(|t, _| {
        if t.id.as_str() == "t0" {
            (Duration::from_secs(5), false)
        } else {
            (Duration::from_millis(1), true)
        }
    });
    let svc = HealthService::start_with_runner(options(64), fake.clone());
    let h = svc.handle();
    for i in 0..50 {
        h.add(target(i), spec(SEC, 1, 1)).expect("add");
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
    let slow = fake.starts_of("t0");
    // 5 s checks at 1 s interval: one every 5 or 6 s, never two at once.
    assert!((5..=7).contains(&slow.len()), "{}", slow.len());
    for w in slow.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(5));
    }
    for i in 1..50 {
        let s = fake.starts_of(&format!("t{i}"));
        assert!(s.len() >= 29, "t{i}: {}", s.len());
        for w in s.windows(2) {
            assert_eq!(w[1] - w[0], SEC, "t{i}");
        }
    }
    assert!(h.stats().skipped_slots >= 20);
}

#[tokio::test(start_paused = true)]
async fn watchdog_reports_backlog_and_recovery() {
    // 2 slots, 100 targets at 1 s with 100 ms checks: 20 checks/s possible, 100/s needed.
    let fake = Fake::new(|_, _| (Duration::from_millis(100), true));
    let svc = HealthService::start_with_runner(options(2), fake.clone());
    let h = svc.handle();
    let mut wd = h.watchdog_events();
    for i in 0..100 {
        h.add(target(i), spec(SEC, 1, 1)).expect("add");
    }
    let e = tokio::time::timeout(10 * SEC, wd.recv())
        .await
        .expect("stall reported in time")
        .expect("event");
    match e {
        WatchdogEvent::Stalled {
            cause: StallCause::Backlog { waiting },
            lateness,
            ..
        } => {
            assert!(waiting > 0);
            assert!(lateness > Duration::from_millis(200));
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.max.load(Ordering::SeqCst) <= 2);
    // Remove most targets: the backlog drains and the watchdog says so.
    for i in 2..100 {
        h.remove(&target(i).id).expect("remove");
    }
    let e = tokio::time::timeout(30 * SEC, wd.recv())
        .await
        .expect("recovery reported")
        .expect("event");
    assert!(matches!(e, WatchdogEvent::Recovered { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn update_and_remove_at_run_time() {
    let fake = Fake::new(|_, _| (Duration::from_millis(1), true));
    let svc = HealthService::start_with_runner(options(8), fake.clone());
    let h = svc.handle();
    h.add(target(0), spec(SEC, 1, 1)).expect("add");
    assert!(h.add(target(0), spec(SEC, 1, 1)).is_err());
    tokio::time::sleep(10 * SEC).await;
    let before = fake.starts_of("t0").len();
    assert!((9..=11).contains(&before), "{before}");
    h.update(target(0), spec(Duration::from_millis(100), 1, 1))
        .expect("update");
    tokio::time::sleep(10 * SEC).await;
    let after = fake.starts_of("t0").len() - before;
    assert!((95..=101).contains(&after), "{after}");
    assert_eq!(h.latest(&TargetId::new("t0")).expect("t0").state, State::Up);
    h.remove(&TargetId::new("t0")).expect("remove");
    let n = fake.starts_of("t0").len();
    tokio::time::sleep(10 * SEC).await;
    assert_eq!(fake.starts_of("t0").len(), n);
    assert!(h.latest(&TargetId::new("t0")).is_none());
    assert!(h.targets().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_is_a_failed_check() {
    struct Panics;
    impl Runner for Panics {
        fn run(
            &self,
            _: Arc<CheckSpec>,
            _: Target,
        ) -> Pin<Box<dyn Future<Output = CheckResult> + Send>> {
            Box::pin(async { panic!("checker bug") })
        }
    }
    let svc = HealthService::start_with_runner(options(8), Arc::new(Panics));
    let h = svc.handle();
    h.add(target(0), spec(SEC, 1, 1)).expect("add");
    h.wait_first_round().await;
    let st = h.latest(&TargetId::new("t0")).expect("t0");
    assert_eq!(st.state, State::Down);
    let reason = match st.last.expect("result").outcome {
        Outcome::Down { reason } => reason.to_string(),
        o => panic!("{o:?}"),
    };
    assert!(reason.contains("panicked"), "{reason}");
    assert_eq!(h.stats().running, 0);
}

#[tokio::test(start_paused = true)]
async fn backlog_keeps_every_slot_busy() {
    // 2 slots, 100 targets at 1 s, 100 ms checks: demand 100/s, capacity 20/s. A freed slot
    // goes to the next waiting check at once (the completing task runs it), so the service
    // does exactly 20 checks per second, never more than 2 at a time.
    let fake = Fake::new(|_, _| (Duration::from_millis(100), true));
    let svc = HealthService::start_with_runner(options(2), fake.clone());
    let h = svc.handle();
    for i in 0..100 {
        h.add(target(i), spec(SEC, 1, 1)).expect("add");
    }
    tokio::time::sleep(5 * SEC).await;
    let c0 = h.stats().completed;
    tokio::time::sleep(10 * SEC).await;
    let done = h.stats().completed - c0;
    assert!((199..=201).contains(&done), "{done} checks in 10 s");
    assert_eq!(fake.max.load(Ordering::SeqCst), 2);
    // Every target still gets its turn: the waiting checks go earliest deadline first.
    let starved: Vec<usize> = (0..100)
        .filter(|i| fake.starts_of(&format!("t{i}")).len() < 2)
        .collect();
    assert!(starved.is_empty(), "never re-checked: {starved:?}");
}
