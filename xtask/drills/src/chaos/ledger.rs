//! What the drill's players saw: acknowledged collects and collects whose outcome is unknown.

use std::time::Instant;

use game_domain::space_object::{ObjectId, ObjectKind};

/// A collect the server answered 200.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ack {
    /// Index of the player.
    pub player: usize,
    /// The collected object.
    pub object: ObjectId,
    /// Its kind, as the response said.
    pub kind: ObjectKind,
    /// Iron credited.
    pub reward: u32,
    /// When the request was sent.
    pub sent: Instant,
    /// When the response arrived.
    pub acked: Instant,
}

/// A collect that got no response (the server died or closed the connection meanwhile):
/// it may or may not have been applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unknown {
    /// Index of the player.
    pub player: usize,
    /// The object it tried to collect.
    pub object: ObjectId,
    /// Its kind, from the world read that chose it.
    pub kind: ObjectKind,
    /// When the request was sent.
    pub sent: Instant,
}

/// One player's collects during one cycle, in the order it sent them. A player stops at
/// its first unknown outcome, so `unknown` comes after every ack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayerLedger {
    /// Acknowledged collects, oldest first.
    pub acks: Vec<Ack>,
    /// The last collect, if it got no response.
    pub unknown: Option<Unknown>,
    /// Collects refused (404 taken, 400 too far, 503 shutting down).
    pub refused: u64,
    /// Other requests sent (world reads, navigation).
    pub other_requests: u64,
    /// Collects without response that were sent after SIGKILL had been delivered, so
    /// certainly not applied (not counted as unknown).
    pub unanswered_after_kill: u64,
}

/// The iron a collect of `kind` can earn (docs/rules.md, Collecting): inclusive bounds.
pub fn reward_bounds(kind: ObjectKind) -> (u32, u32) {
    match kind {
        ObjectKind::Asteroid => (50, 250),
        ObjectKind::Shipwreck => (50, 1000),
        ObjectKind::EscapePod | ObjectKind::PlayerShip => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_the_spec() {
        assert_eq!(reward_bounds(ObjectKind::Asteroid), (50, 250));
        assert_eq!(reward_bounds(ObjectKind::Shipwreck), (50, 1000));
        assert_eq!(reward_bounds(ObjectKind::EscapePod), (0, 0));
    }
}
