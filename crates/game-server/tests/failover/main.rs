//! Failover with real processes on PostgreSQL (docs/operations.md, Failover): an owner and
//! standbys of the `game-server` binary on one database, stopped with SIGTERM, killed with
//! SIGKILL, paused with SIGSTOP, cut off from the database through a freezable proxy, their
//! wall clocks shifted. Skipped (with a message) without `SPACEWARS_TEST_PG_URL`.

mod deadline;
mod fencing;
mod http;
mod process;
mod spill;
mod takeover;
