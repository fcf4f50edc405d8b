//! The checkers, one module each, and [`run`], which runs one check against one target.
//!
//! Every checker is an `async fn` that gets a [`Ctx`] (target, socket options, deadline) and
//! returns `Ok(outcome)` or a [`Reason`]. Every wait inside a checker goes through
//! [`Ctx::within`], so a timeout names the phase that hung ("connecting", "reading the
//! status line"); [`run`] adds an outer timeout as a last line of defence.

pub mod dns;
pub mod exec;
pub mod file;
pub mod http;
pub mod icmp;
pub(crate) mod sock;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::outcome::{CheckResult, Outcome, Reason};
use crate::spec::{CheckSpec, NetOptions, Probe, Target};

/// What a checker needs to know about the run in progress.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub target: &'a Target,
    pub net: &'a NetOptions,
    pub timeout: Duration,
    pub deadline: Instant,
}

impl Ctx<'_> {
    /// Await `fut` until the check's deadline; past it, fail naming `phase`.
    pub async fn within<T>(
        &self,
        phase: &'static str,
        fut: impl Future<Output = T>,
    ) -> Result<T, Reason> {
        tokio::time::timeout_at(self.deadline, fut)
            .await
            .map_err(|_| Reason::Timeout {
                phase,
                after: self.timeout,
            })
    }
}

/// Run one check now and measure it. Never panics and never takes much longer than the
/// configured timeout.
pub async fn run(spec: &CheckSpec, target: &Target) -> CheckResult {
    let start = Instant::now();
    let deadline = start + spec.timing.timeout;
    let ctx = Ctx {
        target,
        net: &spec.net,
        timeout: spec.timing.timeout,
        deadline,
    };
    let work = async {
        match &spec.probe {
            Probe::Tcp(p) => tcp::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::Udp(p) => udp::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::Http(p) => http::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::Dns(p) => dns::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::Icmp(p) => icmp::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::Exec(p) => exec::check(p, &ctx).await.map(|()| Outcome::up()),
            Probe::File(p) => file::check(p, &ctx).await,
        }
    };
    // Checkers honour the deadline themselves; the grace period (room for clean-up after the
    // deadline on a loaded machine) only catches a checker bug.
    let outcome = match tokio::time::timeout_at(deadline + Duration::from_millis(500), work).await {
        Ok(Ok(o)) => o,
        Ok(Err(reason)) => Outcome::down(reason),
        Err(_) => Outcome::down(Reason::Timeout {
            phase: "running the check",
            after: spec.timing.timeout,
        }),
    };
    CheckResult::new(outcome, start.elapsed())
}

/// Does `hay` contain `needle`? (An empty needle is always found.)
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
