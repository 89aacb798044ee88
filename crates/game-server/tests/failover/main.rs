//! Failover with real processes on PostgreSQL (docs/operations.md, Failover): an owner and
//! standbys of the `game-server` binary on one database, stopped with SIGTERM, killed with
//! SIGKILL, paused with SIGSTOP. Skipped (with a message) without `SPACEWARS_TEST_PG_URL`.

mod fencing;
mod http;
mod process;
mod takeover;
