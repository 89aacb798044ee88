//! Interest management: each subscriber hears only about what is near its ship.
//!
//! A subscriber knows the objects within `radius + margin` of its ship. The server
//! refreshes that set on a short tick with a [`SpatialGrid`] (objects that came near
//! *enter*, objects that went away *leave*), and passes on a change only to subscribers
//! who know the object or now have it in their area. The margin covers the time between
//! two refreshes: an object and the ship approaching each other at the fastest speed in
//! the world cannot cross it unseen, so at any moment the subscriber knows every object
//! within `radius`, with its current stored state.
//!
//! Enter and change are both sent as an upsert of the stored state, leave and removal as
//! a removed id: the same [`Delta`] a whole-world client applies.
//!
//! Fan-out is by cell: [`CellGrid`] cuts the world into cells, a subscriber registers in
//! the cells its area covers, and a batch of changes is cut into [`CellBatch`]es, one per
//! cell it touched, so a change is only looked at by the subscribers of its cells.
//!
//! - [`SpatialGrid`]: the objects near a point at one instant (area refreshes).
//! - [`CellGrid`]: the fan-out cells: the cell of a point, the cells of a disc.
//! - [`CellBatches`]: a batch of changes cut by cell.

mod cell_batch;
mod cells;
mod grid;

pub use cell_batch::{CellBatch, CellBatches, Previous};
pub use cells::{CellGrid, CellId, CellRect};
pub use grid::SpatialGrid;

use crate::geometry::WorldSize;
use crate::space_object::{ObjectId, SPEED_FACTOR, SpaceObject};
use crate::world::WorldSnapshot;
use crate::world_history::Delta;

/// How far something at `speed` (units per minute) travels in `ms` milliseconds.
pub fn travel(speed: f64, ms: i64) -> f64 {
    speed * ms as f64 / 60_000.0 * SPEED_FACTOR
}

/// How far beyond its radius a subscriber must know objects so that none reaches the
/// radius unseen before the next refresh, `interval_ms` later: the ship and an object may
/// both move at `max_speed` toward each other (plus one unit for rounding).
pub fn margin(max_speed: f64, interval_ms: i64) -> f64 {
    2.0 * travel(max_speed, interval_ms) + 1.0
}

/// How far from where its ship was at registration a subscriber's area may reach within
/// `horizon_ms`: its radius plus margin (what it may know or be told about), plus how far
/// its ship and what it knows may travel at `max_speed` meanwhile. A subscriber registered
/// in the cells of this disc is reached by every change it must hear until then.
pub fn registration_radius(radius: f64, margin: f64, max_speed: f64, horizon_ms: i64) -> f64 {
    radius + margin + travel(max_speed, horizon_ms) + 1.0
}

/// The fastest speed among `objects` (0 for none).
pub fn max_speed<'a>(objects: impl IntoIterator<Item = &'a SpaceObject>) -> f64 {
    objects.into_iter().map(|o| o.speed).fold(0.0, f64::max)
}

/// What one subscriber knows: the ids of the objects it has been sent.
///
/// Kept as a sorted `Vec`, not a hash set: a refresh (every subscriber, every tick) then
/// compares what it knew with what is inside by one merge of two sorted lists, into
/// buffers it reuses, instead of building a new set each time.
#[derive(Debug, Clone)]
pub struct Interest {
    radius: f64,
    /// Sorted, each id once.
    known: Vec<ObjectId>,
    /// The last refresh's query buffer, kept for its capacity.
    scratch: Vec<ObjectId>,
}

