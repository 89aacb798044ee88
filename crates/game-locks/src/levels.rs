//! The lock levels and their order: the only place where levels are declared.
//!
//! The order is `Unlocked → WorldLevel → UserLevel → StoreLevel`. A lock at level `B` may
//! be taken while holding a context at level `A` only if `B: LockAfter<A>`. The relation is transitive by
//! construction (`impl_lock_after!` adds `B` after `A` *and* after everything before `A`),
//! and a cycle would make two impls overlap, so a cyclic order is a compile error too.
//!
//! To add a level: declare an uninhabited `pub enum`, give it a [`LockLevel`] impl with
//! `level!(Name, "display name")`, and place it in the chain with one `impl_lock_after!(Prev => New)` line
//! (and `New => Next` if it goes in the middle, replacing the old `Prev => Next` line).
//! Levels are sealed: other crates cannot declare levels or reorder these ones.

mod sealed {
    /// Keeps [`super::LockLevel`] implementable only in this file.
    pub trait Sealed {}
}

/// A lock level: an uninhabited marker type with a name for stats and errors.
pub trait LockLevel: sealed::Sealed + Send + Sync + 'static {
    /// Human-readable name, used in [`crate::LevelStats`] and [`crate::LockTimeout`].
    const NAME: &'static str;
}

/// `Self` may be locked while holding a context at level `A` (i.e. `Self` comes after `A`).
#[diagnostic::on_unimplemented(
    message = "lock order violation: `{Self}` is not after `{A}`",
    note = "locks are taken in the order Unlocked -> WorldLevel -> UserLevel -> StoreLevel \
            (game-locks levels.rs), each level at most once per context chain; use lock_two \
            for two keys at one level"
)]
pub trait LockAfter<A: LockLevel>: LockLevel {}

/// `Self` comes before `B`: the mirror of [`LockAfter`], implemented automatically.
#[diagnostic::on_unimplemented(
    message = "lock order violation: `{Self}` is not before `{B}`",
    note = "locks are taken in the order Unlocked -> WorldLevel -> UserLevel -> StoreLevel \
            (game-locks levels.rs), each level at most once per context chain; use lock_two \
            for two keys at one level"
)]
pub trait LockBefore<B: LockLevel>: LockLevel {}

impl<A: LockLevel, B: LockAfter<A>> LockBefore<B> for A {}

/// Declares `$name` as a lock level (sealed marker plus its display name). The display
/// name is the short one (`"World"`, not `"WorldLevel"`): it labels stats, metrics and
/// timeout errors, which name the thing guarded.
macro_rules! level {
    ($name:ident, $display:literal) => {
        impl sealed::Sealed for $name {}
        impl LockLevel for $name {
            const NAME: &'static str = $display;
        }
    };
}

/// Puts `$b` directly after `$a`, and therefore after everything that precedes `$a`.
macro_rules! impl_lock_after {
    ($a:ty => $b:ty) => {
        impl LockAfter<$a> for $b {}
        impl<X: LockBefore<$a>> LockAfter<X> for $b {}
    };
}

/// The root level: a context here holds no lock at all.
pub enum Unlocked {}
/// The world read-write lock (objects, positions); taken before any user.
pub enum WorldLevel {}
/// One user's (or two users', through `lock_two`) mutex.
pub enum UserLevel {}
/// The store handle (flush/persistence side), taken last.
pub enum StoreLevel {}

level!(Unlocked, "Unlocked");
level!(WorldLevel, "World");
level!(UserLevel, "User");
level!(StoreLevel, "Store");

impl_lock_after!(Unlocked => WorldLevel);
impl_lock_after!(WorldLevel => UserLevel);
impl_lock_after!(UserLevel => StoreLevel);
