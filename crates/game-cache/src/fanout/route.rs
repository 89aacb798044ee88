//! Feeding the hub: a batch goes to every whole-world subscriber as it is, and to the
//! area subscribers of the cells it touched; a refresh looks at the areas whose ship or
//! neighbourhood moved or that were given changes. Neither holds a lock over all
//! subscribers: each cell shard and each subscriber is locked on its own, briefly.
//!
//! # Why the cells are enough
//!
//! An area is registered, at its opening and at each refresh that looks at it, in the
//! cells within `registration_radius` of its ship: its radius and margin plus how far
//! anything may travel in two refresh periods at the fastest speed seen. Until then, its
//! ship and every object it knows (each was within radius and margin of the ship at some
//! instant since) stay inside those cells, so a change it must hear touches one of them.
//! An area whose ship stands still, that knows nothing moving and has nothing moving in
//! its cells has nothing to refresh. When the guarantee lapses (no refresh for two
//! periods, or something faster than the registrations allow for), a batch looks at
//! every area, as the per-subscriber filter did, and the next refresh at every area.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use game_domain::interest::{
    CellBatches, Previous, SpatialGrid, margin, max_speed, registration_radius, travel,
};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;

use super::area::AreaContext;
use super::event::{BatchChanges, Event, SharedBatch};
use super::hub::{FanoutHub, GRID_CELL};
use super::registry::{Subscriber, lock};

/// The world as the last batch or refresh saw it, to place what a batch removes.
#[derive(Debug, Clone, Copy)]
pub struct Before<'a> {
    /// The world then.
    pub world: &'a WorldSnapshot,
    /// When (server time, Unix ms).
    pub at_ms: i64,
}

impl FanoutHub {
    /// Fans one batch out: every whole-world subscriber gets it as it is; every area
    /// subscriber whose cells it touched gets its share (a whole world reopens every
    /// area). `world` is the world now (where the ships are), `before` the world at the
    /// last batch or refresh (where removed objects were; without it a removal is looked
    /// at by every area). A subscriber whose queue is full is cut off.
    pub fn broadcast(
        &self,
        batch: &Arc<SharedBatch>,
        world: &WorldSnapshot,
        now_ms: i64,
        before: Option<Before<'_>>,
    ) {
        // Unique per call (a version could be broadcast twice): what groups are keyed on.
        let round = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        self.version.store(batch.version, Ordering::Relaxed);
        for subscriber in self.world_subscribers.collect(|_| true) {
            if !self.send(&mut lock(&subscriber.state), Event::World(batch.clone())) {
                self.end_id(subscriber.id);
            }
        }
        if !self.has_areas() {
            return;
        }
        let (margin_units, speed, scan) = {
            let mut routing = lock(&self.routing);
            if let BatchChanges::Delta { upserted, .. } = &batch.changes {
                routing.speed = routing
                    .speed
                    .max(max_speed(upserted.iter().map(|e| &e.object)));
            }
            let stale = routing
                .refreshed_ms
                .is_none_or(|at| now_ms.saturating_sub(at) > self.horizon_ms());
            let scan = stale || routing.speed > routing.registered_speed;
            (margin(routing.speed, self.tick_ms()), routing.speed, scan)
        };
        let ctx = AreaContext {
            world,
            now_ms,
            margin: margin_units,
        };
        let BatchChanges::Delta { upserted, removed } = &batch.changes else {
            self.reopen_all(batch, &ctx);
            return;
        };
        let all_ids: Vec<ObjectId> = upserted.iter().map(|e| e.object.id).collect();
        for subscriber in self.pending.collect(|_| true) {
            self.deliver(&subscriber, batch, &all_ids, removed, &ctx, true);
        }
        if scan {
            for subscriber in self.area_subscribers.collect(|_| true) {
                self.deliver(&subscriber, batch, &all_ids, removed, &ctx, false);
            }
            return;
        }
        let drift = before.map_or(0.0, |b| {
            2.0 * travel(speed, now_ms.saturating_sub(b.at_ms).max(0)) + 1.0
        });
        let delta = Delta {
            upserted: upserted.iter().map(|e| e.object).collect(),
            removed: removed.clone(),
        };
        let previous = Previous {
            state: |id: ObjectId| -> Option<SpaceObject> { before?.world.get(id).copied() },
            drift,
        };
        let grid = self.grid_for(world);
        let split =
            CellBatches::split(&grid, batch.since, batch.version, &delta, now_ms, &previous);
        // Which cells each subscriber saw something in, grouped by subscriber as they are
        // found (no sort, no map: each subscriber remembers its group in this batch).
        let mut groups: Vec<(Arc<Subscriber>, usize, Vec<usize>)> = Vec::new();
        let mut found = Vec::new();
        let mut group = |subscriber: Arc<Subscriber>, index: usize| match subscriber
            .group_in(round, groups.len())
        {
            Ok(slot) => {
                if let Some(group) = groups.get_mut(slot) {
                    group.2.push(index);
                }
            }
            Err(_) => groups.push((subscriber, index, Vec::new())),
        };
        for (index, cell) in split.cells.iter().enumerate() {
            self.cells.subscribers(cell.cell, &mut found);
            for subscriber in found.drain(..) {
                group(subscriber, index);
            }
        }
        if !split.unplaced.is_empty() {
            // Unplaced removals: every area looks (a cell index past the end: no cell).
            for subscriber in self.area_subscribers.collect(|_| true) {
                group(subscriber, usize::MAX);
            }
        }
        let mut touched = Vec::new();
        let (mut ups, mut gone) = (Vec::new(), Vec::new());
        for (subscriber, first, more) in groups {
            ups.clear();
            gone.clear();
            for index in std::iter::once(&first).chain(&more) {
                if let Some(cell) = split.cells.get(*index) {
                    ups.extend(cell.upserted.iter().map(|o| o.id));
                    gone.extend(cell.removed.iter().copied());
                }
            }
            gone.extend(split.unplaced.iter().copied());
            ups.sort_unstable();
            ups.dedup();
            gone.sort_unstable();
            gone.dedup();
            self.deliver(&subscriber, batch, &ups, &gone, &ctx, false);
            if subscriber.touch() {
                touched.push(subscriber);
            }
        }
        lock(&self.routing).touched.extend(touched);
    }

