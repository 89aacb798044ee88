//! The cached users: values, the username index, recency, pins and eviction.
//!
//! This is plain data behind one `std::sync::Mutex` (held for a few map operations, never
//! across an `.await`). It is not a game lock: who may *change* a user is decided by the
//! user's key in the `User`-level `MutexRegistry`; this table only stores the values.
//!
//! A user is evictable when it is clean (every change written by a flush), idle (no unit
//! of work has it pinned, i.e. holds or waits for it) and the table is over its cap; the
//! least recently used go first. The username index holds exactly the cached users.

use std::collections::{BTreeMap, HashMap};

use game_domain::user::{User, UserId};
use game_domain::username::username_key;

#[derive(Debug)]
struct Entry {
    user: User,
    /// Key of this entry in `recency`.
    tick: u64,
    /// Changed since the last successful flush (set and cleared under the store lock).
    dirty: bool,
}

/// Cached users with their index, recency order and pins.
#[derive(Debug)]
pub(crate) struct UserTable {
    cap: usize,
    entries: HashMap<UserId, Entry>,
    /// By [`username_key`]: names are unique without regard to case.
    by_name: HashMap<String, UserId>,
    /// Clean users, least recently used first. Dirty users are left out (they cannot be
    /// evicted), so an evicting pass does not step over them again and again.
    recency: BTreeMap<u64, UserId>,
    next_tick: u64,
    /// Units of work in progress per user (holding or waiting for its key).
    pins: HashMap<UserId, u32>,
    /// Evictions so far; a load compares it to decide whether a value read from the
    /// store before a concurrent eviction may be stale.
    evictions: u64,
}

impl UserTable {
    /// An empty table evicting past `cap` users.
    pub(crate) fn new(cap: usize) -> UserTable {
        UserTable {
            cap,
            entries: HashMap::new(),
            by_name: HashMap::new(),
            recency: BTreeMap::new(),
            next_tick: 0,
            pins: HashMap::new(),
            evictions: 0,
        }
    }

    /// Number of cached users.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Evictions so far.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// True if the user is cached (and marks it used).
    pub(crate) fn touch(&mut self, id: UserId) -> bool {
        let tick = self.bump();
        match self.entries.get_mut(&id) {
            Some(entry) => {
                if !entry.dirty {
                    self.recency.remove(&entry.tick);
                    self.recency.insert(tick, id);
                }
                entry.tick = tick;
                true
            }
            None => false,
        }
    }

    /// A copy of the cached user (and marks it used).
    pub(crate) fn get(&mut self, id: UserId) -> Option<User> {
        if self.touch(id) {
            self.entries.get(&id).map(|e| e.user.clone())
        } else {
            None
        }
    }

    /// The id of the cached user whose name has the key of `username`.
    pub(crate) fn id_by_name(&self, username: &str) -> Option<UserId> {
        self.by_name.get(&username_key(username)).copied()
    }

    /// True if `user` differs from the cached value of the same id.
    pub(crate) fn differs(&self, user: &User) -> bool {
        self.entries.get(&user.id).is_none_or(|e| e.user != *user)
    }

    /// Caches a user read from the store unless it is cached already, in which case the
    /// cached value (possibly newer than the store's) wins. Returns the cached value.
    pub(crate) fn insert_loaded(&mut self, user: User) -> User {
        if let Some(cached) = self.get(user.id) {
            return cached;
        }
        let tick = self.bump();
        self.by_name.insert(username_key(&user.username), user.id);
        self.recency.insert(tick, user.id);
        self.entries.insert(
            user.id,
            Entry {
                user: user.clone(),
                tick,
                dirty: false,
            },
        );
        user
    }

    /// Stores a committed change; `dirty` is set in the same critical section of the store
    /// lock as the dirty mark, so the entry cannot be evicted before it is written.
    pub(crate) fn write_back(&mut self, user: User) {
        if let Some(entry) = self.entries.get_mut(&user.id) {
            entry.user = user;
            if !entry.dirty {
                entry.dirty = true;
                self.recency.remove(&entry.tick);
            }
        }
        // A missing entry cannot happen: the writer pins the user, and pinned users are
        // not evicted. The dirty state holds the value anyway, so a flush still writes it.
    }

    /// The users whose changes a flush wrote become evictable again.
    pub(crate) fn mark_clean(&mut self, ids: &[UserId]) {
        for id in ids {
            if let Some(entry) = self.entries.get_mut(id)
                && entry.dirty
            {
                // Back into the recency order where it was last used.
                entry.dirty = false;
                self.recency.insert(entry.tick, *id);
            }
        }
    }

