//! [`Store`] on [`Database`]: each call one statement or one transaction.

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};

use crate::accounts;
use crate::batch;
use crate::database::{BatchFailure, Database};
use crate::error::StoreError;
use crate::position::Positions;
use crate::queries::ids::{self, Counter};
use crate::queries::{self, objects, sessions, users};
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
    /// deletions, the write-behind position, the lease renewal (if a lease is held),
    /// COMMIT. An empty batch sends nothing.
    ///
    /// The write-behind position (in the lease row: one more batch, and its id) is
    /// recorded here once the batch committed; while its outcome is unknown the batch is
    /// in doubt (see [`crate::position::WritePosition`]).
    async fn apply_batch(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return self.current_lease().map(drop);
        }
        let id = self.positions().begin();
        self.write_numbered_batch(batch, id).await
    }

    /// 1 round trip.
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.batch_execute("SELECT 1")?)).await
    }

    fn round_trips(&self) -> u64 {
        self.round_trip_count()
    }

    fn lease_check(&self) -> Result<(), StoreError> {
        self.check_lease()
    }

    fn timeouts(&self) -> u64 {
        self.timeout_count()
    }
}

impl Database {
    /// Writes `batch` as the write-behind batch `id` (from [`Positions::begin`], or a
    /// spill file's, which this registers) and records how it ended.
    pub(crate) async fn write_numbered_batch(
        &self,
        batch: Batch,
        id: String,
    ) -> Result<(), StoreError> {
        let positions = self.positions();
        if !positions.get().in_doubt.contains(&id) {
            positions.begin_named(id.clone());
        }
        // Runs on the blocking thread after the transaction ended, even if this call
        // gave up waiting for it: so the position is learnt whenever it is known.
        let settle = {
            let id = id.clone();
            move |outcome: Result<&(), BatchFailure>| settle(&positions, &id, outcome)
        };
        self.write_batch_settled(
            move |conn| {
                batch::apply(conn, batch)?;
                queries::lease::advance_flush(conn, &id)
            },
            settle,
        )
        .await
        .map(drop)
    }
}

fn settle(positions: &Positions, id: &str, outcome: Result<&(), BatchFailure>) {
    match outcome {
        Ok(()) => positions.committed(id),
        Err(BatchFailure::BeforeCommit) => positions.rolled_back(id),
        Err(BatchFailure::Unknown) => {}
    }
}
