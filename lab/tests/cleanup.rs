//! A lab whose process is killed leaves namespaces behind; the next lab sweeps them, with the
//! processes inside.

use std::process::{Command, Stdio};
use std::time::Duration;

use vgw_lab::{lab_namespaces, wait_until, Lab};

const HELPER_ENV: &str = "VGW_LAB_CRASH_HELPER";
const SIGNAL_HELPER_ENV: &str = "VGW_LAB_SIGNAL_HELPER";

/// Run as a child process by `sweeps_what_a_killed_run_left`: builds a lab and waits to be killed.
#[test]
fn crash_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return; // only meaningful as the child of the test below
    }
    let lab = Lab::new("crash").unwrap();
    let h = lab.host("victim").unwrap();
    lab.spawn(&h, Command::new("sleep").arg("300")).unwrap();
    println!("READY {}", h.netns());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn sweeps_what_a_killed_run_left() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_helper", "--nocapture"])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("vgwlab-{}-", child.id());
    wait_until("the helper's namespace", Duration::from_secs(30), || {
        Ok(lab_namespaces()
            .iter()
            .any(|n| n.starts_with(&prefix) && n.ends_with("victim")))
    })
    .unwrap();
    let ns = lab_namespaces()
        .into_iter()
        .find(|n| n.starts_with(&prefix))
        .unwrap();
    // Wait for the sleep inside, then crash the lab's owner.
    wait_until("the process inside", Duration::from_secs(10), || {
        Ok(Command::new("ip")
            .args(["netns", "pids", &ns])
            .output()?
            .stdout
            .len()
            > 1)
    })
    .unwrap();
    let inside = String::from_utf8(
        Command::new("ip")
            .args(["netns", "pids", &ns])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lab_namespaces().contains(&ns),
        "a SIGKILLed run cannot clean up after itself"
    );

    let _sweeper = Lab::new("sweeper").unwrap(); // sweeps on creation
    assert!(
        !lab_namespaces().contains(&ns),
        "the stale namespace was swept"
    );
    for pid in inside.split_whitespace() {
        wait_until("the stale process to die", Duration::from_secs(5), || {
            Ok(!std::path::Path::new(&format!("/proc/{pid}")).exists())
        })
        .unwrap();
    }
}

/// Run as a child by `ctrl_c_tears_the_lab_down`: owns a lab that tears down on signals.
#[test]
fn signal_helper() {
    if std::env::var_os(SIGNAL_HELPER_ENV).is_none() {
        return; // only meaningful as the child of the test below
    }
    let lab = Lab::new("ctrlc").unwrap();
    lab.teardown_on_signals().unwrap();
    let h = lab.host("victim").unwrap();
    lab.spawn(&h, Command::new("sleep").arg("300")).unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn ctrl_c_tears_the_lab_down() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "signal_helper", "--nocapture"])
        .env(SIGNAL_HELPER_ENV, "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("vgwlab-{}-", child.id());
    let find = || {
        lab_namespaces()
            .into_iter()
            .find(|n| n.starts_with(&prefix))
    };
    wait_until(
        "the helper's namespace and process",
        Duration::from_secs(30),
        || {
            Ok(find().is_some_and(|ns| {
                Command::new("ip")
                    .args(["netns", "pids", &ns])
                    .output()
                    .is_ok_and(|o| o.stdout.len() > 1)
            }))
        },
    )
    .unwrap();
    let ns = find().unwrap();
    let inside = String::from_utf8(
        Command::new("ip")
            .args(["netns", "pids", &ns])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "exits with 128 + SIGINT after tearing down"
    );
    assert!(
        !lab_namespaces().contains(&ns),
        "the lab removed its namespace itself on Ctrl-C"
    );
    for pid in inside.split_whitespace() {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} was killed"
        );
    }
}

const PANIC_HELPER_ENV: &str = "VGW_LAB_PANIC_HELPER";

/// Run as a child by `a_panicking_test_tears_its_lab_down`: builds a lab, starts a process in
/// it, prints where, and panics.
#[test]
fn panic_helper() {
    if std::env::var_os(PANIC_HELPER_ENV).is_none() {
        return; // only meaningful as the child of the test below
    }
    let lab = Lab::new("panic").unwrap();
    let h = lab.host("victim").unwrap();
    let spawned = lab.spawn(&h, Command::new("sleep").arg("300")).unwrap();
    println!(
        "READY {} {} {}",
        h.netns(),
        spawned.pid,
        lab.dir().display()
    );
    panic!("a test failing with its lab up");
}

#[test]
fn a_panicking_test_tears_its_lab_down() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_helper", "--nocapture"])
        .env(PANIC_HELPER_ENV, "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the helper panicked");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ready = stdout
        .lines()
        .find_map(|l| l.strip_prefix("READY "))
        .unwrap_or_else(|| panic!("helper output: {stdout}"));
    let mut parts = ready.split_whitespace();
    let (ns, pid, dir) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    assert!(
        !lab_namespaces().contains(&ns),
        "the namespace went with the panic"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the process inside was killed"
    );
    assert!(
        !std::path::Path::new(&dir).exists(),
        "the lab's temp dir was removed"
    );
}