    /// Registers a unit of work on `id`; an evicting pass skips pinned users.
    pub(crate) fn pin(&mut self, id: UserId) {
        *self.pins.entry(id).or_insert(0) += 1;
    }

    /// Ends a [`pin`](Self::pin).
    pub(crate) fn unpin(&mut self, id: UserId) {
        if let Some(count) = self.pins.get_mut(&id) {
            *count -= 1;
            if *count == 0 {
                self.pins.remove(&id);
            }
        }
    }

    /// Evicts clean, unpinned users, least recently used first, until the table is within
    /// its cap or only dirty or pinned users are left. Returns how many were evicted.
    pub(crate) fn evict_past_cap(&mut self) -> usize {
        let excess = self.entries.len().saturating_sub(self.cap);
        if excess == 0 {
            return 0;
        }
        // Only pinned users are skipped here (dirty ones are not in `recency`); they are
        // in use right now, so rarely the least recently used.
        let victims: Vec<(u64, UserId)> = self
            .recency
            .iter()
            .filter(|(_, id)| !self.pins.contains_key(id))
            .take(excess)
            .map(|(tick, id)| (*tick, *id))
            .collect();
        for (tick, id) in &victims {
            self.recency.remove(tick);
            if let Some(entry) = self.entries.remove(id) {
                self.by_name.remove(&username_key(&entry.user.username));
            }
        }
        self.evictions += victims.len() as u64;
        victims.len()
    }

    /// Checks the bookkeeping: the index and the recency order match the entries.
    #[cfg(test)]
    fn assert_consistent(&self) {
        assert_eq!(self.by_name.len(), self.entries.len());
        let clean = self.entries.values().filter(|e| !e.dirty).count();
        assert_eq!(self.recency.len(), clean);
        for (tick, id) in &self.recency {
            assert_eq!(self.entries[id].tick, *tick);
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }
}

#[cfg(test)]
mod tests {
    use game_domain::tech_tree::TechTree;

    use super::*;

    fn user(id: UserId) -> User {
        User {
            id,
            username: format!("u{id}"),
            password_hash: String::new(),
            iron: 0.0,
            last_updated: 0,
            tech_tree: TechTree::default(),
            ship_id: 100 + id,
        }
    }

    #[test]
    fn evicts_least_recently_used_clean_idle_users() {
        let mut table = UserTable::new(2);
        for id in 1..=3 {
            table.insert_loaded(user(id));
        }
        table.touch(1); // 2 is now the least recently used
        assert_eq!(table.evict_past_cap(), 1);
        assert!(table.get(2).is_none());
        assert_eq!(table.id_by_name("u2"), None);
        assert_eq!(table.id_by_name("u1"), Some(1));
        assert_eq!(table.evictions(), 1);
    }

    #[test]
    fn dirty_and_pinned_users_stay_until_clean_and_idle() {
        let mut table = UserTable::new(1);
        table.insert_loaded(user(1));
        table.insert_loaded(user(2));
        table.insert_loaded(user(3));
        let mut changed = user(1);
        changed.iron = 5.0;
        table.write_back(changed);
        table.pin(2);
        assert_eq!(table.evict_past_cap(), 1); // only 3 can go
        assert_eq!(table.len(), 2);
        assert_eq!(table.evict_past_cap(), 0);
        table.mark_clean(&[1]);
        table.unpin(2);
        assert_eq!(table.evict_past_cap(), 1); // 1 is older than 2
        assert!(table.get(1).is_none());
        assert_eq!(table.len(), 1);
        table.assert_consistent();
    }

    #[test]
    fn a_user_cleaned_by_a_flush_returns_to_where_it_was_last_used() {
        let mut table = UserTable::new(3);
        for id in 1..=4 {
            table.insert_loaded(user(id));
        }
        table.assert_consistent();
        let mut changed = user(1);
        changed.iron = 1.0;
        table.write_back(changed);
        table.touch(1);
        table.assert_consistent();
        assert_eq!(table.evict_past_cap(), 1); // 2, the oldest clean one
        table.mark_clean(&[1]);
        table.assert_consistent();
        table.insert_loaded(user(5));
        assert_eq!(table.evict_past_cap(), 1); // 3: user 1 was used after it
        assert!(table.get(3).is_none() && table.get(1).is_some());
        table.assert_consistent();
    }

    #[test]
    fn a_loaded_copy_never_replaces_a_cached_one() {
        let mut table = UserTable::new(10);
        let mut newer = user(1);
        newer.iron = 9.0;
        table.insert_loaded(user(1));
        table.write_back(newer.clone());
        assert_eq!(table.insert_loaded(user(1)), newer);
        assert!(!table.differs(&newer));
    }
}
