//! The world's version and a bounded log of its recent changes, from which a client that
//! knows the world as of some version gets only what changed since.
//!
//! Every committed change to the world (a ship joining, a course change, a collect's
//! removal and spawn) advances the version by one, in commit order, and is logged as the
//! stored states of the objects it touched (from which any later position follows) and the
//! ids it removed. The log keeps at most a fixed number of object changes; a version older
//! than what it still holds is answered with "too old" (the caller sends a full snapshot).

use std::collections::{BTreeMap, VecDeque};

use crate::space_object::{ObjectId, SpaceObject};

/// A world version: advances by one with every committed change.
pub type Version = u64;

/// One object's change in a commit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObjectChange {
    /// The object now has this stored state (new or changed).
    Upsert(SpaceObject),
    /// The object left the world.
    Remove(ObjectId),
}

/// What changed between two versions: the latest stored state of every object changed
/// (in id order) and the ids removed (in id order). An object changed and then removed
/// is only removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// Objects added or changed, as stored states.
    pub upserted: Vec<SpaceObject>,
    /// Ids of objects that left the world.
    pub removed: Vec<ObjectId>,
}

impl Delta {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.upserted.is_empty() && self.removed.is_empty()
    }
}

/// The version counter and the bounded change log.
#[derive(Debug, Clone)]
pub struct WorldHistory {
    version: Version,
    /// The log holds every commit after this version (`oldest + 1 ..= version`).
    oldest: Version,
    log: VecDeque<Vec<ObjectChange>>,
    /// Object changes in the log.
    logged: usize,
    /// At most this many object changes are kept.
    capacity: usize,
}

impl WorldHistory {
    /// A history starting at version `base` with room for `capacity` object changes.
    pub fn new(base: Version, capacity: usize) -> WorldHistory {
        WorldHistory {
            version: base,
            oldest: base,
            log: VecDeque::new(),
            logged: 0,
            capacity,
        }
    }

    /// The current version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The oldest version a delta can start from.
    pub fn oldest(&self) -> Version {
        self.oldest
    }

    /// Records one commit; an empty one changes nothing (not even the version).
    pub fn record(&mut self, changes: Vec<ObjectChange>) {
        if changes.is_empty() {
            return;
        }
        self.version += 1;
        self.logged += changes.len();
        self.log.push_back(changes);
        while self.logged > self.capacity {
            let Some(dropped) = self.log.pop_front() else {
                break;
            };
            self.logged -= dropped.len();
            self.oldest += 1;
        }
    }

    /// What changed after `since`, or `None` when `since` is older than the log or newer
    /// than the current version (e.g. from before a restart).
    pub fn since(&self, since: Version) -> Option<Delta> {
        if since < self.oldest || since > self.version {
            return None;
        }
        let skip = usize::try_from(since - self.oldest).ok()?;
        let mut latest: BTreeMap<ObjectId, Option<SpaceObject>> = BTreeMap::new();
        for change in self.log.iter().skip(skip).flatten() {
            match *change {
                ObjectChange::Upsert(object) => latest.insert(object.id, Some(object)),
                ObjectChange::Remove(id) => latest.insert(id, None),
            };
        }
        let mut delta = Delta::default();
        for (id, state) in latest {
            match state {
                Some(object) => delta.upserted.push(object),
                None => delta.removed.push(id),
            }
        }
        Some(delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::fixtures::asteroid;

    fn object(id: ObjectId, x: f64) -> SpaceObject {
        asteroid(id, x, 0.0)
    }

    #[test]
    fn each_commit_is_one_version_and_empty_ones_none() {
        let mut history = WorldHistory::new(1_000, 10);
        history.record(vec![ObjectChange::Upsert(object(1, 1.0))]);
        history.record(vec![]);
        history.record(vec![
            ObjectChange::Remove(2),
            ObjectChange::Upsert(object(3, 3.0)),
        ]);
        assert_eq!((history.oldest(), history.version()), (1_000, 1_002));
    }

    #[test]
    fn a_delta_holds_the_latest_state_and_removals_after_a_version() {
        let mut history = WorldHistory::new(0, 10);
        history.record(vec![ObjectChange::Upsert(object(5, 1.0))]); // 1
        history.record(vec![ObjectChange::Upsert(object(4, 1.0))]); // 2
        history.record(vec![ObjectChange::Upsert(object(5, 2.0))]); // 3
        history.record(vec![
            ObjectChange::Remove(4),
            ObjectChange::Upsert(object(6, 6.0)),
        ]); // 4
        assert_eq!(
            history.since(0),
            Some(Delta {
                upserted: vec![object(5, 2.0), object(6, 6.0)],
                removed: vec![4],
            })
        );
        assert_eq!(
            history.since(2),
            Some(Delta {
                upserted: vec![object(5, 2.0), object(6, 6.0)],
                removed: vec![4],
            })
        );
        assert_eq!(
            history.since(3),
            Some(Delta {
                upserted: vec![object(6, 6.0)],
                removed: vec![4],
            })
        );
        assert_eq!(history.since(4), Some(Delta::default()));
        assert_eq!(history.since(5), None, "a version from the future");
    }

    #[test]
    fn the_log_forgets_the_oldest_commits_past_its_capacity() {
        let mut history = WorldHistory::new(10, 3);
        history.record(vec![ObjectChange::Upsert(object(1, 1.0))]); // 11
        history.record(vec![
            ObjectChange::Upsert(object(2, 1.0)),
            ObjectChange::Upsert(object(3, 1.0)),
        ]); // 12
        assert_eq!(history.oldest(), 10);
        history.record(vec![ObjectChange::Upsert(object(4, 1.0))]); // 13: 4 changes > 3
        assert_eq!((history.oldest(), history.version()), (11, 13));
        assert_eq!(history.since(10), None);
        assert_eq!(
            history.since(11).map(|d| d.upserted.len()),
            Some(3),
            "12 and 13 are still there"
        );
        // One commit larger than the whole log empties it: only the current version is
        // still answerable.
        history.record(vec![ObjectChange::Remove(1); 4]); // 14
        assert_eq!((history.oldest(), history.version()), (14, 14));
        assert_eq!(history.since(13), None);
        assert_eq!(history.since(14), Some(Delta::default()));
    }

    #[test]
    fn a_delta_is_empty_only_without_upserts_and_removals() {
        assert!(Delta::default().is_empty());
        let upserted = Delta {
            upserted: vec![object(1, 1.0)],
            removed: vec![],
        };
        let removed = Delta {
            upserted: vec![],
            removed: vec![1],
        };
        assert!(!upserted.is_empty() && !removed.is_empty());
    }
}
