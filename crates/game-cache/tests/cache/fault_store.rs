//! `FaultStore`: a `Store` wrapper that injects failures, pauses and hangs.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use game_domain::accounts::{NewUser, Session};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};
use game_persistence::{Batch, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;

/// Where [`FaultStore`] pauses an `apply_batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseAt {
    /// Before the batch reaches the database.
    BeforeWrite,
    /// After the database committed it, before the cache hears so.
    AfterWrite,
}

/// Hands to the test: wait for `reached`, then send on `release`.
pub struct PauseHandle {
    /// Fires when the batch reached the pause point.
    pub reached: oneshot::Receiver<()>,
    /// Send to let the batch go on.
    pub release: oneshot::Sender<()>,
}

struct Pause {
    at: PauseAt,
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// Random faults: each batch fails before writing with `before`, or is written and then
/// reported failed (a lost acknowledgement) with `after`.
struct RandomFaults {
    rng: StdRng,
    before: f64,
    after: f64,
}

/// A `Store` that delegates to a real one and injects faults into `apply_batch` (and, when
/// `down`, into every call; when hanging, every call never returns).
pub struct FaultStore {
    inner: Arc<dyn Store>,
    fail_next: AtomicU32,
    down: AtomicBool,
    hang: AtomicBool,
    lease_expired: AtomicBool,
    /// Every `reserve_object_ids` call.
    pub reservations: AtomicU64,
    random: Mutex<Option<RandomFaults>>,
    pause: Mutex<Option<Pause>>,
    /// Batches that reached the database (committed).
    pub committed: AtomicU64,
    /// Every `apply_batch` call.
    pub attempts: AtomicU64,
    last_batch: Mutex<Option<Batch>>,
    attempt_times: Mutex<Vec<tokio::time::Instant>>,
}

fn injected() -> StoreError {
    StoreError::Other("injected fault".into())
}

impl FaultStore {
    /// A pass-through wrapper around `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Arc<FaultStore> {
        Arc::new(FaultStore {
            inner,
            fail_next: AtomicU32::new(0),
            down: AtomicBool::new(false),
            hang: AtomicBool::new(false),
            lease_expired: AtomicBool::new(false),
            reservations: AtomicU64::new(0),
            random: Mutex::new(None),
            pause: Mutex::new(None),
            committed: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            last_batch: Mutex::new(None),
            attempt_times: Mutex::new(Vec::new()),
        })
    }

    /// The next `n` batches fail without writing.
    pub fn fail_next_batches(&self, n: u32) {
        self.fail_next.store(n, SeqCst);
    }

    /// Every call fails while `down`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, SeqCst);
    }

    /// While set, every call that starts waits forever (a database that stopped answering
    /// without closing the connection); calls started before are unaffected.
    pub fn set_hanging(&self, hang: bool) {
        self.hang.store(hang, SeqCst);
    }

    /// While set, [`Store::lease_check`] says this process is past its lease deadline.
    pub fn set_lease_expired(&self, expired: bool) {
        self.lease_expired.store(expired, SeqCst);
    }

    /// Seeded random batch faults (see [`RandomFaults`]).
    pub fn random_faults(&self, seed: u64, before: f64, after: f64) {
        *self.random.lock().expect("faults") = Some(RandomFaults {
            rng: StdRng::seed_from_u64(seed),
            before,
            after,
        });
    }

    /// The next batch pauses at `at` until released.
    pub fn pause_next_batch(&self, at: PauseAt) -> PauseHandle {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        *self.pause.lock().expect("pause") = Some(Pause {
            at,
            reached: reached_tx,
            release: release_rx,
        });
        PauseHandle {
            reached: reached_rx,
            release: release_tx,
        }
    }

    /// The last batch that was committed.
    pub fn last_batch(&self) -> Option<Batch> {
        self.last_batch.lock().expect("batch").clone()
    }

    /// When each `apply_batch` call began (tokio time).
    pub fn attempt_times(&self) -> Vec<tokio::time::Instant> {
        self.attempt_times.lock().expect("times").clone()
    }

    async fn check_up(&self) -> Result<(), StoreError> {
        if self.hang.load(SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.down.load(SeqCst) {
            Err(injected())
        } else {
            Ok(())
        }
    }

    async fn pause_if(&self, at: PauseAt) {
        let pause = {
            let mut slot = self.pause.lock().expect("pause");
            if slot.as_ref().is_some_and(|p| p.at == at) {
                slot.take()
            } else {
                None
            }
        };
        if let Some(pause) = pause {
            let _ = pause.reached.send(());
            let _ = pause.release.await;
        }
    }
}

#[async_trait]
impl Store for FaultStore {
    async fn load_world(&self) -> Result<Vec<SpaceObject>, StoreError> {
        self.check_up().await?;
        self.inner.load_world().await
    }

    async fn load_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.check_up().await?;
        self.inner.load_user(id).await
    }

    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.check_up().await?;
        self.inner.find_user_by_name(username).await
    }

    async fn create_user(&self, new_user: NewUser, ship_id: ObjectId) -> Result<User, StoreError> {
        self.check_up().await?;
        self.inner.create_user(new_user, ship_id).await
    }

    async fn reserve_object_ids(&self, count: i64) -> Result<ObjectId, StoreError> {
        self.reservations.fetch_add(1, SeqCst);
        self.check_up().await?;
        self.inner.reserve_object_ids(count).await
    }

    async fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        self.check_up().await?;
        self.inner.insert_session(session).await
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        self.check_up().await?;
        self.inner.find_session(token_hash).await
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.check_up().await?;
        self.inner.revoke_session(token_hash).await
    }

    async fn apply_batch(&self, batch: Batch) -> Result<(), StoreError> {
        self.attempts.fetch_add(1, SeqCst);
        self.attempt_times
            .lock()
            .expect("times")
            .push(tokio::time::Instant::now());
        self.pause_if(PauseAt::BeforeWrite).await;
        self.check_up().await?;
        if self
            .fail_next
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(injected());
        }
        let (fail_before, fail_after) = match &mut *self.random.lock().expect("faults") {
            Some(faults) => {
                let roll: f64 = faults.rng.random();
                (
                    roll < faults.before,
                    roll >= faults.before && roll < faults.before + faults.after,
                )
            }
            None => (false, false),
        };
        if fail_before {
            return Err(injected());
        }
        self.inner.apply_batch(batch.clone()).await?;
        self.committed.fetch_add(1, SeqCst);
        *self.last_batch.lock().expect("batch") = Some(batch);
        self.pause_if(PauseAt::AfterWrite).await;
        if fail_after {
            return Err(injected());
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.check_up().await?;
        self.inner.ping().await
    }

    fn round_trips(&self) -> u64 {
        self.inner.round_trips()
    }

    fn lease_check(&self) -> Result<(), StoreError> {
        if self.lease_expired.load(SeqCst) {
            return Err(StoreError::LeaseExpired);
        }
        self.inner.lease_check()
    }
}
