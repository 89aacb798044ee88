//! The end-to-end delay of a write: from a navigation's acknowledgement by the owner to
//! the first stream delta that carries the player's ship. With `--edges` that delta has
//! crossed NATS and an edge; the edge stamps `currentTime` with its own clock, so the
//! stream delay alone would miss the owner-to-edge leg.
//!
//! A navigation always changes the ship, so its next delta names it. While the player's
//! task waits for the acknowledgement it does not read the stream, so the delta is read
//! after the acknowledgement even when it was sent before.

use std::time::{Duration, Instant};

use crate::sync::sse::SseEvent;

/// One player's acknowledged navigation waiting for its delta.
#[derive(Debug)]
pub struct AckEcho {
    /// `{"id":<ship>,` as the server writes an upserted object.
    marker: Vec<u8>,
    /// When the navigation still waiting for its delta was acknowledged.
    pending: Option<Instant>,
}

impl AckEcho {
    /// Watches for `ship`'s deltas.
    pub fn new(ship: i64) -> AckEcho {
        AckEcho {
            marker: format!("{{\"id\":{ship},").into_bytes(),
            pending: None,
        }
    }

    /// A navigation was acknowledged at `at` (a later one replaces an earlier).
    pub fn acked(&mut self, at: Instant) {
        self.pending = Some(at);
    }

    /// The delay when `event` is the first delta naming the ship since the
    /// acknowledgement, read at `now`.
    pub fn on_event(&mut self, event: &SseEvent, now: Instant) -> Option<Duration> {
        let acked = self.pending?;
        if event.name != "delta" || !contains(&event.data, &self.marker) {
            return None;
        }
        self.pending = None;
        Some(now.saturating_duration_since(acked))
    }

    /// Forgets the waiting navigation (the stream reopened: its delta may be folded into
    /// a snapshot).
    pub fn forget(&mut self) {
        self.pending = None;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            id: Some("9".to_owned()),
            name: name.to_owned(),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_first_delta_naming_the_ship_after_the_ack_gives_the_delay() {
        let start = Instant::now();
        let mine = event("delta", r#"{"upserted":[{"id":12,"type":"player_ship"}]}"#);
        let other = event("delta", r#"{"upserted":[{"id":123,"type":"player_ship"}]}"#);
        let mut echo = AckEcho::new(12);
        // Nothing acknowledged yet: a delta naming the ship is not an echo.
        assert_eq!(echo.on_event(&mine, start), None);
        echo.acked(start);
        assert_eq!(
            echo.on_event(&other, start + Duration::from_millis(5)),
            None
        );
        let snapshot = event("snapshot", r#"{"spaceObjects":[{"id":12,"x":1}]}"#);
        assert_eq!(echo.on_event(&snapshot, start), None);
        assert_eq!(
            echo.on_event(&mine, start + Duration::from_millis(40)),
            Some(Duration::from_millis(40))
        );
        // Counted once.
        assert_eq!(
            echo.on_event(&mine, start + Duration::from_millis(50)),
            None
        );
        echo.acked(start);
        echo.forget();
        assert_eq!(
            echo.on_event(&mine, start + Duration::from_millis(60)),
            None
        );
    }
}
