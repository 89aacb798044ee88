//! World fan-out: subscribers follow the whole world or the area around a ship, and
//! receive the world's changes in batches, as ready-made JSON (docs/world-sync.md).
//!
//! A transport (the game server's Server-Sent Events, or an embedder's WebSocket or game
//! loop) subscribes with [`FanoutHub::subscribe`], opens an area with
//! [`FanoutHub::open_area`], and reads [`Event`]s from the subscription's queue; [`feed()`]
//! feeds the hub from a [`game_domain::game::Game`] (or an embedder feeds it with
//! [`FanoutHub::broadcast`] and [`FanoutHub::refresh`]).
//!
//! What a batch costs grows with what changed and who sees it, not with subscribers times
//! changes:
//!
//! - **by cell**: an area subscriber is registered in the cells of the grid its area
//!   covers ([`game_domain::interest::CellGrid`]) and moves between them as its ship
//!   moves; a batch is cut into [`game_domain::interest::CellBatch`]es and each goes
//!   only to the subscribers of its cell, who apply the exact per-subscriber rule
//!   (`game_domain::interest::Interest`) to those changes alone. A subscriber whose area
//!   saw nothing is not woken, allocated for or looked at. A refresh looks only at areas
//!   whose ship or neighbourhood moved or that were given changes (`route` explains why
//!   that is enough);
//! - **encoded once**: each changed object's JSON is made once per batch ([`Encoded`])
//!   and shared by every event that carries it; whole-world subscribers share the batch
//!   itself ([`SharedBatch`]);
//! - **no global lock**: subscribers and cells live in shards with locks of their own;
//!   opening, closing and feeding wait for one another only on the shards they share.
//!
//! Memory is bounded: at most `max_streams` subscriptions, each with at most `buffer`
//! events queued (and `buffer` batches kept before its opening); a subscriber further
//! behind is cut off (its queue ends after what is queued).
//!
//! - `hub`: subscribing, opening, ending, keep-alives, figures.
//! - `subscription`: bounds, what a subscription follows, refusals, figures.
//! - `route`: feeding: batches by cell, refreshes.
//! - `reach`: what a feeder holding part of the world must know: speeds, areas' reach.
//! - `area`: one area subscriber's state and exact rule.
//! - `event`: what subscribers receive.
//! - `json`: the events' JSON, assembled from per-object fragments.
//! - `feed`: the task feeding a hub from a game.

mod area;
mod event;
mod feed;
mod hub;
mod json;
mod reach;
pub(crate) mod registry;
mod route;
mod subscription;

pub use event::{AreaDelta, AreaEvent, AreaSnapshot, BatchChanges, Encoded, Event, SharedBatch};
pub use feed::{BATCH_WINDOW, HEARTBEAT, feed, refresh_areas};
pub use hub::{FanoutHub, GRID_CELL, ROUTE_CELL};
pub use json::to_json;
pub use route::Before;
pub use subscription::{Follow, HubLimits, HubStats, Refused, Subscription};

#[cfg(test)]
mod tests;
