//! Spacewars storage on diesel: SQLite (embedded default) and PostgreSQL, one code path.
//! Start with [`Database::connect`] (migrations applied), then [`DbRepo`] to play straight
//! on the database, or hand the [`Database`] to game-cache as its [`Store`]; every
//! failure is a [`StoreError`] that names its kind ([`StoreError::kind`]).
//!
//! Features: `sqlite` and `postgres` (both default) choose the backends compiled in; a
//! SQLite-only build (`default-features = false, features = ["sqlite"]`) compiles neither
//! libpq nor OpenSSL, and refuses `postgres://` URLs with
//! [`StoreError::BackendDisabled`]. At least one must be on. `testing` adds the test
//! support module (and both backends).
//!
//! The API is flat: every item is at the crate root, except the two sub-APIs with a job of
//! their own (`spill`, `testing`).
//! - [`Database`]: the cloneable handle: connect (migrations applied), seeding, the lease.
//!   It implements [`Store`].
//! - [`Store`]: the trait the write-behind cache writes through, and [`Batch`], one cut.
//! - [`DbRepo`]: the game's `Repository` directly on the database.
//! - [`LeaseGuard`]: proof that this process owns the database; [`LeaseStatus`]: whether
//!   it may still answer; [`safety_margin`]: how early a lease counts as lost.
//! - [`WritePosition`]: where the write-behind history stands (what a spill file continues
//!   from).
//! - [`Deadlines`] (per call, connect) and [`WithDeadline`], the same deadline around any
//!   other [`Store`].
//! - [`StoreError`]: keeps the diesel, pool, migration or task error it wraps as its
//!   source.
//! - [`spill`]: spill files: what a final flush could not write, applied at the next start.
//! - `testing` (feature `testing`, for test suites only): `TestDatabase`, a fresh database
//!   per test on either backend, and `PlainHasher`.
//!
//! Inside:
//! - `connection`: backend choice from the URL, the two-backend connection, the pool,
//!   round-trip counting; `migrations`: the embedded schema; `schema`, `rows`: tables and
//!   their row types.
//! - `transaction`: write transactions (`BEGIN IMMEDIATE` on SQLite).
//! - `queries`: statements per table; `accounts`, `seed`, `batch`: the multi-statement
//!   writes; `store_impl`: [`Store`] for [`Database`].
//! - `claim`: this process's claim on the lease, shared by `database` and `lease`.

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("game-persistence needs a backend: enable its `sqlite` or `postgres` feature");

pub mod spill;
#[cfg(feature = "testing")]
pub mod testing;

mod accounts;
mod batch;
mod claim;
mod connection;
mod database;
mod deadline;
mod error;
mod lease;
mod migrations;
mod position;
mod queries;
mod repo;
mod rows;
mod schema;
mod seed;
mod store;
mod store_impl;
mod transaction;

pub use claim::safety_margin;
pub use database::Database;
pub use deadline::{Deadlines, WithDeadline};
pub use error::StoreError;
pub use lease::{LeaseGuard, LeaseStatus};
pub use position::WritePosition;
pub use repo::DbRepo;
pub use store::{Batch, Store};
