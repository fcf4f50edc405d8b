//! exec and file checkers with real processes and files.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use vgw_health::check::exec::ExecFailure;
use vgw_health::check::file::FileFailure;
use vgw_health::{Outcome, Reason};

fn target() -> SocketAddr {
    "192.0.2.1:8080".parse().expect("addr")
}

fn exec(cmd: &str, timeout: &str) -> vgw_health::CheckSpec {
    spec(&format!(
        "type = \"exec\"\ntimeout = \"{timeout}\"\ncommand = {cmd}"
    ))
}

#[tokio::test]
async fn exit_status_decides() {
    assert_up(&run_at(&exec(r#"["/bin/true"]"#, "2s"), target()).await);
    let r = run_at(&exec(r#"["/bin/false"]"#, "2s"), target()).await;
    assert!(matches!(
        down(&r),
        Reason::Exec(ExecFailure::Exit { code: 1, .. })
    ));
    let r = run_at(
        &exec(
            r#"["/bin/sh", "-c", "echo 'backend says no' >&2; exit 3"]"#,
            "2s",
        ),
        target(),
    )
    .await;
    let text = down_with(&r, "exited with status 3");
    assert!(text.contains("backend says no"), "{text}");
    let r = run_at(&exec(r#"["/bin/sh", "-c", "kill -9 $$"]"#, "2s"), target()).await;
    assert!(
        matches!(
            down(&r),
            Reason::Exec(ExecFailure::Signal { signal: 9, .. })
        ),
        "{r:?}"
    );
    let r = run_at(&exec(r#"["/nonexistent/check"]"#, "2s"), target()).await;
    down_with(&r, "cannot start /nonexistent/check");
}

#[tokio::test]
async fn clean_environment_describes_the_target() {
    std::env::set_var("VGW_SECRET_FROM_PARENT", "leak");
    let script = r#"["/bin/sh", "-c", "test \"$VGW_TARGET_ADDR\" = 192.0.2.1 && test \"$VGW_TARGET_PORT\" = 8080 && test \"$VGW_TARGET_ID\" = t && test \"$VGW_TIMEOUT_MS\" = 2000 && test -z \"$VGW_SECRET_FROM_PARENT\" && test -z \"$HOME\" && test \"$(pwd)\" = /"]"#;
    assert_up(&run_at(&exec(script, "2s"), target()).await);
}

/// Is `pid` gone (or a zombie waiting for its reaper)?
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[tokio::test]
async fn overrun_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    // The script forks a grandchild that would hang for 5 minutes, then hangs itself.
    let cmd = format!(
        r#"["/bin/sh", "-c", "sleep 300 & echo $! > {}; sleep 300"]"#,
        pidfile.display()
    );
    let started = Instant::now();
    let r = run_at(&exec(&cmd, "500ms"), target()).await;
    assert!(
        matches!(down(&r), Reason::Exec(ExecFailure::Overrun { .. })),
        "{r:?}"
    );
    down_with(&r, "did not finish within 500ms");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("grandchild wrote its pid")
        .trim()
        .parse()
        .expect("pid");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(pid), "grandchild {pid} survived the check");
}

#[tokio::test]
async fn children_left_behind_after_success_are_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("bg.pid");
    let cmd = format!(
        r#"["/bin/sh", "-c", "sleep 300 > /dev/null 2>&1 & echo $! > {}; exit 0"]"#,
        pidfile.display()
    );
    let r = run_at(&exec(&cmd, "2s"), target()).await;
    assert_up(&r);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(pid), "background child {pid} outlived the check");
}

#[tokio::test]
async fn a_child_holding_stderr_open_does_not_hang_the_check() {
    // stderr is inherited by a background child that does not exit; the group kill closes it.
    let r = run_at(
        &exec(
            r#"["/bin/sh", "-c", "sleep 300 & echo bad >&2; exit 2"]"#,
            "20s",
        ),
        target(),
    )
    .await;
    down_with(&r, "exited with status 2");
    // Far below the 20 s timeout: the check did not wait for the background child.
    assert!(r.latency < Duration::from_secs(5), "{:?}", r.latency);
}

#[tokio::test]
async fn file_contents_decide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state");
    let s = spec(&format!("type = \"file\"\npath = \"{}\"", path.display()));
    let r = run_at(&s, target()).await;
    assert!(matches!(
        down(&r),
        Reason::File(FileFailure::Missing { .. })
    ));
    std::fs::write(&path, "up\n").expect("write");
    assert_up(&run_at(&s, target()).await);
    std::fs::write(&path, "down\n").expect("write");
    down_with(&run_at(&s, target()).await, "says down");
    std::fs::write(&path, "25\n").expect("write");
    assert_eq!(
        run_at(&s, target()).await.outcome,
        Outcome::Up { weight: Some(25) }
    );
    std::fs::write(&path, "maybe").expect("write");
    down_with(&run_at(&s, target()).await, "holds \"maybe\"");
    std::fs::write(&path, vec![b'1'; 100_000]).expect("write");
    down_with(&run_at(&s, target()).await, "larger than 4096 bytes");
    let s = spec(&format!(
        "type = \"file\"\npath = \"{}\"",
        dir.path().display()
    ));
    down_with(&run_at(&s, target()).await, "cannot read");
}
