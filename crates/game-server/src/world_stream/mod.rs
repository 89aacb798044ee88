//! `GET /api/world/events`: the world pushed to signed-in players as Server-Sent Events.
//!
//! A stream starts with one event computed for it (a `snapshot` of the whole world, or,
//! when the client resumes with `Last-Event-ID`, a `delta` from that version if the change
//! log still holds it). Then the [`hub`] sends every subscriber the same bytes: one
//! `delta` event per batch of commits (batched over [`hub::BATCH_WINDOW`]), serialised once
//! for all. Every event's `id:` is the world version it leads to, so a browser's
//! `EventSource` resumes by itself after a cut. Comments keep idle connections alive.
//!
//! Memory is bounded: at most `max_streams` streams, each with at most `buffer` events
//! queued; a subscriber that falls further behind is cut off (its stream ends after what
//! is queued, and it resumes from its last event id). Streams end when their session is
//! revoked or expires, and all of them when the server shuts down.
//!
//! - [`config`]: the flags (stream cap, per-stream buffer, change log size).
//! - [`event`]: the text/event-stream framing.
//! - [`body`]: the response body fed by a subscriber's queue.
//! - [`hub`]: subscribers, what each is sent, cut-offs, closing.
//! - [`area`]: area-of-interest streams: one subscriber's share of the world.
//! - [`task`]: the task feeding the hub: batches, area ticks, keep-alives.
//! - [`open`]: opening one stream (authentication, registration, the opening event).
//! - [`quota`]: streams per session and per player; the oldest closes past the cap.

pub mod area;
pub mod body;
pub mod config;
pub mod event;
pub mod hub;
pub mod open;
pub mod quota;
pub mod task;

pub use body::EventBody;
pub use config::{SyncConfig, SyncConfigError};
pub use hub::StreamHub;
