//! Errors of lock acquisition.

use thiserror::Error;

/// A lock with a deadline was not acquired in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("timed out waiting for a lock at level {level}")]
pub struct LockTimeout {
    /// The level of the lock that was not acquired, e.g. `"World"`.
    pub level: &'static str,
}

/// Why [`crate::MutexRegistry::lock_two`] (or its deadline variant) did not lock both keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LockTwoError {
    /// Both keys were equal; nothing was locked. Use `lock` for a single key.
    #[error("lock_two at level {level} was given the same key twice")]
    SameKey {
        /// The registry's level.
        level: &'static str,
    },
    /// The deadline passed before both keys were locked; nothing stays locked.
    #[error(transparent)]
    Timeout(#[from] LockTimeout),
}
