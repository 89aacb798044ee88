//! Deadlines on store calls (docs/persistence.md, Deadlines): a database that stops
//! answering makes a call fail, counted, after a bounded time; it never hangs its caller.
//!
//! [`Database`](crate::Database) puts every one of its calls under its
//! [`Deadlines::call`]; [`WithDeadline`] does the same for any other [`Store`] (a test
//! double, a store of another kind).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};

use crate::error::StoreError;
use crate::store::{Batch, Store};

/// How long the database may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Each store call, from asking the pool for a connection to the commit (default 5 s).
    /// A call past it fails with [`StoreError::Timeout`]. On PostgreSQL it is also the
    /// session's `statement_timeout`, so the server gives up on the statement too; on
    /// SQLite it is the `busy_timeout` (how long a write waits for another's lock).
    pub call: Duration,
    /// A write-behind batch (one transaction of up to every dirty row; default 60 s).
    pub batch: Duration,
    /// Opening a connection, TCP and authentication included (PostgreSQL
    /// `connect_timeout`, whole seconds, at least 2; default 5 s).
    pub connect: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            call: Duration::from_secs(5),
            batch: Duration::from_secs(60),
            connect: Duration::from_secs(5),
        }
    }
}

/// Runs `call` under `deadline`; on expiry counts it in `timeouts` and fails with
/// [`StoreError::Timeout`]. The future is dropped at the deadline; work it handed to a
/// blocking thread may still finish there (see [`StoreError::Timeout`]).
pub(crate) async fn within<T, E>(
    deadline: Duration,
    timeouts: &AtomicU64,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    match tokio::time::timeout(deadline, call).await {
        Ok(result) => result,
        Err(_elapsed) => {
            timeouts.fetch_add(1, Ordering::Relaxed);
            Err(StoreError::Timeout { after: deadline }.into())
        }
    }
}

/// Any [`Store`] with every call under one deadline; timed-out calls are counted in
/// [`Store::timeouts`] (added to the inner store's own count).
pub struct WithDeadline {
    inner: Arc<dyn Store>,
    deadline: Duration,
    timeouts: AtomicU64,
}

impl WithDeadline {
    /// Wraps `inner`; each call fails with [`StoreError::Timeout`] after `deadline`.
    pub fn new(inner: Arc<dyn Store>, deadline: Duration) -> WithDeadline {
        WithDeadline {
            inner,
            deadline,
            timeouts: AtomicU64::new(0),
        }
    }

    async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        within(self.deadline, &self.timeouts, call).await
    }
}

#[async_trait]
impl Store for WithDeadline {
    async fn load_world(&self) -> Result<Vec<SpaceObject>, StoreError> {
        self.run(self.inner.load_world()).await
    }

    async fn load_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.run(self.inner.load_user(id)).await
    }

    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.run(self.inner.find_user_by_name(username)).await
    }

    async fn create_user(&self, new_user: NewUser, ship_id: ObjectId) -> Result<User, StoreError> {
        self.run(self.inner.create_user(new_user, ship_id)).await
    }

    async fn reserve_object_ids(&self, count: i64) -> Result<ObjectId, StoreError> {
        self.run(self.inner.reserve_object_ids(count)).await
    }

    async fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        self.run(self.inner.insert_session(session)).await
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        self.run(self.inner.find_session(token_hash)).await
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.run(self.inner.revoke_session(token_hash)).await
    }

    async fn apply_batch(&self, batch: Batch) -> Result<(), StoreError> {
        self.run(self.inner.apply_batch(batch)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(self.inner.ping()).await
    }

    fn round_trips(&self) -> u64 {
        self.inner.round_trips()
    }

    fn timeouts(&self) -> u64 {
        self.timeouts.load(Ordering::Relaxed) + self.inner.timeouts()
    }

    fn lease_check(&self) -> Result<(), StoreError> {
        self.inner.lease_check()
    }
}
