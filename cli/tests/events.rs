//! `vgwctl events` follows every signal of the interface, in order, until --count or Ctrl-C.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vgw_api::{AlarmChange, Event, NeighborChange};
use vgwd::dbus::sample::sample_state;

/// Starts `vgwctl events ARGS` and waits until it says it is following (its match rule is
/// registered from then on).
fn follow(bed: &Bed, args: &[&str]) -> (Child, String) {
    let mut child = match Command::new(VGWCTL)
        .arg("events")
        .args(args)
        .env("VGW_BUS", bed.address())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("spawn vgwctl events: {e}"),
    };
    let mut banner = String::new();
    if let Some(err) = child.stderr.take() {
        let mut r = BufReader::new(err);
        let _ = r.read_line(&mut banner);
    }
    assert!(
        banner.starts_with("Following vgwd events on the bus at"),
        "{banner:?}"
    );
    (child, bed.scrub(&banner))
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn stdout_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut s);
    }
    s
}

/// Causes one of each signal: two from drains, one from reload, two injected (neighbour and
/// alarm changes have no command that causes them).
fn cause_every_signal(bed: &Bed) {
    for args in [
        &["drain", "vip", "192.0.2.10"][..],
        &["drain", "real", "web", "10.1.1.2:8080"],
        &["reload"],
    ] {
        assert!(bed.vgwctl(args).status.success(), "{args:?}");
    }
    bed.backend.inject(Event::NeighborChanged(NeighborChange {
        protocol: "bgp".into(),
        name: "tor2".into(),
        address: "10.0.0.5".into(),
        state: "Established".into(),
        previous: "Active".into(),
    }));
    bed.backend.inject(Event::AlarmChanged(AlarmChange {
        kind: "quorum_lost".into(),
        subject: "dns".into(),
        active: false,
        message: "service dns is back above quorum".into(),
    }));
    assert!(bed
        .vgwctl(&["undrain", "vip", "192.0.2.10"])
        .status
        .success());
}

#[test]
fn events_prints_every_signal_in_order() {
    let bed = Bed::start(sample_state());
    let (mut child, banner) = follow(&bed, &["--count", "6"]);
    cause_every_signal(&bed);
    let code = wait_exit(&mut child, Duration::from_secs(10));
    let out = stdout_of(&mut child);
    golden(
        "events",
        &format!("$ vgwctl events --count 6\nexit {code:?}\n--- stderr\n{banner}--- stdout\n{out}"),
    );
    assert_eq!(code, Some(0));
}

#[test]
fn events_as_json_lines() {
    let bed = Bed::start(sample_state());
    let (mut child, _) = follow(&bed, &["--count", "6", "-o", "json"]);
    cause_every_signal(&bed);
    let code = wait_exit(&mut child, Duration::from_secs(10));
    let out = stdout_of(&mut child);
    golden("events.json", &out);
    assert_eq!(code, Some(0));
    let decoded: Vec<Event> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(decoded.len(), 6, "{out}");
}

#[test]
fn events_stops_on_ctrl_c() {
    let bed = Bed::start(sample_state());
    let (mut child, _) = follow(&bed, &[]);
    assert!(bed.vgwctl(&["drain", "node"]).status.success());
    // Give the signal time to arrive, then interrupt like a terminal would.
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    assert!(nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).is_ok());
    let code = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0), "vgwctl events did not stop on SIGINT");
    let out = stdout_of(&mut child);
    assert_eq!(
        out.lines().filter(|l| l.contains("node drain")).count(),
        3,
        "{out}"
    );
}
