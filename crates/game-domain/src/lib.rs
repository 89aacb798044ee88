//! Spacewars game rules: pure types, formulas and use cases, with no I/O. Start with
//! [`game::Game`], the use cases (register, log in, follow the world, collect, navigate,
//! research), written once against the storage boundary [`repository::Repository`]; its
//! errors are in [`error`].
//!
//! Time and randomness are injected ([`clock::Clock`], a seedable [`rng::GameRng`]), so every
//! rule has exact tests. Storage is behind [`repository::Repository`], which the
//! write-behind cache and the plain database store both implement.
//!
//! - [`geometry`]: world size, wrapping, toroidal distance, angles.
//! - [`space_object`]: objects and their analytic motion.
//! - [`tech_tree`]: the three researches and their cost, duration and effect formulas.
//! - [`user`]: players, iron accrual and research progress.
//! - [`collect`], [`navigate`]: the two world-changing actions.
//! - [`accounts`]: a new player's start, session tokens.
//! - [`spawn`]: where a new ship starts: the spawn point, or spread over the world.
//! - [`username`]: username rules: NFC form, forbidden characters, the case-free key.
//! - [`seed`]: the demo world.
//! - [`world`]: the object collection, its cheap snapshots and a unit of work's change set.
//! - [`world_history`]: the world's version and its bounded log of changes, for deltas.
//! - [`world_replica`]: a copy of the world kept at the owner's versions on another machine.
//! - [`interest`]: areas of interest: a spatial grid, what enters and leaves a player's view.
//! - [`views`]: read models combining several values (world, deltas, ship, research).
//! - [`error`]: rule errors with their stable code; use-case errors.
//! - [`repository`]: the storage boundary.
//! - [`game`]: the use cases.
//! - [`clock`]: injected time.
//! - [`rng`]: injected randomness, independent of the embedder's `rand` version.

pub mod accounts;
pub mod clock;
pub mod collect;
pub mod error;
pub mod game;
pub mod geometry;
pub mod interest;
pub mod navigate;
pub mod repository;
pub mod rng;
pub mod seed;
pub mod space_object;
pub mod spawn;
pub mod tech_tree;
pub mod user;
pub mod username;
pub mod views;
pub mod world;
pub mod world_history;
pub mod world_replica;

/// The `rand_core` this crate's generators implement, for [`rng::GameRng::from_rng`].
pub use rand::rand_core;
