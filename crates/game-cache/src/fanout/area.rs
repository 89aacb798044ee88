//! One area subscriber's state: what it knows (`game_domain::interest::Interest`), the
//! batches it waits with until its opening, and the cells it is registered in. The hub
//! decides which changes it looks at; this decides exactly what it is told, as the
//! per-subscriber filter always did.

use std::sync::Arc;

use game_domain::geometry::WorldSize;
use game_domain::interest::{CellRect, Interest, SpatialGrid};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Version;

use super::event::{AreaDelta, AreaEvent, AreaSnapshot, BatchChanges, Encoded, SharedBatch};

/// The world at one instant, as an area sees it.
#[derive(Debug, Clone, Copy)]
pub struct AreaContext<'a> {
    /// The world at the latest version.
    pub world: &'a WorldSnapshot,
    /// Now, in server time.
    pub now_ms: i64,
    /// How far beyond its radius each subscriber must know objects.
    pub margin: f64,
}

/// More batches arrived before the opening than a subscriber may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// One area subscriber.
#[derive(Debug)]
pub struct AreaState {
    ship: ObjectId,
    /// Its ship's stored state as of the last batch or refresh it was given (`None` once
    /// the ship is gone): where the area is centred, without a world lookup per batch.
    ship_state: Option<SpaceObject>,
    interest: Interest,
    /// Batches that arrived before the opening (`None` once opened).
    pending: Option<Vec<Arc<SharedBatch>>>,
    /// The last batch it was given (older ones are not looked at again).
    seen: Version,
    /// The cells it is registered in (`None` before the opening).
    pub(crate) cells: Option<CellRect>,
}

impl AreaState {
    /// A subscriber around `ship` with `radius`, waiting for its opening.
    pub fn new(ship: ObjectId, radius: f64) -> AreaState {
        AreaState {
            ship,
            ship_state: None,
            interest: Interest::new(radius),
            pending: Some(Vec::new()),
            seen: 0,
            cells: None,
        }
    }

    /// Where its ship is at `ctx.now_ms`, by the ship's state as of the last batch or
    /// refresh it was given.
    pub fn center(&self, ctx: &AreaContext<'_>) -> Option<(f64, f64)> {
        self.center_at(ctx.now_ms, ctx.world.size())
    }

    /// [`AreaState::center`] at `now_ms` in a world of `size`.
    pub fn center_at(&self, now_ms: i64, size: WorldSize) -> Option<(f64, f64)> {
        let ship = self.ship_state?;
        Some(ship.position_at(now_ms, size))
    }

    /// The radius it follows.
    pub fn radius(&self) -> f64 {
        self.interest.radius()
    }

    /// True until the opening.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Keeps a batch for the opening; [`Overflow`] past `room` batches, or for a whole
    /// world (the opening, read before it or after, could not be brought up to date
    /// with it: the subscriber starts over).
    pub fn keep(&mut self, batch: Arc<SharedBatch>, room: usize) -> Result<(), Overflow> {
        match &mut self.pending {
            Some(_) if matches!(batch.changes, BatchChanges::Full(_)) => Err(Overflow),
            Some(pending) if pending.len() >= room => Err(Overflow),
            Some(pending) => {
                pending.push(batch);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The opening: what is within its radius and margin in `ctx` (`grid` holds its
    /// objects at `ctx.now_ms`), then the kept batches leading past it. `None` when the
    /// ship does not exist.
    pub fn open(&mut self, grid: &SpatialGrid, ctx: &AreaContext<'_>) -> Option<Vec<AreaEvent>> {
        let pending = self.pending.take().unwrap_or_default();
        self.ship_state = ctx.world.get(self.ship).copied();
        let center = self.center(ctx)?;
        let objects = self.interest.snapshot(grid, ctx.world, center, ctx.margin);
        let version = ctx.world.version();
        self.seen = version;
        let mut events = vec![AreaEvent::Snapshot(AreaSnapshot {
            world_size: ctx.world.size(),
            objects,
            current_time: ctx.now_ms,
            version,
            radius: self.interest.radius(),
        })];
        for batch in pending {
            if batch.version > version
                && let BatchChanges::Delta { upserted, removed } = &batch.changes
            {
                let ids: Vec<ObjectId> = upserted.iter().map(|e| e.object.id).collect();
                events.extend(self.deliver(&batch, version, &ids, removed, ctx));
            }
        }
        Some(events)
    }

    /// Its share of `batch`, looking only at the changed objects `upserted` and removals
    /// `removed` (ids in id order, each once: the changes of its cells): every change of
    /// an object it knows, every changed object now near, every removal of an object it
    /// knows. `since` is what the event says it starts from. Nothing when none concerns
    /// it, when it already had this batch, or when its ship is gone.
    pub fn deliver(
        &mut self,
        batch: &SharedBatch,
        since: Version,
        upserted: &[ObjectId],
        removed: &[ObjectId],
        ctx: &AreaContext<'_>,
    ) -> Option<AreaEvent> {
        if batch.version <= self.seen {
            return None;
        }
        self.seen = batch.version;
        // The batch moves the area when it changes (or removes) the ship itself; the
        // ship's changes always reach its own area (it lies in its cells).
        if removed.contains(&self.ship) {
            self.ship_state = None;
        } else if upserted.binary_search(&self.ship).is_ok()
            && let Some(ship) = batch.upserted(self.ship)
        {
            self.ship_state = Some(ship.object);
        }
        let center = self.center(ctx)?;
        let size = ctx.world.size();
        let mut mine = Vec::new();
        for id in upserted {
            if let Some(encoded) = batch.upserted(*id)
                && self
                    .interest
                    .admits(&encoded.object, size, center, ctx.margin, ctx.now_ms)
            {
                mine.push(encoded.clone());
            }
        }
        let gone: Vec<ObjectId> = removed
            .iter()
            .copied()
            .filter(|id| self.interest.forgets(*id))
            .collect();
        if mine.is_empty() && gone.is_empty() {
            return None;
        }
        Some(AreaEvent::Delta(AreaDelta {
            since,
            version: batch.version,
            current_time: ctx.now_ms,
            world_size: size,
            upserted: mine,
            removed: gone,
        }))
    }

    /// What entered and left its area since the last refresh; nothing when neither
    /// happened, before the opening or when its ship is gone.
    pub fn refresh(&mut self, grid: &SpatialGrid, ctx: &AreaContext<'_>) -> Option<AreaEvent> {
        if self.is_pending() {
            return None;
        }
        self.ship_state = ctx.world.get(self.ship).copied();
        let center = self.center(ctx)?;
        let moved = self.interest.refresh(grid, ctx.world, center, ctx.margin);
        if moved.is_empty() {
            return None;
        }
        let version = ctx.world.version();
        Some(AreaEvent::Delta(AreaDelta {
            since: version,
            version,
            current_time: ctx.now_ms,
            world_size: ctx.world.size(),
            upserted: moved.upserted.into_iter().map(Encoded::new).collect(),
            removed: moved.removed,
        }))
    }

    /// Starts over from a fresh opening in `ctx` (the change log could not say what
    /// changed).
    pub fn reopen(&mut self, grid: &SpatialGrid, ctx: &AreaContext<'_>) -> Option<Vec<AreaEvent>> {
        self.pending = Some(Vec::new());
        self.open(grid, ctx)
    }
}
