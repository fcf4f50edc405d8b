//! Sans-IO scheduling core: which target to check when, and what the results mean.
//!
//! Time is a `Duration` since the scheduler's epoch, passed in by the caller; nothing here
//! reads a clock, sleeps or spawns. The tokio driver ([`crate::service`]) asks
//! [`Scheduler::next_wake`] when to wake, takes [`Scheduler::poll_due`] checks to run, and feeds
//! results back with [`Scheduler::complete`]. Tests drive the same calls with a virtual clock.
//!
//! * **Absolute deadlines, no drift.** Every target has a grid `phase + k * interval`; the next
//!   deadline is computed from the previous *deadline*, never from when a check finished, so
//!   check durations and dispatch delays do not accumulate. A check still running at its next
//!   slot skips that slot (counted in [`Stats::skipped_slots`]); checks of one target never
//!   overlap.
//! * **Jitter.** A new target's phase is uniform in `[0, interval)`, so thousands of targets
//!   added at once are spread over the interval instead of arriving in a burst.
//! * **Bounded concurrency.** At most `max_concurrency` checks run at once; due checks wait in
//!   deadline order, and their lateness is measured.
//! * **Doubt.** While a target is in doubt (a rise or fall streak is running) its
//!   `doubt_interval` replaces the interval, if configured.
//! * **Watchdog.** [`Scheduler::watchdog`] reports when due work is late by more than a
//!   threshold (a backlog, a blocked runtime) and when it recovers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::histogram::Histogram;
use crate::outcome::CheckResult;
use crate::spec::{CheckSpec, Target, TargetId};
use crate::target::{State, TargetState, TransitionReason};

/// A change of a target's health as the daemon receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub target_id: TargetId,
    pub from: State,
    pub to: State,
    pub reason: TransitionReason,
    /// Latency of the check that decided the transition.
    pub latency: Duration,
    /// Weight in effect after the transition (file checks); `None`: the configured weight.
    pub weight: Option<u32>,
    pub at: SystemTime,
}

/// Why the watchdog raised the alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StallCause {
    /// Checks are due but not started: concurrency exhausted or the dispatcher not running.
    Backlog { waiting: usize },
    /// The watchdog itself woke late: the runtime's threads were blocked.
    Runtime,
    /// A check has been running far past its timeout.
    StuckCheck { target: TargetId },
}

/// Watchdog reports, edge-triggered: one `Stalled` when lateness crosses the threshold, one
/// `Recovered` when it is back under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchdogEvent {
    Stalled {
        lateness: Duration,
        cause: StallCause,
        at: SystemTime,
    },
    Recovered {
        at: SystemTime,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    #[error("a target with this id already exists")]
    Duplicate,
    #[error("no target with this id")]
    NotFound,
}

/// A check to start now.
#[derive(Debug, Clone)]
pub struct Due {
    pub ticket: u64,
    pub target: Target,
    pub spec: Arc<CheckSpec>,
    /// The nominal start time this run is for.
    pub deadline: Duration,
}

/// Snapshot of one target for readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub target: Target,
    pub state: State,
    pub weight: Option<u32>,
    pub last: Option<CheckResult>,
    pub last_change: Option<SystemTime>,
    pub ok_streak: u32,
    pub fail_streak: u32,
    pub checks: u64,
    pub failures: u64,
}

