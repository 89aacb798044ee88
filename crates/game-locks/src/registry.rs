//! `MutexRegistry`: one mutex per key (e.g. per user), created on demand and reclaimed
//! when nobody holds or waits for it.

mod slots;

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio::time::Instant;

use crate::acquire::{acquire, acquire_until};
use crate::ctx::{CtxBorrow, LockCtx};
use crate::error::{LockTimeout, LockTwoError};
use crate::levels::{LockBefore, LockLevel};
use crate::stats::{Counters, Holding, LevelStats};
use slots::{Checkout, SlotMap};

/// The per-key lock; owned (`Arc`) so a guard does not borrow the map it lives in.
type KeyMutex = Arc<Mutex<()>>;

/// Mutexes keyed by `K` at level `L`, all sharing one set of counters.
///
/// The registry guards keys, not data: a [`KeyGuard`] proves its key is locked, and the
/// caller keeps the data wherever it likes. Its size is the number of keys held or waited
/// for right now, not the number ever seen.
pub struct MutexRegistry<L, K> {
    slots: SlotMap<K, KeyMutex>,
    counters: Counters,
    level: PhantomData<fn() -> L>,
}

/// Proof that one key of a [`MutexRegistry`] is locked; it borrows the context it came from.
pub struct KeyGuard<'a, L, K: Copy + Eq + Hash> {
    // Field order is drop order: unlock first, then stop counting the holder, then give
    // the slot back, so a slot is reclaimed only once nobody can be inside it.
    _guard: OwnedMutexGuard<()>,
    _holding: Holding<'a>,
    checkout: Checkout<'a, K, KeyMutex>,
    _ctx: CtxBorrow<'a, L>,
}

impl<L: LockLevel, K: Copy + Ord + Hash + Send + Sync> MutexRegistry<L, K> {
    /// An empty registry.
    pub fn new() -> Self {
        MutexRegistry {
            slots: SlotMap::new(),
            counters: Counters::default(),
            level: PhantomData,
        }
    }

    /// Waits for `key`'s mutex; returns its guard and a context at level `L`.
    pub async fn lock<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        key: K,
    ) -> (KeyGuard<'a, L, K>, LockCtx<'a, L>) {
        (self.lock_key(key).await, LockCtx::new())
    }

    /// Like [`lock`](Self::lock), but gives up at `deadline`.
    ///
    /// Needs a runtime with the time driver enabled (`enable_time`/`enable_all`).
    pub async fn lock_until<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        key: K,
        deadline: Instant,
    ) -> Result<(KeyGuard<'a, L, K>, LockCtx<'a, L>), LockTimeout> {
        Ok((self.lock_key_until(key, deadline).await?, LockCtx::new()))
    }

    /// Locks two different keys, always the smaller first, so tasks locking the same pair in
    /// opposite argument orders cannot deadlock. Guards come back in argument order.
    ///
    /// `a == b` is refused with [`LockTwoError::SameKey`] and nothing is locked: a caller
    /// that can get equal keys must decide what one key means for it (use [`lock`](Self::lock)).
    pub async fn lock_two<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        a: K,
        b: K,
    ) -> Result<(KeyGuard<'a, L, K>, KeyGuard<'a, L, K>, LockCtx<'a, L>), LockTwoError> {
        let (low, high) = self.ordered(a, b)?;
        let low = self.lock_key(low).await;
        let high = self.lock_key(high).await;
        let (ga, gb) = if a < b { (low, high) } else { (high, low) };
        Ok((ga, gb, LockCtx::new()))
    }

    /// Like [`lock_two`](Self::lock_two), but gives up at `deadline` (releasing the first
    /// key if the second is not had in time).
    ///
    /// Needs a runtime with the time driver enabled (`enable_time`/`enable_all`).
    pub async fn lock_two_until<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        a: K,
        b: K,
        deadline: Instant,
    ) -> Result<(KeyGuard<'a, L, K>, KeyGuard<'a, L, K>, LockCtx<'a, L>), LockTwoError> {
        let (low, high) = self.ordered(a, b)?;
        let low = self.lock_key_until(low, deadline).await?;
        let high = self.lock_key_until(high, deadline).await?;
        let (ga, gb) = if a < b { (low, high) } else { (high, low) };
        Ok((ga, gb, LockCtx::new()))
    }

    /// Number of keys currently held or waited for.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no key is held or waited for.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the counters shared by all keys of this registry.
    pub fn stats(&self) -> LevelStats {
        self.counters.snapshot(L::NAME)
    }

    fn ordered(&self, a: K, b: K) -> Result<(K, K), LockTwoError> {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Ok((a, b)),
            std::cmp::Ordering::Greater => Ok((b, a)),
            std::cmp::Ordering::Equal => Err(LockTwoError::SameKey { level: L::NAME }),
        }
    }

    async fn lock_key(&self, key: K) -> KeyGuard<'_, L, K> {
        let checkout = self.slots.checkout(key, KeyMutex::default);
        let (guard, holding) = acquire(&self.counters, checkout.shared().clone()).await;
        KeyGuard::new(guard, holding, checkout)
    }

    async fn lock_key_until(
        &self,
        key: K,
        deadline: Instant,
    ) -> Result<KeyGuard<'_, L, K>, LockTimeout> {
        // On timeout `checkout` drops here, so an abandoned wait does not keep the slot.
        let checkout = self.slots.checkout(key, KeyMutex::default);
        let (guard, holding) =
            acquire_until(&self.counters, L::NAME, deadline, checkout.shared().clone()).await?;
        Ok(KeyGuard::new(guard, holding, checkout))
    }
}

impl<L: LockLevel, K: Copy + Ord + Hash + Send + Sync> Default for MutexRegistry<L, K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: LockLevel, K: Copy + Ord + Hash + Send + Sync> fmt::Debug for MutexRegistry<L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexRegistry")
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<'a, L, K: Copy + Eq + Hash> KeyGuard<'a, L, K> {
    fn new(
        guard: OwnedMutexGuard<()>,
        holding: Holding<'a>,
        checkout: Checkout<'a, K, KeyMutex>,
    ) -> Self {
        KeyGuard {
            _guard: guard,
            _holding: holding,
            checkout,
            _ctx: PhantomData,
        }
    }

    /// The key this guard holds locked.
    pub fn key(&self) -> K {
        self.checkout.key()
    }
}

impl<L: LockLevel, K: Copy + Eq + Hash + fmt::Debug> fmt::Debug for KeyGuard<'_, L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyGuard")
            .field(&L::NAME)
            .field(&self.key())
            .finish()
    }
}
