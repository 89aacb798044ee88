//! Integration tests of `CachedRepo` against the real `Database`: SQLite always, PostgreSQL
//! when `SPACEWARS_TEST_PG_URL` is set. One binary, one module per promise.

mod fault_store;
mod support;

mod accounts;
mod equivalence;
mod eviction;
mod faults;
mod flush;
mod hot_path;
mod lease;
mod races;
