//! The Spacewars HTTP server (docs/http-api.md): configuration, wiring, routes, sessions,
//! metrics, graceful shutdown and the embedded web client, on hyper 1.
//!
//! The binary only parses [`Config`] and calls [`run`] with the OS signal future; tests
//! use [`Server::bind`] to learn the bound address and pass their own shutdown future.
//!
//! - [`config`]: flags and environment variables, validated.
//! - [`app`]: wiring (store → lease → seed → repository → game → listener) and [`Server`].
//! - [`backend`]: what the server needs from a repository besides the use cases.
//! - [`serve`]: the connection loop, per-request admission, timeout, metrics and log line.
//! - [`router`]: paths and methods.
//! - [`handlers`]: one thin handler per endpoint.
//! - [`session`]: the session cookie.
//! - [`password`]: argon2id hashing off the async workers.
//! - [`limits`]: staying up under hostile load: hashing pool, rate limits, connection caps.
//! - [`response`]: JSON responses, API errors, body limits and parsing.
//! - [`metrics`]: the Prometheus text page.
//! - [`shutdown`]: the signal future and the in-flight request tracker.
//! - [`storage`]: deadline and spill flags; the spill file at shutdown and at start.
//! - [`web`]: the browser client, embedded static files served at `/`.
//! - [`world_stream`]: `/api/world/events`, the world pushed as Server-Sent Events.

pub mod app;
pub mod backend;
pub mod config;
pub mod handlers;
pub mod limits;
pub mod metrics;
pub mod password;
pub mod response;
pub mod router;
pub mod serve;
pub mod session;
pub mod shutdown;
pub mod storage;
pub mod web;
pub mod world_stream;

pub use app::{Dependencies, Server, ServerError, run};
pub use config::{Config, RepoKind, SpawnKind, Switch};
