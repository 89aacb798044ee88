//! `OrderedRwLock`: a fair (writer-preferring in arrival order) read-write lock at a level.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::time::Instant;

use crate::acquire::{Read, Write, acquire, acquire_until};
use crate::ctx::{CtxBorrow, LockCtx};
use crate::error::LockTimeout;
use crate::levels::{LockBefore, LockLevel};
use crate::stats::{Counters, Holding, LevelStats};

/// A read-write lock at level `L`, e.g. the world.
///
/// Acquisition is FIFO: once a writer waits, readers that arrive after it queue behind it,
/// so a steady stream of readers cannot starve writers (tokio's `RwLock` semantics).
pub struct OrderedRwLock<L, T> {
    inner: RwLock<T>,
    counters: Counters,
    level: PhantomData<fn() -> L>,
}

/// Shared access to an [`OrderedRwLock`]'s value; it borrows the context it came from.
pub struct ReadGuard<'a, L, T> {
    guard: RwLockReadGuard<'a, T>,
    _holding: Holding<'a>,
    _ctx: CtxBorrow<'a, L>,
}

/// Exclusive access to an [`OrderedRwLock`]'s value; it borrows the context it came from.
pub struct WriteGuard<'a, L, T> {
    guard: RwLockWriteGuard<'a, T>,
    _holding: Holding<'a>,
    _ctx: CtxBorrow<'a, L>,
}

impl<L: LockLevel, T> OrderedRwLock<L, T> {
    /// Creates the lock around `value`.
    pub fn new(value: T) -> Self {
        OrderedRwLock {
            inner: RwLock::new(value),
            counters: Counters::default(),
            level: PhantomData,
        }
    }

    /// Waits for shared access; returns the guard and a context at level `L`.
    pub async fn read<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
    ) -> (ReadGuard<'a, L, T>, LockCtx<'a, L>) {
        let (guard, holding) = acquire(&self.counters, Read(&self.inner)).await;
        (ReadGuard::new(guard, holding), LockCtx::new())
    }

    /// Waits for exclusive access; returns the guard and a context at level `L`.
    pub async fn write<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
    ) -> (WriteGuard<'a, L, T>, LockCtx<'a, L>) {
        let (guard, holding) = acquire(&self.counters, Write(&self.inner)).await;
        (WriteGuard::new(guard, holding), LockCtx::new())
    }

    /// Like [`read`](Self::read), but gives up at `deadline`.
    ///
    /// Needs a runtime with the time driver enabled (`enable_time`/`enable_all`).
    pub async fn read_until<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        deadline: Instant,
    ) -> Result<(ReadGuard<'a, L, T>, LockCtx<'a, L>), LockTimeout> {
        let (guard, holding) =
            acquire_until(&self.counters, L::NAME, deadline, Read(&self.inner)).await?;
        Ok((ReadGuard::new(guard, holding), LockCtx::new()))
    }

    /// Like [`write`](Self::write), but gives up at `deadline`.
    ///
    /// Needs a runtime with the time driver enabled (`enable_time`/`enable_all`).
    pub async fn write_until<'a, P: LockBefore<L>>(
        &'a self,
        _ctx: &'a mut LockCtx<'_, P>,
        deadline: Instant,
    ) -> Result<(WriteGuard<'a, L, T>, LockCtx<'a, L>), LockTimeout> {
        let (guard, holding) =
            acquire_until(&self.counters, L::NAME, deadline, Write(&self.inner)).await?;
        Ok((WriteGuard::new(guard, holding), LockCtx::new()))
    }

    /// A snapshot of this lock's counters.
    pub fn stats(&self) -> LevelStats {
        self.counters.snapshot(L::NAME)
    }

    /// Direct access through `&mut self`: no other borrower can exist, so no lock is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<L: LockLevel, T: Default> Default for OrderedRwLock<L, T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<L: LockLevel, T> fmt::Debug for OrderedRwLock<L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedRwLock")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<'a, L, T> ReadGuard<'a, L, T> {
    fn new(guard: RwLockReadGuard<'a, T>, holding: Holding<'a>) -> Self {
        ReadGuard {
            guard,
            _holding: holding,
            _ctx: PhantomData,
        }
    }
}

impl<'a, L, T> WriteGuard<'a, L, T> {
    fn new(guard: RwLockWriteGuard<'a, T>, holding: Holding<'a>) -> Self {
        WriteGuard {
            guard,
            _holding: holding,
            _ctx: PhantomData,
        }
    }
}

impl<L, T> Deref for ReadGuard<'_, L, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<L, T> Deref for WriteGuard<'_, L, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<L, T> DerefMut for WriteGuard<'_, L, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<L: LockLevel, T: fmt::Debug> fmt::Debug for ReadGuard<'_, L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadGuard")
            .field(&L::NAME)
            .field(&*self.guard)
            .finish()
    }
}

impl<L: LockLevel, T: fmt::Debug> fmt::Debug for WriteGuard<'_, L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteGuard")
            .field(&L::NAME)
            .field(&*self.guard)
            .finish()
    }
}