    /// True when `batch` sets something moving faster than the margin allows for: the
    /// feeder then refreshes every area at once, as the margin widens.
    pub fn outpaces(&self, batch: &SharedBatch) -> bool {
        let BatchChanges::Delta { upserted, .. } = &batch.changes else {
            return false;
        };
        max_speed(upserted.iter().map(|e| &e.object)) > lock(&self.routing).speed
    }

    /// One area's share of `batch` (of the changes `upserted` and `removed` it may
    /// concern). One waiting for its opening keeps the batch if `keep` (the pending
    /// pass), and is left alone otherwise.
    fn deliver(
        &self,
        subscriber: &Arc<Subscriber>,
        batch: &Arc<SharedBatch>,
        upserted: &[ObjectId],
        removed: &[ObjectId],
        ctx: &AreaContext<'_>,
        keep: bool,
    ) {
        let mut state = lock(&subscriber.state);
        if state.queue.is_none() {
            return;
        }
        let Some(area) = &mut state.area else {
            return;
        };
        let alive = if area.is_pending() {
            !keep || area.keep(batch.clone(), self.limits.buffer).is_ok()
        } else {
            match area.deliver(batch, batch.since, upserted, removed, ctx) {
                Some(event) => self.send(&mut state, Event::Area(event)),
                None => true,
            }
        };
        drop(state);
        if !alive {
            self.end_id(subscriber.id);
        }
    }

    /// A whole world instead of changes: every area starts over from `ctx`.
    fn reopen_all(&self, batch: &Arc<SharedBatch>, ctx: &AreaContext<'_>) {
        let grid = SpatialGrid::build(ctx.world.objects(), ctx.world.size(), GRID_CELL, ctx.now_ms);
        for subscriber in self.area_subscribers.collect(|_| true) {
            let mut state = lock(&subscriber.state);
            let alive = match &mut state.area {
                Some(area) if area.is_pending() => area.keep(batch.clone(), 0).is_ok(),
                Some(area) => match area.reopen(&grid, ctx) {
                    Some(events) => self.send_area(&mut state, events),
                    None => false,
                },
                None => true,
            };
            drop(state);
            if !alive {
                self.end_id(subscriber.id);
            }
        }
    }

    /// An area refresh at `now_ms`, with `grid` the objects of `world` positioned then:
    /// every area that may have something entering or leaving is told what did, and is
    /// registered anew around its ship.
    pub fn refresh(&self, grid: &SpatialGrid, world: &WorldSnapshot, now_ms: i64) {
        let (margin_units, speed, sweep, stamp, touched) = {
            let mut routing = lock(&self.routing);
            routing.speed = routing.speed.max(max_speed(world.objects()));
            let sweep = routing
                .refreshed_ms
                .is_none_or(|at| now_ms.saturating_sub(at) > self.horizon_ms())
                || routing.speed > routing.registered_speed;
            routing.registered_speed = routing.speed;
            routing.refreshed_ms = Some(now_ms);
            routing.stamp += 1;
            (
                margin(routing.speed, self.tick_ms()),
                routing.speed,
                sweep,
                routing.stamp,
                std::mem::take(&mut routing.touched),
            )
        };
        let cells = self.grid_for(world);
        let candidates = if sweep {
            self.area_subscribers.collect(|_| true)
        } else {
            let mut moving: Vec<_> = world
                .objects()
                .filter(|o| o.speed > 0.0)
                .map(|o| cells.cell_of(o.position_at(now_ms, world.size())))
                .collect();
            moving.sort_unstable();
            moving.dedup();
            let mut candidates = touched;
            for cell in moving {
                self.cells.subscribers(cell, &mut candidates);
            }
            candidates
        };
        let ctx = AreaContext {
            world,
            now_ms,
            margin: margin_units,
        };
        for subscriber in candidates {
            if !subscriber.first_look(stamp) {
                continue;
            }
            subscriber.untouch();
            let mut state = lock(&subscriber.state);
            if state.queue.is_none() {
                continue;
            }
            let Some(area) = state.area.as_mut().filter(|a| !a.is_pending()) else {
                continue;
            };
            let event = area.refresh(grid, &ctx);
            let moved = area.center(&ctx).and_then(|center| {
                let reach =
                    registration_radius(area.radius(), margin_units, speed, self.horizon_ms());
                let to = cells.cover(center, reach);
                (area.cells != Some(to)).then(|| (area.cells.replace(to), to))
            });
            if let Some((from, to)) = moved {
                self.cells.move_to(&subscriber, from.as_ref(), Some(&to));
            }
            let alive = event.is_none_or(|event| self.send(&mut state, Event::Area(event)));
            drop(state);
            if !alive {
                self.end_id(subscriber.id);
            }
        }
    }
}
