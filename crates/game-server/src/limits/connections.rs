//! Caps on open connections, in total and per client address (the TCP peer, by
//! [`super::client::bucket`]). A connection over a cap is closed at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::metrics::Exposition;

use super::client::bucket;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` connections are open.
    Total,
    /// `--max-connections-per-address` connections from this address are open.
    PerAddress,
}

/// Open connections, counted against the caps.
#[derive(Debug)]
pub struct ConnectionCaps {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
    refused_total: AtomicU64,
    refused_per_address: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    caps: Arc<ConnectionCaps>,
    address: IpAddr,
}

impl ConnectionCaps {
    /// Caps of `max_total` connections, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> ConnectionCaps {
        ConnectionCaps {
            max_total,
            max_per_address,
            open: Mutex::new(Open::default()),
            refused_total: AtomicU64::new(0),
            refused_per_address: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Plain counters: a panic elsewhere cannot leave them torn.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a connection from `peer`, or why not.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refusal> {
        let address = bucket(peer);
        let mut open = self.lock();
        if open.total >= self.max_total {
            self.refused_total.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Total);
        }
        let from_address = open.by_address.entry(address).or_insert(0);
        if *from_address >= self.max_per_address {
            self.refused_per_address.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerAddress);
        }
        *from_address += 1;
        open.total += 1;
        Ok(Slot {
            caps: self.clone(),
            address,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// Adds the connection families to `/metrics`.
    pub fn write_metrics(&self, out: &mut Exposition) {
        out.gauge(
            "spacewars_connections_open",
            "Game connections open now (the operations listener is not counted).",
            self.open(),
        );
        out.counters(
            "spacewars_connections_refused_total",
            "Connections closed at once because a cap was reached, by cap.",
            "cap",
            [
                ("total", self.refused_total.load(Ordering::Relaxed)),
                (
                    "per_address",
                    self.refused_per_address.load(Ordering::Relaxed),
                ),
            ],
        );
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.caps.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_places_come_back() {
        let caps = Arc::new(ConnectionCaps::new(3, 2));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = caps.admit(a).expect("1");
        let _second = caps.admit(a).expect("2");
        assert_eq!(caps.admit(a).err(), Some(Refusal::PerAddress));
        let _third = caps.admit(b).expect("3");
        assert_eq!(caps.admit(b).err(), Some(Refusal::Total));
        drop(first);
        assert_eq!(caps.open(), 2);
        assert!(caps.admit(a).is_ok());
        assert_eq!(caps.open(), 2, "the admitted slot was dropped right away");
        assert_eq!(caps.lock().by_address.len(), 2);
    }
}
