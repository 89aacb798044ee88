//! `GET /api/world/events`: the world pushed to signed-in players as Server-Sent Events.
//!
//! The mechanism is the engine's ([`game_cache::fanout`]: subscriptions, fan-out by
//! cell, the events' JSON, the task feeding it); this module only speaks HTTP: it
//! authenticates and opens a stream, frames the hub's events as `text/event-stream`, and
//! writes the hub's figures into `/metrics`.
//!
//! A stream starts with one event computed for it (a `snapshot` of the whole world, or,
//! when the client resumes with `Last-Event-ID`, a `delta` from that version if the change
//! log still holds it; an area's snapshot). Then every batch of commits (batched over
//! [`game_cache::fanout::BATCH_WINDOW`]) is one `delta` event: the same bytes for every
//! whole-world stream, an area's share of it for an area stream. Every event's `id:` is
//! the world version it leads to, so a browser's `EventSource` resumes by itself after a
//! cut. Comments keep idle connections alive.
//!
//! - `config`: the flags ([`SyncConfig`]: stream cap, per-stream buffer, change log size,
//!   areas).
//! - [`event`]: the text/event-stream framing.
//! - `body`: the response body fed by a subscription's queue ([`EventBody`]).
//! - [`open`]: opening one stream (authentication, registration, the opening event).
//! - [`metrics`]: the hub's figures in `/metrics`.
//! - [`quota`]: streams per session and per player; the oldest closes past the cap.
//! - `lease_deadline`: ending every stream while past the lease deadline
//!   ([`end_when_lease_expires`]).

mod body;
mod config;
pub mod event;
mod lease_deadline;
pub mod metrics;
pub mod open;
pub mod quota;

pub use body::EventBody;
pub use config::{SyncConfig, SyncConfigError};
pub use lease_deadline::end_when_lease_expires;
