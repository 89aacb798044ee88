//! What the write-behind cache needs from the database.

use async_trait::async_trait;
use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};

use crate::error::StoreError;

/// One flush: every dirty entity, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Users to write (full rows; they exist already, but are upserted to be safe).
    pub users: Vec<User>,
    /// Objects inserted or changed since the last flush.
    pub upserted_objects: Vec<SpaceObject>,
    /// Objects removed since the last flush.
    pub deleted_objects: Vec<ObjectId>,
}

impl Batch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.upserted_objects.is_empty() && self.deleted_objects.is_empty()
    }
}

/// The database operations the cache performs: loads at start and on misses, durable
/// account operations, id reservation, and the write-behind batch.
///
/// Every call is one transaction and returns only after it committed. Implemented by the
/// diesel store; tests wrap it to inject faults.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Every space object.
    async fn load_world(&self) -> Result<Vec<SpaceObject>, StoreError>;

    /// One user by id.
    async fn load_user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// One user by exact name.
    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Creates a user (the store assigns its id) and its ship under `ship_id`.
    async fn create_user(&self, new_user: NewUser, ship_id: ObjectId) -> Result<User, StoreError>;

    /// Reserves `count` fresh object ids; they are never handed out again, even after a
    /// crash. Returns the first; the block is `first..first + count`.
    async fn reserve_object_ids(&self, count: i64) -> Result<ObjectId, StoreError>;

    /// Stores a new session.
    async fn insert_session(&self, session: Session) -> Result<(), StoreError>;

    /// A session by token hash.
    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError>;

    /// Marks a session revoked.
    async fn revoke_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Writes a batch atomically (rows in key order), checking this process still owns
    /// the lease in the same transaction.
    async fn apply_batch(&self, batch: Batch) -> Result<(), StoreError>;

    /// Checks the database answers (for readiness probes).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Statements sent to the database so far by this store.
    fn round_trips(&self) -> u64;

    /// Calls that failed with [`StoreError::Timeout`] so far (0 for a store without
    /// deadlines).
    fn timeouts(&self) -> u64 {
        0
    }

    /// Whether this process may answer from state it holds in memory now: `Ok` while its
    /// lease is held and within its own deadline (or it holds none),
    /// [`StoreError::LeaseLost`] or [`StoreError::LeaseExpired`] otherwise. A local check,
    /// no round trip: the cache asks it in every unit of work once its locks are held.
    fn lease_check(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
