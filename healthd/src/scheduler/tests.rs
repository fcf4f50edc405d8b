//! Sans-IO scheduler tests: a virtual clock and a tiny discrete-event loop stand in for tokio.

use super::*;
use crate::outcome::{Outcome, Reason};
use crate::spec::{Probe, TcpProbe, Timing};
use crate::target::Hysteresis;

const MS: Duration = Duration::from_millis(1);

fn spec(interval_ms: u64, timeout_ms: u64) -> CheckSpec {
    CheckSpec::new(Probe::Tcp(TcpProbe {
        send: None,
        expect: None,
        max_reply: 0,
    }))
    .with_timing(Timing {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        hysteresis: Hysteresis::new(2, 2),
        doubt_interval: None,
    })
}

fn target(i: usize) -> Target {
    Target::new(format!("t{i}"), "127.0.0.1".parse().expect("ip"), 80)
}

fn sched(max: usize) -> Scheduler {
    Scheduler::new(
        SchedulerConfig {
            max_concurrency: max,
            stall_threshold: 200 * MS,
            seed: 42,
        },
        SystemTime::UNIX_EPOCH,
    )
}

fn up() -> Outcome {
    Outcome::up()
}

fn down() -> Outcome {
    Outcome::down(Reason::Timeout {
        phase: "connecting",
        after: MS,
    })
}

/// One run as the simulated driver saw it.
#[derive(Debug, Clone)]
struct Run {
    id: TargetId,
    deadline: Duration,
    started: Duration,
}

/// Discrete-event simulation of the driver: start due checks, complete them after the
/// latency `behave` returns, until `end`. The driver starts checks `dispatch_delay` after it
/// polls them, as a real runtime would.
struct Sim {
    now: Duration,
    runs: Vec<Run>,
    events: Vec<HealthEvent>,
    max_running: usize,
    watchdog: Vec<WatchdogEvent>,
}

fn simulate(
    s: &mut Scheduler,
    end: Duration,
    watchdog_every: Option<Duration>,
    mut behave: impl FnMut(&Due, Duration) -> (Duration, Outcome),
) -> Sim {
    let mut sim = Sim {
        now: Duration::ZERO,
        runs: Vec::new(),
        events: Vec::new(),
        max_running: 0,
        watchdog: Vec::new(),
    };
    // (finish time, due, result)
    let mut in_flight: Vec<(Duration, Due, Outcome, Duration)> = Vec::new();
    let mut next_watchdog = watchdog_every;
    let mut steps = 0u64;
    loop {
        steps += 1;
        assert!(steps < 50_000_000, "simulation does not terminate");
        for due in s.poll_due(sim.now) {
            let (latency, outcome) = behave(&due, sim.now);
            sim.runs.push(Run {
                id: due.target.id.clone(),
                deadline: due.deadline,
                started: sim.now,
            });
            in_flight.push((sim.now + latency, due, outcome, sim.now));
        }
        sim.max_running = sim.max_running.max(in_flight.len());
        let next_done = in_flight.iter().map(|(t, ..)| *t).min();
        let wake = [s.next_wake(), next_done, next_watchdog]
            .into_iter()
            .flatten()
            .min();
        let Some(wake) = wake else { break };
        if wake > end {
            break;
        }
        sim.now = sim.now.max(wake);
        if next_watchdog == Some(sim.now) {
            if let Some(ev) = s.watchdog(sim.now, Duration::ZERO) {
                sim.watchdog.push(ev);
            }
            next_watchdog = watchdog_every.map(|p| sim.now + p);
        }
        let (done, rest): (Vec<_>, Vec<_>) =
            in_flight.into_iter().partition(|(t, ..)| *t <= sim.now);
        in_flight = rest;
        for (finish, due, outcome, started) in done {
            let result = CheckResult::new(outcome, finish - started);
            let (ev, _) = s.complete(
                due.ticket,
                &due.target.id,
                due.deadline,
                started,
                result,
                sim.now,
            );
            sim.events.extend(ev);
        }
    }
    sim
}

