//! What happens around the calls: no daemon, no bus, introspection, man page, completions and
//! the offline configuration check.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use vgwd::dbus::private_bus::PrivateBus;
use vgwd::dbus::sample::sample_state;

#[test]
fn no_daemon_on_the_bus_says_how_to_start_it() {
    // A bus where nobody owns org.vgw.Vgwd1.
    let bus = match PrivateBus::start(&[policy_file().as_path()]) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let out = run(Command::new(VGWCTL).args(["--bus", bus.address(), "status"]));
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr).replace(bus.address(), "$BUS");
    golden("error_no_daemon", &err);
}

#[test]
fn no_bus_at_all_names_the_address_tried() {
    let out =
        run(Command::new(VGWCTL).args(["--bus", "unix:path=/nonexistent/vgw-bus", "vip", "list"]));
    assert_eq!(out.status.code(), Some(3));
    golden("error_no_bus", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_interface_is_introspectable() {
    let bed = Bed::start(sample_state());
    let out = run(Command::new("busctl").args([
        "--address",
        &bed.address(),
        "introspect",
        "--no-pager",
        "org.vgw.Vgwd1",
        "/org/vgw/Vgwd1",
        "org.vgw.Vgwd1",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden("introspect", &String::from_utf8_lossy(&out.stdout));
}

#[test]
fn man_page_in_the_repository_is_the_generated_one() {
    let out = run(Command::new(VGWCTL).arg("man"));
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "not roff: {}",
        &page[..page.len().min(80)]
    );
    for word in [
        "drain",
        "undrain",
        "reload",
        "events",
        "VGW_BUS",
        "Exit status",
    ] {
        assert!(page.contains(word), "man page lacks {word}");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/vgwctl.1");
    if std::env::var_os("VGW_REGEN").is_some_and(|v| v == "1") {
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
        if let Err(e) = std::fs::write(&path, &page) {
            panic!("{e}");
        }
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "cli/man/vgwctl.1 is stale: run the tests with VGW_REGEN=1"
    );
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(Command::new(VGWCTL).args(["completions", shell]));
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for cmd in [
            "status", "vip", "service", "bgp", "ospf", "ipvs", "sync", "undrain", "events",
        ] {
            assert!(text.contains(cmd), "{shell} completion lacks {cmd}");
        }
    }
}

/// vgwctl runs the `vgwd` next to its own executable: put a copy of vgwctl in a directory
/// with a stand-in vgwd that records its arguments, and check what is passed and relayed.
#[test]
fn config_check_runs_the_sibling_vgwd_and_relays_its_verdict() {
    let dir = std::env::temp_dir().join(format!("vgwctl-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let vgwctl = dir.join("vgwctl");
    assert!(std::fs::copy(VGWCTL, &vgwctl).is_ok());
    let script = dir.join("vgwd");
    let log = dir.join("args");
    let body = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\necho \"$2:3:1: unknown key 'nmae' in [node]; did you mean 'name'?\" >&2\nexit 1\n",
        log = log.display()
    );
    assert!(std::fs::write(&script, body).is_ok());
    {
        use std::os::unix::fs::PermissionsExt;
        assert!(std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).is_ok());
    }
    let out = run(Command::new(&vgwctl)
        .args(["config", "check", "/etc/vgw/broken.toml"])
        .env("PATH", "/nonexistent"));
    let args = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(args, "--config\n/etc/vgw/broken.toml\n--check\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "/etc/vgw/broken.toml:3:1: unknown key 'nmae' in [node]; did you mean 'name'?\n"
    );
}

#[test]
fn config_check_without_vgwd_says_what_is_missing() {
    let dir = std::env::temp_dir().join(format!("vgwctl-nocheck-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let vgwctl = dir.join("vgwctl");
    assert!(std::fs::copy(VGWCTL, &vgwctl).is_ok());
    let out = run(Command::new(&vgwctl)
        .args(["config", "check", "x.toml"])
        .env("PATH", "/nonexistent"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(3));
    golden(
        "error_config_check_no_vgwd",
        &String::from_utf8_lossy(&out.stderr),
    );
}
