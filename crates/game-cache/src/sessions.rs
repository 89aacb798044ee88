//! Cached sessions: written through to the store, bounded, least recently used dropped
//! first.
//!
//! Plain data behind a `std::sync::Mutex` (never held across an `.await`). Every change is
//! durable in the store before it reaches this cache, so any entry may be dropped at any
//! time; a later lookup reads it again. Recency is a counter: each lookup or insert stamps
//! the entry, and the entry with the smallest stamp goes first (O(log n) per operation).

use std::collections::{BTreeMap, HashMap};

use game_domain::accounts::Session;

/// Sessions by token hash, with their last use for eviction.
#[derive(Debug)]
pub(crate) struct SessionCache {
    cap: usize,
    by_hash: HashMap<String, (Session, u64)>,
    /// Last-use stamp → token hash; the first entry is the least recently used.
    by_use: BTreeMap<u64, String>,
    clock: u64,
    evictions: u64,
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
            by_use: BTreeMap::new(),
            clock: 0,
            evictions: 0,
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

    /// Sessions dropped to stay within the cap.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    fn touch(&mut self, hash: &str) {
        self.clock += 1;
        let stamp = self.clock;
        if let Some((_, last)) = self.by_hash.get_mut(hash) {
            self.by_use.remove(last);
            *last = stamp;
            self.by_use.insert(stamp, hash.to_owned());
        }
    }

    /// A cached session, now the most recently used.
    pub(crate) fn get(&mut self, token_hash: &str) -> Option<Session> {
        let session = self.by_hash.get(token_hash).map(|(s, _)| s.clone())?;
        self.touch(token_hash);
        Some(session)
    }

    /// Caches a session (already durable) as the most recently used, dropping the least
    /// recently used past the cap.
    pub(crate) fn insert(&mut self, session: Session) {
        let hash = session.token_hash.clone();
        match self.by_hash.get_mut(&hash) {
            Some((cached, _)) => *cached = session,
            None => {
                self.by_hash.insert(hash.clone(), (session, 0));
            }
        }
        self.touch(&hash);
        while self.by_hash.len() > self.cap {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.by_hash.remove(&oldest);
            self.evictions += 1;
        }
    }

    /// Records a revocation (already durable) in the cached copy, if any.
    pub(crate) fn revoke(&mut self, token_hash: &str) {
        self.revocations += 1;
        if let Some((session, _)) = self.by_hash.get_mut(token_hash) {
            session.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(n: u32) -> Session {
        Session {
            token_hash: format!("h{n}"),
            user_id: 1,
            created_ms: 0,
            expires_ms: 1_000,
            revoked: false,
        }
    }

    #[test]
    fn stays_within_its_cap_dropping_the_least_recently_used() {
        let mut cache = SessionCache::new(2);
        cache.insert(session(0));
        cache.insert(session(1));
        // Using 0 makes 1 the least recently used.
        assert!(cache.get("h0").is_some());
        cache.insert(session(2));
        assert_eq!((cache.len(), cache.evictions()), (2, 1));
        assert!(cache.get("h1").is_none());
        assert!(cache.get("h0").is_some() && cache.get("h2").is_some());
        // Inserting a cached session again refreshes it without growing.
        cache.insert(session(0));
        cache.insert(session(3));
        assert_eq!((cache.len(), cache.evictions()), (2, 2));
        assert!(
            cache.get("h2").is_none(),
            "2 was used before 0 was refreshed"
        );
        assert!(cache.get("h0").is_some() && cache.get("h3").is_some());
    }

    #[test]
    fn revoking_updates_the_cached_copy_and_counts() {
        let mut cache = SessionCache::new(10);
        cache.insert(session(0));
        cache.revoke("h0");
        cache.revoke("unknown");
        assert_eq!(cache.get("h0").map(|s| s.revoked), Some(true));
        assert_eq!(cache.revocations(), 2);
    }
}
