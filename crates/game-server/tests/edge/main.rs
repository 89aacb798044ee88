//! Edge servers fed through NATS, with real processes (docs/operations.md, "Edges"): an
//! owner of the `game-server` binary publishing its world, edges of the same binary
//! serving streams from it, the real NATS (`SPACEWARS_TEST_NATS_URL`; one test starts and
//! SIGKILLs a `nats-server` of its own), and one test drives the web client in Chromium
//! behind HAProxy with the shipped `deploy/haproxy-edges.cfg`. Skipped loudly without NATS
//! (or Chromium, or HAProxy), failed under CI or `SPACEWARS_TEST_REQUIRE_ALL=1`.
#![cfg(feature = "nats")]

mod balancer;
mod cells;
mod follow;
// The browser driver the API suite's browser tests use; this binary needs only part of it.
#[allow(dead_code)]
#[path = "../api/browser/driver.rs"]
mod driver;
mod http;
mod nats;
mod page;
mod relay;
mod size;
mod takeover;
