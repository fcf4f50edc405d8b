//! vgw-health: health checking of real servers.
//!
//! * [`check`]: one module per checker (tcp, udp, http/https, dns, icmp, exec, file).
//! * [`target`]: the sans-IO rise/fall state of one target.
//! * [`scheduler`]: the sans-IO scheduling core (absolute deadlines, jitter, bounded
//!   concurrency, stall detection) and [`service`], the tokio driver around it with the
//!   [`HealthHandle`] the daemon uses.
//! * [`config`]: `[service.check]` as written in vgw.toml, validated into a [`CheckSpec`].

pub mod check;
pub mod config;
pub mod duration;
pub mod histogram;
pub mod outcome;
pub mod scheduler;
pub mod service;
pub mod spec;
pub mod target;

pub use config::{CheckConfig, CheckKind, ConfigError};
pub use duration::{parse_duration, HumanDuration};
pub use outcome::{CheckResult, Outcome, Reason};
pub use scheduler::{
    HealthEvent, SchedError, SchedulerConfig, StallCause, Stats, TargetStatus, WatchdogEvent,
};
pub use service::{HealthHandle, HealthService, RealRunner, Runner, ServiceOptions};
pub use spec::{CheckSpec, NetOptions, Probe, Target, TargetId, Timing};
pub use target::{Hysteresis, State, TargetState, Transition, TransitionReason};
