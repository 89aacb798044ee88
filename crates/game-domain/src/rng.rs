//! The game's randomness ([`GameRng`]): collect rolls and session tokens draw from it.
//!
//! [`crate::game::Game::new`] takes a [`GameRng`], not a concrete generator of one `rand`
//! release, so an embedder is not tied to this crate's `rand` version:
//!
//! - [`GameRng::from_seed`]: deterministic, for tests and replays;
//! - [`GameRng::from_os`]: seeded from the operating system, for production;
//! - [`GameRng::from_rng`]: any generator implementing this crate's `RngCore` (re-exported
//!   as [`crate::rand_core`], so no matching `rand` dependency is needed to name it);
//! - [`GameRng::from_fill_bytes`]: any source at all, as a closure that fills a buffer;
//!   this is how a generator of another `rand` version is passed
//!   (`move |buf| their_rng.fill_bytes(buf)`).

use std::fmt;

use rand::SeedableRng;
use rand::rand_core::{RngCore, impls};
use rand::rngs::StdRng;

/// The source of the game's random draws: any generator, boxed.
pub struct GameRng(Box<dyn RngCore + Send>);

impl GameRng {
    /// A deterministic generator: the same seed gives the same draws (for a given version
    /// of this crate; the algorithm behind it may change between versions).
    pub fn from_seed(seed: u64) -> GameRng {
        GameRng(Box::new(StdRng::seed_from_u64(seed)))
    }

    /// A generator seeded from the operating system's entropy source.
    ///
    /// # Panics
    ///
    /// If the operating system cannot supply entropy (as `rand`'s own constructors do).
    pub fn from_os() -> GameRng {
        GameRng(Box::new(StdRng::from_os_rng()))
    }

    /// Any generator implementing [`crate::rand_core::RngCore`].
    pub fn from_rng(rng: impl RngCore + Send + 'static) -> GameRng {
        GameRng(Box::new(rng))
    }

    /// Any source of random bytes: `fill` must fill the whole buffer it is given. Whole
    /// numbers are assembled from its bytes (little-endian).
    pub fn from_fill_bytes(fill: impl FnMut(&mut [u8]) + Send + 'static) -> GameRng {
        GameRng(Box::new(FillBytes(fill)))
    }
}

impl fmt::Debug for GameRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The generator's state is secret (session tokens are drawn from it).
        f.write_str("GameRng(..)")
    }
}

impl RngCore for GameRng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst);
    }
}

/// A generator over a closure that fills buffers.
struct FillBytes<F>(F);

impl<F: FnMut(&mut [u8])> RngCore for FillBytes<F> {
    fn next_u32(&mut self) -> u32 {
        impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        (self.0)(dst);
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn a_seed_gives_the_draws_of_the_seeded_std_rng() {
        let mut game = GameRng::from_seed(7);
        let mut std = StdRng::seed_from_u64(7);
        let drawn: [u64; 3] = [game.next_u64(), game.next_u64(), game.random()];
        let expected: [u64; 3] = [std.next_u64(), std.next_u64(), std.random()];
        assert_eq!(drawn, expected);
        let mut again = GameRng::from_seed(7);
        assert_eq!(again.next_u64(), drawn[0]);
    }

    #[test]
    fn any_rng_core_is_accepted() {
        let mut game = GameRng::from_rng(StdRng::seed_from_u64(3));
        assert_eq!(game.next_u32(), StdRng::seed_from_u64(3).next_u32());
    }

    #[test]
    fn a_closure_that_fills_bytes_is_a_generator() {
        let mut counter = 0u8;
        let mut game = GameRng::from_fill_bytes(move |buf| {
            for byte in buf {
                counter = counter.wrapping_add(1);
                *byte = counter;
            }
        });
        assert_eq!(game.next_u32(), u32::from_le_bytes([1, 2, 3, 4]));
        assert_eq!(
            game.next_u64(),
            u64::from_le_bytes([5, 6, 7, 8, 9, 10, 11, 12])
        );
        let mut buf = [0u8; 2];
        game.fill_bytes(&mut buf);
        assert_eq!(buf, [13, 14]);
        assert_eq!(format!("{game:?}"), "GameRng(..)");
    }
}
