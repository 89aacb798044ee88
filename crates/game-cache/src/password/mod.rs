//! Password hashing with argon2id on the bounded [`HashPool`], never on the async workers
//! nor on tokio's shared blocking pool.
//!
//! Every job carries the request's deadline (set by the handler with [`with_deadline`]):
//! a job still waiting when it passes is dropped unhashed. A full queue is
//! [`AppError::Busy`] (503 `busy`). Login and registration reserve their place in the
//! pool before anything else, so a saturated pool refuses them before any database
//! lookup.
//!
//! Login timing: an unknown name is verified against a dummy hash made with the current
//! parameters, and every failed verification is answered no sooner than the floor of
//! [`timing`] (the rest is an async sleep, not work), so failed logins take the same time
//! whether the name exists, has an older (cheaper) hash or none; a successful login
//! replaces an older hash ([`PasswordHasher::needs_rehash`]).

pub mod memory;
mod pool;
pub mod timing;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;
use async_trait::async_trait;
use game_domain::error::{AppError, StorageKind};
use game_domain::game::PasswordHasher;
use thiserror::Error;

use memory as argon2_memory;
use timing::CostWindow;

/// The argon2id cost parameters [`Argon2Hasher::new`] takes (re-exported so embedders need
/// no argon2 dependency of their own; `Argon2Params::default()` is the recommended cost).
pub use argon2::Params as Argon2Params;
pub use pool::{HASH_THREAD_NICE, HashPool, PoolError, PoolStats, Reservation};

/// Hashing failed (bad parameters, the pool refused or its threads are gone).
#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// What a request brings to the hashing it causes: its deadline, and a place in the
/// pool reserved before any other work.
struct Context {
    deadline: Instant,
    reservation: Mutex<Option<Reservation>>,
}

tokio::task_local! {
    static CONTEXT: Context;
}

/// Runs `future` (a handler) with `deadline` as the deadline of the hashing it causes;
/// its first hashing job runs in `reservation`'s place.
pub async fn with_deadline<F: Future>(
    deadline: Instant,
    reservation: Option<Reservation>,
    future: F,
) -> F::Output {
    let context = Context {
        deadline,
        reservation: Mutex::new(reservation),
    };
    CONTEXT.scope(context, future).await
}

/// How long a job may wait when no request deadline is set (start-up seeding, tests).
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

fn deadline() -> Instant {
    CONTEXT
        .try_with(|context| context.deadline)
        .unwrap_or_else(|_| Instant::now() + DEFAULT_WAIT)
}

/// Runs `f` on `pool`: in the request's reserved place if it has one left, else in a
/// place taken now.
async fn run<T, F>(pool: &HashPool, f: F) -> Result<T, PoolError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let reserved = CONTEXT
        .try_with(|context| {
            context
                .reservation
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        })
        .ok()
        .flatten();
    match reserved {
        Some(reservation) => pool.run_reserved(reservation, deadline(), f).await,
        None => pool.run(deadline(), f).await,
    }
}

/// Argon2id hashing in PHC format with configured cost parameters.
///
/// Verification reads the parameters from the stored hash, so changing the configured
/// cost does not lock out existing players.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    pool: HashPool,
    /// A hash (with the configured cost) made at start: verifying against it costs what a
    /// real verification costs. Its password does not matter: a verification without a
    /// real hash always answers false.
    dummy_hash: String,
    /// Recent verification times at the configured cost: the floor of a failed login.
    costs: Mutex<CostWindow>,
}

impl Argon2Hasher {
    /// A hasher with `params` running on `pool`; computes the dummy hash, then times a
    /// few verifications against it so the first failed login is already padded right.
    pub async fn new(params: Params, pool: HashPool) -> Result<Argon2Hasher, HashError> {
        let dummy_hash = hash_on(&pool, params.clone(), b"no such user".to_vec()).await?;
        let mut costs = CostWindow::default();
        for _ in 0..timing::WARM_UP {
            let hash = dummy_hash.clone();
            let (_, took) = run(&pool, move || timed_verify(b"warm up".to_vec(), &hash))
                .await
                .map_err(pool_error)?;
            costs.record(took);
        }
        Ok(Argon2Hasher {
            inner: Arc::new(Inner {
                params,
                pool,
                dummy_hash,
                costs: Mutex::new(costs),
            }),
        })
    }

    /// The soonest a failed login is answered, measured from the start of its
    /// verification (see [`timing`]).
    pub fn failed_login_floor(&self) -> Duration {
        self.costs().floor()
    }

    fn costs(&self) -> std::sync::MutexGuard<'_, CostWindow> {
        // A window of durations: any state a panic could leave is still a valid one.
        self.inner
            .costs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Hashes `password` (used for seeding the demo user and by registration).
    pub async fn hash_password(&self, password: &str) -> Result<String, HashError> {
        let password = password.as_bytes().to_vec();
        hash_on(&self.inner.pool, self.inner.params.clone(), password).await
    }

    /// The pool the hashing runs on.
    pub fn pool(&self) -> &HashPool {
        &self.inner.pool
    }

