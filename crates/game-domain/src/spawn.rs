//! Where a new player's ship starts.
//!
//! The rule of the game is one spawn point, [`crate::accounts::SPAWN_POINT`], for every
//! ship ([`Spawn::Point`]). An operator may instead spread new ships over the whole world
//! ([`Spawn::Spread`], the server's `--spawn spread`): a departure from the rules meant for
//! large worlds and capacity runs, where thousands of ships starting on one point would
//! all be near each other. The spread position is a pure function of the new user's id
//! (no RNG), so it is the same on every run and exact in tests.

use crate::accounts::SPAWN_POINT;
use crate::geometry::WorldSize;
use crate::user::UserId;

/// How new ships are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spawn {
    /// Every ship at [`SPAWN_POINT`] (the rule of the game).
    #[default]
    Point,
    /// Each ship at [`spread_position`] of its user's id.
    Spread,
}

impl Spawn {
    /// The start position of the ship of user `user_id` in a world of `size`.
    pub fn position(self, user_id: UserId, size: WorldSize) -> (f64, f64) {
        match self {
            Spawn::Point => SPAWN_POINT,
            Spawn::Spread => spread_position(user_id.unsigned_abs(), size),
        }
    }
}

/// Point `index` of the Halton sequence in bases 2 and 3, scaled to the world: the
/// radical inverses of `index` (its digits mirrored after the point) are a low-discrepancy
/// sequence, so any run of consecutive indices covers the world evenly, without clumps or
/// holes, whatever its length.
pub fn spread_position(index: u64, size: WorldSize) -> (f64, f64) {
    (
        size.width * radical_inverse(index, 2),
        size.height * radical_inverse(index, 3),
    )
}

/// `index` written in `base` and mirrored after the point, in `[0, 1)`: 6 in base 2 is
/// 110, mirrored 0.011 = 3/8. Computed as one exact fraction, divided once.
fn radical_inverse(index: u64, base: u64) -> f64 {
    let base = u128::from(base.max(2));
    let mut rest = u128::from(index);
    let (mut mirrored, mut denominator) = (0_u128, 1_u128);
    while rest > 0 {
        mirrored = mirrored * base + rest % base;
        denominator *= base;
        rest /= base;
    }
    mirrored as f64 / denominator as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORLD: WorldSize = WorldSize {
        width: 1_000.0,
        height: 800.0,
    };

    #[test]
    fn radical_inverses_mirror_the_digits() {
        let base2: Vec<f64> = (0..8).map(|i| radical_inverse(i, 2)).collect();
        assert_eq!(base2, [0.0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875]);
        let base3: Vec<f64> = (1..6).map(|i| radical_inverse(i, 3)).collect();
        assert_eq!(
            base3,
            [1.0 / 3.0, 2.0 / 3.0, 1.0 / 9.0, 4.0 / 9.0, 7.0 / 9.0]
        );
        // The largest ids still give a point inside the world.
        let last = radical_inverse(u64::MAX, 3);
        assert!((0.0..1.0).contains(&last), "{last}");
    }

    #[test]
    fn spread_positions_follow_the_user_id() {
        assert_eq!(Spawn::default(), Spawn::Point);
        assert_eq!(Spawn::Point.position(7, WORLD), (250.0, 250.0));
        assert_eq!(
            Spawn::Spread.position(2, WORLD),
            (1_000.0 * 0.25, 800.0 * (2.0 / 3.0))
        );
        assert_eq!(
            Spawn::Spread.position(5, WORLD),
            (1_000.0 * 0.625, 800.0 * (7.0 / 9.0))
        );
    }

    #[test]
    fn consecutive_ids_cover_the_world_evenly() {
        // Any 36 consecutive ids (2² · 3²) on a 4 × 9 grid of cells: the last two digits
        // in base 2 pick the column, the last two in base 3 the row, and these pairs run
        // through all 36 combinations, so exactly one point per cell. And 1,000 ids on a
        // 10 × 10 grid, which the bases do not divide: 7 to 14 in every cell, where
        // 1,000 uniform random points leave the emptiest cell with 3 and the fullest
        // with 19 (medians over 1,000 draws).
        for (first, count, columns, rows, least, most) in
            [(1_u64, 36_u64, 4, 9, 1, 1), (2, 1_000, 10, 10, 7, 14)]
        {
            let mut cells = vec![0_u32; columns * rows];
            for id in first..first + count {
                let (x, y) = spread_position(id, WORLD);
                assert!((0.0..WORLD.width).contains(&x) && (0.0..WORLD.height).contains(&y));
                // Points on a cell's lower edge (x = 1/4, y = 1/9, …) belong to it: the
                // nudge keeps rounding from putting them in the cell below.
                let cell = |v: f64, extent: f64, n: usize| (v / extent * n as f64 + 1e-9) as usize;
                let (column, row) = (cell(x, WORLD.width, columns), cell(y, WORLD.height, rows));
                cells[row * columns + column] += 1;
            }
            let (min, max) = (cells.iter().min(), cells.iter().max());
            assert_eq!(
                (min, max),
                (Some(&least), Some(&most)),
                "{count} ids from {first}"
            );
        }
    }
}
