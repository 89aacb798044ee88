//! The store's test suite: every test body runs on a fresh SQLite file and, when
//! `SPACEWARS_TEST_PG_URL` is set, on a fresh PostgreSQL schema.

mod common;

mod accounts;
mod batch;
mod concurrency;
mod deadline;
mod fencing;
mod game;
mod lease;
mod reconnect;
mod round_trips;
mod schema;
mod spill;
mod spill_bytes;
mod testing_support;
mod with_deadline;
