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
    #[error("the database is owned by `{owner}` until {expires_ms} (Unix ms); is another server running?")]
    LeaseHeld {
        /// The owner recorded in the lease.
        owner: String,
        /// When the lease expires unless renewed.
        expires_ms: i64,
    },
    /// This process's lease expired or was taken over; it must stop writing.
    #[error("this process no longer owns the database lease")]
    LeaseLost,
    /// Anything the database or the connection reported.
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::UsernameTaken => game_domain::GameError::UsernameTaken.into(),
            other => AppError::storage(other),
        }
    }
}
