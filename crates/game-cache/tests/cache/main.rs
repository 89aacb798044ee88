//! Integration tests of `CachedRepo` against the real `Database`: SQLite always, PostgreSQL
//! when `SPACEWARS_TEST_PG_URL` is set. One binary, one module per promise.

mod fault_store;
mod support;

mod accounts;
mod cuts;
mod equivalence;
mod eviction;
mod faults;
mod flush;
mod flush_faults;
mod hot_path;
mod lease;
mod races;
