//! Cached sessions: written through to the store, bounded, oldest dropped first.
//!
//! Plain data behind a `std::sync::Mutex` (never held across an `.await`). Every change is
//! durable in the store before it reaches this cache, so any entry may be dropped at any
//! time; a later lookup reads it again.

use std::collections::{HashMap, VecDeque};

use game_domain::accounts::Session;

/// Sessions by token hash, in insertion order for eviction.
#[derive(Debug)]
pub(crate) struct SessionCache {
    cap: usize,
    by_hash: HashMap<String, Session>,
    order: VecDeque<String>,
    /// Revocations so far: a session read from the store is cached only if no revocation
    /// happened while it was being read (else the read may predate a logout).
    revocations: u64,
}

impl SessionCache {
    /// An empty cache holding at most `cap` sessions.
    pub(crate) fn new(cap: usize) -> SessionCache {
        SessionCache {
            cap,
            by_hash: HashMap::new(),
            order: VecDeque::new(),
            revocations: 0,
        }
    }

    /// Number of cached sessions.
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Revocations so far.
    pub(crate) fn revocations(&self) -> u64 {
        self.revocations
    }

    /// A cached session.
    pub(crate) fn get(&self, token_hash: &str) -> Option<Session> {
        self.by_hash.get(token_hash).cloned()
    }

    /// Caches a session (already durable), dropping the oldest past the cap and expired
    /// ones at the old end.
    pub(crate) fn insert(&mut self, session: Session, now_ms: i64) {
        let hash = session.token_hash.clone();
        if self.by_hash.insert(hash.clone(), session).is_none() {
            self.order.push_back(hash);
        }
        while let Some(oldest) = self.order.front() {
            let expired = self
                .by_hash
                .get(oldest)
                .is_none_or(|s| s.expires_ms <= now_ms);
            if self.by_hash.len() <= self.cap && !expired {
                break;
            }
            if let Some(oldest) = self.order.pop_front() {
                self.by_hash.remove(&oldest);
            }
        }
    }

    /// Records a revocation (already durable) in the cached copy, if any.
    pub(crate) fn revoke(&mut self, token_hash: &str) {
        self.revocations += 1;
        if let Some(session) = self.by_hash.get_mut(token_hash) {
            session.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(n: u32, expires_ms: i64) -> Session {
        Session {
            token_hash: format!("h{n}"),
            user_id: 1,
            created_ms: 0,
            expires_ms,
            revoked: false,
        }
    }

    #[test]
    fn stays_within_its_cap_dropping_the_oldest() {
        let mut cache = SessionCache::new(2);
        for n in 0..5 {
            cache.insert(session(n, 1_000), 0);
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("h2").is_none());
        assert!(cache.get("h3").is_some() && cache.get("h4").is_some());
    }

    #[test]
    fn expired_sessions_at_the_old_end_go_first() {
        let mut cache = SessionCache::new(10);
        cache.insert(session(0, 100), 0);
        cache.insert(session(1, 1_000), 0);
        cache.insert(session(2, 1_000), 500);
        assert!(cache.get("h0").is_none());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn revoking_updates_the_cached_copy_and_counts() {
        let mut cache = SessionCache::new(10);
        cache.insert(session(0, 1_000), 0);
        cache.revoke("h0");
        cache.revoke("unknown");
        assert_eq!(cache.get("h0").map(|s| s.revoked), Some(true));
        assert_eq!(cache.revocations(), 2);
    }
}
