//! Why the server could not start, or did not stop cleanly.

use std::net::SocketAddr;

use game_cache::engine::{EngineError, ShutdownError};
use game_cache::password::HashError;
use game_persistence::StoreError;
use thiserror::Error;

use crate::config::ConfigError;

/// Why the server could not start, or did not stop cleanly.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Another server process owns the database (docs/persistence.md, One owner).
    #[error(
        "the database is in use by another server process ({owner}); its lease expires at \
         {expires_ms} (Unix ms) unless renewed. Stop that server, wait for the lease to \
         expire if it crashed, or start this one with --standby to take over when it stops"
    )]
    LeaseHeld {
        /// Who holds the lease.
        owner: String,
        /// When it expires unless renewed.
        expires_ms: i64,
    },
    /// Opening the engine failed (database, spill file, seed, world load).
    #[error("start-up failed")]
    Engine(#[source] EngineError),
    /// Reading the session key failed.
    #[error("reading the session key")]
    Store(#[from] StoreError),
    /// Password hashing could not be set up.
    #[error("password hashing")]
    Hash(#[from] HashError),
    /// The session key from the database is unusable.
    #[error("session key")]
    SessionKey(#[source] hmac::digest::InvalidLength),
    /// The NATS relay could not start (`--nats`, `--edge`).
    #[cfg(feature = "nats")]
    #[error("the NATS relay")]
    Relay(#[from] crate::relay::RelayError),
    /// The password hashing threads could not be started.
    #[error("cannot start the password hashing threads")]
    HashThreads(#[source] std::io::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process took the lease over while this one ran: it stopped serving at once
    /// and wrote nothing more.
    #[error("lost the database lease to another process; stopped serving")]
    LeaseLost,
    /// The final flush or the lease release failed; the source says what became of the
    /// pending changes.
    #[error("shutdown")]
    Shutdown(#[source] ShutdownError),
}

impl From<EngineError> for ServerError {
    fn from(error: EngineError) -> ServerError {
        match error {
            EngineError::LeaseHeld { owner, expires_ms } => {
                ServerError::LeaseHeld { owner, expires_ms }
            }
            other => ServerError::Engine(other),
        }
    }
}

impl From<ShutdownError> for ServerError {
    fn from(error: ShutdownError) -> ServerError {
        match error {
            ShutdownError::LeaseLost { .. } => ServerError::LeaseLost,
            other => ServerError::Shutdown(other),
        }
    }
}
