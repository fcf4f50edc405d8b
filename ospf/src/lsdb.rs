//! The link-state database of the (single) area, AS-external LSAs included (RFC 2328 12, 14).
//!
//! Ages are not ticked: each entry remembers when it was installed and with which age, and the
//! current age is computed from the clock on demand.

use std::collections::BTreeMap;

use crate::packet::lsa::{Lsa, LsaHeader, LsaKey, MAX_AGE};

#[derive(Debug, Clone)]
pub struct Entry {
    pub lsa: Lsa,
    pub installed_at: u64,
    /// Set when the instance arrived by flooding (RFC 2328 13 (5a) MinLSArrival).
    pub received_at: Option<u64>,
    /// When this instance was last sent to a neighbor as a direct reply (13 (8)).
    pub last_direct_send: Option<u64>,
}

impl Entry {
    /// The current LS age in seconds, capped at MaxAge.
    pub fn age(&self, now: u64) -> u16 {
        let start = self.lsa.header.age.min(MAX_AGE);
        if start == MAX_AGE {
            return MAX_AGE;
        }
        let elapsed = now.saturating_sub(self.installed_at) / 1000;
        (u64::from(start) + elapsed).min(u64::from(MAX_AGE)) as u16
    }

    /// The header with the current age.
    pub fn header(&self, now: u64) -> LsaHeader {
        LsaHeader {
            age: self.age(now),
            ..self.lsa.header
        }
    }

    /// The LSA with the current age.
    pub fn lsa(&self, now: u64) -> Lsa {
        let mut l = self.lsa.clone();
        l.header.age = self.age(now);
        l
    }
}

#[derive(Debug, Default)]
pub struct Lsdb {
    entries: BTreeMap<LsaKey, Entry>,
}

impl Lsdb {
    pub fn get(&self, key: &LsaKey) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &LsaKey) -> Option<&mut Entry> {
        self.entries.get_mut(key)
    }

    /// RFC 2328 13.2: installs a new instance, replacing the old one. Returns the old entry.
    pub fn install(&mut self, lsa: Lsa, now: u64, flooded: bool) -> Option<Entry> {
        let key = lsa.key();
        let entry = Entry {
            lsa,
            installed_at: now,
            received_at: flooded.then_some(now),
            last_direct_send: None,
        };
        self.entries.insert(key, entry)
    }

    pub fn remove(&mut self, key: &LsaKey) -> Option<Entry> {
        self.entries.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&LsaKey, &Entry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest time (ms) at which some LSA not yet at MaxAge reaches `age` seconds, among
    /// the entries `filter` selects.
    pub fn next_age_deadline(&self, age: u16, filter: impl Fn(&LsaKey) -> bool) -> Option<u64> {
        self.entries
            .iter()
            .filter(|(k, e)| filter(k) && e.lsa.header.age < MAX_AGE)
            .map(|(_, e)| {
                let start = u64::from(e.lsa.header.age);
                e.installed_at + u64::from(age).saturating_sub(start) * 1000
            })
            .min()
    }
}