#[test]
fn phases_are_spread_over_the_interval() {
    let mut s = sched(100_000);
    for i in 0..10_000 {
        s.add(target(i), spec(1000, 500), Duration::ZERO)
            .expect("add");
    }
    let sim = simulate(&mut s, 1000 * MS - Duration::from_nanos(1), None, |_, _| {
        (MS, up())
    });
    assert_eq!(sim.runs.len(), 10_000);
    // 10 buckets of 100 ms: each should hold about 1000 first checks.
    let mut buckets = [0usize; 10];
    for r in &sim.runs {
        buckets[(r.deadline.as_millis() / 100) as usize] += 1;
    }
    for (i, b) in buckets.iter().enumerate() {
        assert!((850..=1150).contains(b), "bucket {i}: {b} ({buckets:?})");
    }
    // And no single millisecond carries a burst.
    let mut per_ms = vec![0usize; 1000];
    for r in &sim.runs {
        per_ms[r.deadline.as_millis() as usize] += 1;
    }
    let max = per_ms.iter().max().copied().unwrap_or(0);
    let min = per_ms.iter().min().copied().unwrap_or(0);
    assert!(
        (8..=12).contains(&min) && (8..=12).contains(&max),
        "uneven: {min}..{max} checks per millisecond (10 expected)"
    );
}

#[test]
fn no_drift_over_simulated_hours() {
    let mut s = sched(10);
    s.add(target(0), spec(2000, 1000), Duration::ZERO)
        .expect("add");
    let mut rng = StdRng::seed_from_u64(7);
    // Check latency varies between 0 and 900 ms; it must not shift the grid.
    let hours = 10;
    let end = Duration::from_secs(hours * 3600);
    let sim = simulate(&mut s, end, None, |_, _| {
        (Duration::from_millis(rng.random_range(0..900)), up())
    });
    let phase = sim.runs[0].deadline;
    assert!(phase < 2000 * MS);
    for (k, r) in sim.runs.iter().enumerate() {
        assert_eq!(r.deadline, phase + 2000 * MS * k as u32, "run {k}");
        assert_eq!(r.started, r.deadline, "run {k} started late");
    }
    let expected = ((end - phase).as_millis() / 2000 + 1) as usize;
    assert_eq!(sim.runs.len(), expected);
    assert_eq!(s.stats().skipped_slots, 0);
}

#[test]
fn overrunning_check_skips_slots_instead_of_bursting() {
    let mut s = sched(10);
    s.add(target(0), spec(1000, 5000), Duration::ZERO)
        .expect("add");
    // Every check takes 2.5 s at a 1 s interval.
    let sim = simulate(&mut s, 60_000 * MS, None, |_, _| (2500 * MS, up()));
    let phase = sim.runs[0].deadline;
    for w in sim.runs.windows(2) {
        // Next run on the grid, 3 slots later (2 skipped), never overlapping.
        assert_eq!(w[1].deadline - w[0].deadline, 3000 * MS);
        assert!(w[1].started >= w[0].started + 2500 * MS);
        assert_eq!(
            (w[1].deadline - phase).as_nanos() % (1000 * MS).as_nanos(),
            0
        );
    }
    assert_eq!(sim.max_running, 1);
    // Every completed check skipped exactly two slots (the last one may complete before the
    // end of the simulation while its next run falls after it).
    let st = s.stats();
    assert!(st.completed + 1 >= sim.runs.len() as u64, "{st:?}");
    assert_eq!(st.skipped_slots, 2 * st.completed);
}

#[test]
fn concurrency_is_bounded_and_backlog_is_reported() {
    let mut s = sched(10);
    for i in 0..1000 {
        s.add(target(i), spec(1000, 500), Duration::ZERO)
            .expect("add");
    }
    // 1000 checks/s of 50 ms each need ~50 slots; only 10 are allowed.
    let sim = simulate(&mut s, 10_000 * MS, Some(50 * MS), |_, _| (50 * MS, up()));
    assert_eq!(sim.max_running, 10);
    assert!(s.stats().running <= 10);
    match sim.watchdog.first() {
        Some(WatchdogEvent::Stalled {
            cause: StallCause::Backlog { waiting },
            lateness,
            ..
        }) => {
            assert!(*waiting > 0);
            assert!(*lateness > 200 * MS);
        }
        other => panic!("expected a backlog stall, got {other:?}"),
    }
    // Throughput is exactly the limit: 10 slots / 50 ms = 200 checks/s.
    let n = sim.runs.len();
    assert!((1990..=2010).contains(&n), "{n}");
}

#[test]
fn enough_concurrency_means_no_lateness_and_no_stall() {
    let mut s = sched(100);
    for i in 0..1000 {
        s.add(target(i), spec(1000, 500), Duration::ZERO)
            .expect("add");
    }
    let sim = simulate(&mut s, 10_000 * MS, Some(50 * MS), |_, _| (50 * MS, up()));
    assert!(sim.watchdog.is_empty(), "{:?}", sim.watchdog);
    assert!(sim.runs.iter().all(|r| r.started == r.deadline));
    assert_eq!(s.stats().start_lateness.max(), Duration::ZERO);
    assert!(sim.max_running <= 100);
}

