//! This process's claim on the one-owner lease ([`HeldLease`]) and the margin by which it
//! stops answering before the database's expiry. Both the database handle (which checks
//! the claim on every write) and the lease guard (which renews it) depend on this file, so
//! neither depends on the other both ways.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Notify, watch};

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::queries::lease;

/// How much earlier than the database's expiry the owner stops answering: a tenth of the
/// TTL (1 s for the default 10 s). It covers the owner's monotonic clock running slower
/// than the database's by up to 10 % (ordinary quartz clocks differ by under 0.01 %, NTP
/// slews by at most 0.05 %), and the moments between the last check of a request and its
/// answer leaving the process.
pub const fn safety_margin(ttl: Duration) -> Duration {
    Duration::from_nanos((ttl.as_nanos() / 10) as u64)
}

/// This process's claim on the lease, shared by the handle and the guard.
#[derive(Debug)]
pub(crate) struct HeldLease {
    pub(crate) owner: String,
    /// Random per acquisition: a restarted process, or two configured with the same owner
    /// name, never mistake each other's lease for their own.
    pub(crate) token: String,
    ttl: Duration,
    /// The base of `valid_until_ns`.
    origin: Instant,
    /// Nanoseconds after `origin` at which this process stops answering unless a renewal
    /// is confirmed meanwhile; only ever moves forward.
    valid_until_ns: AtomicU64,
    /// Woken when a renewal moves `valid_until_ns` forward.
    pub(crate) renewed: Notify,
    /// The flag every request and write reads: one atomic load, no lock shared by all.
    is_lost: AtomicBool,
    /// The same flag for those who wait for it (the server's stop).
    lost: watch::Sender<bool>,
}

impl HeldLease {
    pub(crate) fn new(owner: &str, ttl: Duration, lost: watch::Sender<bool>) -> HeldLease {
        HeldLease {
            owner: owner.to_owned(),
            token: new_token(),
            ttl,
            origin: Instant::now(),
            valid_until_ns: AtomicU64::new(0),
            renewed: Notify::new(),
            is_lost: AtomicBool::new(false),
            lost,
        }
    }

    /// A claim whose deadline never passes, for a process that holds no lease because it
    /// writes nothing (an edge server).
    pub(crate) fn never_expiring(owner: &str, lost: watch::Sender<bool>) -> HeldLease {
        let held = HeldLease::new(owner, Duration::ZERO, lost);
        // A century: far enough never to pass, near enough that `origin + it` is an
        // `Instant` on every platform.
        const CENTURY_NS: u64 = 100 * 365 * 24 * 3_600 * 1_000_000_000;
        held.valid_until_ns.store(CENTURY_NS, Ordering::Release);
        held
    }

    pub(crate) fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// True once a renewal found the lease taken over, or it was released.
    pub(crate) fn is_lost(&self) -> bool {
        self.is_lost.load(Ordering::Acquire)
    }

    pub(crate) fn mark_lost(&self) {
        self.is_lost.store(true, Ordering::Release);
        self.lost.send_replace(true);
        self.renewed.notify_waiters();
    }

    /// Whether this process may answer at `now`: [`StoreError::LeaseLost`] once lost,
    /// [`StoreError::LeaseExpired`] past its own deadline.
    pub(crate) fn check_at(&self, now: Instant) -> Result<(), StoreError> {
        if self.is_lost() {
            return Err(StoreError::LeaseLost);
        }
        if now >= self.valid_until() {
            return Err(StoreError::LeaseExpired);
        }
        Ok(())
    }

    /// The instant this process stops answering unless a renewal is confirmed before.
    pub(crate) fn valid_until(&self) -> Instant {
        self.origin + Duration::from_nanos(self.valid_until_ns.load(Ordering::Acquire))
    }

    /// Records a renewal (or the acquisition) sent at `sent` and now committed: the
    /// deadline moves to `sent + ttl - safety margin`, if that is later.
    pub(crate) fn confirm(&self, sent: Instant) {
        let until =
            sent.saturating_duration_since(self.origin) + self.ttl - safety_margin(self.ttl);
        let until_ns = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        let before = self.valid_until_ns.fetch_max(until_ns, Ordering::AcqRel);
        if until_ns > before {
            self.renewed.notify_waiters();
        }
    }

    /// Verifies the lease is still ours and extends it to the database's now + ttl. The
    /// caller [`confirm`](Self::confirm)s it once its transaction committed.
    pub(crate) fn renew(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let renewed = lease::renew(conn, &self.token, self.ttl_ms());
        if let Err(StoreError::LeaseLost) = renewed {
            self.mark_lost();
        }
        renewed
    }
}

/// A fresh random lease token.
fn new_token() -> String {
    let mut rng = StdRng::from_os_rng();
    format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(ttl_ms: u64) -> HeldLease {
        HeldLease::new("t", Duration::from_millis(ttl_ms), watch::channel(false).0)
    }

    #[test]
    fn the_deadline_is_the_send_instant_plus_the_ttl_minus_a_tenth() {
        let lease = held(10_000);
        assert_eq!(
            safety_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        let sent = lease.origin + Duration::from_secs(5);
        lease.confirm(sent);
        // 5 s + 10 s − 1 s.
        let until = lease.origin + Duration::from_secs(14);
        assert_eq!(lease.valid_until(), until);
        assert!(lease.check_at(until - Duration::from_nanos(1)).is_ok());
        assert!(matches!(
            lease.check_at(until),
            Err(StoreError::LeaseExpired)
        ));
    }

    #[test]
    fn a_renewal_confirmed_late_never_moves_the_deadline_back() {
        let lease = held(10_000);
        lease.confirm(lease.origin + Duration::from_secs(20));
        // A renewal sent earlier whose answer came after (a slow or paused round trip).
        lease.confirm(lease.origin + Duration::from_secs(3));
        assert_eq!(lease.valid_until(), lease.origin + Duration::from_secs(29));
    }

    #[test]
    fn a_lost_lease_is_lost_whatever_the_deadline() {
        let lease = held(10_000);
        lease.confirm(lease.origin + Duration::from_secs(100));
        lease.mark_lost();
        assert!(matches!(
            lease.check_at(lease.origin),
            Err(StoreError::LeaseLost)
        ));
    }
}
