//! Edge servers fed through NATS, with real processes (docs/operations.md, "Edges"): an
//! owner of the `game-server` binary publishing its world, edges of the same binary
//! serving streams from it, the real NATS (`SPACEWARS_TEST_NATS_URL`; one test starts and
//! SIGKILLs a `nats-server` of its own). Skipped loudly without NATS, failed under CI or
//! `SPACEWARS_TEST_REQUIRE_ALL=1`.
#![cfg(feature = "nats")]

mod http;
mod nats;
mod relay;
mod takeover;