#[test]
fn slow_target_does_not_delay_others() {
    let mut s = sched(50);
    for i in 0..100 {
        s.add(target(i), spec(1000, 500), Duration::ZERO)
            .expect("add");
    }
    let slow = TargetId::new("t0");
    let sim = simulate(&mut s, 30_000 * MS, None, |due, _| {
        if due.target.id == slow {
            (20_000 * MS, down())
        } else {
            (5 * MS, up())
        }
    });
    for r in sim.runs.iter().filter(|r| r.id != slow) {
        assert_eq!(r.started, r.deadline, "{r:?}");
    }
    let others = sim.runs.iter().filter(|r| r.id != slow).count();
    assert!(others >= 99 * 29, "{others}");
    assert_eq!(sim.runs.iter().filter(|r| r.id == slow).count(), 2);
}

#[test]
fn watchdog_reports_stall_once_and_recovery() {
    let mut s = sched(10);
    s.add(target(0), spec(1000, 500), Duration::ZERO)
        .expect("add");
    let due_at = s.next_wake().expect("scheduled");
    // The driver did not run for 300 ms past the deadline.
    let ev = s.watchdog(due_at + 300 * MS, Duration::ZERO);
    assert!(matches!(
        ev,
        Some(WatchdogEvent::Stalled {
            cause: StallCause::Backlog { waiting: 1 },
            ..
        })
    ));
    assert_eq!(s.watchdog(due_at + 400 * MS, Duration::ZERO), None);
    let due = s.poll_due(due_at + 400 * MS);
    assert_eq!(due.len(), 1);
    assert!(matches!(
        s.watchdog(due_at + 410 * MS, Duration::ZERO),
        Some(WatchdogEvent::Recovered { .. })
    ));
    // The runtime itself blocked: the watchdog woke 1 s late.
    assert!(matches!(
        s.watchdog(due_at + 420 * MS, 1000 * MS),
        Some(WatchdogEvent::Stalled {
            cause: StallCause::Runtime,
            ..
        })
    ));
    assert!(matches!(
        s.watchdog(due_at + 430 * MS, Duration::ZERO),
        Some(WatchdogEvent::Recovered { .. })
    ));
    // A check that runs far past its timeout (500 ms + 200 ms threshold).
    assert!(matches!(
        s.watchdog(due_at + 400 * MS + 800 * MS, Duration::ZERO),
        Some(WatchdogEvent::Stalled {
            cause: StallCause::StuckCheck { .. },
            ..
        })
    ));
    assert_eq!(s.stats().stalls, 3);
}

#[test]
fn transitions_follow_rise_fall_and_events_only_on_change() {
    let mut s = sched(10);
    s.add(target(0), spec(1000, 500), Duration::ZERO)
        .expect("add");
    // up up down down down up up up (rise 2 fall 2)
    let pattern = [true, true, false, false, false, true, true, true];
    let mut i = 0;
    let sim = simulate(&mut s, 7_999 * MS, None, |_, _| {
        let o = if pattern[i] { up() } else { down() };
        i += 1;
        (10 * MS, o)
    });
    assert_eq!(sim.runs.len(), 8);
    let changes: Vec<(State, State)> = sim.events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        changes,
        vec![
            (State::Unknown, State::Up),
            (State::Up, State::Down),
            (State::Down, State::Up)
        ]
    );
    let down_ev = &sim.events[1];
    assert!(matches!(
        down_ev.reason,
        TransitionReason::Failed { consecutive: 2, .. }
    ));
    assert_eq!(down_ev.latency, 10 * MS);
    // The event time is the completion time of the deciding (4th) check.
    let fourth = &sim.runs[3];
    assert_eq!(
        down_ev.at,
        SystemTime::UNIX_EPOCH + fourth.started + 10 * MS
    );
    let st = s.status(&TargetId::new("t0")).expect("status");
    assert_eq!(st.state, State::Up);
    assert_eq!(st.checks, 8);
    assert_eq!(st.failures, 3);
}

