//! The Spacewars HTTP server (docs/http-api.md): configuration, wiring, routes, sessions,
//! metrics, graceful shutdown and the embedded web client, on hyper 1. Start with
//! [`Config`] and [`run`], which is all the binary does (`main.rs`), or [`Server::bind`]
//! with injected [`Dependencies`] in tests.
//!
//! The public surface is what a deployment or an embedding needs, nothing more:
//!
//! - [`Config`] (every flag, with its environment variable) and its value types
//!   ([`RepoKind`], [`Switch`], [`LimitsConfig`], [`SyncConfig`], [`StorageConfig`]) and
//!   their validation errors;
//! - [`run`]: start from a [`Config`] and serve until a shutdown future resolves, with
//!   [`signal`] (SIGTERM or SIGINT) as the binary's;
//! - [`Server`] and [`Dependencies`] for tests and embedders: [`Server::bind`] does every
//!   start-up step and tells the bound address; the clock and the RNG seed are injected;
//! - [`contract`]: the OpenAPI document and the routes the server really has, for client
//!   authors and the tests that keep the two in step;
//! - [`ServerError`]: why the server did not start or did not stop cleanly (its sources
//!   are game-cache's `EngineError` and `ShutdownError`, which say what became of the
//!   data).
//!
//! The binary only parses [`Config`] and calls [`run`] with [`signal`].
//!
//! Inside (private modules):
//! - `config`: flags and environment variables, validated.
//! - `server`: wiring (engine → handlers → listener), standby and takeover: [`Server`].
//! - `app`: the state every handler sees.
//! - `error`: [`ServerError`].
//! - `standby`: the answers of a standby while another process owns the database.
//! - `backend`: what the server needs from a repository besides the use cases.
//! - `serve`: the connection loop, per-request admission, timeout, metrics and log line.
//! - `router`: paths and methods.
//! - `handlers`: one thin handler per endpoint.
//! - `account_handlers`: register and login: validate, rate-limit, hash, set cookies.
//! - `session`: the session cookie.
//! - `known_device`: the known-device cookie that exempts an owner from account-wide
//!   login limits.
//! - `limits`: staying up under hostile load: rate limits, connection caps, stalled
//!   writes.
//! - `response`: JSON responses, the wire bodies, API errors (with the HTTP status of each
//!   game rule error), body limits and parsing.
//! - `metrics`: request metrics and the Prometheus text page (prometheus-client).
//! - `openapi`: the OpenAPI 3.1 document of the API, served at `/api/openapi.json`.
//! - `shutdown`: the signal future and the in-flight request tracker.
//! - `storage`: deadline, spill and lease flags; the session sweep.
//! - `web`: the browser client, embedded static files served at `/`.
//! - `world_body`: the `/api/world` body, serialised once per version and millisecond.
//! - `world_stream`: `/api/world/events`, the world pushed as Server-Sent Events.

mod account_handlers;
mod app;
mod backend;
mod config;
pub mod contract;
mod error;
mod handlers;
mod known_device;
mod limits;
mod metrics;
mod openapi;
mod relay;
mod response;
mod router;
mod serve;
mod server;
mod session;
mod shutdown;
mod standby;
mod storage;
mod switch;
mod web;
mod world_body;
mod world_stream;

pub use app::Dependencies;
pub use config::{Config, ConfigError, MIN_PERSIST_INTERVAL_MS, RepoKind, SpawnKind};
pub use error::ServerError;
pub use limits::{LimitsConfig, LimitsError};
pub use relay::config::{RelayConfig, RelayConfigError};
pub use server::{Server, run};
pub use shutdown::signal;
pub use storage::{StorageConfig, StorageConfigError};
pub use switch::Switch;
pub use world_stream::{SyncConfig, SyncConfigError};
