//! The dirty state: what changed since the last successful flush, with generations.
//!
//! It lives behind the `Store`-level lock. A unit of work marks all of its changes in one
//! critical section of that lock, taken while it still holds its game locks, and the marks
//! carry the values as they were committed. So a cut (a copy taken under the same lock)
//! holds, for every entity, the value after some prefix of the marked operations — never
//! half of one. Every mark gets a fresh generation; after a successful write only entries
//! whose generation is still the one in the cut are removed (veloren's batch ids), so a
//! change made while the batch was being written stays dirty for the next flush.

use std::collections::HashMap;

use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};
use game_persistence::Batch;

/// Generation of a mark: strictly increasing, one per marking unit of work.
pub(crate) type Generation = u64;

/// Every entity changed since the last successful flush, with its latest committed value.
#[derive(Debug, Default)]
pub(crate) struct DirtyState {
    last_generation: Generation,
    users: HashMap<UserId, (Generation, User)>,
    /// `None`: the object was removed.
    objects: HashMap<ObjectId, (Generation, Option<SpaceObject>)>,
}

/// A consistent copy of the dirty state: the batch to write and the generations it saw.
#[derive(Debug, Default)]
pub(crate) struct Cut {
    /// Rows in key order (users by id, objects by id, deleted ids ascending).
    pub(crate) batch: Batch,
    users: Vec<(UserId, Generation)>,
    objects: Vec<(ObjectId, Generation)>,
}

impl Cut {
    /// True when nothing was dirty.
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty() && self.objects.is_empty()
    }
}

/// One unit of work's marks, all under one generation.
pub(crate) struct Marker<'a> {
    state: &'a mut DirtyState,
    generation: Generation,
}

impl Marker<'_> {
    /// The user's committed value.
    pub(crate) fn user(&mut self, user: User) {
        self.state.users.insert(user.id, (self.generation, user));
    }

    /// An object inserted or changed.
    pub(crate) fn upsert(&mut self, object: SpaceObject) {
        self.state
            .objects
            .insert(object.id, (self.generation, Some(object)));
    }

    /// An object removed.
    pub(crate) fn delete(&mut self, id: ObjectId) {
        self.state.objects.insert(id, (self.generation, None));
    }
}

impl DirtyState {
    /// Starts the marks of one unit of work.
    pub(crate) fn mark(&mut self) -> Marker<'_> {
        self.last_generation += 1;
        let generation = self.last_generation;
        Marker {
            state: self,
            generation,
        }
    }

    /// Number of dirty users.
    pub(crate) fn users_len(&self) -> usize {
        self.users.len()
    }

    /// Number of dirty objects (changed or removed).
    pub(crate) fn objects_len(&self) -> usize {
        self.objects.len()
    }

    /// True if the user has changes not yet written.
    #[cfg(test)]
    pub(crate) fn has_user(&self, id: UserId) -> bool {
        self.users.contains_key(&id)
    }

    /// Copies everything dirty into a batch (rows in key order, so concurrent writers could
    /// not deadlock in the database) together with the generations seen.
    pub(crate) fn cut(&self) -> Cut {
        let mut users: Vec<(UserId, Generation)> =
            self.users.iter().map(|(id, (g, _))| (*id, *g)).collect();
        users.sort_unstable();
        let mut objects: Vec<(ObjectId, Generation)> =
            self.objects.iter().map(|(id, (g, _))| (*id, *g)).collect();
        objects.sort_unstable();
        let mut batch = Batch {
            users: users
                .iter()
                .map(|(id, _)| self.users[id].1.clone())
                .collect(),
            ..Batch::default()
        };
        for (id, _) in &objects {
            match self.objects[id].1 {
                Some(object) => batch.upserted_objects.push(object),
                None => batch.deleted_objects.push(*id),
            }
        }
        Cut {
            batch,
            users,
            objects,
        }
    }

    /// After `cut` was written: forgets the entries not marked again since. Returns the
    /// users that became clean.
    pub(crate) fn clear_written(&mut self, cut: &Cut) -> Vec<UserId> {
        let mut clean_users = Vec::with_capacity(cut.users.len());
        for (id, generation) in &cut.users {
            if self.users.get(id).is_some_and(|(g, _)| g == generation) {
                self.users.remove(id);
                clean_users.push(*id);
            }
        }
        for (id, generation) in &cut.objects {
            if self.objects.get(id).is_some_and(|(g, _)| g == generation) {
                self.objects.remove(id);
            }
        }
        clean_users
    }
}

#[cfg(test)]
mod tests {
    use game_domain::space_object::ObjectKind;
    use game_domain::tech_tree::TechTree;

    use super::*;

    fn user(id: UserId, iron: f64) -> User {
        User {
            id,
            username: format!("u{id}"),
            password_hash: String::new(),
            iron,
            last_updated: 0,
            tech_tree: TechTree::default(),
            ship_id: 100 + id,
        }
    }

    fn object(id: ObjectId, x: f64) -> SpaceObject {
        SpaceObject {
            id,
            kind: ObjectKind::Asteroid,
            x,
            y: 0.0,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: 0,
        }
    }

    #[test]
    fn a_cut_is_sorted_and_splits_upserts_from_deletes() {
        let mut dirty = DirtyState::default();
        let mut m = dirty.mark();
        m.user(user(2, 1.0));
        m.upsert(object(9, 1.0));
        m.delete(5);
        let mut m = dirty.mark();
        m.user(user(1, 1.0));
        m.upsert(object(3, 1.0));
        let cut = dirty.cut();
        assert_eq!(
            cut.batch.users.iter().map(|u| u.id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            cut.batch
                .upserted_objects
                .iter()
                .map(|o| o.id)
                .collect::<Vec<_>>(),
            [3, 9]
        );
        assert_eq!(cut.batch.deleted_objects, [5]);
    }

    #[test]
    fn clearing_keeps_what_changed_after_the_cut() {
        let mut dirty = DirtyState::default();
        let mut m = dirty.mark();
        m.user(user(1, 1.0));
        m.user(user(2, 1.0));
        m.upsert(object(7, 1.0));
        m.delete(8);
        let cut = dirty.cut();
        // Written meanwhile: user 2 and object 7 change again.
        let mut m = dirty.mark();
        m.user(user(2, 5.0));
        m.upsert(object(7, 5.0));
        assert_eq!(dirty.clear_written(&cut), [1]);
        assert!(!dirty.has_user(1));
        assert!(dirty.has_user(2));
        assert_eq!((dirty.users_len(), dirty.objects_len()), (1, 1));
        let next = dirty.cut();
        assert_eq!(next.batch.users[0].iron, 5.0);
        assert_eq!(next.batch.upserted_objects[0].x, 5.0);
        assert!(next.batch.deleted_objects.is_empty());
        assert_eq!(dirty.clear_written(&next), [2]);
        assert!(dirty.cut().is_empty());
    }
}
