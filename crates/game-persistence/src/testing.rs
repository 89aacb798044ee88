//! Test support for the suites of this crate and of the crates built on it (enabled by the
//! `testing` feature; never part of a server build).
//!
//! - [`TestDatabase`]: a fresh, empty database per test — a SQLite file in a temporary
//!   directory, or a PostgreSQL schema of its own on the server named by [`PG_URL_VAR`] —
//!   removed when dropped, with raw SQL helpers for checks and tampering.
//! - [`PlainHasher`]: a trivial password hasher, so suites need not pay for argon2.
//! - [`environment`]: what a test does when PostgreSQL or a browser is missing — fail under
//!   CI or [`environment::REQUIRE_ALL_VAR`], else skip and say so on stderr.

mod database;
pub mod environment;
mod hasher;

pub use database::{LockHeld, PG_URL_VAR, TEST_CALL_DEADLINE, TestBackend, TestDatabase};
pub use hasher::PlainHasher;
