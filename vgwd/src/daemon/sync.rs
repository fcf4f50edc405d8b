//! The kernel's IPVS connection-sync daemons, kept as `[sync]` says.
//!
//! Without `[sync]` vgwd leaves the sync daemons alone (an operator may run them by hand, as
//! with keepalived's `lvs_sync_daemon`). With it, vgwd owns them: it starts the configured
//! roles, restarts a role whose settings differ from the file, and stops a role the file does
//! not list. They are left running when vgwd stops, like the IPVS table itself.

use vgw_api::{SyncDaemon, SyncRelay, SyncStatus};
use vgw_ipvs::model::{DaemonConfig, DaemonState};

use crate::config::{Sync, SyncRole};

/// What to do to make the running daemons match `want`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Roles to stop first (changed or no longer wanted).
    pub stop: Vec<DaemonState>,
    /// Daemons to start.
    pub start: Vec<DaemonConfig>,
}

fn state_of(role: SyncRole) -> DaemonState {
    match role {
        SyncRole::Master => DaemonState::Master,
        SyncRole::Backup => DaemonState::Backup,
    }
}

/// The daemon settings for one role.
pub fn daemon_config(s: &Sync, role: SyncRole) -> DaemonConfig {
    let state = state_of(role);
    DaemonConfig {
        sync_maxlen: s.max_len,
        mcast_group: s.group,
        mcast_port: s.port,
        mcast_ttl: s.ttl,
        ..DaemonConfig::new(state, &s.interface, u32::from(s.sync_id))
    }
}

/// Whether a running daemon has the settings asked for (unset settings are the kernel's
/// defaults, whatever it reports for them).
fn same(want: &DaemonConfig, got: &DaemonConfig) -> bool {
    want.state == got.state
        && want.mcast_ifn == got.mcast_ifn
        && want.sync_id == got.sync_id
        && want.sync_maxlen.is_none_or(|m| got.sync_maxlen == Some(m))
        && want.mcast_group.is_none_or(|g| got.mcast_group == Some(g))
        && want.mcast_port.is_none_or(|p| got.mcast_port == Some(p))
        && want.mcast_ttl.is_none_or(|t| got.mcast_ttl == Some(t))
}

/// The pure part: from the configuration and the kernel's daemons to the changes.
pub fn plan(want: Option<&Sync>, running: &[DaemonConfig]) -> SyncPlan {
    let Some(want) = want else {
        return SyncPlan::default();
    };
    let mut out = SyncPlan::default();
    for role in [SyncRole::Master, SyncRole::Backup] {
        let state = state_of(role);
        let desired = want
            .roles
            .contains(&role)
            .then(|| daemon_config(want, role));
        let current = running.iter().find(|d| d.state == state);
        match (desired, current) {
            (Some(d), Some(c)) if same(&d, c) => {}
            (Some(d), Some(_)) => {
                out.stop.push(state);
                out.start.push(d);
            }
            (Some(d), None) => out.start.push(d),
            (None, Some(_)) => out.stop.push(state),
            (None, None) => {}
        }
    }
    out
}

/// `SyncStatus()` from the kernel's daemons.
pub fn status(running: &[DaemonConfig]) -> SyncStatus {
    SyncStatus {
        daemons: running
            .iter()
            .map(|d| SyncDaemon {
                role: match d.state {
                    DaemonState::Master => "master",
                    DaemonState::Backup => "backup",
                }
                .into(),
                interface: d.mcast_ifn.clone(),
                sync_id: d.sync_id,
                group: d
                    .mcast_group
                    .map_or_else(|| "224.0.0.81".to_string(), |g| g.to_string()),
                port: d.mcast_port.unwrap_or(8848),
                ttl: d.mcast_ttl.unwrap_or(1),
                max_len: d.sync_maxlen.unwrap_or(0),
            })
            .collect(),
        relay: SyncRelay {
            enabled: false,
            peers: Vec::new(),
            sent: 0,
            received: 0,
            dropped: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(roles: Vec<SyncRole>) -> Sync {
        Sync {
            interface: "eth1".into(),
            sync_id: 7,
            roles,
            group: None,
            port: None,
            ttl: Some(2),
            max_len: None,
        }
    }

    #[test]
    fn starts_missing_keeps_equal_restarts_changed_stops_unwanted() {
        let both = cfg(vec![SyncRole::Master, SyncRole::Backup]);
        let p = plan(Some(&both), &[]);
        assert!(p.stop.is_empty());
        assert_eq!(p.start.len(), 2);
        // As the kernel reports them: defaults filled in.
        let mut master = daemon_config(&both, SyncRole::Master);
        master.mcast_group = Some("224.0.0.81".parse().unwrap());
        master.mcast_port = Some(8848);
        let mut backup = daemon_config(&both, SyncRole::Backup);
        backup.mcast_port = Some(8848);
        assert_eq!(
            plan(Some(&both), &[master.clone(), backup.clone()]),
            SyncPlan::default()
        );
        // A changed TTL restarts that role only.
        backup.mcast_ttl = Some(5);
        let p = plan(Some(&both), &[master.clone(), backup.clone()]);
        assert_eq!(p.stop, [DaemonState::Backup]);
        assert_eq!(p.start.len(), 1);
        assert_eq!(p.start[0].state, DaemonState::Backup);
        // Backup only: the master goes.
        let p = plan(
            Some(&cfg(vec![SyncRole::Backup])),
            &[master.clone(), backup],
        );
        assert!(p.stop.contains(&DaemonState::Master));
        // Without [sync], hands off.
        assert_eq!(plan(None, &[master]), SyncPlan::default());
    }

    #[test]
    fn status_shows_kernel_defaults() {
        let d = DaemonConfig::new(DaemonState::Backup, "eth1", 3);
        let s = status(&[d]);
        assert_eq!(s.daemons[0].role, "backup");
        assert_eq!(s.daemons[0].group, "224.0.0.81");
        assert_eq!((s.daemons[0].port, s.daemons[0].ttl), (8848, 1));
    }
}