#[test]
fn doubt_interval_rechecks_faster() {
    let mut s = sched(10);
    let mut sp = spec(10_000, 500);
    sp.timing.doubt_interval = Some(500 * MS);
    sp.timing.hysteresis = Hysteresis::new(3, 3);
    s.add(target(0), sp, Duration::ZERO).expect("add");
    // up, then failures: after the first failure the target is in doubt.
    let mut n = 0;
    let sim = simulate(&mut s, 40_000 * MS, None, |_, _| {
        n += 1;
        (MS, if n == 1 { up() } else { down() })
    });
    let gaps: Vec<Duration> = sim
        .runs
        .windows(2)
        .map(|w| w[1].deadline - w[0].deadline)
        .collect();
    // up -> (10 s) fail#1 -> (0.5 s) fail#2 -> (0.5 s) fail#3 = down, no longer in doubt -> 10 s.
    assert_eq!(gaps[0], 10_000 * MS);
    assert_eq!(gaps[1], 500 * MS);
    assert_eq!(gaps[2], 500 * MS);
    assert_eq!(gaps[3], 10_000 * MS);
    assert_eq!(sim.events.len(), 2);
    assert_eq!(sim.events[1].to, State::Down);
}

#[test]
fn first_round_tracking() {
    let mut s = sched(10);
    assert!(s.first_round_done(), "vacuously done with no targets");
    s.add(target(0), spec(1000, 500), Duration::ZERO)
        .expect("add");
    s.add(target(1), spec(1000, 500), Duration::ZERO)
        .expect("add");
    assert!(!s.first_round_done());
    assert_eq!(
        s.add(target(1), spec(1000, 500), Duration::ZERO),
        Err(SchedError::Duplicate)
    );
    let mut sim_runs = 0;
    let sim = simulate(&mut s, 999 * MS, None, |_, _| {
        sim_runs += 1;
        (MS, down())
    });
    assert_eq!(sim.runs.len(), 2);
    assert!(s.first_round_done());
    s.add(target(2), spec(1000, 500), Duration::from_secs(1))
        .expect("add");
    assert!(!s.first_round_done());
    s.remove(&TargetId::new("t2")).expect("remove");
    assert!(s.first_round_done());
    assert_eq!(s.remove(&TargetId::new("t2")), Err(SchedError::NotFound));
}

#[test]
fn results_of_removed_or_changed_targets_are_discarded() {
    let mut s = sched(10);
    s.add(target(0), spec(1000, 500), Duration::ZERO)
        .expect("add");
    s.add(target(1), spec(1000, 500), Duration::ZERO)
        .expect("add");
    let t = s.next_wake().expect("wake");
    let t2 = {
        // Both due by the end of the first interval.
        let _ = t;
        1000 * MS
    };
    let due = s.poll_due(t2);
    assert_eq!(due.len(), 2);
    let id0 = TargetId::new("t0");
    let id1 = TargetId::new("t1");
    s.remove(&id0).expect("remove");
    s.update(&id1, target(1), spec(2000, 500), t2)
        .expect("update");
    let mut events = Vec::new();
    for d in &due {
        let r = CheckResult::new(up(), MS);
        let (ev, _) = s.complete(d.ticket, &d.target.id, d.deadline, t2, r, t2 + MS);
        events.extend(ev);
    }
    assert!(events.is_empty());
    assert_eq!(s.stats().discarded, 2);
    assert_eq!(s.stats().running, 0);
    assert!(s.status(&id0).is_none());
    assert_eq!(s.status(&id1).expect("t1").state, State::Unknown);
    // A duplicate completion is ignored.
    let d = &due[1];
    let (ev, replan) = s.complete(
        d.ticket,
        &d.target.id,
        d.deadline,
        t2,
        CheckResult::new(up(), MS),
        t2,
    );
    assert!(ev.is_empty() && !replan);
    // The changed target is checked again on its new interval.
    let next = s.next_wake().expect("t1 scheduled");
    assert_eq!(next, due[1].deadline + 2000 * MS);
}

#[test]
fn update_keeps_health_state() {
    let mut s = sched(10);
    s.add(target(0), spec(1000, 500), Duration::ZERO)
        .expect("add");
    let sim = simulate(&mut s, 999 * MS, None, |_, _| (MS, up()));
    assert_eq!(sim.events.len(), 1);
    let id = TargetId::new("t0");
    let mut sp = spec(5000, 500);
    sp.timing.hysteresis = Hysteresis::new(1, 1);
    s.update(&id, target(0), sp, sim.now).expect("update");
    assert_eq!(s.status(&id).expect("status").state, State::Up);
    assert_eq!(
        s.update(&TargetId::new("nope"), target(9), spec(1000, 500), sim.now),
        Err(SchedError::NotFound)
    );
}
