//! The lock context: a zero-sized proof of which level a task has locked up to.

use std::fmt;
use std::marker::PhantomData;

use crate::levels::{LockLevel, Unlocked};

/// Proof that the current task holds no lock at level `L` or later.
///
/// It is zero-sized and neither `Clone` nor `Copy`. Every lock method takes
/// `&mut LockCtx<P>` with `P: LockBefore<L>` (the mirror of `L: LockAfter<P>`) and
/// returns a guard plus a `LockCtx<L>` that both borrow the parent context, so while
/// either is alive the parent cannot be used to take any lock again. Pass contexts down by `&mut`; get the first one from
/// [`LockCtx::root`] once per task or request, at its entry point.
///
/// # What does not compile
///
/// Each example below is also a case in `tests/lock_order/`, whose `.stderr` snapshot pins
/// the exact error: rustdoc checks a `compile_fail` example's error code only on nightly,
/// so on stable an example failing for any other reason would pass.
///
/// User, then world (out of order):
///
/// ```compile_fail,E0277
/// use game_locks::{LockCtx, MutexRegistry, OrderedRwLock, UserLevel, WorldLevel};
/// async fn f(world: &OrderedRwLock<WorldLevel, u32>, users: &MutexRegistry<UserLevel, u64>) {
///     let mut root = LockCtx::root();
///     let (_user, mut ctx) = users.lock(&mut root, 7).await;
///     let (_world, _ctx) = world.read(&mut ctx).await; // WorldLevel is not after UserLevel
/// }
/// ```
///
/// The world twice (a reader re-entering a fair RwLock deadlocks behind a queued writer):
///
/// ```compile_fail,E0277
/// use game_locks::{LockCtx, OrderedRwLock, WorldLevel};
/// async fn f(world: &OrderedRwLock<WorldLevel, u32>) {
///     let mut root = LockCtx::root();
///     let (_w1, mut ctx) = world.read(&mut root).await;
///     let (_w2, _ctx) = world.read(&mut ctx).await; // WorldLevel is not after WorldLevel
/// }
/// ```
///
/// A user twice (the original server's deadlock: holding a user, asking for it again):
///
/// ```compile_fail,E0277
/// use game_locks::{LockCtx, MutexRegistry, UserLevel};
/// async fn f(users: &MutexRegistry<UserLevel, u64>) {
///     let mut root = LockCtx::root();
///     let (_u1, mut ctx) = users.lock(&mut root, 7).await;
///     let (_u2, _ctx) = users.lock(&mut ctx, 7).await; // UserLevel is not after UserLevel
/// }
/// ```
///
/// Going back to the parent context while a guard taken from it is alive:
///
/// ```compile_fail,E0499
/// use game_locks::{LockCtx, MutexRegistry, UserLevel};
/// async fn f(users: &MutexRegistry<UserLevel, u64>) {
///     let mut root = LockCtx::root();
///     let (u1, child) = users.lock(&mut root, 7).await;
///     drop(child);
///     let (_u2, _ctx) = users.lock(&mut root, 7).await; // `root` is still borrowed by u1
///     drop(u1);
/// }
/// ```
///
/// Going back to the parent context while the child context is alive:
///
/// ```compile_fail,E0499
/// use game_locks::{LockCtx, OrderedMutex, OrderedRwLock, StoreLevel, WorldLevel};
/// async fn f(world: &OrderedRwLock<WorldLevel, u32>, store: &OrderedMutex<StoreLevel, u32>) {
///     let mut root = LockCtx::root();
///     let (w, mut child) = world.write(&mut root).await;
///     drop(w);
///     let (_s1, _c1) = store.lock(&mut root).await; // `root` is borrowed by `child`
///     let (_s2, _c2) = store.lock(&mut child).await;
/// }
/// ```
///
/// Copying a context to use it twice:
///
/// ```compile_fail,E0599
/// use game_locks::LockCtx;
/// let root = LockCtx::root();
/// let copy = root.clone(); // LockCtx is neither Clone nor Copy
/// ```
pub struct LockCtx<'a, L> {
    level: PhantomData<fn() -> L>,
    borrow: PhantomData<&'a mut ()>,
}

/// What a guard carries to stay tied to the context it was taken through: while the guard
/// lives, that context stays mutably borrowed and cannot take the same lock again.
pub(crate) type CtxBorrow<'a, L> = PhantomData<(fn() -> L, &'a mut ())>;

impl LockCtx<'static, Unlocked> {
    /// Mints the root context: once per task/request at the entry point; never mint one
    /// inside a function that was given a context.
    ///
    /// The type system cannot see two roots in one task: a second root would let that task
    /// take a lock it already holds and deadlock. Thread the one you have through instead.
    pub fn root() -> Self {
        Self::new()
    }
}

impl<L: LockLevel> LockCtx<'_, L> {
    /// Name of the level this context has locked up to (for logs and assertions).
    pub fn level(&self) -> &'static str {
        L::NAME
    }
}

impl<L> LockCtx<'_, L> {
    /// Only lock methods in this crate hand out non-root contexts.
    pub(crate) fn new() -> Self {
        LockCtx {
            level: PhantomData,
            borrow: PhantomData,
        }
    }
}

impl<L: LockLevel> fmt::Debug for LockCtx<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockCtx").field(&L::NAME).finish()
    }
}