/// Counters and lateness distribution.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub targets: usize,
    pub running: usize,
    pub started: u64,
    pub completed: u64,
    /// Slots skipped because the previous check of the same target was still running.
    pub skipped_slots: u64,
    /// Results thrown away because the target was removed or changed meanwhile.
    pub discarded: u64,
    /// Lateness of check starts relative to their nominal deadline.
    pub start_lateness: Histogram,
    pub stalls: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    pub max_concurrency: usize,
    /// Lateness that counts as a stall.
    pub stall_threshold: Duration,
    /// Seed of the jitter generator (fixed in tests for reproducible phases).
    pub seed: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_concurrency: 1024,
            stall_threshold: Duration::from_millis(500),
            seed: rand::random(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    target: Target,
    spec: Arc<CheckSpec>,
    state: TargetState,
    /// Token of the heap item that is current; older items are stale.
    token: u64,
    /// Nominal deadline of the scheduled or running check.
    deadline: Duration,
    /// Ticket of the running check.
    running: Option<u64>,
    /// The running check was started under a spec that has since changed.
    running_stale: bool,
    started_at: Option<Duration>,
    had_first: bool,
    last_change: Option<SystemTime>,
}

pub struct Scheduler {
    config: SchedulerConfig,
    rng: StdRng,
    wall_epoch: SystemTime,
    entries: HashMap<TargetId, Entry>,
    heap: BinaryHeap<Reverse<(Duration, u64, TargetId)>>,
    outstanding: HashSet<u64>,
    next_token: u64,
    next_ticket: u64,
    without_first: usize,
    stalled: bool,
    stats: Stats,
}

impl Scheduler {
    /// `wall_epoch` is the wall-clock time of tick zero (for event timestamps).
    pub fn new(config: SchedulerConfig, wall_epoch: SystemTime) -> Self {
        Scheduler {
            config: SchedulerConfig {
                max_concurrency: config.max_concurrency.max(1),
                ..config
            },
            rng: StdRng::seed_from_u64(config.seed),
            wall_epoch,
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            outstanding: HashSet::new(),
            next_token: 0,
            next_ticket: 0,
            without_first: 0,
            stalled: false,
            stats: Stats::default(),
        }
    }

    fn wall(&self, t: Duration) -> SystemTime {
        self.wall_epoch + t
    }

    fn push(&mut self, id: TargetId, deadline: Duration) {
        self.next_token += 1;
        let token = self.next_token;
        if let Some(e) = self.entries.get_mut(&id) {
            e.token = token;
            e.deadline = deadline;
            self.heap.push(Reverse((deadline, token, id)));
        }
    }

