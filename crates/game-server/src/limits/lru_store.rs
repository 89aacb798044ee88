//! A rate limiter's keyed state held in a table of bounded size: `governor`'s buckets over an
//! [`lru::LruCache`]. Past its capacity the least recently used key is forgotten (its
//! bucket starts full again), so no flood of distinct keys can grow the table.
//!
//! Memory: one entry is the key, the bucket's state (8 bytes), two list links and the hash
//! table's slot; docs/limits.md states the bound per table.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use lru::LruCache;

/// Bucket states by key, at most `capacity` of them.
#[derive(Debug)]
pub struct LruStateStore<K: Hash + Eq> {
    table: Mutex<LruCache<K, Nanos>>,
}

impl<K: Hash + Eq> LruStateStore<K> {
    /// An empty table holding at most `capacity` keys.
    pub fn new(capacity: NonZeroUsize) -> LruStateStore<K> {
        LruStateStore {
            table: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<K, Nanos>> {
        // Every critical section leaves the table consistent; a poisoned one is still good.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq + Clone> StateStore for LruStateStore<K> {
    type Key = K;

    /// Like governor's own stores: the closure sees the key's state (`None` for a fresh
    /// bucket) and, when it lets the request through, its new state is stored (the key
    /// becoming the most recently used). A refused request stores nothing.
    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut table = self.lock();
        let previous = table.get(key).copied();
        let (outcome, state) = f(previous)?;
        table.put(key.clone(), state);
        Ok(outcome)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for LruStateStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.lock().retain(|_, state| *state > drop_below);
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(capacity: usize) -> LruStateStore<u32> {
        LruStateStore::new(NonZeroUsize::new(capacity).expect("non-zero"))
    }

    fn take(store: &LruStateStore<u32>, key: u32, state: u64) -> Option<Nanos> {
        let seen = std::cell::Cell::new(None);
        store
            .measure_and_replace(&key, |previous| {
                seen.set(previous);
                Ok::<_, ()>(((), Nanos::from(state)))
            })
            .expect("allowed");
        seen.get()
    }

    #[test]
    fn past_capacity_the_least_recently_used_key_goes() {
        let store = store(2);
        assert_eq!(take(&store, 1, 10), None);
        assert_eq!(take(&store, 2, 20), None);
        assert_eq!(take(&store, 1, 11), Some(Nanos::from(10)));
        // 2 is now the least recently used: 3 takes its place.
        assert_eq!(take(&store, 3, 30), None);
        assert_eq!(store.len(), 2);
        assert_eq!(take(&store, 2, 21), None);
        assert_eq!(take(&store, 1, 12), None, "1 went when 2 came back");
    }

    #[test]
    fn a_refusal_stores_nothing_and_sweeping_drops_old_states() {
        let store = store(4);
        let refused = store.measure_and_replace(&7, |_| Err::<((), Nanos), _>("no"));
        assert_eq!(refused, Err("no"));
        assert!(store.is_empty());
        take(&store, 1, 10);
        take(&store, 2, 20);
        store.retain_recent(Nanos::from(10));
        assert_eq!(store.len(), 1);
        assert_eq!(take(&store, 2, 21), Some(Nanos::from(20)));
    }
}
