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
//! parameters. A wrong password against a hash made with older, cheaper parameters is
//! answered no sooner than a verification at the current parameters takes (the rest is
//! an async sleep, not work), so failed logins cost the same whether or not the name
//! exists; a successful login replaces such a hash ([`PasswordHasher::needs_rehash`]).

pub mod memory;
pub mod pool;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;
use async_trait::async_trait;
use game_domain::AppError;
use game_domain::game::PasswordHasher;
use thiserror::Error;

use memory as argon2_memory;

/// The argon2id cost parameters [`Argon2Hasher::new`] takes (re-exported so embedders need
/// no argon2 dependency of their own; `Argon2Params::default()` is the recommended cost).
pub use argon2::Params as Argon2Params;
pub use pool::{HashPool, PoolError, PoolStats, Reservation};

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
    /// Recent duration of one verification at the configured cost, in ns (a moving
    /// average), the floor of a failed login.
    current_cost_ns: AtomicU64,
}

impl Argon2Hasher {
    /// A hasher with `params` running on `pool`; computes the dummy hash.
    pub async fn new(params: Params, pool: HashPool) -> Result<Argon2Hasher, HashError> {
        let started = Instant::now();
        let dummy_hash = hash_on(&pool, params.clone(), b"no such user".to_vec()).await?;
        let cost = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Ok(Argon2Hasher {
            inner: Arc::new(Inner {
                params,
                pool,
                dummy_hash,
                current_cost_ns: AtomicU64::new(cost),
            }),
        })
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

    fn record_current_cost(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let cost = &self.inner.current_cost_ns;
        let old = cost.load(Ordering::Relaxed);
        cost.store(old / 4 * 3 + took / 4, Ordering::Relaxed);
    }
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
        PoolError::Gone => AppError::storage(pool_error(error)),
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
        hashed.map_err(AppError::storage)
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.inner.dummy_hash).to_owned();
        let current = self.is_current(&hash);
        let password = password.as_bytes().to_vec();
        let (matches, took) = run(&self.inner.pool, move || {
            let started = Instant::now();
            let matches = argon2_memory::verify(&password, &hash);
            (matches, started.elapsed())
        })
        .await
        .map_err(app_error)?;
        if current {
            self.record_current_cost(took);
        } else if !matches {
            // An older (cheaper) hash: answer no sooner than a current one would.
            let floor = Duration::from_nanos(self.inner.current_cost_ns.load(Ordering::Relaxed));
            tokio::time::sleep(floor.saturating_sub(took)).await;
        }
        Ok(known && matches)
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

    /// Paused time: the padding is a tokio sleep, so the virtual clock moves by exactly
    /// the padding while the hashing itself takes real time. No two timings are compared.
    #[tokio::test(start_paused = true)]
    async fn a_wrong_password_on_an_older_hash_fails_as_slowly_as_an_unknown_name() {
        let old = hasher(light()).await.hash("pw").await.expect("hash");
        let new = hasher(Params::new(8192, 4, 1, None).expect("params")).await;
        // An unknown name costs one verification at the current cost, which is what the
        // floor records.
        assert!(!new.verify("guess", None).await.expect("verify"));
        let floor = Duration::from_nanos(new.inner.current_cost_ns.load(Ordering::Relaxed));
        let real = Instant::now();
        let virtual_start = tokio::time::Instant::now();
        assert!(!new.verify("guess", Some(&old)).await.expect("verify"));
        let (hashing, padding) = (real.elapsed(), virtual_start.elapsed());
        // The cheap verification plus the padding last at least the floor: the padding is
        // the floor less the verification, which took at most `hashing`.
        assert!(
            hashing + padding >= floor,
            "{hashing:?} + {padding:?} < {floor:?}"
        );
        // The floor did not move: only current-cost verifications update it.
        assert_eq!(
            Duration::from_nanos(new.inner.current_cost_ns.load(Ordering::Relaxed)),
            floor
        );
        // A right password on the old hash is not padded.
        let virtual_start = tokio::time::Instant::now();
        assert!(new.verify("pw", Some(&old)).await.expect("verify"));
        assert_eq!(virtual_start.elapsed(), Duration::ZERO);
    }
}
