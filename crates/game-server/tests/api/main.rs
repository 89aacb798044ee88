//! Integration tests over real TCP against the real server, started in-process on port 0
//! (or as the real binary, for the restart test), on SQLite and, when
//! `SPACEWARS_TEST_PG_URL` is set, on a fresh PostgreSQL schema; each with `--repo cached`
//! and `--repo db`. The browser tests drive real headless Chromium through chromedriver
//! when `SPACEWARS_TEST_CHROMEDRIVER` names it (`.ci/run` sets it). A test whose
//! PostgreSQL or browser is missing fails under CI or `SPACEWARS_TEST_REQUIRE_ALL=1`, and
//! elsewhere passes empty after the binary said so on stderr (docs/test-strength.md).

mod abuse;
mod actions;
mod browser;
mod caches;
mod client;
mod concurrency;
mod connections;
mod contract;
mod dashboard;
mod endpoints;
mod errors;
mod events;
mod faults;
mod harness;
mod hostile_requests;
mod interest;
mod lease;
mod lifecycle;
mod limits;
mod openapi;
mod outages;
mod proxy;
mod restart;
mod sessions;
mod spawn;
mod static_files;
mod world_sync;
