//! The one-owner lease (docs/persistence.md, One owner): a row naming the server process
//! that owns the database, kept alive by a background task, checked by every write-behind
//! batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use game_domain::clock::{Clock, SystemClock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::connection::AnyConnection;
use crate::database::Database;
use crate::error::StoreError;
use crate::queries::lease;
use crate::transaction;

/// This process's claim on the lease, shared by the handle and the guard.
#[derive(Debug)]
pub(crate) struct HeldLease {
    owner: String,
    /// Random per acquisition: a restarted process, or two configured with the same owner
    /// name, never mistake each other's lease for their own.
    token: String,
    ttl_ms: i64,
    /// The flag every request and write reads: one atomic load, no lock shared by all.
    is_lost: AtomicBool,
    /// The same flag for those who wait for it (the server's stop).
    lost: watch::Sender<bool>,
}

impl HeldLease {
    /// True once a renewal found the lease taken over, or it was released.
    pub(crate) fn is_lost(&self) -> bool {
        self.is_lost.load(Ordering::Acquire)
    }

    fn mark_lost(&self) {
        self.is_lost.store(true, Ordering::Release);
        self.lost.send_replace(true);
    }

    /// Verifies the lease is still ours and extends it to now + ttl.
    pub(crate) fn renew(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let expires_ms = now_ms().saturating_add(self.ttl_ms);
        let renewed = lease::renew(conn, &self.token, expires_ms);
        if let Err(StoreError::LeaseLost) = renewed {
            self.mark_lost();
        }
        renewed
    }
}

/// Proof of owning the database; renews the lease in the background while it lives.
///
/// Dropping it stops the renewals and leaves the lease to expire (as a crash would);
/// [`LeaseGuard::release`] frees it at once on a clean shutdown.
#[derive(Debug)]
pub struct LeaseGuard {
    db: Database,
    held: Arc<HeldLease>,
    lost: watch::Receiver<bool>,
    renewal: JoinHandle<()>,
}

impl LeaseGuard {
    /// Takes the lease in one write transaction, or reports who holds it.
    pub(crate) async fn acquire(
        db: Database,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseGuard, StoreError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let (lost_tx, lost) = watch::channel(false);
        let held = Arc::new(HeldLease {
            owner: owner.to_owned(),
            token: new_token(),
            ttl_ms,
            is_lost: AtomicBool::new(false),
            lost: lost_tx,
        });
        let claim = held.clone();
        // Not fenced: a handle whose previous lease was lost may acquire a new one.
        db.read(move |conn| {
            transaction::write(conn, |conn| {
                let now_ms = now_ms();
                let current = lease::read_for_update(conn)?;
                if let Some(current) = current.filter(|c| c.is_held_at(now_ms)) {
                    return Err(StoreError::LeaseHeld {
                        owner: current.owner,
                        expires_ms: current.expires_ms,
                    });
                }
                lease::write(
                    conn,
                    &claim.owner,
                    &claim.token,
                    now_ms.saturating_add(claim.ttl_ms),
                )
            })
        })
        .await?;
        db.hold_lease(held.clone());
        let period = (ttl / 3).max(Duration::from_millis(1));
        let renewal = tokio::spawn(renew_periodically(db.clone(), held.clone(), period));
        Ok(LeaseGuard {
            db,
            held,
            lost,
            renewal,
        })
    }

    /// The owner name this lease was acquired under.
    pub fn owner(&self) -> &str {
        &self.held.owner
    }

    /// True once the lease was found taken over (or released): stop writing.
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }

    /// Resolves once the lease is lost, e.g. to shut the server down.
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        // Err only if the sender is gone, and `self.held` keeps it alive.
        let _ = lost.wait_for(|lost| *lost).await;
    }

    /// A cloneable view of whether the lease is still held, for tasks that must stop
    /// serving once it is lost; it does not borrow the guard.
    pub fn status(&self) -> LeaseStatus {
        LeaseStatus {
            held: self.held.clone(),
            lost: self.lost.clone(),
        }
    }

    /// Stops renewing and frees the lease now, so another server may start at once.
    /// Afterwards this process's writes fail with [`StoreError::LeaseLost`].
    pub async fn release(self) -> Result<(), StoreError> {
        self.renewal.abort();
        // First, so no write of this process can slip in after the lease is freed.
        self.held.mark_lost();
        let held = self.held.clone();
        self.db
            .read(move |conn| lease::clear(conn, &held.token))
            .await
    }
}

/// Whether this process still holds its lease: a cheap check for every request, and a
/// future for the task that stops the server when it is lost.
#[derive(Debug, Clone)]
pub struct LeaseStatus {
    held: Arc<HeldLease>,
    lost: watch::Receiver<bool>,
}

impl LeaseStatus {
    /// True once the lease was found taken over (or released).
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }

    /// Resolves once the lease is lost (or released).
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        // Err only if the sender is gone, and `self.held` keeps it alive.
        let _ = lost.wait_for(|lost| *lost).await;
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// Renews every `period` until the lease is found lost. A failed renewal (database
/// unreachable) is retried at the next tick: the lease is only lost if someone else took
/// it over meanwhile, and then the next renewal, or batch, notices.
async fn renew_periodically(db: Database, held: Arc<HeldLease>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; the lease was just written
    while !held.is_lost() {
        ticks.tick().await;
        let claim = held.clone();
        // On its own connection: a pool busy with slow calls cannot delay it.
        let _ = db.on_lease_connection(move |conn| claim.renew(conn)).await;
    }
}

/// A fresh random lease token.
fn new_token() -> String {
    let mut rng = StdRng::from_os_rng();
    format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>())
}

/// The process clock, Unix ms.
fn now_ms() -> i64 {
    SystemClock.now_ms()
}
