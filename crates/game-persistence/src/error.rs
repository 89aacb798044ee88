//! Storage errors.

use game_domain::error::{AppError, StorageKind};
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
        /// When the lease expires unless renewed (Unix ms on the database's clock).
        expires_ms: i64,
    },
    /// This process's lease expired or was taken over; it must stop writing.
    #[error("this process no longer owns the database lease")]
    LeaseLost,
    /// This process's own lease deadline passed without a confirmed renewal (paused, or
    /// cut off from the database): another process may own the database by now, so it
    /// answers nothing from its state until a renewal succeeds (docs/persistence.md,
    /// One owner).
    #[error("this process's database lease is past its deadline and not yet renewed")]
    LeaseExpired,
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
    /// A statement or transaction failed (a constraint, a lost connection, …).
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// The first connection could not be opened: the database is unreachable, refuses
    /// the credentials, or the file cannot be created.
    #[error("cannot connect: {0}")]
    Connect(#[source] diesel::r2d2::PoolError),
    /// No pooled connection became free (or could be opened) within the call's deadline.
    #[error("no connection from the pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The database URL names nothing this build can open.
    #[error("{url:?} is not a database URL or file path: {reason}")]
    InvalidUrl {
        /// The URL as given (only SQLite paths are refused this way: a PostgreSQL URL,
        /// which may hold a password, never is).
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The URL's scheme names a backend this build leaves out (a cargo feature of
    /// game-persistence).
    #[error(
        "this build has no {backend} support (game-persistence was built without the \
         `{feature}` feature)"
    )]
    BackendDisabled {
        /// The backend the URL names.
        backend: &'static str,
        /// The cargo feature that would bring it in.
        feature: &'static str,
    },
    /// Applying the embedded migrations failed.
    #[error("migrations failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The blocking task running a database call panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A stored row, or a value to store, does not fit the other side (e.g. an unknown
    /// object kind in the database, a level too large for its column).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A failure of another [`crate::Store`] implementation (a wrapper, a test double):
    /// the trait is open, and its implementations report their own errors here.
    #[error("store error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// What kind of failure this is, for callers that decide on it (the server's 503s)
    /// without looking inside. Every variant is named, so a new one cannot get a kind by
    /// accident.
    pub fn kind(&self) -> StorageKind {
        match self {
            StoreError::LeaseLost => StorageKind::LeaseLost,
            StoreError::LeaseExpired => StorageKind::LeaseExpired,
            StoreError::Timeout { .. } => StorageKind::OutcomeUnknown,
            StoreError::UsernameTaken | StoreError::LeaseHeld { .. } => StorageKind::Conflict,
            StoreError::InvalidUrl { .. }
            | StoreError::BackendDisabled { .. }
            | StoreError::Migration(_)
            | StoreError::InvalidData(_) => StorageKind::Invalid,
            // A failed statement is not told apart further: the constraint the game relies
            // on (usernames) has its own variant, and anything else is a database problem.
            StoreError::Database(_)
            | StoreError::Connect(_)
            | StoreError::Pool(_)
            | StoreError::Task(_)
            | StoreError::Other(_) => StorageKind::Unavailable,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::UsernameTaken => game_domain::error::GameError::UsernameTaken.into(),
            other => AppError::storage(other.kind(), other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn sources_are_kept_and_messages_name_them() {
        let error = StoreError::from(diesel::result::Error::NotFound);
        assert_eq!(error.to_string(), "database error: Record not found");
        let source = error.source().expect("a source");
        assert!(matches!(
            source.downcast_ref::<diesel::result::Error>(),
            Some(diesel::result::Error::NotFound)
        ));
        let other = StoreError::Other("injected".into());
        assert_eq!(other.to_string(), "store error: injected");
        assert_eq!(
            other.source().map(ToString::to_string).as_deref(),
            Some("injected")
        );
    }

    #[test]
    fn each_error_names_its_kind_and_keeps_itself_as_the_source() {
        let kinds = [
            (StoreError::LeaseLost, StorageKind::LeaseLost),
            (StoreError::LeaseExpired, StorageKind::LeaseExpired),
            (
                StoreError::Timeout {
                    after: std::time::Duration::from_millis(5),
                },
                StorageKind::OutcomeUnknown,
            ),
            (StoreError::UsernameTaken, StorageKind::Conflict),
            (
                StoreError::LeaseHeld {
                    owner: "a".to_owned(),
                    expires_ms: 1,
                },
                StorageKind::Conflict,
            ),
            (
                StoreError::InvalidData("x".to_owned()),
                StorageKind::Invalid,
            ),
            (
                StoreError::BackendDisabled {
                    backend: "PostgreSQL",
                    feature: "postgres",
                },
                StorageKind::Invalid,
            ),
            (
                StoreError::from(diesel::result::Error::NotFound),
                StorageKind::Unavailable,
            ),
            (StoreError::Other("x".into()), StorageKind::Unavailable),
        ];
        for (error, kind) in kinds {
            assert_eq!(error.kind(), kind, "{error}");
        }
        match AppError::from(StoreError::LeaseLost) {
            AppError::Storage { kind, source } => {
                assert_eq!(kind, StorageKind::LeaseLost);
                assert!(matches!(
                    source.downcast_ref::<StoreError>(),
                    Some(StoreError::LeaseLost)
                ));
            }
            other => panic!("expected a storage error, got {other:?}"),
        }
        assert!(matches!(
            AppError::from(StoreError::UsernameTaken),
            AppError::Game(game_domain::error::GameError::UsernameTaken)
        ));
    }
}
