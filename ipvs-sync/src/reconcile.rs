//! The declarative core: `plan(desired, actual, ownership) -> Vec<Op>`, a pure function.
//!
//! Rules (issue 3, "The reconciler"):
//! - minimal diff; what the kernel already has and matches is adopted, never re-created;
//! - a destination whose weight/thresholds/method changed is edited in place (SET_DEST);
//! - a service whose scheduler, flags, persistence or PE changed is edited (SET_SERVICE),
//!   never deleted and re-added;
//! - order: new services (with their local addresses), new destinations, edits, removal of old
//!   destinations and local addresses, then removed services, each after its destinations; so
//!   new reals are in rotation before old ones leave and nothing is black-holed;
//! - only services the ownership rule (or the desired state) claims are touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{DestKey, Destination, Service, ServiceKey};

/// One service with everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Destination>,
    /// FULLNAT local addresses (empty on mainline).
    pub laddrs: BTreeSet<IpAddr>,
}

impl ServiceState {
    pub fn new(service: Service) -> ServiceState {
        ServiceState {
            service,
            dests: BTreeMap::new(),
            laddrs: BTreeSet::new(),
        }
    }

    pub fn with_dest(mut self, dest: Destination) -> ServiceState {
        self.dests.insert(dest.key(), dest);
        self
    }
}

/// An IPVS table (desired or as read from the kernel).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub services: BTreeMap<ServiceKey, ServiceState>,
}

impl State {
    pub fn insert(&mut self, svc: ServiceState) {
        self.services.insert(svc.service.key, svc);
    }

    pub fn dest_count(&self) -> usize {
        self.services.values().map(|s| s.dests.len()).sum()
    }
}

/// Which kernel services vgw may change or delete. Services in the desired state are always
/// managed (adopted if they exist); this rule decides about the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ownership {
    /// Every service in the table belongs to vgw: anything not desired is removed.
    All,
    /// Only the desired services: nothing else is ever removed.
    DesiredOnly,
    /// These keys (for example the ones vgw created before a config change) plus the desired.
    Keys(BTreeSet<ServiceKey>),
    /// Services whose virtual address lies in one of these prefixes, or whose fwmark lies in
    /// one of these inclusive ranges.
    Match {
        prefixes: Vec<(IpAddr, u8)>,
        fwmarks: Vec<(u32, u32)>,
    },
}

impl Ownership {
    pub fn owns(&self, key: &ServiceKey) -> bool {
        match self {
            Ownership::All => true,
            Ownership::DesiredOnly => false,
            Ownership::Keys(keys) => keys.contains(key),
            Ownership::Match { prefixes, fwmarks } => match key {
                ServiceKey::Addr { addr, .. } => {
                    prefixes.iter().any(|(net, len)| in_prefix(addr, net, *len))
                }
                ServiceKey::Fwmark { mark, .. } => {
                    fwmarks.iter().any(|(lo, hi)| (*lo..=*hi).contains(mark))
                }
            },
        }
    }
}

fn in_prefix(addr: &IpAddr, net: &IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let len = u32::from(len.min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(*a) & mask == u32::from(*n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = u32::from(len.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(*a) & mask == u128::from(*n) & mask
        }
        _ => false,
    }
}

/// One kernel operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Destination),
    EditDest(ServiceKey, Destination),
    DelDest(ServiceKey, DestKey),
    AddLaddr(ServiceKey, IpAddr),
    DelLaddr(ServiceKey, IpAddr),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {} ({})", s.key, s.scheduler),
            Op::EditService(s) => write!(f, "edit service {} ({})", s.key, s.scheduler),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::AddDest(k, d) => write!(f, "add real {} to {k} (weight {})", d.key(), d.weight),
            Op::EditDest(k, d) => {
                write!(f, "edit real {} of {k} (weight {})", d.key(), d.weight)
            }
            Op::DelDest(k, d) => write!(f, "delete real {d} from {k}"),
            Op::AddLaddr(k, a) => write!(f, "add local address {a} to {k}"),
            Op::DelLaddr(k, a) => write!(f, "delete local address {a} from {k}"),
        }
    }
}

/// Whether the kernel's service must be edited to match the desired one. Values the kernel
/// fills in by itself (HASHED, PERSISTENT, an EST_TIMEOUT the config leaves unset) do not count.
pub fn service_differs(desired: &Service, actual: &Service) -> bool {
    desired.scheduler != actual.scheduler
        || desired.flags.configured() != actual.flags.configured()
        || desired.timeout != actual.timeout
        || (desired.timeout > 0 && desired.netmask != actual.netmask)
        || desired.pe_name != actual.pe_name
        || (desired.est_timeout.is_some() && desired.est_timeout != actual.est_timeout)
}

