//! `OrderedMutex`: a fair mutex around one value at a level (e.g. the store handle).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::acquire::{acquire, acquire_until};
use crate::ctx::{CtxBorrow, LockCtx};
use crate::error::LockTimeout;
use crate::levels::{LockBefore, LockLevel};
use crate::stats::{Counters, Holding, LevelStats};

/// A mutex at level `L` around a single value; waiters are served in arrival order.
pub struct OrderedMutex<L, T> {
    inner: Mutex<T>,
    counters: Counters,
    level: PhantomData<fn() -> L>,
}

/// Exclusive access to an [`OrderedMutex`]'s value; it borrows the context it came from.
pub struct OrderedMutexGuard<'a, L, T> {
    guard: tokio::sync::MutexGuard<'a, T>,
    _holding: Holding<'a>,
    _ctx: CtxBorrow<'a, L>,
}

impl<L: LockLevel, T> OrderedMutex<L, T> {
    /// Creates the mutex around `value`.
    pub fn new(value: T) -> Self {
        OrderedMutex {
            inner: Mutex::new(value),
            counters: Counters::default(),
            level: PhantomData,
        }
    }

    /// Waits for the mutex; returns the guard and a context at level `L`.
    pub async fn lock<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
    ) -> (OrderedMutexGuard<'a, L, T>, LockCtx<'a, L>) {
        let (guard, holding) = acquire(&self.counters, &self.inner).await;
        (OrderedMutexGuard::new(guard, holding), LockCtx::new())
    }

    /// Like [`lock`](Self::lock), but gives up at `deadline`.
    ///
    /// Needs a runtime with the time driver enabled (`enable_time`/`enable_all`).
    pub async fn lock_until<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        deadline: Instant,
    ) -> Result<(OrderedMutexGuard<'a, L, T>, LockCtx<'a, L>), LockTimeout> {
        let (guard, holding) =
            acquire_until(&self.counters, L::NAME, deadline, &self.inner).await?;
        Ok((OrderedMutexGuard::new(guard, holding), LockCtx::new()))
    }

    /// A snapshot of this lock's counters.
    pub fn stats(&self) -> LevelStats {
        self.counters.snapshot(L::NAME)
    }

    /// Direct access through `&mut self`: no other borrower can exist, so no lock is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<L: LockLevel, T: Default> Default for OrderedMutex<L, T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<L: LockLevel, T> fmt::Debug for OrderedMutex<L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedMutex")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<'a, L, T> OrderedMutexGuard<'a, L, T> {
    fn new(guard: tokio::sync::MutexGuard<'a, T>, holding: Holding<'a>) -> Self {
        OrderedMutexGuard {
            guard,
            _holding: holding,
            _ctx: PhantomData,
        }
    }
}

impl<L, T> Deref for OrderedMutexGuard<'_, L, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<L, T> DerefMut for OrderedMutexGuard<'_, L, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<L: LockLevel, T: fmt::Debug> fmt::Debug for OrderedMutexGuard<'_, L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OrderedMutexGuard")
            .field(&L::NAME)
            .field(&*self.guard)
            .finish()
    }
}
