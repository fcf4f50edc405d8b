//! The tokio driver around the [`Scheduler`] core, and the handle the daemon uses.
//!
//! ```text
//!   HealthHandle (clone per user) ──add/update/remove──► Mutex<Scheduler> ◄─complete── check task
//!        │  latest(), first_round_done(), stats()            │  ▲                      (one tokio
//!        │                                                   │  │ poll_due / next_wake   task per
//!        ├─ subscribe() ◄── broadcast<HealthEvent> ◄─────────┤  │                        run, no
//!        └─ watchdog_events() ◄── broadcast<WatchdogEvent> ◄─┤  dispatcher task ─spawn─►  thread)
//!                                                            └─ watchdog task (own period)
//! ```
//!
//! The dispatcher sleeps until the earliest deadline (absolute, `sleep_until`) or until woken
//! by a change (`Notify`), starts every due check as its own task, and goes back to sleep. The
//! check task runs the check, then applies the result under the lock and publishes events;
//! when checks were waiting for a concurrency slot, it takes the earliest of them and runs it
//! next, so a backlog costs no extra task or dispatcher wake-up per check.
//! Time comes from `tokio::time`, so tests run the whole service on a paused, virtual clock.
//! Dropping the [`HealthService`] aborts the dispatcher, the watchdog and running checks.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::outcome::{CheckResult, Outcome, Reason};
use crate::scheduler::{
    Due, HealthEvent, SchedError, Scheduler, SchedulerConfig, Stats, TargetStatus, WatchdogEvent,
};
use crate::spec::{CheckSpec, Target, TargetId};

/// Runs one check. The real one is [`crate::check::run`]; tests substitute scripted behaviour.
pub trait Runner: Send + Sync + 'static {
    fn run(
        &self,
        spec: Arc<CheckSpec>,
        target: Target,
    ) -> Pin<Box<dyn Future<Output = CheckResult> + Send>>;
}

/// The real checkers.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealRunner;

impl Runner for RealRunner {
    fn run(
        &self,
        spec: Arc<CheckSpec>,
        target: Target,
    ) -> Pin<Box<dyn Future<Output = CheckResult> + Send>> {
        Box::pin(async move { crate::check::run(&spec, &target).await })
    }
}

/// Service settings.
#[derive(Debug, Clone, Copy)]
pub struct ServiceOptions {
    pub scheduler: SchedulerConfig,
    /// How often the watchdog looks at the scheduler.
    pub watchdog_period: Duration,
    /// Capacity of the event channels; a subscriber that falls further behind gets `Lagged`.
    pub event_capacity: usize,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            scheduler: SchedulerConfig::default(),
            watchdog_period: Duration::from_millis(250),
            event_capacity: 4096,
        }
    }
}

struct Shared {
    core: Mutex<Scheduler>,
    epoch: Instant,
    wake: Notify,
    events: broadcast::Sender<HealthEvent>,
    watchdog: broadcast::Sender<WatchdogEvent>,
    first_round: watch::Sender<bool>,
    runner: Arc<dyn Runner>,
}

impl Shared {
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    /// The core is plain data; a panic while it was held (a bug) must not take the whole
    /// health service down with poisoned locks.
    fn core(&self) -> MutexGuard<'_, Scheduler> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish_first_round(&self, done: bool) {
        // Hot path: a read lock in the common case where nothing changes.
        if *self.first_round.borrow() == done {
            return;
        }
        self.first_round.send_if_modified(|v| {
            let changed = *v != done;
            *v = done;
            changed
        });
    }
}

/// Cheap, clonable handle to a running [`HealthService`].
#[derive(Clone)]
pub struct HealthHandle {
    shared: Arc<Shared>,
}

/// Owns the service's tasks; dropping it stops health checking.
pub struct HealthService {
    handle: HealthHandle,
    dispatcher: JoinHandle<()>,
    watchdog: JoinHandle<()>,
}

impl Drop for HealthService {
    fn drop(&mut self) {
        self.dispatcher.abort();
        self.watchdog.abort();
    }
}

impl HealthService {
    /// Start with the real checkers on the current tokio runtime.
    pub fn start(options: ServiceOptions) -> Self {
        Self::start_with_runner(options, Arc::new(RealRunner))
    }

    /// Start with a custom [`Runner`] (tests, dry runs).
    pub fn start_with_runner(options: ServiceOptions, runner: Arc<dyn Runner>) -> Self {
        let (events, _) = broadcast::channel(options.event_capacity.max(1));
        let (watchdog, _) = broadcast::channel(64);
        let (first_round, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            core: Mutex::new(Scheduler::new(options.scheduler, SystemTime::now())),
            epoch: Instant::now(),
            wake: Notify::new(),
            events,
            watchdog,
            first_round,
            runner,
        });
        let dispatcher = tokio::spawn(dispatch_loop(shared.clone()));
        let watchdog = tokio::spawn(watchdog_loop(shared.clone(), options.watchdog_period));
        HealthService {
            handle: HealthHandle { shared },
            dispatcher,
            watchdog,
        }
    }

    pub fn handle(&self) -> HealthHandle {
        self.handle.clone()
    }
}

