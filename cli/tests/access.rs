//! Reads are open to everybody; drain, undrain and reload need root or the admin group. The
//! caller is uid 65534 (nobody), run through setpriv, reaching the bus over a socket in a
//! world-accessible directory; the bus vouches for its uid.

mod common;

use common::*;
use vgwd::dbus::sample::sample_state;
use vgwd::dbus::{AccessPolicy, AdminGroup};

const ADMIN: &[&[&str]] = &[
    &["drain", "vip", "192.0.2.10"],
    &["undrain", "vip", "192.0.2.10"],
    &["drain", "real", "web", "10.1.1.1:8080"],
    &["drain", "node"],
    &["reload"],
];

#[test]
fn nobody_reads_everything_and_is_denied_changes() {
    let bed = Bed::start(sample_state());
    for args in [
        &["status"][..],
        &["vip", "list"],
        &["vip", "show", "192.0.2.10"],
        &["service", "list"],
        &["service", "show", "web"],
        &["bgp", "summary"],
        &["bgp", "routes", "--received"],
        &["ospf", "database"],
        &["ipvs", "list", "--stats"],
        &["sync", "status"],
    ] {
        let as_nobody = bed.vgwctl_as_nobody(args);
        assert!(
            as_nobody.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&as_nobody.stderr)
        );
        assert_eq!(as_nobody.stdout, bed.vgwctl(args).stdout, "{args:?}");
    }
    let mut all = String::new();
    for args in ADMIN {
        let out = bed.vgwctl_as_nobody(args);
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        all.push_str(&transcript(&bed, args, &out));
        all.push('\n');
    }
    golden("access_denied", &all);
    // Nothing changed.
    assert_eq!(bed.backend.snapshot(), sample_state());
}

#[test]
fn members_of_the_admin_group_may_change_state() {
    // nogroup (65534) as the admin group: nobody is in it through its primary gid, which the
    // bus reports among the caller's groups.
    let group = AdminGroup {
        name: "nogroup".into(),
        gid: 65534,
    };
    let bed = Bed::start_with(
        sample_state(),
        AccessPolicy {
            admin_group: Some(group),
        },
    );
    let out = bed.vgwctl_as_nobody(&["drain", "vip", "192.0.2.10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bed.backend
            .snapshot()
            .vips
            .first()
            .map(|v| v.state.clone())
            .as_deref(),
        Some("drained")
    );
    let out = bed.vgwctl_as_nobody(&["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn other_users_are_told_which_group_they_need() {
    let group = match AdminGroup::lookup("adm") {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    let bed = Bed::start_with(
        sample_state(),
        AccessPolicy {
            admin_group: Some(group),
        },
    );
    let out = bed.vgwctl_as_nobody(&["drain", "node"]);
    assert_eq!(out.status.code(), Some(4));
    golden(
        "access_denied_group",
        &transcript(&bed, &["drain", "node"], &out),
    );
    // Root is always allowed.
    assert!(bed.vgwctl(&["drain", "node"]).status.success());
}

#[test]
fn unknown_admin_group_is_a_clear_error() {
    let err = AdminGroup::lookup("no-such-group-vgw").err();
    assert_eq!(
        err.as_deref(),
        Some(
            "admin group \"no-such-group-vgw\" does not exist on this system (create it with \
             `groupadd no-such-group-vgw` or remove the setting)"
        )
    );
}
