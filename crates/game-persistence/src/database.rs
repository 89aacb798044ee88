//! [`Database`]: the cloneable handle over a connection pool. Every call runs its blocking
//! diesel work on `spawn_blocking`, never on an async worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use diesel::r2d2::Pool;
use game_domain::accounts::NewUser;

use crate::claim::HeldLease;
use crate::connection::{self, AnyConnection, Manager, Target};
use crate::deadline::{self, Deadlines};
use crate::error::StoreError;
use crate::position::{Positions, WritePosition};
use crate::{migrations, seed, transaction};

/// A handle to the game's database (SQLite file or PostgreSQL); cheap to clone.
///
/// Every call runs under the call deadline of its [`Deadlines`] (failing with
/// [`StoreError::Timeout`], counted in [`crate::Store::timeouts`]). The lease is renewed
/// on a connection of its own, so a pool busy with slow calls cannot make this process
/// miss a renewal. Implements [`crate::Store`]. Round trips (statements sent) are counted for
/// [`crate::Store::round_trips`]: a lone statement counts 1; a transaction counts its
/// `BEGIN` and `COMMIT` (or `ROLLBACK`) as 1 each, plus its statements.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool<Manager>,
    /// One connection, used only by the background lease renewal.
    lease_pool: Pool<Manager>,
    deadlines: Deadlines,
    round_trips: Arc<AtomicU64>,
    timeouts: AtomicU64,
    /// The lease this process acquired, if any: writes are refused once it is lost.
    lease: RwLock<Option<Arc<HeldLease>>>,
    /// Where the write-behind history stands, as far as this process knows.
    positions: Arc<Positions>,
}

impl Database {
    /// Connects to `url` with the default [`Deadlines`] and applies pending migrations.
    ///
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else (`sqlite://path`
    /// or a plain path) is a SQLite file, created if missing.
    pub async fn connect(url: &str) -> Result<Database, StoreError> {
        Database::connect_with(url, Deadlines::default()).await
    }

    /// Connects to `url` with these deadlines and applies pending migrations (under a
    /// database-wide lock, so processes starting together migrate one after the other).
    pub async fn connect_with(url: &str, deadlines: Deadlines) -> Result<Database, StoreError> {
        let target = Target::parse(url)?;
        let round_trips = Arc::new(AtomicU64::new(0));
        let counter = round_trips.clone();
        let (pool, lease_pool) = run_blocking(move || {
            let size = target.pool_size();
            let pool = connection::pool(target.clone(), size, deadlines, counter.clone())?;
            pool.get()?.run(|conn| {
                migrations::run_pending_locked(conn)?;
                // Row by row, tolerating a key another row took (which would abort a
                // PostgreSQL transaction): so outside the migration's.
                crate::queries::users::backfill_keys(conn)
            })?;
            let lease_pool = connection::pool(target, 1, deadlines, counter)?;
            Ok::<_, StoreError>((pool, lease_pool))
        })
        .await?;
        Ok(Database {
            inner: Arc::new(Inner {
                pool,
                lease_pool,
                deadlines,
                round_trips,
                timeouts: AtomicU64::new(0),
                lease: RwLock::new(None),
                positions: Arc::new(Positions::default()),
            }),
        })
    }

    /// The deadlines this handle applies.
    pub fn deadlines(&self) -> Deadlines {
        self.inner.deadlines
    }

    /// Seeds an empty database (no users, no objects) with the nine demo objects and, if
    /// given, the demo user, in one transaction; returns whether it seeded.
    ///
    /// The demo user's ship gets the first id and the objects the next nine, so a fresh
    /// database matches the original server (ship 1, objects 2 to 10).
    pub async fn seed_if_empty(
        &self,
        demo_user: Option<NewUser>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| seed::seed_if_empty(conn, demo_user, now_ms))
            .await
    }

    /// The server's secret named `name` (hex), made from 32 random bytes at the first call
    /// on this database and the same ever after, for every process.
    pub async fn server_key(&self, name: &str) -> Result<String, StoreError> {
        let name = name.to_owned();
        let bytes: [u8; 32] = {
            use rand::{Rng, SeedableRng};
            rand::rngs::StdRng::from_os_rng().random()
        };
        let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.write(move |conn| crate::queries::keys::get_or_insert(conn, &name, &fresh))
            .await
    }

    /// This database's identity: a random id made at the first call and the same ever
    /// after (a spill file names the database it belongs to).
    pub async fn identity(&self) -> Result<String, StoreError> {
        self.server_key("database-id").await
    }

    /// Deletes revoked sessions and those expired at `now_ms`, in one statement (fenced by
    /// the lease in its transaction); returns how many.
    pub async fn delete_dead_sessions(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.write(move |conn| crate::queries::sessions::delete_dead(conn, now_ms))
            .await
    }

    /// Remembers the lease this process now holds, and the write-behind position the
    /// database had when it took it.
    pub(crate) fn hold_lease(&self, held: Arc<HeldLease>, last_batch: String) {
        self.inner.positions.found(last_batch);
        // The guarded value is a plain `Option`; a panic elsewhere cannot leave it torn.
        *self
            .inner
            .lease
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(held);
    }