impl HealthHandle {
    /// Start checking a target. Its first check runs within one interval (random phase).
    pub fn add(&self, target: Target, spec: CheckSpec) -> Result<(), SchedError> {
        let now = self.shared.now();
        let done = {
            let mut core = self.shared.core();
            core.add(target, spec, now)?;
            core.first_round_done()
        };
        self.shared.publish_first_round(done);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Change a target's check (or its address) without losing its health state.
    pub fn update(&self, target: Target, spec: CheckSpec) -> Result<(), SchedError> {
        let now = self.shared.now();
        let id = target.id.clone();
        self.shared.core().update(&id, target, spec, now)?;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stop checking a target.
    pub fn remove(&self, id: &TargetId) -> Result<(), SchedError> {
        let done = {
            let mut core = self.shared.core();
            core.remove(id)?;
            core.first_round_done()
        };
        self.shared.publish_first_round(done);
        Ok(())
    }

    /// Health transitions of every target, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HealthEvent> {
        self.shared.events.subscribe()
    }

    /// Scheduler stall and recovery reports.
    pub fn watchdog_events(&self) -> broadcast::Receiver<WatchdogEvent> {
        self.shared.watchdog.subscribe()
    }

    /// State and latest result of a target.
    pub fn latest(&self, id: &TargetId) -> Option<TargetStatus> {
        self.shared.core().status(id)
    }

    pub fn targets(&self) -> Vec<TargetId> {
        self.shared.core().ids()
    }

    /// Has every target had its first result? (vgwd announces nothing before.)
    pub fn first_round_done(&self) -> bool {
        self.shared.core().first_round_done()
    }

    /// Wait until every target has had its first result.
    pub async fn wait_first_round(&self) {
        let mut rx = self.shared.first_round.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    pub fn stats(&self) -> Stats {
        self.shared.core().stats()
    }

    /// Forget lateness collected so far (benchmarks call this after warm-up).
    pub fn reset_lateness(&self) {
        self.shared.core().reset_lateness();
    }
}

async fn dispatch_loop(shared: Arc<Shared>) {
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        let now = shared.now();
        let (due, next) = {
            let mut core = shared.core();
            let due = core.poll_due(now);
            (due, core.next_wake())
        };
        for d in due {
            running.spawn(run_one(shared.clone(), d));
        }
        // Reap finished tasks so the set does not grow.
        while running.try_join_next().is_some() {}
        match next {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(shared.epoch + at) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

/// Run `due`, apply its result, and while checks are waiting for a free concurrency slot,
/// run the next one in the same task: under a backlog the slot this check frees goes straight
/// to the earliest waiting check, without a new task and a wake-up of the dispatcher per
/// check (which would add work exactly when there is too much).
async fn run_one(shared: Arc<Shared>, mut due: Due) {
    loop {
        let started = shared.now();
        let fut = shared.runner.run(due.spec.clone(), due.target.clone());
        let result = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(r) => r,
            Err(_) => CheckResult::new(
                Outcome::down(Reason::Internal(format!(
                    "the {} check of {} panicked",
                    due.spec.probe.kind(),
                    due.target.id
                ))),
                shared.now().saturating_sub(started),
            ),
        };
        let now = shared.now();
        let (events, replan, done, next) = {
            let mut core = shared.core();
            let was_full = core.is_full();
            let (events, replan) = core.complete(
                due.ticket,
                &due.target.id,
                due.deadline,
                started,
                result,
                now,
            );
            // Only a check that is due now and was held back by the limit: everything else
            // is the dispatcher's (it sleeps until the next deadline).
            let next = if was_full {
                core.poll_due_max(now, 1).pop()
            } else {
                None
            };
            (events, replan, core.first_round_done(), next)
        };
        for e in events {
            tracing::info!(target_id = %e.target_id, from = %e.from, to = %e.to, reason = %e.reason, "health changed");
            // No subscriber is not an error: the state stays readable through `latest`.
            let _ = shared.events.send(e);
        }
        shared.publish_first_round(done);
        match next {
            // The freed slot is taken again: the dispatcher, waiting for a free slot, has
            // nothing to do yet. (`replan` for an earlier deadline cannot arise while every
            // slot is busy: the dispatcher then waits for a completion, not a deadline.)
            Some(n) => due = n,
            None => {
                if replan {
                    shared.wake.notify_one();
                }
                return;
            }
        }
    }
}

async fn watchdog_loop(shared: Arc<Shared>, period: Duration) {
    let period = period.max(Duration::from_millis(1));
    let mut tick = Instant::now() + period;
    loop {
        tokio::time::sleep_until(tick).await;
        let woke = Instant::now();
        let own_lateness = woke.saturating_duration_since(tick);
        let event = shared.core().watchdog(shared.now(), own_lateness);
        if let Some(e) = event {
            match &e {
                WatchdogEvent::Stalled {
                    lateness, cause, ..
                } => {
                    tracing::error!(?lateness, ?cause, "health check scheduler is stalled")
                }
                WatchdogEvent::Recovered { .. } => {
                    tracing::warn!("health check scheduler recovered")
                }
            }
            let _ = shared.watchdog.send(e);
        }
        // Absolute ticks; after a long stall, resume from now instead of catching up.
        tick += period;
        if tick <= woke {
            tick = woke + period;
        }
    }
}
