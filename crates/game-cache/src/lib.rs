//! game-cache: the game's state in memory, written behind to the database, and the engine
//! that runs it. Start with [`engine::Engine`] (guide: docs/embedding.md): it opens the
//! database, takes the lease, starts the cache and hands out the
//! [`game_domain::game::Game`] to play; underneath is the write-behind repository
//! [`CachedRepo`] (its promises: docs/persistence.md).
//!
//! The world is loaded at start, users on demand; units of work run over memory behind
//! the ordered locks of `game-locks` (world → user → store) and mark what they changed
//! dirty before releasing them. A background task writes the dirty state to the
//! [`game_persistence::Store`] every persist interval, one transaction per flush, from a
//! consistent cut, and clears only what did not change since the cut.
//!
//! - [`engine`]: the entry point for embedders, [`engine::Engine`]: open the database,
//!   take the lease, seed, start the repository and the session sweep; run until the work
//!   ends, SIGTERM/SIGINT or a lost lease ([`engine::Engine::run_until`]); shut down
//!   (drain, final flush, release). docs/embedding.md is the guide.
//! - [`fanout`]: the world's changes fanned out to subscribers of the whole world or of
//!   an area around a ship, by cell, each object's JSON made once per batch.
//! - [`relay`]: the world's batches by cell and its snapshots between an owner and its
//!   edge servers, without the transport (the game server carries it over NATS).
//! - [`password`]: the production password hasher, argon2id on a bounded pool of threads.
//! - [`CachedRepo`]: the repository handle (`start`, `flush_now`, `shutdown`, `stats`), and
//!   its [`game_domain::repository::Repository`] implementation.
//! - [`CacheConfig`]: persist interval, caps, id block size, back-off; validated.
//! - [`CacheStats`]: counters for metrics; [`FlushReport`]: what a flush wrote.
//! - [`CacheError`]: failures of start, flush and shutdown (a store failure keeps the
//!   [`game_persistence::StoreError`] as its source).
//!
//! Features `sqlite` and `postgres` (both default) are game-persistence's, forwarded.
//!
//! # Promises and where they are kept
//!
//! | promise (docs/persistence.md) | how |
//! | --- | --- |
//! | 1 hot path without the database | everything a unit of work reads is in memory once cached; object ids come from a reserved block, taken before any lock and refilled by a task of their own |
//! | 2 write-behind | units of work mark users and objects (upserted / deleted) dirty; the flush task writes them as one `Batch` |
//! | 3 no lost update | per-entry generations: clearing after a write removes only entries whose generation is the cut's |
//! | 4 consistent cut | a unit of work commits memory and marks in one critical section of the store-level lock; the cut copies the marks under that lock |
//! | 5 graceful shutdown | `shutdown` closes the gate, waits for operations in flight, stops the tasks, flushes (retried until `shutdown_flush_timeout`); `pending_batch` hands out what could not be written, for the spill file |
//! | 7 failing database | a failed flush clears nothing, is counted and logged, retried with capped exponential back-off; gameplay continues |
//! | 9 bounded memory | capped user table, LRU eviction of clean idle users only; index evicted with its user; capped sessions |
//! | 10 no deadlock | all game locks are `game-locks` types taken in the one order; data tables use short std mutexes never held across `.await` |

pub mod engine;
pub mod fanout;
pub mod password;
pub mod relay;

mod config;
mod dirty;
mod error;
mod gate;
mod id_supply;
mod ids;
mod repo;
mod sessions;
mod shutdown;
mod stats;
mod users;

pub use config::{CacheConfig, DEFAULT_SHUTDOWN_FLUSH_TIMEOUT, MIN_PERSIST_INTERVAL};
pub use error::CacheError;
pub use repo::{CachedRepo, FlushReport};
pub use stats::CacheStats;

/// docs/embedding.md, compiled by `cargo test --doc` so that its program keeps building.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingGuide;
