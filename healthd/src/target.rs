//! Sans-IO health state of one target: rise/fall hysteresis over a stream of check results.
//!
//! ```text
//!              first result ok                    `rise` consecutive ok
//!   Unknown ───────────────────► Up ◄──────────────────────────────── Down
//!      │                          │                                     ▲
//!      │ first result failed      └─────── `fall` consecutive failures ─┘
//!      └──────────────────────────────────────────────────────────────► Down
//! ```
//!
//! * The state is `Unknown` until the first result arrives; that first result decides at once
//!   (the daemon waits for every target's first result before it announces anything, so one
//!   round must be enough to know).
//! * After that, `fall` consecutive failures take an `Up` target down and `rise` consecutive
//!   successes bring a `Down` target up; a single result of the other kind resets the streak.
//! * A transition is returned only when something changed: the state, or the weight carried by
//!   an up result (the file check sets weights). The latest result is always readable.
//! * While a streak towards the other state is running the target is "in doubt", and the
//!   scheduler may re-check it at a faster interval.

use std::fmt;
use std::time::Duration;

use crate::outcome::{CheckResult, Outcome, Reason};

/// Health of a target as the rest of vgw sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No result yet.
    Unknown,
    Up,
    Down,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Down => "down",
        })
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionReason {
    /// The first result of a target decided its state.
    First(Outcome),
    /// `consecutive` checks in a row passed (reached `rise`).
    Passed { consecutive: u32 },
    /// `consecutive` checks in a row failed (reached `fall`); `reason` is the deciding failure.
    Failed { consecutive: u32, reason: Reason },
    /// The target stayed up but its weight changed.
    Weight { from: Option<u32>, to: Option<u32> },
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionReason::First(o) => write!(f, "first check: {o}"),
            TransitionReason::Passed { consecutive } => {
                write!(f, "{consecutive} consecutive checks passed")
            }
            TransitionReason::Failed {
                consecutive,
                reason,
            } => write!(f, "{consecutive} consecutive checks failed, last: {reason}"),
            TransitionReason::Weight { from, to } => {
                let show = |w: &Option<u32>| w.map_or("default".to_string(), |w| w.to_string());
                write!(f, "weight changed from {} to {}", show(from), show(to))
            }
        }
    }
}

/// A change of a target's health, produced by [`TargetState::process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: TransitionReason,
    /// Latency of the check that decided the transition.
    pub latency: Duration,
    /// Weight in effect after the transition (`None`: the configured default).
    pub weight: Option<u32>,
}

/// Rise/fall thresholds. Both are at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hysteresis {
    pub rise: u32,
    pub fall: u32,
}

