//! Caps on open connections, in total and per client address (the TCP peer, by
//! [`super::client::bucket`]), and what happens near the total cap.
//!
//! A connection over a cap is closed at once. Once the open connections reach
//! [`PRESSURE_PERCENT`] % of the total cap, every new connection first has the oldest idle
//! ones closed (idle: no request being answered, so keep-alive connections between
//! requests and connections still sending their first request head), as many as it takes
//! to stay under that mark, and it gets a shorter first-request timeout
//! ([`Slot::under_pressure`]). Slow or silent clients thus cannot keep an honest one out.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::metrics::Exposition;

use super::client::bucket;

/// Open connections, in percent of `--max-connections`, from which idle ones are closed.
pub const PRESSURE_PERCENT: usize = 90;

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
    pressure_at: usize,
    open: Mutex<Open>,
    refused_total: AtomicU64,
    refused_per_address: AtomicU64,
    evicted: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Connections told to close that have not closed yet (not counted against the cap).
    closing: usize,
    by_address: HashMap<IpAddr, usize>,
    /// Every open connection by admission order: the oldest first.
    by_age: BTreeMap<u64, Arc<Activity>>,
    next_id: u64,
}

impl Open {
    fn counted(&self) -> usize {
        self.total - self.closing
    }
}

/// What one connection is doing, shared by its task, its requests and the caps.
#[derive(Debug, Default)]
pub struct Activity {
    /// Requests being answered (a response counts until its body is sent or dropped).
    busy: AtomicUsize,
    /// Told to close (counted in [`Open::closing`]).
    closing: AtomicBool,
    evict: Notify,
}

/// A request being answered on a connection; dropping it makes the connection idle again
/// (unless another request is being answered).
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Activity {
    /// Marks a request as being answered until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// True when no request is being answered.
    pub fn is_idle(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
    }

    /// Resolves when the caps ask this connection to close.
    pub async fn evicted(&self) {
        // `notify_one` keeps a permit when nobody waits: an eviction is never missed.
        self.evict.notified().await;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    caps: Arc<ConnectionCaps>,
    address: IpAddr,
    id: u64,
    activity: Arc<Activity>,
    under_pressure: bool,
}

impl Slot {
    /// What the connection is doing (for its requests to mark themselves busy).
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// True if the connection came in near the cap (it gets a shorter first-request
    /// timeout).
    pub fn under_pressure(&self) -> bool {
        self.under_pressure
    }

    /// Called when an evicted connection turned out busy and stays open: it counts
    /// against the cap again.
    pub fn reprieve(&self) {
        if self.activity.closing.swap(false, Ordering::SeqCst) {
            let mut open = self.caps.lock();
            open.closing = open.closing.saturating_sub(1);
        }
    }
}

impl ConnectionCaps {
    /// Caps of `max_total` connections, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> ConnectionCaps {
        ConnectionCaps {
            max_total,
            max_per_address,
            pressure_at: (max_total * PRESSURE_PERCENT / 100).max(1),
            open: Mutex::new(Open::default()),
            refused_total: AtomicU64::new(0),
            refused_per_address: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Plain counters: a panic elsewhere cannot leave them torn.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a connection from `peer`, or why not. Near the cap, the oldest idle
    /// connections are told to close first (see the module docs).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refusal> {
        let address = bucket(peer);
        let mut open = self.lock();
        if open.by_address.get(&address).copied().unwrap_or(0) >= self.max_per_address {
            self.refused_per_address.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerAddress);
        }
        let under_pressure = open.counted() >= self.pressure_at;
        if under_pressure {
            let excess = open.counted() + 1 - self.pressure_at;
            self.evict_idle(&mut open, excess);
        }
        if open.counted() >= self.max_total {
            self.refused_total.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Total);
        }
        *open.by_address.entry(address).or_insert(0) += 1;
        open.total += 1;
        let id = open.next_id;
        open.next_id += 1;
        let activity = Arc::new(Activity::default());
        open.by_age.insert(id, activity.clone());
        Ok(Slot {
            caps: self.clone(),
            address,
            id,
            activity,
            under_pressure,
        })
    }

    /// Tells up to `count` of the oldest idle connections to close.
    fn evict_idle(&self, open: &mut Open, count: usize) {
        let mut evicted = 0;
        for activity in open.by_age.values() {
            if evicted == count {
                break;
            }
            if activity.is_idle() && !activity.closing.swap(true, Ordering::SeqCst) {
                activity.evict.notify_one();
                evicted += 1;
            }
        }
        open.closing += evicted;
        self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
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
        out.counter(
            "spacewars_connections_evicted_total",
            "Idle connections closed to make room near the connection cap.",
            self.evicted.load(Ordering::Relaxed),
        );
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.caps.lock();
        open.total = open.total.saturating_sub(1);
        if self.activity.closing.load(Ordering::SeqCst) {
            open.closing = open.closing.saturating_sub(1);
        }
        open.by_age.remove(&self.id);
        if let Some(count) = open.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests;
