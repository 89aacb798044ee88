//! What a subscriber deals with: the hub's bounds, what a subscription follows, the
//! subscription itself, why one is refused, and the hub's figures.

use game_domain::space_object::ObjectId;
use tokio::sync::mpsc;

use super::event::Event;

/// The hub's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// Subscriptions at once; more are refused ([`Refused::TooMany`]).
    pub max_streams: usize,
    /// Events queued for one subscriber (and batches kept for it before its opening); a
    /// subscriber further behind is cut off.
    pub buffer: usize,
}

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `max_streams` are open.
    #[error("too many subscriptions are open")]
    TooMany,
    /// The hub is closed (shutdown).
    #[error("the hub is closed")]
    Closed,
}

/// What a subscription follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Follow {
    /// Every change of the world.
    World,
    /// What is within `radius` units of the ship `ship`.
    Area {
        /// The subscriber's ship.
        ship: ObjectId,
        /// The radius followed.
        radius: f64,
    },
}

/// A subscription: its id, and the queue its events arrive on. Dropping the receiver
/// ends it (the hub forgets it at its next send or keep-alive).
#[derive(Debug)]
pub struct Subscription {
    /// Its id in the hub (for [`super::FanoutHub::open_area`]).
    pub id: u64,
    /// Its events; the queue ends when the hub ends the subscription.
    pub events: mpsc::Receiver<Event>,
}

/// The hub's figures, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubStats {
    /// Subscriptions open now.
    pub open: usize,
    /// Subscriptions opened since the start.
    pub opened: u64,
    /// Subscriptions ended because their receiver fell too far behind.
    pub cut_off: u64,
    /// Batches fanned out.
    pub batches: u64,
    /// The version of the last batch.
    pub version: u64,
}
