//! Object ids for spawns, taken before any game lock (docs/persistence.md, The hot path).
//!
//! Ids come from blocks reserved in the store in advance. A unit of work takes the ids it
//! may need **before** it locks anything, and gives back those it did not use; so no store
//! call is ever made while a game lock is held. A background task of its own (not the
//! flush task, which may be stuck behind a slow batch) reserves the next block when fewer
//! than half are left, and retries with back-off while the store fails.
//!
//! When no id is left, an operation reserves a block itself (an *inline* reservation,
//! counted), still before locking — unless the store cannot give more: the last
//! reservation failed and none succeeded since, or one is still waiting for the store.
//! Then it does not even try: it fails at once with [`CacheError::NoObjectIds`], so a down
//! or hanging store costs each operation nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use game_domain::space_object::ObjectId;
use game_persistence::{Store, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::CacheConfig;
use crate::error::CacheError;
use crate::ids::IdBlocks;

/// The reserved ids and what keeps them topped up.
pub(crate) struct IdSupply {
    store: Arc<dyn Store>,
    config: CacheConfig,
    blocks: Mutex<IdBlocks>,
    /// Set by a failed reservation, cleared by a successful one: while set, operations
    /// that find no id fail fast instead of asking the store.
    store_failing: AtomicBool,
    /// Reservations waiting for the store now.
    in_flight: AtomicU64,
    /// Reservations the store refused (or that timed out).
    failures: AtomicU64,
    /// Wakes the refill task: ids ran low, or it must stop.
    wake: Notify,
    stop: AtomicBool,
    inline_reservations: AtomicU64,
    exhausted: AtomicU64,
}

impl IdSupply {
    /// A supply holding the block `first..first + config.id_block_size`.
    pub(crate) fn new(store: Arc<dyn Store>, config: CacheConfig, first: ObjectId) -> IdSupply {
        let mut blocks = IdBlocks::default();
        blocks.add(first, config.id_block_size);
        IdSupply {
            store,
            config,
            blocks: Mutex::new(blocks),
            store_failing: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            wake: Notify::new(),
            stop: AtomicBool::new(false),
            inline_reservations: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
        }
    }

    fn blocks(&self) -> MutexGuard<'_, IdBlocks> {
        // Every critical section leaves the blocks consistent before anything can panic.
        self.blocks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ids reserved and not handed out.
    pub(crate) fn remaining(&self) -> i64 {
        self.blocks().remaining()
    }

    /// Operations that found no id and reserved a block themselves.
    pub(crate) fn inline_reservations(&self) -> u64 {
        self.inline_reservations.load(SeqCst)
    }

    /// Reservations the store refused or did not answer in time.
    pub(crate) fn reservation_failures(&self) -> u64 {
        self.failures.load(SeqCst)
    }

    /// Operations that failed because no id was left and the store could not give more.
    pub(crate) fn exhausted(&self) -> u64 {
        self.exhausted.load(SeqCst)
    }

    /// `n` fresh ids. Call it with no game lock held: it may reserve a block inline. Fails
    /// with [`CacheError::NoObjectIds`] when none are left and the store cannot give more
    /// (or with the lease loss).
    pub(crate) async fn take(&self, n: usize) -> Result<Vec<ObjectId>, CacheError> {
        // Two rounds: other operations may use up a fresh inline block first.
        for _ in 0..2 {
            if let Some(ids) = self.take_in_memory(n) {
                return Ok(ids);
            }
            if self.store_failing.load(SeqCst) || self.in_flight.load(SeqCst) > 0 {
                break;
            }
            self.inline_reservations.fetch_add(1, SeqCst);
            let count = self
                .config
                .id_block_size
                .max(i64::try_from(n).unwrap_or(i64::MAX));
            warn!(count, "no reserved object ids left; reserving inline");
            match self.reserve(count).await {
                Ok(()) => {}
                Err(error @ CacheError::Store(StoreError::LeaseLost)) => return Err(error),
                // Logged and counted by `reserve`; for the operation, nothing happened.
                Err(_) => break,
            }
        }
        self.exhausted.fetch_add(1, SeqCst);
        Err(CacheError::NoObjectIds)
    }

    /// `n` ids from memory only, or none if fewer are left; asks for a refill when low.
    pub(crate) fn take_in_memory(&self, n: usize) -> Option<Vec<ObjectId>> {
        let (taken, low) = {
            let mut blocks = self.blocks();
            let taken = blocks.take(n);
            (taken, blocks.remaining() < self.config.id_block_size / 2)
        };
        if low {
            self.wake.notify_one();
        }
        taken
    }

    /// Returns ids taken but not used; they are handed out next.
    pub(crate) fn give_back(&self, ids: &[ObjectId]) {
        if !ids.is_empty() {
            self.blocks().give_back(ids);
        }
    }

    /// Reserves `count` ids in the store and adds them; records success or failure.
    async fn reserve(&self, count: i64) -> Result<(), CacheError> {
        let _in_flight = InFlight::enter(&self.in_flight);
        match self.store.reserve_object_ids(count).await {
            Ok(first) => {
                self.blocks().add(first, count);
                if self.store_failing.swap(false, SeqCst) {
                    info!("reserving object ids works again");
                }
                debug!(first, count, "reserved object ids");
                Ok(())
            }
            Err(error) => {
                self.store_failing.store(true, SeqCst);
                self.failures.fetch_add(1, SeqCst);
                warn!(%error, "reserving object ids failed");
                Err(error.into())
            }
        }
    }

    /// Starts the refill task on the current runtime; it runs until [`IdSupply::stop`].
    pub(crate) fn spawn_refill(self: &Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(refill_task(self.clone()))
    }

    /// Stops the refill task.
    pub(crate) fn stop(&self) {
        self.stop.store(true, SeqCst);
        self.wake.notify_one();
    }
}

/// Counts one reservation waiting for the store, until dropped (also when cancelled).
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU64) -> InFlight<'a> {
        counter.fetch_add(1, SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// Keeps at least half a block reserved: woken when ids run low, it reserves a block;
/// after a failure it tries again after the flush back-off (`CacheConfig::retry_delay`).
async fn refill_task(supply: Arc<IdSupply>) {
    let mut failures = 0u32;
    loop {
        if supply.stop.load(SeqCst) {
            break;
        }
        let low = supply.remaining() < supply.config.id_block_size / 2;
        if !low {
            failures = 0;
            supply.wake.notified().await;
            continue;
        }
        match supply.reserve(supply.config.id_block_size).await {
            Ok(()) => failures = 0,
            Err(_) => {
                failures = failures.saturating_add(1);
                // Operations keep waking it while ids are low: only a stop cuts the wait.
                let until = Instant::now() + supply.config.retry_delay(failures);
                while !supply.stop.load(SeqCst) && Instant::now() < until {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        () = supply.wake.notified() => {}
                    }
                }
            }
        }
    }
    debug!("id refill task stopped");
}

/// Ids taken ahead for one unit of work; those it does not use go back on drop.
pub(crate) struct Reserved<'a> {
    supply: &'a IdSupply,
    ids: Vec<ObjectId>,
}

impl<'a> Reserved<'a> {
    /// Takes `n` ids ahead (see [`IdSupply::take`]): call it before locking anything.
    pub(crate) async fn take(supply: &'a IdSupply, n: usize) -> Result<Reserved<'a>, CacheError> {
        Ok(Reserved {
            supply,
            ids: supply.take(n).await?,
        })
    }

    /// `n` of the ids taken ahead; if the unit of work needs more than were taken, the
    /// rest come from memory only (never from the store: the caller holds game locks).
    pub(crate) fn use_ids(&mut self, n: usize) -> Result<Vec<ObjectId>, CacheError> {
        if n <= self.ids.len() {
            return Ok(self.ids.drain(..n).collect());
        }
        let extra = self
            .supply
            .take_in_memory(n - self.ids.len())
            .ok_or(CacheError::NoObjectIds)?;
        let mut ids = std::mem::take(&mut self.ids);
        ids.extend(extra);
        Ok(ids)
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.supply.give_back(&self.ids);
    }
}