impl Interest {
    /// A subscriber interested in `radius` units around its ship, knowing nothing yet.
    pub fn new(radius: f64) -> Interest {
        Interest {
            radius,
            known: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The radius it asked for.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// How many objects it knows.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// True when it has been sent `id` (and not told it left).
    pub fn knows(&self, id: ObjectId) -> bool {
        self.known.binary_search(&id).is_ok()
    }

    /// Everything in its area now (around `center` at the grid's instant), as a fresh
    /// start: it forgets what it knew.
    pub fn snapshot(
        &mut self,
        grid: &SpatialGrid,
        world: &WorldSnapshot,
        center: (f64, f64),
        margin: f64,
    ) -> Vec<SpaceObject> {
        self.known.clear();
        let mut area = self.refresh(grid, world, center, margin).upserted;
        area.sort_unstable_by_key(|o| o.id);
        area
    }

    /// Recomputes its area around `center` at the grid's instant: objects now inside
    /// `radius + margin` that it did not know enter (their stored states from `world`);
    /// known objects no longer inside leave.
    pub fn refresh(
        &mut self,
        grid: &SpatialGrid,
        world: &WorldSnapshot,
        center: (f64, f64),
        margin: f64,
    ) -> Delta {
        let mut inside = std::mem::take(&mut self.scratch);
        inside.clear();
        grid.within_into(center, self.radius + margin, &mut inside);
        inside.sort_unstable();
        // One walk of both sorted lists: ids only inside enter, ids only known leave; both
        // come out in id order.
        let mut delta = Delta::default();
        let (mut k, mut i) = (0, 0);
        while k < self.known.len() || i < inside.len() {
            match (self.known.get(k), inside.get(i)) {
                (Some(known), Some(now)) if known == now => {
                    k += 1;
                    i += 1;
                }
                (Some(known), Some(now)) if known < now => {
                    delta.removed.push(*known);
                    k += 1;
                }
                (Some(known), None) => {
                    delta.removed.push(*known);
                    k += 1;
                }
                (_, Some(now)) => {
                    if let Some(object) = world.get(*now) {
                        delta.upserted.push(*object);
                    }
                    i += 1;
                }
                (None, None) => break,
            }
        }
        self.scratch = std::mem::replace(&mut self.known, inside);
        delta
    }

    /// The part of a batch of world changes this subscriber must hear at `now_ms`, with its
    /// ship at `center`: every change of an object it knows, every changed object now
    /// inside `radius + margin` (it enters), every removal of an object it knows.
    pub fn filter(
        &mut self,
        changes: &Delta,
        size: WorldSize,
        center: (f64, f64),
        margin: f64,
        now_ms: i64,
    ) -> Delta {
        let mut delta = Delta::default();
        for object in &changes.upserted {
            if self.admits(object, size, center, margin, now_ms) {
                delta.upserted.push(*object);
            }
        }
        for id in &changes.removed {
            if self.forgets(*id) {
                delta.removed.push(*id);
            }
        }
        delta
    }

    /// One changed object of [`Interest::filter`]: true (and it is known from now on)
    /// when the subscriber knows it or it is within `radius + margin` of `center` at
    /// `now_ms`.
    pub fn admits(
        &mut self,
        object: &SpaceObject,
        size: WorldSize,
        center: (f64, f64),
        margin: f64,
        now_ms: i64,
    ) -> bool {
        let Err(slot) = self.known.binary_search(&object.id) else {
            return true;
        };
        let near = size.distance(center, object.position_at(now_ms, size)) <= self.radius + margin;
        if near {
            self.known.insert(slot, object.id);
        }
        near
    }

    /// One removal of [`Interest::filter`]: true (and it is forgotten) when the
    /// subscriber knew the object.
    pub fn forgets(&mut self, id: ObjectId) -> bool {
        match self.known.binary_search(&id) {
            Ok(slot) => {
                self.known.remove(slot);
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space_object::fixtures::asteroid as at;
    use crate::world::World;

    #[test]
    fn the_margin_covers_both_moving_toward_each_other() {
        // Speed 60 is 50 units per second: in 250 ms each covers 12.5 units.
        assert_eq!(margin(60.0, 250), 26.0);
        assert_eq!(
            max_speed(&[
                at(1, 0.0, 0.0),
                SpaceObject {
                    speed: 7.5,
                    ..at(2, 0.0, 0.0)
                }
            ]),
            7.5
        );
        assert_eq!(travel(30.0, 60_000), 1_500.0);
        // Radius 100, margin 10, and 1 s at speed 12 (10 units) plus the rounding unit.
        assert_eq!(registration_radius(100.0, 10.0, 12.0, 1_000), 121.0);
    }

    #[test]
    fn a_refresh_walks_known_and_inside_ids_that_interleave() {
        // Known 1 and 3; inside now 2 and 3: 1 leaves, 2 enters, 3 stays unmentioned.
        let world = World::new(
            WorldSize::DEFAULT,
            [
                at(1, 300.0, 300.0),
                at(2, 100.0, 100.0),
                at(3, 110.0, 100.0),
            ],
        );
        let snapshot = world.snapshot();
        let grid = SpatialGrid::build(snapshot.objects(), WorldSize::DEFAULT, 50.0, 0);
        let mut interest = Interest::new(50.0);
        for id in [1, 3] {
            assert!(interest.admits(
                &at(id, 100.0, 100.0),
                WorldSize::DEFAULT,
                (100.0, 100.0),
                0.0,
                0
            ));
        }
        let moved = interest.refresh(&grid, &snapshot, (100.0, 100.0), 0.0);
        assert_eq!(moved.upserted, vec![at(2, 100.0, 100.0)]);
        assert_eq!(moved.removed, vec![1]);
        assert!(interest.knows(2) && interest.knows(3) && !interest.knows(1));
    }

    #[test]
    fn objects_enter_and_leave_as_the_area_moves() {
        let world = World::new(
            WorldSize::DEFAULT,
            [
                at(1, 100.0, 100.0),
                at(2, 150.0, 100.0),
                at(3, 400.0, 400.0),
            ],
        );
        let snapshot = world.snapshot();
        let grid = SpatialGrid::build(snapshot.objects(), WorldSize::DEFAULT, 50.0, 0);
        let mut interest = Interest::new(40.0);
        assert_eq!((interest.radius(), interest.known()), (40.0, 0));
        let first = interest.snapshot(&grid, &snapshot, (100.0, 100.0), 10.0);
        assert_eq!(first.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(interest.known(), 2);
        // The centre moves across the seam toward 3: 1 and 2 leave, 3 enters.
        let moved = interest.refresh(&grid, &snapshot, (420.0, 420.0), 10.0);
        assert_eq!(moved.upserted, vec![at(3, 400.0, 400.0)]);
        assert_eq!(moved.removed, vec![1, 2]);
        assert!(interest.knows(3) && !interest.knows(1));
        // Nothing changed: nothing to say.
        assert_eq!(
            interest.refresh(&grid, &snapshot, (420.0, 420.0), 10.0),
            Delta::default()
        );
    }

    #[test]
    fn ids_admitted_out_of_order_leave_in_id_order() {
        // Known ids are kept sorted whatever order they were admitted in, so a refresh
        // that finds none of them reports them in id order.
        let world = World::new(WorldSize::DEFAULT, [at(9, 100.0, 100.0)]);
        let snapshot = world.snapshot();
        let grid = SpatialGrid::build(snapshot.objects(), WorldSize::DEFAULT, 50.0, 0);
        let mut interest = Interest::new(50.0);
        for id in [7, 3, 5] {
            assert!(interest.admits(
                &at(id, 110.0, 100.0),
                WorldSize::DEFAULT,
                (100.0, 100.0),
                0.0,
                0
            ));
        }
        assert!(interest.admits(
            &at(3, 900.0, 900.0),
            WorldSize::DEFAULT,
            (100.0, 100.0),
            0.0,
            0
        ));
        assert!(!interest.admits(
            &at(4, 900.0, 900.0),
            WorldSize::DEFAULT,
            (100.0, 100.0),
            0.0,
            0
        ));
        assert!(interest.forgets(5) && !interest.forgets(5));
        let moved = interest.refresh(&grid, &snapshot, (100.0, 100.0), 0.0);
        assert_eq!(moved.upserted, vec![at(9, 100.0, 100.0)]);
        assert_eq!(moved.removed, vec![3, 7]);
        assert_eq!(interest.known(), 1);
    }

    #[test]
    fn changes_reach_only_those_who_know_or_now_see_the_object() {
        let mut interest = Interest::new(50.0);
        let world = World::new(WorldSize::DEFAULT, [at(1, 100.0, 100.0)]);
        let snapshot = world.snapshot();
        let grid = SpatialGrid::build(snapshot.objects(), WorldSize::DEFAULT, 50.0, 0);
        interest.snapshot(&grid, &snapshot, (100.0, 100.0), 0.0);
        let changes = Delta {
            upserted: vec![
                SpaceObject {
                    speed: 5.0,
                    ..at(1, 100.0, 100.0)
                }, // known: passed on
                at(8, 140.0, 100.0), // new and near: enters
                at(9, 300.0, 300.0), // far: not for this one
            ],
            removed: vec![1, 42],
        };
        let mine = interest.filter(&changes, WorldSize::DEFAULT, (100.0, 100.0), 0.0, 0);
        assert_eq!(
            mine,
            Delta {
                upserted: vec![changes.upserted[0], changes.upserted[1]],
                removed: vec![1],
            }
        );
        assert_eq!(interest.known(), 1, "only 8 is known now");
    }
}
