//! The harness of Spacewars' tools and integration tests: what the load generator
//! (`spacewars-load`), the drills (`spacewars-drills`) and game-server's own integration
//! tests share to drive a real server over real TCP. Start with
//! [`server_process::ServerProcess`] (a `game-server` child on 127.0.0.1, ready when
//! `/readyz` says so) and [`api::Api`] (the game's endpoints over one
//! [`http_client::Connection`], the one HTTP client of the API).
//!
//! - [`http_client`]: one HTTP/1.1 keep-alive connection; transport errors that say whether
//!   a request may have been applied.
//! - [`event_stream`]: one `/api/world/events` stream, read as the server pushes.
//! - [`sse`]: an incremental `text/event-stream` parser for those streams' bodies.
//! - [`api`]: typed calls of the game API and its reply shapes.
//! - [`player`]: registering test players (a session cookie and a ship each).
//! - [`aim`]: choosing a target to collect and the heading towards it.
//! - [`server_process`]: starting, signalling and reaping server processes.
//! - [`binary`]: the release `game-server` binary the tools run.
//! - [`postgres`]: throwaway schemas on a local PostgreSQL server.
//! - [`proxy`]: a freezable TCP proxy, a database link cut off without a reset.
//! - [`metrics`]: reading the server's `/metrics`.
//! - `progress` (feature `progress`): progress bars of the long tool runs.
//! - [`machine`]: this machine, for reports.

pub mod aim;
pub mod api;
pub mod binary;
pub mod event_stream;
pub mod haproxy_config;
pub mod http_client;
pub mod machine;
pub mod metrics;
pub mod player;
pub mod postgres;
#[cfg(feature = "progress")]
pub mod progress;
pub mod proxy;
pub mod server_process;
pub mod sse;
