//! The hub's tables, each cut into shards with a lock of their own, so opening, closing
//! and feeding streams only wait for one another on the shards they share: subscribers
//! by id, and the subscribers registered in each cell.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use game_domain::interest::{CellId, CellRect};
use tokio::sync::mpsc;

use super::area::AreaState;
use super::event::Event;

/// Shards of the subscriber table.
const SUBSCRIBER_SHARDS: usize = 16;
/// Shards of the cell table.
const CELL_SHARDS: usize = 64;

/// Locks a mutex; every critical section of the hub leaves its table consistent, so a
/// poisoned one is still good.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One subscriber: its session, its queue and (for an area) what it knows.
#[derive(Debug)]
pub(crate) struct Subscriber {
    pub(crate) id: u64,
    pub(crate) token_hash: String,
    pub(crate) expires_ms: i64,
    /// The last refresh that looked at it (so a refresh looks at it once).
    pub(crate) stamp: AtomicU64,
    /// The broadcast being grouped when it was last found in a cell, and its group there (so
    /// a batch groups the cells of each subscriber without sorting or a map).
    pub(crate) batch: AtomicU64,
    pub(crate) group: AtomicUsize,
    /// True while it is on the list of areas given changes since the last refresh (so it
    /// is on it once, and the list never holds more than the subscribers).
    pub(crate) touched: AtomicBool,
    pub(crate) state: Mutex<SubscriberState>,
}

/// What a subscriber's lock guards.
#[derive(Debug)]
pub(crate) struct SubscriberState {
    /// `None` once it ended (the receiver then sees the end of the queue).
    pub(crate) queue: Option<mpsc::Sender<Event>>,
    /// `None` for a whole-world subscriber.
    pub(crate) area: Option<AreaState>,
}

impl Subscriber {
    /// True when this refresh (`stamp`) has not looked at it yet; marks it.
    pub(crate) fn first_look(&self, stamp: u64) -> bool {
        self.stamp.swap(stamp, Ordering::Relaxed) != stamp
    }

    /// Its group in broadcast `round`: `Err(next)` (and it is now `next`) when the round
    /// found it for the first time, `Ok(group)` after.
    pub(crate) fn group_in(&self, round: u64, next: usize) -> Result<usize, usize> {
        if self.batch.swap(round, Ordering::Relaxed) == round {
            Ok(self.group.load(Ordering::Relaxed))
        } else {
            self.group.store(next, Ordering::Relaxed);
            Err(next)
        }
    }

    /// Marks it as given changes; true when it was not marked yet.
    pub(crate) fn touch(&self) -> bool {
        !self.touched.swap(true, Ordering::Relaxed)
    }

    /// Clears the mark (a refresh looks at it now).
    pub(crate) fn untouch(&self) {
        self.touched.store(false, Ordering::Relaxed);
    }
}

/// Subscribers by id, in shards.
#[derive(Debug)]
pub(crate) struct Subscribers {
    shards: Vec<Mutex<HashMap<u64, Arc<Subscriber>>>>,
}

impl Subscribers {
    pub(crate) fn new() -> Subscribers {
        Subscribers {
            shards: (0..SUBSCRIBER_SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<HashMap<u64, Arc<Subscriber>>> {
        &self.shards[(id % SUBSCRIBER_SHARDS as u64) as usize]
    }

    pub(crate) fn insert(&self, subscriber: Arc<Subscriber>) {
        lock(self.shard(subscriber.id)).insert(subscriber.id, subscriber);
    }

    pub(crate) fn remove(&self, id: u64) -> Option<Arc<Subscriber>> {
        lock(self.shard(id)).remove(&id)
    }

    pub(crate) fn get(&self, id: u64) -> Option<Arc<Subscriber>> {
        lock(self.shard(id)).get(&id).cloned()
    }

    /// Every subscriber matching `keep`, one shard at a time.
    pub(crate) fn collect(&self, keep: impl Fn(&Subscriber) -> bool) -> Vec<Arc<Subscriber>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            out.extend(lock(shard).values().filter(|s| keep(s)).cloned());
        }
        out
    }
}

/// The subscribers registered in each cell, in shards.
#[derive(Debug)]
pub(crate) struct Cells {
    shards: Vec<Mutex<HashMap<CellId, Vec<Arc<Subscriber>>>>>,
}

impl Cells {
    pub(crate) fn new() -> Cells {
        Cells {
            shards: (0..CELL_SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, cell: CellId) -> &Mutex<HashMap<CellId, Vec<Arc<Subscriber>>>> {
        &self.shards[cell as usize % CELL_SHARDS]
    }

    /// Appends the subscribers of `cell` to `out`.
    pub(crate) fn subscribers(&self, cell: CellId, out: &mut Vec<Arc<Subscriber>>) {
        if let Some(list) = lock(self.shard(cell)).get(&cell) {
            out.extend(list.iter().cloned());
        }
    }

    /// Moves `subscriber` from the cells of `from` to those of `to` (only the cells that
    /// differ are touched).
    pub(crate) fn move_to(
        &self,
        subscriber: &Arc<Subscriber>,
        from: Option<&CellRect>,
        to: Option<&CellRect>,
    ) {
        if from == to {
            return;
        }
        if let Some(from) = from {
            for cell in from
                .cells()
                .filter(|c| !to.is_some_and(|to| to.contains(*c)))
            {
                let mut shard = lock(self.shard(cell));
                if let Some(list) = shard.get_mut(&cell) {
                    list.retain(|s| s.id != subscriber.id);
                    if list.is_empty() {
                        shard.remove(&cell);
                    }
                }
            }
        }
        if let Some(to) = to {
            for cell in to
                .cells()
                .filter(|c| !from.is_some_and(|from| from.contains(*c)))
            {
                lock(self.shard(cell))
                    .entry(cell)
                    .or_default()
                    .push(subscriber.clone());
            }
        }
    }
}