    fn held_lease(&self) -> Option<Arc<HeldLease>> {
        self.inner
            .lease
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The lease held, or [`StoreError::LeaseLost`] if it was lost.
    pub(crate) fn current_lease(&self) -> Result<Option<Arc<HeldLease>>, StoreError> {
        match self.held_lease() {
            Some(held) if held.is_lost() => Err(StoreError::LeaseLost),
            held => Ok(held),
        }
    }

    /// Whether this process may answer from its state now (see
    /// [`crate::LeaseStatus::check`]); `Ok` without a lease.
    pub(crate) fn check_lease(&self) -> Result<(), StoreError> {
        self.held_lease()
            .map_or(Ok(()), |held| held.check_at(Instant::now()))
    }

    /// Where the write-behind history stands, as this process knows it without asking
    /// the database: what a spill file records.
    pub fn write_position(&self) -> WritePosition {
        self.inner.positions.get()
    }

    /// The live position, for the batch writer.
    pub(crate) fn positions(&self) -> Arc<Positions> {
        self.inner.positions.clone()
    }

    /// Statements sent so far by this handle and its clones.
    pub(crate) fn round_trip_count(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// Calls that failed with [`StoreError::Timeout`] so far.
    pub(crate) fn timeout_count(&self) -> u64 {
        self.inner.timeouts.load(Ordering::Relaxed)
    }

    /// Runs `f` on a pooled connection on the blocking pool, under the call deadline
    /// (reads; no lease check).
    pub(crate) async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on(&self.inner.pool, self.inner.deadlines.call, f)
            .await
    }

    /// The database's write-behind position now (one statement, no lease needed).
    pub(crate) async fn read_flush_position(&self) -> Result<(i64, String), StoreError> {
        self.read(crate::queries::lease::flush_position).await
    }

    /// Like [`Database::read`], on the lease's own connection.
    pub(crate) async fn on_lease_connection<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.on(&self.inner.lease_pool, self.inner.deadlines.call, f)
            .await
    }

    async fn on<T, E, F>(&self, pool: &Pool<Manager>, limit: Duration, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = pool.clone();
        let call = run_blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            conn.run(f)
        });
        deadline::within(limit, &self.inner.timeouts, call).await
    }

    /// Runs a write in one write transaction that also verifies and renews this
    /// process's lease, if it holds one (last, before the commit), so that a process that lost it cannot commit
    /// (every write of the store is fenced so: docs/persistence.md, One owner). Refused
    /// with [`StoreError::LeaseLost`] without a round trip once the loss is known.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.fenced(self.inner.deadlines.call, f).await
    }

    async fn fenced<T, E, F>(&self, limit: Duration, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.fenced_settled(limit, f, |_| {}).await
    }

    /// A write under the batch deadline instead of the call deadline, like
    /// [`Database::write`]; `settle` learns how the transaction ended, on the
    /// blocking thread, even when this call stopped waiting for it at its deadline.
    pub(crate) async fn write_batch_settled<T, E, F, S>(&self, f: F, settle: S) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        S: FnOnce(Result<&T, BatchFailure>) + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.fenced_settled(self.inner.deadlines.batch, f, settle)
            .await
    }

    async fn fenced_settled<T, E, F, S>(&self, limit: Duration, f: F, settle: S) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        S: FnOnce(Result<&T, BatchFailure>) + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let held = match self.current_lease() {
            Ok(held) => held,
            Err(error) => {
                settle(Err(BatchFailure::BeforeCommit));
                return Err(error.into());
            }
        };
        // The lease is checked last, just before the commit: the lease row is then locked
        // (PostgreSQL) only for the instant before the commit, not while the write waits
        // for its own rows, so a write stuck behind a lock cannot hold up the renewal.
        let fenced = move |conn: &mut AnyConnection| {
            // Before BEGIN: the renewal inside is sent later, so its expiry is later too.
            let sent = Instant::now();
            let mut commit_sent = false;
            let result = transaction::write(conn, |conn| {
                let value = f(conn)?;
                if let Some(held) = &held {
                    held.renew(conn)?;
                }
                commit_sent = true;
                Ok(value)
            });
            match &result {
                Ok(value) => {
                    // Committed: the renewal counts for this process's own deadline too.
                    if let Some(held) = &held {
                        held.confirm(sent);
                    }
                    settle(Ok(value));
                }
                // A failed COMMIT may have committed all the same (the answer was lost).
                Err(_) if commit_sent => settle(Err(BatchFailure::Unknown)),
                Err(_) => settle(Err(BatchFailure::BeforeCommit)),
            }
            result
        };
        self.on(&self.inner.pool, limit, fenced).await
    }
}

/// How a fenced transaction that failed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchFailure {
    /// Refused before its commit was sent: it certainly did not commit.
    BeforeCommit,
    /// Its commit was sent and failed: it may have committed.
    Unknown,
}

/// Runs blocking database work off the async workers. A panic inside becomes an error:
/// the connection it held is discarded by the pool (its transaction is still open).
async fn run_blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) => Err(StoreError::Task(join).into()),
    }
}
