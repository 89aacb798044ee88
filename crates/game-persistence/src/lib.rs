//! Spacewars storage on diesel: SQLite (embedded default) and PostgreSQL, one code path.
//!
//! Features: `sqlite` and `postgres` (both default) choose the backends compiled in; a
//! SQLite-only build (`default-features = false, features = ["sqlite"]`) compiles neither
//! libpq nor OpenSSL, and refuses `postgres://` URLs with
//! [`StoreError::BackendDisabled`]. At least one must be on. `testing` adds the test
//! support module (and both backends).
//!
//! Public:
//! - [`database`] — [`Database`], the cloneable handle: connect (migrations applied),
//!   seeding, the lease. It implements [`Store`].
//! - [`store`] — the [`Store`] trait the write-behind cache writes through, and [`Batch`].
//! - [`repo`] — [`DbRepo`], the game's `Repository` directly on the database.
//! - [`lease`] — [`LeaseGuard`], proof that this process owns the database, and
//!   [`LeaseStatus`], whether it may still answer.
//! - [`position`] — [`WritePosition`], where the write-behind history stands (what a
//!   spill file continues from).
//! - [`spill`] — spill files: what a final flush could not write, applied at the next
//!   start.
//! - [`deadline`] — [`Deadlines`] (per call, connect) and [`WithDeadline`], the same
//!   deadline around any other [`Store`].
//! - [`error`] — [`StoreError`], keeping the diesel, pool, migration or task error it
//!   wraps as its source.
//! - `testing` (feature `testing`, for test suites only) — `TestDatabase`, a fresh
//!   database per test on either backend, and `PlainHasher`.
//!
//! Inside:
//! - `connection`: backend choice from the URL, the two-backend connection, the pool,
//!   round-trip counting; `migrations`: the embedded schema; `schema`, `rows`: tables and
//!   their row types.
//! - `transaction`: write transactions (`BEGIN IMMEDIATE` on SQLite).
//! - `queries`: statements per table; `accounts`, `seed`, `batch`: the multi-statement
//!   writes; `store_impl`: [`Store`] for [`Database`].

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("game-persistence needs a backend: enable its `sqlite` or `postgres` feature");

pub mod database;
pub mod deadline;
pub mod error;
pub mod lease;
pub mod position;
pub mod repo;
pub mod spill;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

mod accounts;
mod batch;
mod connection;
mod migrations;
mod queries;
mod rows;
mod schema;
mod seed;
mod store_impl;
mod transaction;

pub use database::Database;
pub use deadline::{Deadlines, WithDeadline};
pub use error::StoreError;
pub use lease::{LeaseGuard, LeaseStatus};
pub use position::WritePosition;
pub use repo::DbRepo;
pub use store::{Batch, Store};
