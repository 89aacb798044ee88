//! What a feeder that holds only part of the world (an edge following some cells) must
//! know of the hub: the speed to allow for, learnt from whoever holds the whole world,
//! and how far each open area reaches, to keep the objects there at hand.

use std::sync::atomic::Ordering;

use game_domain::geometry::WorldSize;
use game_domain::interest::{margin, registration_radius};

use super::hub::FanoutHub;
use super::registry::lock;

impl FanoutHub {
    /// Allows for objects as fast as `speed` (units per minute) from now on: margins and
    /// registrations widen at the next refresh (the hub otherwise learns speeds from the
    /// objects it is given, and a partial world may not hold the fastest).
    pub fn allow_speed(&self, speed: f64) {
        let mut routing = lock(&self.routing);
        if speed.is_finite() && speed > routing.speed {
            routing.speed = speed;
        }
    }

    /// Whole-world subscriptions open now (a feeder holding part of the world must hold
    /// all of it while there is one).
    pub fn world_streams(&self) -> usize {
        self.len()
            .saturating_sub(self.areas.load(Ordering::Relaxed))
    }

    /// The fastest speed the hub allows for.
    pub fn speed(&self) -> f64 {
        lock(&self.routing).speed
    }

    /// How far from its ship an area of `radius` may reach before two refreshes have
    /// passed, with things as fast as `speed`: its radius, the margin, and the travel.
    pub fn reach_of(&self, radius: f64, speed: f64) -> f64 {
        registration_radius(
            radius,
            margin(speed, self.tick_ms()),
            speed,
            self.horizon_ms(),
        )
    }

    /// Every opened area whose ship is known: where its ship is at `now_ms` in a world of
    /// `size`, and how far from there the area may reach before two refreshes have passed
    /// (its radius, margin and travel at the hub's speed). Every object within that
    /// distance must be in the world the hub is given.
    pub fn area_reaches(&self, size: WorldSize, now_ms: i64) -> Vec<((f64, f64), f64)> {
        let speed = self.speed();
        self.area_subscribers
            .collect(|_| true)
            .iter()
            .filter_map(|subscriber| {
                let state = lock(&subscriber.state);
                let area = state.area.as_ref().filter(|a| !a.is_pending())?;
                let center = area.center_at(now_ms, size)?;
                Some((center, self.reach_of(area.radius(), speed)))
            })
            .collect()
    }
}
