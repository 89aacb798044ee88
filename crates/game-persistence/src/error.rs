//! Storage errors.

use game_domain::AppError;
use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The username is already registered.
    #[error("username taken")]
    UsernameTaken,
    /// Another process owns the database.
    #[error(
        "the database is owned by `{owner}` until {expires_ms} (Unix ms): another server is \
         running on it; stop it first, or, if it crashed, start again once its lease expired"
    )]
    LeaseHeld {
        /// The owner recorded in the lease.
        owner: String,
        /// When the lease expires unless renewed.
        expires_ms: i64,
    },
    /// This process's lease expired or was taken over; it must stop writing.
    #[error("this process no longer owns the database lease")]
    LeaseLost,
    /// The database did not answer within the call's deadline. The call was abandoned; a
    /// write may still have committed (or may yet commit): its outcome is unknown.
    #[error(
        "the database did not answer within {} ms (a write's outcome is unknown)",
        after.as_millis()
    )]
    Timeout {
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// Anything the database or the connection reported.
    #[error("database error: {0}")]
    Database(String),
    /// A stored row, or a value to store, does not fit the other side (e.g. an unknown
    /// object kind in the database, a level too large for its column).
    #[error("invalid data: {0}")]
    InvalidData(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> StoreError {
        StoreError::Database(error.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> StoreError {
        StoreError::Database(format!("no connection from the pool: {error}"))
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::UsernameTaken => game_domain::GameError::UsernameTaken.into(),
            other => AppError::storage(other),
        }
    }
}
