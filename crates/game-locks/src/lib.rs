//! Ordered async locks: lock levels are types, so taking locks out of order, or the same
//! level twice, does not compile. Start with [`LockCtx::root`], the lock-free context a
//! task starts from, and a lock at a level ([`OrderedRwLock`], [`OrderedMutex`],
//! [`MutexRegistry`]); "Intended use" below shows both.
//!
//! # API at a glance
//!
//! | item | what it is |
//! | --- | --- |
//! | [`Unlocked`] → [`WorldLevel`] → [`UserLevel`] → [`StoreLevel`] | the levels, in lock order |
//! | [`LockCtx::root()`] | the level-[`Unlocked`] context: once per task/request, at its entry point |
//! | [`OrderedRwLock<L, T>`] | `read`/`write` (+ `_until(deadline)`) → `(guard, LockCtx<L>)`; fair to writers |
//! | [`OrderedMutex<L, T>`] | `lock` (+ `lock_until`) → `(guard, LockCtx<L>)` |
//! | [`MutexRegistry<L, K>`] | per-key mutexes: `lock(ctx, key)`, `lock_two(ctx, a, b)` (key order), `len()` |
//! | [`LockTimeout`], [`LockTwoError`] | errors of the deadline variants and of `lock_two` |
//! | `.stats()` → [`LevelStats`] | per-lock counters: acquisitions, contention, waits, holders, waiters |
//!
//! Every lock method takes `&mut LockCtx<P>` and compiles only if the lock's level `L` comes
//! after `P` (`P: LockBefore<L>`). It returns the guard and a `LockCtx<L>`, both borrowing the parent context,
//! so the parent cannot take anything while they live. Guards are tokio guards: hold them
//! across `.await` freely; contexts and guards are `Send`.
//!
//! # Intended use: world, then one user
//!
//! ```
//! use game_locks::{LockCtx, MutexRegistry, OrderedRwLock, UserLevel, WorldLevel};
//!
//! struct Game {
//!     world: OrderedRwLock<WorldLevel, Vec<String>>,
//!     users: MutexRegistry<UserLevel, u64>,
//! }
//!
//! // A request handler: the entry point mints the root, everything below borrows it.
//! async fn handle(game: &Game, user_id: u64) {
//!     let mut root = LockCtx::root();
//!     collect(game, &mut root, user_id).await;
//! }
//!
//! // Given a context, never mint another: take the next lock through this one.
//! async fn collect(game: &Game, ctx: &mut LockCtx<'_, game_locks::Unlocked>, user_id: u64) {
//!     let (mut world, mut ctx) = game.world.write(ctx).await;
//!     let (user, _ctx) = game.users.lock(&mut ctx, user_id).await;
//!     tokio::task::yield_now().await; // guards may be held across awaits
//!     world.push(format!("collected by {}", user.key()));
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     let game = Game { world: OrderedRwLock::new(Vec::new()), users: MutexRegistry::new() };
//!     handle(&game, 7).await;
//!     assert_eq!(game.world.into_inner(), ["collected by 7"]);
//!     // The user's mutex is gone again once nobody holds or waits for it.
//!     assert!(game.users.is_empty());
//! }
//! ```
//!
//! # Functions that lock something further down
//!
//! Take the caller's context by `&mut` and state which lock you need to be able to take;
//! any caller that already holds that level (or a later one) no longer compiles.
//!
//! ```
//! use game_locks::{LockBefore, LockCtx, LockLevel, MutexRegistry, UserLevel};
//!
//! async fn bump<P: LockBefore<UserLevel>>(
//!     users: &MutexRegistry<UserLevel, u64>,
//!     ctx: &mut LockCtx<'_, P>,
//!     id: u64,
//! ) -> u64 {
//!     let (user, _ctx) = users.lock(ctx, id).await;
//!     user.key() + 1
//! }
//! # let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
//! # rt.block_on(async {
//! let users = MutexRegistry::<UserLevel, u64>::new();
//! let mut root = LockCtx::root();
//! assert_eq!(bump(&users, &mut root, 41).await, 42);
//! # });
//! ```
//!
//! # Model checking
//!
//! The registry's create-on-demand / reclaim-when-unused bookkeeping is built on std
//! primitives and checked with loom (the tokio parts cannot be, loom does not model them):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p game-locks --release --lib
//! ```
//!
//! The separate target directory keeps the loom build from invalidating the normal one.
//! The three-thread model is bounded to 3 preemptions by default (well under a second);
//! `LOOM_MAX_PREEMPTIONS=N` changes the bound.

mod acquire; // the shared try-then-wait path that feeds the counters
mod ctx; // LockCtx: the zero-sized proof of the current level
mod error; // LockTimeout, LockTwoError
mod levels; // the levels and their order (the only place they are declared)
mod mutex; // OrderedMutex
mod registry; // MutexRegistry: per-key mutexes, reclaimed when unused
mod rwlock; // OrderedRwLock
mod stats; // LevelStats and the atomics behind it

pub use ctx::LockCtx;
pub use error::{LockTimeout, LockTwoError};
pub use levels::{LockAfter, LockBefore, LockLevel, StoreLevel, Unlocked, UserLevel, WorldLevel};
pub use mutex::{OrderedMutex, OrderedMutexGuard};
pub use registry::{KeyGuard, MutexRegistry};
pub use rwlock::{OrderedRwLock, ReadGuard, WriteGuard};
pub use stats::LevelStats;
