//! The one-owner lease (docs/persistence.md, One owner): a row naming the server process
//! that owns the database, kept alive by a background task, checked by every write.
//!
//! Two clocks, each used where it is the truth:
//! - the **database's clock** decides who holds the lease: its expiry is written and
//!   compared inside the lease statements (`queries::lease`), so a standby takes over only
//!   when the database says the lease expired, whatever the hosts' wall clocks say;
//! - the **owner's monotonic clock** decides whether it may still answer: it is *current*
//!   until the instant it sent its last confirmed renewal, plus the TTL, minus
//!   [`safety_margin`](crate::safety_margin). That instant comes before the database's
//!   expiry of the same renewal, so past it another process may own the database, and
//!   before it none can.
//!   A paused or cut-off owner thus stops answering before a standby can take over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::claim::HeldLease;
use crate::connection::AnyConnection;
use crate::database::Database;
use crate::error::StoreError;
use crate::queries::lease;
use crate::transaction;

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
        let (lost_tx, lost) = watch::channel(false);
        let held = Arc::new(HeldLease::new(owner, ttl, lost_tx));
        let claim = held.clone();
        // Not fenced: a handle whose previous lease was lost may acquire a new one.
        let position = db
            .read(move |conn| {
                let sent = Instant::now();
                let position = transaction::write(conn, |conn| take(conn, &claim))?;
                claim.confirm(sent);
                Ok::<_, StoreError>(position)
            })
            .await?;
        db.hold_lease(held.clone(), position);
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

/// In the acquiring transaction: takes the lease if the database says it is free or
/// expired; returns the id of the last write-behind batch (see [`crate::WritePosition`]).
fn take(conn: &mut AnyConnection, claim: &HeldLease) -> Result<String, StoreError> {
    let ttl_ms = claim.ttl_ms();
    let Some(current) = lease::read_for_update(conn)? else {
        lease::insert(conn, &claim.owner, &claim.token, ttl_ms)?;
        return Ok(String::new());
    };
    if !lease::take(conn, &claim.owner, &claim.token, ttl_ms)? {
        return Err(StoreError::LeaseHeld {
            owner: current.owner,
            expires_ms: current.expires_ms,
        });
    }
    Ok(current.flush_id)
}

/// Whether this process still holds its lease: a cheap check for every request, and
/// futures for the tasks that stop serving when it is lost or past its deadline.
#[derive(Debug, Clone)]
pub struct LeaseStatus {
    held: Arc<HeldLease>,
    lost: watch::Receiver<bool>,
}

impl LeaseStatus {
    /// The status of a process that holds no lease because it writes nothing (an edge
    /// server, which only relays the owner's world): never lost, never past a deadline.
    pub fn unleased() -> LeaseStatus {
        let (sender, lost) = watch::channel(false);
        let held = HeldLease::never_expiring("no lease (edge)", sender);
        LeaseStatus {
            held: Arc::new(held),
            lost,
        }
    }

    /// True once the lease was found taken over (or released).
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }

    /// Whether this process may answer from its state now: `Ok`, or
    /// [`StoreError::LeaseLost`] once lost, or [`StoreError::LeaseExpired`] while past its
    /// own deadline (until a renewal is confirmed).
    pub fn check(&self) -> Result<(), StoreError> {
        self.held.check_at(Instant::now())
    }

    /// The instant this process stops answering unless a renewal is confirmed before
    /// (the instant its last confirmed renewal was sent, plus the TTL, minus
    /// [`safety_margin`](crate::safety_margin)).
    pub fn valid_until(&self) -> Instant {
        self.held.valid_until()
    }

    /// Resolves once the lease is lost (or released).
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        // Err only if the sender is gone, and `self.held` keeps it alive.
        let _ = lost.wait_for(|lost| *lost).await;
    }

    /// Resolves once this process is past its deadline (or the lease is lost).
    pub async fn expired(&self) {
        loop {
            if self.check().is_err() {
                return;
            }
            // The deadline only moves forward: sleeping until it and looking again is exact.
            tokio::time::sleep_until(self.valid_until().into()).await;
        }
    }

    /// Resolves once this process may answer again (a renewal was confirmed), or the
    /// lease is lost.
    pub async fn current_again(&self) {
        loop {
            let renewed = self.held.renewed.notified();
            tokio::pin!(renewed);
            renewed.as_mut().enable();
            match self.check() {
                Ok(()) | Err(StoreError::LeaseLost) => return,
                Err(_) => renewed.await,
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// Renews every `period` until the lease is found lost. A failed renewal (database
/// unreachable) is retried at the next tick: the lease is only lost if someone else took
/// it over meanwhile, and then the next renewal, or batch, notices. Meanwhile this
/// process's own deadline passes and it stops answering.
async fn renew_periodically(db: Database, held: Arc<HeldLease>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; the lease was just written
    while !held.is_lost() {
        ticks.tick().await;
        let claim = held.clone();
        // On its own connection: a pool busy with slow calls cannot delay it.
        let _ = db
            .on_lease_connection(move |conn| {
                let sent = Instant::now();
                claim.renew(conn)?;
                claim.confirm(sent);
                Ok::<_, StoreError>(())
            })
            .await;
    }
}

// Here rather than in database.rs: the database knows the claim it holds (`claim`), and
// the lease knows the database, never the other way round.
impl Database {
    /// Takes the one-owner lease for `ttl` (docs/persistence.md, One owner), renewed in
    /// the background every `ttl / 3` while the returned guard lives.
    ///
    /// Fails with [`StoreError::LeaseHeld`] while another owner's lease is unexpired;
    /// takes over an expired one. Expiry is written and compared on the database's clock,
    /// so the processes' wall clocks do not matter. From now on this handle's writes fail
    /// with [`StoreError::LeaseLost`] once the lease is lost, and write-behind batches
    /// verify it in their transaction; [`crate::LeaseStatus::check`] says whether this
    /// process is still within its own deadline.
    pub async fn acquire_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseGuard, StoreError> {
        LeaseGuard::acquire(self.clone(), owner, ttl).await
    }
}
