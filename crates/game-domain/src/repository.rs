//! The storage boundary: atomic units of work over users and the world.
//!
//! A use case hands the repository a synchronous closure holding a pure rule; the
//! repository provides atomicity (ordered locks over memory, or a database transaction),
//! runs it, and, only when it returns `Ok`, records what changed. Callers never mark
//! anything dirty themselves, so a forgotten mark cannot lose an update. Closures cannot
//! await, so they cannot re-enter the repository while it holds their locks.

use async_trait::async_trait;

use crate::accounts::{NewUser, Session};
use crate::error::{AppError, GameError};
use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, SpaceObject};
use crate::user::{User, UserId};
use crate::world::{World, WorldTx};

/// Where the game's state lives. Implemented by the write-behind `CachedRepo` and the
/// database-only `DbRepo`; the use cases in [`crate::game`] run unchanged on either.
#[async_trait]
pub trait Repository: Send + Sync + 'static {
    /// The world's dimensions.
    fn world_size(&self) -> WorldSize;

    /// Creates a user and its ship, durably, assigning both ids.
    /// Fails with [`GameError::UsernameTaken`] if a name with the same
    /// [`crate::username::username_key`] or [`crate::username::username_skeleton`] exists.
    async fn create_user(&self, new_user: NewUser) -> Result<User, AppError>;

    /// The user whose name has the same [`crate::username::username_key`] as `username`
    /// (an NFC name, matched without regard to case), if any.
    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, AppError>;

    /// Stores a new session, durably.
    async fn insert_session(&self, session: Session) -> Result<(), AppError>;

    /// The session stored under `token_hash`, if any (revoked or expired ones included).
    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, AppError>;

    /// Marks a session revoked, durably; unknown hashes are ignored.
    async fn revoke_session(&self, token_hash: &str) -> Result<(), AppError>;

    /// Runs `f` over a consistent view of the whole world (shared with other readers).
    async fn view_world<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&World) -> T + Send + 'static,
        T: Send + 'static;

    /// Runs `f` over a user and its ship. [`GameError::UserNotFound`] if either is missing.
    async fn read_player<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&User, &SpaceObject) -> T + Send + 'static,
        T: Send + 'static;

    /// Runs `f` with exclusive access to one user; its changes are kept if it returns `Ok`.
    async fn with_user<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut User) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static;

    /// Runs `f` with exclusive access to one user and to the world, where the transaction
    /// holds the user's ship and those of `objects` that exist. All of its changes (user,
    /// objects updated, removed and spawned) are kept together if it returns `Ok`, and
    /// none if it returns `Err`.
    async fn with_user_and_world<T, F>(
        &self,
        user_id: UserId,
        objects: Vec<ObjectId>,
        f: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(&mut User, &mut WorldTx) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static;
}