/// The ordered operations that turn `actual` into `desired` for the services vgw manages.
pub fn plan(desired: &State, actual: &State, ownership: &Ownership) -> Vec<Op> {
    let mut add_services = Vec::new();
    let mut add_dests = Vec::new();
    let mut edits = Vec::new();
    let mut del_dests = Vec::new();
    let mut del_laddrs = Vec::new();
    let mut del_services = Vec::new();

    for (key, want) in &desired.services {
        match actual.services.get(key) {
            None => {
                add_services.push(Op::AddService(want.service.clone()));
                for a in &want.laddrs {
                    add_services.push(Op::AddLaddr(*key, *a));
                }
                for d in want.dests.values() {
                    add_dests.push(Op::AddDest(*key, d.clone()));
                }
            }
            Some(have) => {
                if service_differs(&want.service, &have.service) {
                    edits.push(Op::EditService(want.service.clone()));
                }
                for a in want.laddrs.difference(&have.laddrs) {
                    edits.push(Op::AddLaddr(*key, *a));
                }
                for (dk, d) in &want.dests {
                    match have.dests.get(dk) {
                        None => add_dests.push(Op::AddDest(*key, d.clone())),
                        Some(h) if !d.same_config(h) => edits.push(Op::EditDest(*key, d.clone())),
                        Some(_) => {}
                    }
                }
                for dk in have.dests.keys() {
                    if !want.dests.contains_key(dk) {
                        del_dests.push(Op::DelDest(*key, *dk));
                    }
                }
                for a in have.laddrs.difference(&want.laddrs) {
                    del_laddrs.push(Op::DelLaddr(*key, *a));
                }
            }
        }
    }

    for (key, have) in &actual.services {
        if desired.services.contains_key(key) || !ownership.owns(key) {
            continue;
        }
        for dk in have.dests.keys() {
            del_services.push(Op::DelDest(*key, *dk));
        }
        for a in &have.laddrs {
            del_services.push(Op::DelLaddr(*key, *a));
        }
        del_services.push(Op::DelService(*key));
    }

    let mut ops = add_services;
    ops.extend(add_dests);
    ops.extend(edits);
    ops.extend(del_dests);
    ops.extend(del_laddrs);
    ops.extend(del_services);
    ops
}

/// Why an operation cannot apply to a table (the simulator's strictness mirrors the kernel's:
/// EEXIST on add, ESRCH/ENOENT on edit or delete of something missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("{0}: already exists")]
    Exists(String),
    #[error("{0}: not found")]
    Missing(String),
}

/// Apply operations to a table the way the kernel would. Used by tests and by dry runs.
pub fn simulate(state: &mut State, ops: &[Op]) -> Result<(), SimError> {
    for op in ops {
        let name = || op.to_string();
        match op {
            Op::AddService(s) => {
                if state.services.contains_key(&s.key) {
                    return Err(SimError::Exists(name()));
                }
                state.insert(ServiceState::new(s.clone()));
            }
            Op::EditService(s) => {
                let have = state
                    .services
                    .get_mut(&s.key)
                    .ok_or_else(|| SimError::Missing(name()))?;
                have.service = s.clone();
            }
            Op::DelService(k) => {
                state
                    .services
                    .remove(k)
                    .ok_or_else(|| SimError::Missing(name()))?;
            }
            Op::AddDest(k, d) => {
                let svc = state
                    .services
                    .get_mut(k)
                    .ok_or_else(|| SimError::Missing(name()))?;
                if svc.dests.insert(d.key(), d.clone()).is_some() {
                    return Err(SimError::Exists(name()));
                }
            }
            Op::EditDest(k, d) => {
                let slot = state
                    .services
                    .get_mut(k)
                    .and_then(|s| s.dests.get_mut(&d.key()))
                    .ok_or_else(|| SimError::Missing(name()))?;
                *slot = d.clone();
            }
            Op::DelDest(k, dk) => {
                state
                    .services
                    .get_mut(k)
                    .and_then(|s| s.dests.remove(dk))
                    .ok_or_else(|| SimError::Missing(name()))?;
            }
            Op::AddLaddr(k, a) => {
                let svc = state
                    .services
                    .get_mut(k)
                    .ok_or_else(|| SimError::Missing(name()))?;
                if !svc.laddrs.insert(*a) {
                    return Err(SimError::Exists(name()));
                }
            }
            Op::DelLaddr(k, a) => {
                let svc = state
                    .services
                    .get_mut(k)
                    .ok_or_else(|| SimError::Missing(name()))?;
                if !svc.laddrs.remove(a) {
                    return Err(SimError::Missing(name()));
                }
            }
        }
    }
    Ok(())
}
