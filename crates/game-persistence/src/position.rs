//! Where the database's write-behind history stands, as this process knows it
//! ([`WritePosition`]): the last batch it saw committed, and its own batches since whose
//! outcome it has not learnt. A spill file records it, so that it is applied only while
//! no other process has written since (docs/persistence.md, Spill files).

use std::sync::{Mutex, PoisonError};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The write-behind position a spill file continues from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePosition {
    /// The random id of the last batch this process saw committed: its own, or the one
    /// it found when it took the lease (empty before the first batch of the database).
    pub id: String,
    /// Ids of this process's batches sent after it whose outcome is unknown (cut at their
    /// deadline, or abandoned at shutdown): any of them may have committed. Each holds
    /// only changes that are still pending, so the spill file holds them too.
    pub in_doubt: Vec<String>,
}

impl WritePosition {
    /// True if a database whose last batch is `last_id` has had nothing written since
    /// this position: that batch is the one it continues from, or one of its own in doubt.
    pub fn is_current(&self, last_id: &str) -> bool {
        self.id == last_id || self.in_doubt.iter().any(|id| id == last_id)
    }
}

/// The live position behind [`crate::Database::write_position`].
#[derive(Debug, Default)]
pub(crate) struct Positions {
    position: Mutex<WritePosition>,
}

impl Positions {
    fn lock(&self) -> std::sync::MutexGuard<'_, WritePosition> {
        // Plain data, consistent after every statement: a panic cannot leave it torn.
        self.position.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the position now.
    pub(crate) fn get(&self) -> WritePosition {
        self.lock().clone()
    }

    /// The position read from the lease row on taking the lease: nothing of this
    /// process's is in doubt any more (a batch of a lost lease cannot commit).
    pub(crate) fn found(&self, id: String) {
        *self.lock() = WritePosition {
            id,
            in_doubt: Vec::new(),
        };
    }

    /// A fresh batch id, in doubt until [`Positions::committed`] or
    /// [`Positions::rolled_back`].
    pub(crate) fn begin(&self) -> String {
        let mut rng = StdRng::from_os_rng();
        let id = format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>());
        self.begin_named(id.clone());
        id
    }

    /// Like [`Positions::begin`] for a batch named by its caller (a spill file's).
    pub(crate) fn begin_named(&self, id: String) {
        self.lock().in_doubt.push(id);
    }

    /// Batch `id` committed. Batches of this process sent before it are settled too: one
    /// still running held rows this one had to wait for (every batch holds every row
    /// still pending, theirs included), so it ended first. A late answer for a batch
    /// settled so is ignored.
    pub(crate) fn committed(&self, id: &str) {
        let mut position = self.lock();
        if let Some(index) = position.in_doubt.iter().position(|d| d == id) {
            position.in_doubt.drain(..=index);
            position.id = id.to_owned();
        }
    }

    /// Batch `id` certainly did not commit (refused before its commit was sent).
    pub(crate) fn rolled_back(&self, id: &str) {
        self.lock().in_doubt.retain(|d| d != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_settles_the_batches_sent_before_it_and_only_those() {
        let positions = Positions::default();
        positions.found("found".into());
        let a = positions.begin();
        let b = positions.begin();
        let c = positions.begin();
        positions.committed(&b);
        let now = positions.get();
        assert_eq!(now.id, b);
        assert_eq!(now.in_doubt, vec![c.clone()]);
        assert!(!now.is_current("found"));
        assert!(now.is_current(&b));
        assert!(now.is_current(&c));
        assert!(!now.is_current(&a));
        // A late answer of an older batch moves nothing back.
        positions.committed(&a);
        assert_eq!(positions.get().id, b);
        positions.rolled_back(&c);
        assert!(positions.get().in_doubt.is_empty());
    }
}
