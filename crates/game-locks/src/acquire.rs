//! The one acquisition path shared by every lock type: try at once, else wait and count,
//! optionally until a deadline.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::time::{Instant, timeout_at};

use crate::error::LockTimeout;
use crate::stats::{Counters, Holding, Waiting};

/// One way of taking a tokio lock: at once if it is free, or by queueing for it.
pub(crate) trait Access {
    /// What holding the lock this way looks like.
    type Guard;

    /// The guard, if the lock can be had without waiting.
    fn try_now(&self) -> Option<Self::Guard>;

    /// Waits in the lock's queue for the guard.
    fn queue(self) -> impl Future<Output = Self::Guard>;
}

/// Takes the lock `access` describes, counting the acquisition in `counters`.
pub(crate) async fn acquire<A: Access>(counters: &Counters, access: A) -> (A::Guard, Holding<'_>) {
    match try_first(counters, &access) {
        Ok(held) => held,
        Err(waiting) => {
            let guard = access.queue().await;
            (guard, waiting.acquired())
        }
    }
}

/// Like [`acquire`], but gives up at `deadline` with a [`LockTimeout`] naming `level`.
///
/// Panics if the runtime was built without its time driver (tokio's `timeout_at` does).
pub(crate) async fn acquire_until<'c, A: Access>(
    counters: &'c Counters,
    level: &'static str,
    deadline: Instant,
    access: A,
) -> Result<(A::Guard, Holding<'c>), LockTimeout> {
    let waiting = match try_first(counters, &access) {
        Ok(held) => return Ok(held),
        Err(waiting) => waiting,
    };
    match timeout_at(deadline, access.queue()).await {
        Ok(guard) => Ok((guard, waiting.acquired())),
        Err(_elapsed) => {
            waiting.timed_out();
            Err(LockTimeout { level })
        }
    }
}

/// The fast path: the guard if the lock is free, else the start of a counted wait.
///
/// Trying first keeps the uncontended path to a CAS plus two atomic adds; tokio's fair
/// locks fail `try_*` while anyone is queued, so trying first does not jump the queue.
fn try_first<'c, A: Access>(
    counters: &'c Counters,
    access: &A,
) -> Result<(A::Guard, Holding<'c>), Waiting<'c>> {
    match access.try_now() {
        Some(guard) => Ok((guard, counters.acquired_at_once())),
        None => Err(counters.start_wait()),
    }
}

/// A mutex, borrowed.
impl<'a, T> Access for &'a Mutex<T> {
    type Guard = MutexGuard<'a, T>;

    fn try_now(&self) -> Option<Self::Guard> {
        self.try_lock().ok()
    }

    fn queue(self) -> impl Future<Output = Self::Guard> {
        self.lock()
    }
}

/// A shared mutex whose guard keeps it alive (the registry's per-key mutexes).
impl<T> Access for Arc<Mutex<T>> {
    type Guard = OwnedMutexGuard<T>;

    fn try_now(&self) -> Option<Self::Guard> {
        self.clone().try_lock_owned().ok()
    }

    fn queue(self) -> impl Future<Output = Self::Guard> {
        self.lock_owned()
    }
}

/// Shared access to a read-write lock.
pub(crate) struct Read<'a, T>(pub(crate) &'a RwLock<T>);

impl<'a, T> Access for Read<'a, T> {
    type Guard = RwLockReadGuard<'a, T>;

    fn try_now(&self) -> Option<Self::Guard> {
        self.0.try_read().ok()
    }

    fn queue(self) -> impl Future<Output = Self::Guard> {
        self.0.read()
    }
}

/// Exclusive access to a read-write lock.
pub(crate) struct Write<'a, T>(pub(crate) &'a RwLock<T>);

impl<'a, T> Access for Write<'a, T> {
    type Guard = RwLockWriteGuard<'a, T>;

    fn try_now(&self) -> Option<Self::Guard> {
        self.0.try_write().ok()
    }

    fn queue(self) -> impl Future<Output = Self::Guard> {
        self.0.write()
    }
}
