//! Create-on-demand, reclaim-when-unused bookkeeping behind `MutexRegistry`.
//!
//! Kept free of tokio and generic over the slot type so the exact logic the registry runs
//! can be model-checked with loom (`cfg(loom)` swaps in loom's `Mutex`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::PoisonError;

#[cfg(all(test, loom))]
use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, loom)))]
use std::sync::{Mutex, MutexGuard};

/// Shared slots keyed by `K`, each alive exactly while someone has it checked out.
///
/// Every checkout (a holder *or* a waiter of the slot's lock) counts as a user. The count
/// and the map change together under one mutex, so a slot is never removed while anyone
/// could still be queued on it, and everyone who overlaps in time gets the same slot.
#[derive(Debug)]
pub(crate) struct SlotMap<K, S> {
    entries: Mutex<HashMap<K, Slot<S>>>,
}

#[derive(Debug)]
struct Slot<S> {
    shared: S,
    users: usize,
}

/// One user's claim on a slot; dropping it gives the claim back.
#[derive(Debug)]
pub(crate) struct Checkout<'a, K: Copy + Eq + Hash, S> {
    map: &'a SlotMap<K, S>,
    key: K,
    shared: S,
}

impl<K: Copy + Eq + Hash, S: Clone> SlotMap<K, S> {
    /// An empty map.
    pub(crate) fn new() -> Self {
        SlotMap {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Claims the slot for `key`, creating it with `make` if nobody has it.
    pub(crate) fn checkout(&self, key: K, make: impl FnOnce() -> S) -> Checkout<'_, K, S> {
        let mut entries = self.entries();
        let slot = entries.entry(key).or_insert_with(|| Slot {
            shared: make(),
            users: 0,
        });
        slot.users += 1;
        let shared = slot.shared.clone();
        Checkout {
            map: self,
            key,
            shared,
        }
    }
}

impl<K: Copy + Eq + Hash, S> SlotMap<K, S> {
    /// Number of slots in use (held or waited for).
    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }

    fn checkin(&self, key: K) {
        let mut entries = self.entries();
        if let Entry::Occupied(mut slot) = entries.entry(key) {
            slot.get_mut().users -= 1;
            if slot.get().users == 0 {
                slot.remove();
            }
        }
        // A missing entry cannot happen: this checkout's own count keeps it in the map.
    }

    /// The map, even if a panic elsewhere poisoned the mutex: every critical section here
    /// leaves the map consistent before anything that could panic.
    fn entries(&self) -> MutexGuard<'_, HashMap<K, Slot<S>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Copy + Eq + Hash, S> Checkout<'_, K, S> {
    /// The key this claim is for.
    pub(crate) fn key(&self) -> K {
        self.key
    }

    /// The shared slot value (the same for every overlapping claim on this key).
    pub(crate) fn shared(&self) -> &S {
        &self.shared
    }
}

impl<K: Copy + Eq + Hash, S> Drop for Checkout<'_, K, S> {
    fn drop(&mut self) {
        self.map.checkin(self.key);
    }
}

/// Model checks of the bookkeeping above, run with
/// `RUSTFLAGS="--cfg loom" cargo test -p game-locks --release --lib` (see lib.rs).
#[cfg(all(test, loom))]
mod loom_tests {
    use std::sync::PoisonError;

    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    use super::SlotMap;

    /// Stands in for the registry's tokio mutex: a loom mutex loom can schedule around.
    type Slot = Arc<Mutex<()>>;

    /// Does what a `KeyGuard` does: claim the slot, lock it, check nobody else is inside,
    /// unlock, then give the claim back (locals drop in reverse order, as the guard's
    /// fields do).
    fn use_key(map: &SlotMap<u8, Slot>, key: u8, inside: &AtomicBool) {
        let claim = map.checkout(key, Slot::default);
        let _locked = claim
            .shared()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            !inside.swap(true, SeqCst),
            "two holders of key {key} at once"
        );
        inside.store(false, SeqCst);
    }

    /// Overlapping claims on one key share one slot (mutual exclusion holds) and the last
    /// claim to go removes it.
    #[test]
    fn one_key_two_threads() {
        loom::model(|| {
            let map = Arc::new(SlotMap::new());
            let inside = Arc::new(AtomicBool::new(false));
            let other = {
                let (map, inside) = (map.clone(), inside.clone());
                thread::spawn(move || use_key(&map, 1, &inside))
            };
            use_key(&map, 1, &inside);
            other.join().expect("model thread panicked");
            assert_eq!(map.len(), 0);
        });
    }

    /// A claim taken while another thread is giving its claim back either reuses the old
    /// slot or gets a fresh one, never a slot that is about to be removed under it; other
    /// keys do not interfere.
    #[test]
    fn reclaim_races_with_new_claims() {
        // Three threads unbounded take ~100 s; a bound of 3 preemptions (~1,700 schedules)
        // still finds a broken reclaim condition. LOOM_MAX_PREEMPTIONS overrides it.
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = builder.preemption_bound.or(Some(3));
        builder.check(|| {
            let map = Arc::new(SlotMap::new());
            let inside = Arc::new(AtomicBool::new(false));
            let elsewhere = Arc::new(AtomicBool::new(false));
            let twice = {
                let (map, inside) = (map.clone(), inside.clone());
                thread::spawn(move || {
                    use_key(&map, 1, &inside);
                    use_key(&map, 1, &inside);
                })
            };
            let other_key = {
                let (map, elsewhere) = (map.clone(), elsewhere.clone());
                thread::spawn(move || use_key(&map, 2, &elsewhere))
            };
            use_key(&map, 1, &inside);
            twice.join().expect("model thread panicked");
            other_key.join().expect("model thread panicked");
            assert_eq!(map.len(), 0);
        });
    }
}
