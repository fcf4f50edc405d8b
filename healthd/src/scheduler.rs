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
//! * **Jitter.** A new target's phase in `[0, interval)` comes from a randomly offset
//!   golden-ratio sequence, so thousands of targets added at once are spread evenly over the
//!   interval (no clumps, as independent random phases would make) instead of arriving in a
//!   burst.
//! * **Bounded concurrency.** At most `max_concurrency` checks run at once; due checks wait in
//!   deadline order, and their lateness is measured.
//! * **Doubt.** While a target is in doubt (a rise or fall streak is running) its
//!   `doubt_interval` replaces the interval, if configured.
//! * **Watchdog.** [`Scheduler::watchdog`] reports when due work is late by more than a
//!   threshold (a backlog, a blocked runtime) and when it recovers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
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
    /// Completed checks whose outcome was down (any reason, timeouts included).
    pub failed: u64,
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

/// FxHash (rustc's hasher): the scheduler's maps are keyed by operator-given target ids and
/// by its own ticket numbers, not by anything from the network, so SipHash's resistance to
/// chosen keys buys nothing here and costs a measurable share of each check at 10,000/s.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.get_mut(..chunk.len())
                .unwrap_or_default()
                .copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// A heap item: (deadline in nanoseconds since the epoch, token, slot). Tokens are unique, so
