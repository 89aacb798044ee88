//! Errors of the cache's own operations (start, flush, shutdown).
//!
//! Units of work answer [`game_domain::error::AppError`] like any repository; a store failure on a
//! cache miss becomes `AppError::Storage` with the store's kind. [`CacheError`] is for the operator-facing calls.

use game_domain::error::{AppError, StorageKind};
use game_persistence::StoreError;
use thiserror::Error;

/// Why starting, flushing or shutting down the cache failed.
#[derive(Debug, Error)]
pub enum CacheError {
    /// A configuration value is out of range; nothing was started.
    #[error("invalid cache configuration: {field} {reason}")]
    InvalidConfig {
        /// The offending field of [`crate::CacheConfig`].
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No reserved object id is left for a spawn and the store could not reserve more
    /// (it failed recently); the operation changed nothing and locked nothing.
    #[error("no reserved object ids left and the database cannot reserve more")]
    NoObjectIds,
    /// The store failed (loading at start, reserving ids, or writing a batch). A failed
    /// flush keeps everything dirty. The message is the store's; so is the source, so a
    /// caller walking the chain finds the [`StoreError`] itself.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl CacheError {
    /// What kind of storage failure this is (the store's own kind for a store failure).
    pub fn kind(&self) -> StorageKind {
        match self {
            CacheError::InvalidConfig { .. } => StorageKind::Invalid,
            CacheError::NoObjectIds => StorageKind::Unavailable,
            CacheError::Store(store) => store.kind(),
        }
    }
}

impl From<CacheError> for AppError {
    fn from(error: CacheError) -> AppError {
        match error {
            CacheError::Store(store) => store.into(),
            other => AppError::storage(other.kind(), other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(error: CacheError) -> StorageKind {
        match AppError::from(error) {
            AppError::Storage { kind, .. } => kind,
            other => panic!("expected a storage error, got {other:?}"),
        }
    }

    #[test]
    fn a_cache_error_keeps_its_kind_through_app_error() {
        let invalid = CacheError::InvalidConfig {
            field: "max_cached_users",
            reason: "must be at least 1".to_owned(),
        };
        assert_eq!(invalid.kind(), StorageKind::Invalid);
        assert_eq!(kind_of(invalid), StorageKind::Invalid);
        assert_eq!(kind_of(CacheError::NoObjectIds), StorageKind::Unavailable);
        let lost = CacheError::Store(StoreError::LeaseLost);
        assert_eq!(lost.kind(), StorageKind::LeaseLost);
        assert_eq!(kind_of(lost), StorageKind::LeaseLost);
    }
}
