//! The toroidal world's geometry: its size, wrapping and distance.

use serde::{Deserialize, Serialize};

/// Width and height of the toroidal world, in game units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorldSize {
    /// Extent along x; positions lie in `[0, width)`.
    pub width: f64,
    /// Extent along y; positions lie in `[0, height)`.
    pub height: f64,
}

impl WorldSize {
    /// The game's default world: 500 × 500.
    pub const DEFAULT: WorldSize = WorldSize {
        width: 500.0,
        height: 500.0,
    };

    /// A world of the given size; both extents must be finite and positive.
    pub fn new(width: f64, height: f64) -> Option<WorldSize> {
        let valid = |v: f64| v.is_finite() && v > 0.0;
        (valid(width) && valid(height)).then_some(WorldSize { width, height })
    }

    /// Shortest distance between two points when the edges wrap.
    pub fn distance(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let dx = axis_distance(a.0, b.0, self.width);
        let dy = axis_distance(a.1, b.1, self.height);
        (dx * dx + dy * dy).sqrt()
    }
}

impl Default for WorldSize {
    fn default() -> Self {
        WorldSize::DEFAULT
    }
}

/// Wraps `v` into `[0, w)`.
pub fn wrap(v: f64, w: f64) -> f64 {
    let wrapped = ((v % w) + w) % w;
    // `(-tiny % w) + w` can round up to exactly `w`, which lies outside the half-open range.
    if wrapped >= w { 0.0 } else { wrapped }
}

fn axis_distance(a: f64, b: f64, extent: f64) -> f64 {
    let d = (a - b).abs();
    d.min(extent - d)
}

/// Normalises an angle in degrees to `[0, 360)`.
pub fn normalize_angle(degrees: f64) -> f64 {
    wrap(degrees, 360.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_values_in_range() {
        assert_eq!(wrap(510.0, 500.0), 10.0);
        assert_eq!(wrap(-10.0, 500.0), 490.0);
        assert_eq!(wrap(500.0, 500.0), 0.0);
        assert_eq!(wrap(-1e-20, 500.0), 0.0);
    }

    #[test]
    fn distance_takes_the_short_way_across_the_seam() {
        let size = WorldSize::DEFAULT;
        assert_eq!(size.distance((10.0, 250.0), (490.0, 250.0)), 20.0);
        assert_eq!(size.distance((250.0, 5.0), (250.0, 495.0)), 10.0);
        assert_eq!(size.distance((1.0, 1.0), (497.0, 498.0)), 5.0);
        assert_eq!(size.distance((100.0, 100.0), (130.0, 140.0)), 50.0);
    }

    #[test]
    fn angles_normalise() {
        assert_eq!(normalize_angle(-90.0), 270.0);
        assert_eq!(normalize_angle(370.0), 10.0);
        assert_eq!(normalize_angle(720.0), 0.0);
        assert_eq!(normalize_angle(359.5), 359.5);
    }

    #[test]
    fn world_size_rejects_nonsense() {
        assert_eq!(WorldSize::new(0.0, 10.0), None);
        assert_eq!(WorldSize::new(f64::NAN, 10.0), None);
        assert_eq!(
            WorldSize::new(300.0, 200.0),
            Some(WorldSize {
                width: 300.0,
                height: 200.0
            })
        );
    }
}