impl Hysteresis {
    /// Thresholds of 0 are treated as 1 (one result decides).
    pub fn new(rise: u32, fall: u32) -> Self {
        Hysteresis {
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }
}

/// The per-target machine.
#[derive(Debug, Clone)]
pub struct TargetState {
    hysteresis: Hysteresis,
    state: State,
    ok_streak: u32,
    fail_streak: u32,
    weight: Option<u32>,
    last: Option<CheckResult>,
    checks: u64,
    failures: u64,
}

impl TargetState {
    pub fn new(hysteresis: Hysteresis) -> Self {
        TargetState {
            hysteresis,
            state: State::Unknown,
            ok_streak: 0,
            fail_streak: 0,
            weight: None,
            last: None,
            checks: 0,
            failures: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The most recent result, whatever the state.
    pub fn last(&self) -> Option<&CheckResult> {
        self.last.as_ref()
    }

    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    pub fn hysteresis(&self) -> Hysteresis {
        self.hysteresis
    }

    /// Change rise/fall at run time; running streaks are kept and judged against the new values
    /// on the next result.
    pub fn set_hysteresis(&mut self, h: Hysteresis) {
        self.hysteresis = h;
    }

    /// Consecutive passed checks (counting only while not up, or the current streak while up).
    pub fn ok_streak(&self) -> u32 {
        self.ok_streak
    }

    pub fn fail_streak(&self) -> u32 {
        self.fail_streak
    }

    /// Total results processed and how many of them failed.
    pub fn counts(&self) -> (u64, u64) {
        (self.checks, self.failures)
    }

    /// A streak towards the other state is running: re-checking sooner decides sooner.
    pub fn in_doubt(&self) -> bool {
        match self.state {
            State::Unknown => false,
            State::Up => self.fail_streak > 0,
            State::Down => self.ok_streak > 0,
        }
    }

    /// Feed one result; returns a transition only if the state or the weight changed.
    pub fn process(&mut self, result: CheckResult) -> Option<Transition> {
        self.checks += 1;
        let latency = result.latency;
        let transition = match &result.outcome {
            Outcome::Up { weight } => {
                self.fail_streak = 0;
                self.ok_streak = self.ok_streak.saturating_add(1);
                match self.state {
                    State::Unknown => {
                        self.weight = *weight;
                        Some(self.change(
                            State::Up,
                            TransitionReason::First(result.outcome.clone()),
                            latency,
                        ))
                    }
                    State::Down if self.ok_streak >= self.hysteresis.rise => {
                        self.weight = *weight;
                        let consecutive = self.ok_streak;
                        Some(self.change(
                            State::Up,
                            TransitionReason::Passed { consecutive },
                            latency,
                        ))
                    }
                    State::Down => None,
                    State::Up if *weight != self.weight => {
                        let from = self.weight;
                        self.weight = *weight;
                        Some(Transition {
                            from: State::Up,
                            to: State::Up,
                            reason: TransitionReason::Weight { from, to: *weight },
                            latency,
                            weight: *weight,
                        })
                    }
                    State::Up => None,
                }
            }
            Outcome::Down { reason } => {
                self.failures += 1;
                self.ok_streak = 0;
                self.fail_streak = self.fail_streak.saturating_add(1);
                match self.state {
                    State::Unknown => Some(self.change(
                        State::Down,
                        TransitionReason::First(result.outcome.clone()),
                        latency,
                    )),
                    State::Up if self.fail_streak >= self.hysteresis.fall => {
                        let consecutive = self.fail_streak;
                        Some(self.change(
                            State::Down,
                            TransitionReason::Failed {
                                consecutive,
                                reason: reason.clone(),
                            },
                            latency,
                        ))
                    }
                    State::Up | State::Down => None,
                }
            }
        };
        self.last = Some(result);
        transition
    }

    fn change(&mut self, to: State, reason: TransitionReason, latency: Duration) -> Transition {
        let from = self.state;
        self.state = to;
        // A fresh state starts with no streak towards the other one.
        match to {
            State::Up => self.fail_streak = 0,
            State::Down => self.ok_streak = 0,
            State::Unknown => {}
        }
        Transition {
            from,
            to,
            reason,
            latency,
            weight: if to == State::Up { self.weight } else { None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ms: u64) -> CheckResult {
        CheckResult::new(Outcome::up(), Duration::from_millis(ms))
    }

    fn ok_w(w: u32) -> CheckResult {
        CheckResult::new(Outcome::Up { weight: Some(w) }, Duration::from_millis(1))
    }

    fn fail(ms: u64, phase: &'static str) -> CheckResult {
        CheckResult::new(
            Outcome::down(Reason::Timeout {
                phase,
                after: Duration::from_millis(ms),
            }),
            Duration::from_millis(ms),
        )
    }

    fn machine(rise: u32, fall: u32) -> TargetState {
        TargetState::new(Hysteresis::new(rise, fall))
    }

    /// Feed a pattern ('+' ok, '-' fail) and return the state after each step and which steps
    /// produced a transition.
    fn run(m: &mut TargetState, pattern: &str) -> (String, Vec<usize>) {
        let mut states = String::new();
        let mut at = Vec::new();
        for (i, c) in pattern.chars().enumerate() {
            let r = if c == '+' { ok(1) } else { fail(1, "x") };
            if m.process(r).is_some() {
                at.push(i);
            }
            states.push(match m.state() {
                State::Unknown => '?',
                State::Up => 'U',
                State::Down => 'D',
            });
        }
        (states, at)
    }

    #[test]
    fn starts_unknown_with_no_result() {
        let m = machine(2, 3);
        assert_eq!(m.state(), State::Unknown);
        assert!(m.last().is_none());
        assert!(!m.in_doubt());
    }

    #[test]
    fn first_ok_decides_up_regardless_of_rise() {
        let mut m = machine(5, 5);
        let t = m.process(ok(7)).expect("transition");
        assert_eq!((t.from, t.to), (State::Unknown, State::Up));
        assert_eq!(t.latency, Duration::from_millis(7));
        assert_eq!(t.reason, TransitionReason::First(Outcome::up()));
    }

    #[test]
    fn first_failure_decides_down_with_its_reason() {
        let mut m = machine(5, 5);
        let t = m.process(fail(30, "connecting")).expect("transition");
        assert_eq!((t.from, t.to), (State::Unknown, State::Down));
        assert_eq!(t.latency, Duration::from_millis(30));
        match t.reason {
            TransitionReason::First(Outcome::Down {
                reason: Reason::Timeout { phase, .. },
            }) => assert_eq!(phase, "connecting"),
            other => panic!("unexpected reason {other:?}"),
        }
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut m = machine(2, 3);
        let (states, at) = run(&mut m, "+--+---+");
        assert_eq!(states, "UUUUUUDD");
        assert_eq!(at, vec![0, 6]);
    }

    #[test]
    fn rise_needs_consecutive_successes() {
        let mut m = machine(3, 1);
        let (states, at) = run(&mut m, "-++-+++-");
        assert_eq!(states, "DDDDDDUD");
        assert_eq!(at, vec![0, 6, 7]);
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_result() {
        let mut m = machine(1, 1);
        let (states, at) = run(&mut m, "+-+-");
        assert_eq!(states, "UDUD");
        assert_eq!(at, vec![0, 1, 2, 3]);
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        let mut m = machine(0, 0);
        let (states, _) = run(&mut m, "+-+");
        assert_eq!(states, "UDU");
    }

    #[test]
    fn no_event_while_state_holds() {
        let mut m = machine(2, 2);
        let (_, at) = run(&mut m, "++++++-+-+-+");
        assert_eq!(at, vec![0]);
        let (_, at) = run(&mut m, "--");
        assert_eq!(at, vec![1]);
        let (_, at) = run(&mut m, "------+-+-+-");
        assert!(at.is_empty());
    }

    #[test]
    fn fall_transition_carries_deciding_reason_and_latency() {
        let mut m = machine(1, 2);
        m.process(ok(1));
        assert!(m.process(fail(10, "first")).is_none());
        let t = m.process(fail(20, "second")).expect("transition");
        assert_eq!((t.from, t.to), (State::Up, State::Down));
        assert_eq!(t.latency, Duration::from_millis(20));
        match t.reason {
            TransitionReason::Failed {
                consecutive: 2,
                reason: Reason::Timeout { phase, .. },
            } => assert_eq!(phase, "second"),
            other => panic!("unexpected reason {other:?}"),
        }
    }

    #[test]
    fn rise_transition_carries_count_and_latency() {
        let mut m = machine(2, 1);
        m.process(fail(1, "x"));
        m.process(ok(3));
        let t = m.process(ok(4)).expect("transition");
        assert_eq!(t.reason, TransitionReason::Passed { consecutive: 2 });
        assert_eq!(t.latency, Duration::from_millis(4));
    }

    #[test]
    fn latest_result_is_readable_without_transition() {
        let mut m = machine(3, 3);
        m.process(ok(1));
        assert!(m.process(fail(42, "reading")).is_none());
        let last = m.last().expect("last");
        assert!(!last.outcome.is_up());
        assert_eq!(last.latency, Duration::from_millis(42));
        assert_eq!(m.counts(), (2, 1));
    }

    #[test]
    fn doubt_follows_streaks() {
        let mut m = machine(2, 3);
        m.process(ok(1));
        assert!(!m.in_doubt());
        m.process(fail(1, "x"));
        assert!(m.in_doubt());
        m.process(ok(1));
        assert!(!m.in_doubt());
        m.process(fail(1, "x"));
        m.process(fail(1, "x"));
        m.process(fail(1, "x"));
        assert_eq!(m.state(), State::Down);
        assert!(!m.in_doubt());
        m.process(ok(1));
        assert!(m.in_doubt());
        m.process(fail(1, "x"));
        assert!(!m.in_doubt());
    }

    #[test]
    fn weight_change_while_up_is_an_event() {
        let mut m = machine(1, 1);
        let t = m.process(ok_w(50)).expect("first");
        assert_eq!(t.weight, Some(50));
        assert!(m.process(ok_w(50)).is_none());
        let t = m.process(ok_w(10)).expect("weight change");
        assert_eq!((t.from, t.to), (State::Up, State::Up));
        assert_eq!(
            t.reason,
            TransitionReason::Weight {
                from: Some(50),
                to: Some(10)
            }
        );
        assert_eq!(m.weight(), Some(10));
        // Back to "no weight given": also a change.
        let t = m.process(ok(1)).expect("weight cleared");
        assert_eq!(t.weight, None);
    }

    #[test]
    fn weight_of_the_rising_result_is_used() {
        let mut m = machine(2, 1);
        m.process(fail(1, "x"));
        assert!(m.process(ok_w(5)).is_none());
        let t = m.process(ok_w(7)).expect("up");
        assert_eq!(t.weight, Some(7));
        let t = m.process(fail(1, "x")).expect("down");
        assert_eq!(t.weight, None);
    }

    #[test]
    fn hysteresis_change_applies_to_running_streak() {
        let mut m = machine(1, 5);
        m.process(ok(1));
        m.process(fail(1, "x"));
        m.process(fail(1, "x"));
        assert_eq!(m.state(), State::Up);
        m.set_hysteresis(Hysteresis::new(1, 3));
        assert!(m.process(fail(1, "x")).is_some());
        assert_eq!(m.state(), State::Down);
    }

    /// Every pattern of length 10 against every rise/fall in 1..=4 checked against a
    /// straightforward reference model.
    #[test]
    fn exhaustive_against_reference_model() {
        for rise in 1..=4u32 {
            for fall in 1..=4u32 {
                for bits in 0u32..(1 << 10) {
                    let mut m = machine(rise, fall);
                    let mut state = State::Unknown;
                    let (mut oks, mut fails) = (0u32, 0u32);
                    for i in 0..10 {
                        let up = bits & (1 << i) != 0;
                        let r = if up { ok(1) } else { fail(1, "x") };
                        let before = state;
                        if up {
                            oks += 1;
                            fails = 0;
                        } else {
                            fails += 1;
                            oks = 0;
                        }
                        state = match (state, up) {
                            (State::Unknown, true) => State::Up,
                            (State::Unknown, false) => State::Down,
                            (State::Down, true) if oks >= rise => State::Up,
                            (State::Up, false) if fails >= fall => State::Down,
                            (s, _) => s,
                        };
                        let t = m.process(r);
                        assert_eq!(
                            m.state(),
                            state,
                            "rise {rise} fall {fall} bits {bits:b} step {i}"
                        );
                        assert_eq!(
                            t.is_some(),
                            before != state,
                            "rise {rise} fall {fall} bits {bits:b} step {i}"
                        );
                        if let Some(t) = t {
                            assert_eq!((t.from, t.to), (before, state));
                        }
                    }
                }
            }
        }
    }
}
