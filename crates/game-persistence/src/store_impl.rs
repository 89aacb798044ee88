//! [`Store`] on [`Database`]: each call one statement or one transaction.

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};

use crate::accounts;
use crate::batch;
use crate::database::Database;
use crate::error::StoreError;
use crate::queries::ids::{self, Counter};
use crate::queries::{objects, sessions, users};
use crate::store::{Batch, Store};

#[async_trait]
impl Store for Database {
    /// 1 round trip.
    async fn load_world(&self) -> Result<Vec<SpaceObject>, StoreError> {
        self.read(objects::load_all).await
    }

    /// 1 round trip.
    async fn load_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(move |conn| users::find(conn, id)).await
    }

    /// 1 round trip.
    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| users::find_by_name(conn, &username))
            .await
    }

    /// 6 round trips: BEGIN, bump and read the user counter, insert user, insert ship,
    /// COMMIT; plus the lease renewal when a lease is held.
    async fn create_user(&self, new_user: NewUser, ship_id: ObjectId) -> Result<User, StoreError> {
        self.write(move |conn| accounts::create_user(conn, new_user, ship_id))
            .await
    }

    /// 4 round trips: BEGIN, bump and read the counter, COMMIT; plus the lease renewal
    /// when a lease is held.
    async fn reserve_object_ids(&self, count: i64) -> Result<ObjectId, StoreError> {
        self.write(move |conn| ids::reserve(conn, Counter::Objects, count))
            .await
    }

    /// 3 round trips: BEGIN, insert, COMMIT; plus the lease renewal when a lease is held.
    async fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        self.write(move |conn| sessions::insert(conn, &session))
            .await
    }

    /// 1 round trip.
    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| sessions::find(conn, &token_hash))
            .await
    }

    /// 3 round trips: BEGIN, update, COMMIT; plus the lease renewal when a lease is held.
    async fn revoke_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| sessions::revoke(conn, &token_hash))
            .await
    }

    /// BEGIN, one statement per chunk of up to 2 978 users, 4 680 objects and 32 766
    /// deletions, the lease renewal (if a lease is held), COMMIT. An empty batch sends
    /// nothing.
    async fn apply_batch(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return self.current_lease().map(drop);
        }
        self.write_batch(move |conn| batch::apply(conn, batch))
            .await
    }

    /// 1 round trip.
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.batch_execute("SELECT 1")?)).await
    }

    fn round_trips(&self) -> u64 {
        self.round_trip_count()
    }

    fn timeouts(&self) -> u64 {
        self.timeout_count()
    }
}