    fn jitter(&mut self, interval: Duration) -> Duration {
        let nanos = u64::try_from(interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_nanos(self.rng.random_range(0..nanos))
    }

    /// Add a target; its first check is at a random phase within one interval from `now`.
    pub fn add(
        &mut self,
        target: Target,
        spec: CheckSpec,
        now: Duration,
    ) -> Result<(), SchedError> {
        if self.entries.contains_key(&target.id) {
            return Err(SchedError::Duplicate);
        }
        let id = target.id.clone();
        let phase = self.jitter(spec.timing.interval);
        self.entries.insert(
            id.clone(),
            Entry {
                target,
                state: TargetState::new(spec.timing.hysteresis),
                spec: Arc::new(spec),
                token: 0,
                deadline: now,
                running: None,
                running_stale: false,
                started_at: None,
                had_first: false,
                last_change: None,
            },
        );
        self.without_first += 1;
        self.push(id, now + phase);
        Ok(())
    }

    /// Replace a target's check. The health state is kept (a reload must not flap a healthy
    /// real); a check already running under the old spec is not counted. A changed interval
    /// takes effect at once with a new random phase.
    pub fn update(
        &mut self,
        id: &TargetId,
        target: Target,
        spec: CheckSpec,
        now: Duration,
    ) -> Result<(), SchedError> {
        let jitter = self.jitter(spec.timing.interval);
        let e = self.entries.get_mut(id).ok_or(SchedError::NotFound)?;
        let interval_changed = e.spec.timing.interval != spec.timing.interval
            || e.spec.timing.doubt_interval != spec.timing.doubt_interval;
        e.state.set_hysteresis(spec.timing.hysteresis);
        e.target = Target {
            id: id.clone(),
            ..target
        };
        e.spec = Arc::new(spec);
        if e.running.is_some() {
            e.running_stale = true;
        } else if interval_changed {
            let next = (now + jitter).min(e.deadline.max(now));
            self.push(id.clone(), next);
        }
        Ok(())
    }

    /// Remove a target. A check in flight finishes and its result is discarded.
    pub fn remove(&mut self, id: &TargetId) -> Result<(), SchedError> {
        let e = self.entries.remove(id).ok_or(SchedError::NotFound)?;
        if !e.had_first {
            self.without_first -= 1;
        }
        Ok(())
    }

    /// Has every target had its first result?
    pub fn first_round_done(&self) -> bool {
        self.without_first == 0
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn ids(&self) -> Vec<TargetId> {
        self.entries.keys().cloned().collect()
    }

    pub fn status(&self, id: &TargetId) -> Option<TargetStatus> {
        let e = self.entries.get(id)?;
        let (checks, failures) = e.state.counts();
        Some(TargetStatus {
            target: e.target.clone(),
            state: e.state.state(),
            weight: e.state.weight(),
            last: e.state.last().cloned(),
            last_change: e.last_change,
            ok_streak: e.state.ok_streak(),
            fail_streak: e.state.fail_streak(),
            checks,
            failures,
        })
    }

    pub fn stats(&self) -> Stats {
        Stats {
            targets: self.entries.len(),
            running: self.outstanding.len(),
            ..self.stats.clone()
        }
    }

    /// Forget the lateness distribution collected so far (e.g. after a warm-up).
    pub fn reset_lateness(&mut self) {
        self.stats.start_lateness.clear();
    }

    /// Drop stale heap items from the top.
    fn clean_top(&mut self) {
        while let Some(Reverse((_, token, id))) = self.heap.peek() {
            let live = self
                .entries
                .get(id)
                .is_some_and(|e| e.token == *token && e.running.is_none());
            if live {
                return;
            }
            self.heap.pop();
        }
    }

    /// When the driver should wake next; `None`: nothing scheduled, or every slot busy (a
    /// completion wakes the driver then).
    pub fn next_wake(&mut self) -> Option<Duration> {
        if self.outstanding.len() >= self.config.max_concurrency {
            return None;
        }
        self.clean_top();
        self.heap.peek().map(|Reverse((d, _, _))| *d)
    }

    /// Checks to start now, earliest deadline first, up to the concurrency limit.
    pub fn poll_due(&mut self, now: Duration) -> Vec<Due> {
        let mut due = Vec::new();
        while self.outstanding.len() < self.config.max_concurrency {
            self.clean_top();
            let Some(Reverse((deadline, _, _))) = self.heap.peek() else {
                break;
            };
            if *deadline > now {
                break;
            }
            let Some(Reverse((deadline, _, id))) = self.heap.pop() else {
                break;
            };
            self.next_ticket += 1;
            let ticket = self.next_ticket;
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            e.running = Some(ticket);
            e.running_stale = false;
            e.started_at = Some(now);
            self.outstanding.insert(ticket);
            self.stats.started += 1;
            due.push(Due {
                ticket,
                target: e.target.clone(),
                spec: e.spec.clone(),
                deadline,
            });
        }
        due
    }

    /// Record that the check with `ticket` actually began at `started` (the driver may start
    /// it a little after `poll_due`); returns its lateness.
    fn record_start(&mut self, deadline: Duration, started: Duration) -> Duration {
        let late = started.saturating_sub(deadline);
        self.stats.start_lateness.record(late);
        late
    }

    /// Feed the result of a check started by [`Scheduler::poll_due`]. Returns the health
    /// events to publish and whether the driver should re-plan its wake-up (a deadline earlier
    /// than the one it sleeps for, or a freed concurrency slot it was waiting for).
    pub fn complete(
        &mut self,
        ticket: u64,
        id: &TargetId,
        deadline: Duration,
        started: Duration,
        result: CheckResult,
        now: Duration,
    ) -> (Vec<HealthEvent>, bool) {
        let was_full = self.outstanding.len() >= self.config.max_concurrency;
        if !self.outstanding.remove(&ticket) {
            return (Vec::new(), false);
        }
        self.stats.completed += 1;
        self.record_start(deadline, started);
        let wall = self.wall(now);
        let Some(e) = self.entries.get_mut(id) else {
            self.stats.discarded += 1;
            return (Vec::new(), was_full);
        };
        if e.running != Some(ticket) {
            self.stats.discarded += 1;
            return (Vec::new(), was_full);
        }
        e.running = None;
        e.started_at = None;
        let mut events = Vec::new();
        if e.running_stale {
            e.running_stale = false;
            self.stats.discarded += 1;
        } else {
            if !e.had_first {
                e.had_first = true;
                self.without_first -= 1;
            }
            if let Some(t) = e.state.process(result) {
                e.last_change = Some(wall);
                events.push(HealthEvent {
                    target_id: id.clone(),
                    from: t.from,
                    to: t.to,
                    reason: t.reason,
                    latency: t.latency,
                    weight: t.weight,
                    at: wall,
                });
            }
        }
        let timing = e.spec.timing;
        let interval = match timing.doubt_interval {
            Some(d) if e.state.in_doubt() => d,
            _ => timing.interval,
        };
        // Next slot on the grid strictly after `now`; slots passed while this check ran are
        // skipped, never run in a burst.
        let mut next = deadline + interval;
        if next <= now {
            let behind = (now - deadline).as_nanos() / interval.as_nanos().max(1);
            let k = u32::try_from(behind + 1).unwrap_or(u32::MAX);
            next = deadline + interval.saturating_mul(k);
            if next <= now {
                next += interval;
            }
            let skipped = u64::from(k).saturating_sub(1);
            self.stats.skipped_slots += skipped;
        }
        self.clean_top();
        let earliest = self.heap.peek().map(|Reverse((d, _, _))| *d);
        self.push(id.clone(), next);
        let replan = was_full || earliest.is_none_or(|d| next < d);
        (events, replan)
    }

    /// Periodic health check of the scheduler itself. `own_lateness` is how late the watchdog
    /// woke. Returns an event on entering or leaving the stalled condition.
    pub fn watchdog(&mut self, now: Duration, own_lateness: Duration) -> Option<WatchdogEvent> {
        let threshold = self.config.stall_threshold;
        self.clean_top();
        let backlog_late = self
            .heap
            .peek()
            .map_or(Duration::ZERO, |Reverse((d, _, _))| now.saturating_sub(*d));
        let mut cause = None;
        let mut lateness = Duration::ZERO;
        if backlog_late > threshold {
            let waiting = self
                .heap
                .iter()
                .filter(|Reverse((d, t, id))| {
                    *d <= now
                        && self
                            .entries
                            .get(id)
                            .is_some_and(|e| e.token == *t && e.running.is_none())
                })
                .count();
            cause = Some(StallCause::Backlog { waiting });
            lateness = backlog_late;
        } else if own_lateness > threshold {
            cause = Some(StallCause::Runtime);
            lateness = own_lateness;
        } else {
            for e in self.entries.values() {
                if let Some(start) = e.started_at {
                    let limit = e.spec.timing.timeout + threshold;
                    let ran = now.saturating_sub(start);
                    if ran > limit {
                        cause = Some(StallCause::StuckCheck {
                            target: e.target.id.clone(),
                        });
                        lateness = ran - e.spec.timing.timeout;
                        break;
                    }
                }
            }
        }
        let at = self.wall(now);
        match (cause, self.stalled) {
            (Some(cause), false) => {
                self.stalled = true;
                self.stats.stalls += 1;
                Some(WatchdogEvent::Stalled {
                    lateness,
                    cause,
                    at,
                })
            }
            (None, true) => {
                self.stalled = false;
                Some(WatchdogEvent::Recovered { at })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
