//! Helpers shared by the checker tests.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use vgw_health::{check, CheckConfig, CheckResult, CheckSpec, Outcome, Reason, Target};

/// Parse a `[service.check]` TOML snippet.
pub fn spec(toml_text: &str) -> CheckSpec {
    let cfg: CheckConfig = toml::from_str(toml_text).expect("check config parses");
    cfg.validate().expect("check config is valid")
}

pub async fn run_at(spec: &CheckSpec, addr: SocketAddr) -> CheckResult {
    let target = Target::new("t", addr.ip(), addr.port());
    check::run(spec, &target).await
}

pub async fn run_ip(spec: &CheckSpec, ip: IpAddr) -> CheckResult {
    let target = Target::new("t", ip, 0);
    check::run(spec, &target).await
}

#[track_caller]
pub fn assert_up(r: &CheckResult) {
    assert!(
        r.outcome.is_up(),
        "expected up, got {} after {:?}",
        r.outcome,
        r.latency
    );
}

/// Assert down and return the reason for further matching.
#[track_caller]
pub fn down(r: &CheckResult) -> Reason {
    match &r.outcome {
        Outcome::Down { reason } => reason.clone(),
        o => panic!("expected down, got {o} after {:?}", r.latency),
    }
}

/// Assert down with a reason whose text contains `needle`; return the text.
#[track_caller]
pub fn down_with(r: &CheckResult, needle: &str) -> String {
    let text = down(r).to_string();
    assert!(
        text.contains(needle),
        "reason {text:?} does not contain {needle:?}"
    );
    text
}

/// A timed-out check must end near its timeout: bounded in time. The slack allows for a
/// loaded CI machine; the hostile servers in these tests hold on for 30 s or more.
#[track_caller]
pub fn bounded(r: &CheckResult, timeout: Duration) {
    assert!(
        r.latency < timeout + Duration::from_secs(1),
        "check took {:?} with a timeout of {timeout:?}",
        r.latency
    );
}