    fn is_current(&self, hash: &str) -> bool {
        let Ok(phc) = PasswordHash::new(hash) else {
            return false;
        };
        let Ok(params) = Params::try_from(&phc) else {
            return false;
        };
        let current = &self.inner.params;
        phc.algorithm.as_str() == "argon2id"
            && params.m_cost() == current.m_cost()
            && params.t_cost() == current.t_cost()
            && params.p_cost() == current.p_cost()
    }
}

/// Verifies `password` against `hash` and says how long it took.
fn timed_verify(password: Vec<u8>, hash: &str) -> (bool, Duration) {
    let started = Instant::now();
    let matches = argon2_memory::verify(&password, hash);
    (matches, started.elapsed())
}

fn pool_error(error: PoolError) -> HashError {
    HashError(error.to_string())
}

async fn hash_on(pool: &HashPool, params: Params, password: Vec<u8>) -> Result<String, HashError> {
    run(pool, move || {
        argon2_memory::hash(&params, &password).map_err(HashError)
    })
    .await
    .map_err(pool_error)?
}

fn app_error(error: PoolError) -> AppError {
    match error {
        PoolError::Busy | PoolError::Expired => AppError::Busy,
        // The pool's threads are gone (shutting down): hashing is unavailable, as a
        // storage outage would be.
        PoolError::Gone => AppError::storage(StorageKind::Unavailable, pool_error(error)),
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.as_bytes().to_vec();
        let params = self.inner.params.clone();
        let hashed = run(&self.inner.pool, move || {
            argon2_memory::hash(&params, &password).map_err(HashError)
        })
        .await
        .map_err(app_error)?;
        hashed.map_err(|error| AppError::storage(StorageKind::Unavailable, error))
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let started = Instant::now();
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.inner.dummy_hash).to_owned();
        let current = self.is_current(&hash);
        let password = password.as_bytes().to_vec();
        let (matches, took) = run(&self.inner.pool, move || timed_verify(password, &hash))
            .await
            .map_err(app_error)?;
        if current {
            self.costs().record(took);
        }
        let verified = known && matches;
        if !verified {
            // Every failure ends at the same floor: unknown names, current hashes and
            // older, cheaper ones alike (the wait is a sleep, not work).
            let floor = self.failed_login_floor();
            tokio::time::sleep_until((started + floor).into()).await;
        }
        Ok(verified)
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        !self.is_current(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light() -> Params {
        Params::new(256, 1, 1, None).expect("light params")
    }

    async fn hasher(params: Params) -> Argon2Hasher {
        let pool = HashPool::new(1, 4).expect("pool");
        Argon2Hasher::new(params, pool).await.expect("hasher")
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let hasher = hasher(light()).await;
        let one = hasher.hash("hunter2").await.expect("hash");
        let two = hasher.hash("hunter2").await.expect("hash");
        assert!(one.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{one}");
        assert_ne!(one, two, "each hash has its own salt");
        assert!(hasher.verify("hunter2", Some(&one)).await.expect("verify"));
        assert!(!hasher.verify("hunter3", Some(&one)).await.expect("verify"));
        let garbage = hasher.verify("hunter2", Some("not a phc string")).await;
        assert!(!garbage.expect("verify"));
    }

    #[tokio::test]
    async fn verify_without_a_hash_is_false_even_for_the_dummy_password() {
        let hasher = hasher(light()).await;
        assert!(!hasher.verify("", None).await.expect("verify"));
        assert!(!hasher.verify("a", None).await.expect("verify"));
        assert!(!hasher.verify("no such user", None).await.expect("verify"));
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_need_a_rehash() {
        let old = hasher(light()).await.hash("pw").await.expect("hash");
        let new = hasher(Params::new(512, 1, 1, None).expect("params")).await;
        assert!(new.needs_rehash(&old));
        assert!(new.verify("pw", Some(&old)).await.expect("verify"));
        let fresh = new.hash("pw").await.expect("hash");
        assert!(
            fresh.starts_with("$argon2id$v=19$m=512,t=1,p=1$"),
            "{fresh}"
        );
        assert!(!new.needs_rehash(&fresh));
        assert!(new.needs_rehash("not a phc string"));
    }

    #[tokio::test]
    async fn every_failed_login_takes_at_least_the_floor() {
        let old = hasher(light()).await.hash("pw").await.expect("hash");
        let new = hasher(Params::new(8192, 4, 1, None).expect("params")).await;
        let current = new.hash("pw").await.expect("hash");
        // The warm-up filled the window: the floor is known before the first login.
        assert!(new.failed_login_floor() > Duration::ZERO);
        for hash in [None, Some(old.as_str()), Some(current.as_str())] {
            let started = Instant::now();
            assert!(!new.verify("guess", hash).await.expect("verify"));
            let took = started.elapsed();
            // The floor that call used (nothing else verifies meanwhile). Unpadded, the
            // old hash would answer some 100 times sooner.
            assert!(took >= new.failed_login_floor(), "{hash:?}: {took:?}");
        }
        // A success is not padded, and still verifies against the old hash.
        assert!(new.verify("pw", Some(&old)).await.expect("verify"));
    }
}