/// the slot never takes part in the ordering; 24 bytes, so the heap of 10,000 targets stays
/// small in cache.
type HeapItem = Reverse<(u64, u64, u32)>;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub struct Scheduler {
    config: SchedulerConfig,
    /// Position in the golden-ratio phase sequence, in [0, 1).
    phase_seq: f64,
    wall_epoch: SystemTime,
    /// Targets by slot (a slab: removed targets leave a `None` that a new target reuses).
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    index: HashMap<TargetId, u32, FxBuild>,
    heap: BinaryHeap<HeapItem>,
    outstanding: HashSet<u64, FxBuild>,
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
            phase_seq: StdRng::seed_from_u64(config.seed).random::<f64>(),
            wall_epoch,
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::default(),
            heap: BinaryHeap::new(),
            outstanding: HashSet::default(),
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

    fn entry(&self, id: &TargetId) -> Option<&Entry> {
        let slot = *self.index.get(id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    fn slot_mut(&mut self, id: &TargetId) -> Option<(u32, &mut Entry)> {
        let slot = *self.index.get(id)?;
        let e = self.slots.get_mut(slot as usize)?.as_mut()?;
        Some((slot, e))
    }

    fn push(&mut self, slot: u32, deadline: Duration) {
        self.next_token += 1;
        let token = self.next_token;
        if let Some(Some(e)) = self.slots.get_mut(slot as usize) {
            e.token = token;
            e.deadline = deadline;
            self.heap.push(Reverse((nanos(deadline), token, slot)));
        }
    }

    /// Is this heap item the current one of an idle target?
    fn live(&self, token: u64, slot: u32) -> bool {
        matches!(self.slots.get(slot as usize), Some(Some(e)) if e.token == token && e.running.is_none())
    }

    /// Phase of the next new (or re-timed) target within `interval`: a random offset (from
    /// the seed) plus the golden-ratio sequence, `frac(offset + k / phi)`. Independent uniform
    /// phases clump (10,000 targets at 1 s put 20+ checks into some milliseconds and none into
    /// others); this sequence keeps every gap within a factor of about 2.6 of the even
    /// spacing, however many targets are added (three-gap theorem), and stays spread for
    /// any contiguous run of additions, such as one service's reals.
    fn jitter(&mut self, interval: Duration) -> Duration {
        const INV_PHI: f64 = 0.618_033_988_749_894_9;
        self.phase_seq = (self.phase_seq + INV_PHI).fract();
        let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        // An f64 has 53 bits of mantissa: below a nanosecond for intervals up to ~100 days.
        let at = (self.phase_seq * nanos as f64) as u64;
        Duration::from_nanos(at.min(nanos.saturating_sub(1)))
    }

    /// Add a target; its first check is at a random phase within one interval from `now`.
    pub fn add(
        &mut self,
        target: Target,
        spec: CheckSpec,
        now: Duration,
    ) -> Result<(), SchedError> {
        if self.index.contains_key(&target.id) {
            return Err(SchedError::Duplicate);
        }
        let id = target.id.clone();
        let phase = self.jitter(spec.timing.interval);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(id, slot);
        let Some(place) = self.slots.get_mut(slot as usize) else {
            return Err(SchedError::NotFound);
        };
        *place = Some(Entry {
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
        });
        self.without_first += 1;
        self.push(slot, now + phase);
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
        let (slot, e) = self.slot_mut(id).ok_or(SchedError::NotFound)?;
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
            self.push(slot, next);
        }
        Ok(())
    }

    /// Remove a target. A check in flight finishes and its result is discarded.
    pub fn remove(&mut self, id: &TargetId) -> Result<(), SchedError> {
        let slot = self.index.remove(id).ok_or(SchedError::NotFound)?;
        let e = self
            .slots
            .get_mut(slot as usize)
            .and_then(Option::take)
            .ok_or(SchedError::NotFound)?;
        self.free.push(slot);
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
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn ids(&self) -> Vec<TargetId> {
        self.index.keys().cloned().collect()
    }

    pub fn status(&self, id: &TargetId) -> Option<TargetStatus> {
        let e = self.entry(id)?;
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
            targets: self.index.len(),
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
        while let Some(&Reverse((_, token, slot))) = self.heap.peek() {
            if self.live(token, slot) {
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
        self.heap
            .peek()
            .map(|Reverse((d, _, _))| Duration::from_nanos(*d))
    }

    /// Are all concurrency slots taken?
    pub fn is_full(&self) -> bool {
        self.outstanding.len() >= self.config.max_concurrency
    }

    /// Checks to start now, earliest deadline first, up to the concurrency limit.
    pub fn poll_due(&mut self, now: Duration) -> Vec<Due> {
        self.poll_due_max(now, usize::MAX)
    }

    /// Like [`Scheduler::poll_due`], at most `max` checks.
    pub fn poll_due_max(&mut self, now: Duration, max: usize) -> Vec<Due> {
        let mut due = Vec::new();
        while self.outstanding.len() < self.config.max_concurrency && due.len() < max {
            self.clean_top();
            let Some(Reverse((deadline, _, _))) = self.heap.peek() else {
                break;
            };
            if *deadline > nanos(now) {
                break;
            }
            let Some(Reverse((deadline, _, slot))) = self.heap.pop() else {
                break;
            };
            let deadline = Duration::from_nanos(deadline);
            self.next_ticket += 1;
            let ticket = self.next_ticket;
            let Some(Some(e)) = self.slots.get_mut(slot as usize) else {
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
        if !result.outcome.is_up() {
            self.stats.failed += 1;
        }
        self.record_start(deadline, started);
        let wall = self.wall(now);
        let Some((slot, Some(e))) = self.index.get(id).map(|&slot| {
            (
                slot,
                self.slots.get_mut(slot as usize).and_then(Option::as_mut),
            )
        }) else {
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
        self.push(slot, next);
        let replan = was_full || earliest.is_none_or(|d| nanos(next) < d);
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
            .map_or(Duration::ZERO, |Reverse((d, _, _))| {
                now.saturating_sub(Duration::from_nanos(*d))
            });
        let mut cause = None;
        let mut lateness = Duration::ZERO;
        if backlog_late > threshold {
            let now_ns = nanos(now);
            let waiting = self
                .heap
                .iter()
                .filter(|Reverse((d, t, slot))| *d <= now_ns && self.live(*t, *slot))
                .count();
            cause = Some(StallCause::Backlog { waiting });
            lateness = backlog_late;
        } else if own_lateness > threshold {
            cause = Some(StallCause::Runtime);
            lateness = own_lateness;
        } else {
            for e in self.slots.iter().flatten() {
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
