//! Integration tests over real TCP against the real server, started in-process on port 0
//! (or as the real binary, for the restart test), on SQLite and, when
//! `SPACEWARS_TEST_PG_URL` is set, on a fresh PostgreSQL schema; each with `--repo cached`
//! and `--repo db`.

mod client;
mod concurrency;
mod connections;
mod endpoints;
mod errors;
mod harness;
mod lifecycle;
mod limits;
mod restart;
mod sessions;
