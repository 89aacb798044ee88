//! Following some cells: the partial replica, which cells it follows and why (the open
//! areas' reach, ships being located for areas about to open), and the join and leave of
//! cells as areas move. The link drives it; the bookkeeping is the engine's
//! ([`game_cache::relay::PartialReplica`], [`game_cache::relay::FollowSet`]).

use std::collections::{BTreeMap, BTreeSet};

use game_cache::fanout::{FanoutHub, ROUTE_CELL};
use game_cache::relay::{FollowSet, PartialReplica, Subjects, Wanted, wanted};
use game_domain::geometry::WorldSize;
use game_domain::interest::{CellGrid, CellId, travel};
use game_domain::space_object::ObjectId;
use game_domain::world::WorldSnapshot;
use tokio::sync::mpsc;

use super::cells::CellSubscriptions;
use super::fetch::{Ask, fetch};
use crate::relay::config::RelayConfig;

/// How long a cell stays followed after no area needs it (an area moving back and forth
/// across a border does not join and leave it every tick).
const HOLD_MS: i64 = 2_000;

/// How long the cells around a located ship are followed before its area opens.
const LOCATE_HOLD_MS: i64 = 5_000;

/// How far ahead of its areas an edge follows cells, in time at the fastest speed: what
/// a join takes (a snapshot's round trip) and an arrival's wait for the owner's tick.
const LEAD_MS: i64 = 1_000;

/// Why the edge cannot (or can no longer) follow some cells.
#[derive(Debug)]
pub enum Stop {
    /// The areas need more cells than `--relay-max-cell-subscriptions`: follow them all.
    TooMany,
    /// A subscription, a snapshot or a join failed: fetch again.
    Failed(String),
}

/// What the link needs to talk to the owner.
pub struct Wire<'a> {
    /// The NATS client.
    pub client: &'a async_nats::Client,
    /// The world's subjects.
    pub subjects: &'a Subjects,
    /// The relay's flags.
    pub config: &'a RelayConfig,
}

/// The replica of some cells and their subscriptions.
pub struct CellFollower {
    replica: PartialReplica,
    grid: CellGrid,
    follow: FollowSet,
    /// Cells around ships located for areas about to open, each until when (at most one
    /// entry per cell of the grid).
    located: BTreeMap<CellId, i64>,
    subscriptions: CellSubscriptions,
    max: usize,
    /// Cells joined since [`CellFollower::take_joined`] last looked.
    joined: usize,
}

impl CellFollower {
    /// Follows what `hub`'s open areas need at `now_ms` in a world of `size` (the owner's
    /// as last installed; asked again with the owner's if the snapshot shows another):
    /// subscribes to those cells, then fetches a snapshot of them. What the
    /// subscriptions receive comes out of the receiver.
    pub async fn start(
        wire: &Wire<'_>,
        hub: &FanoutHub,
        size: WorldSize,
        now_ms: i64,
    ) -> Result<(CellFollower, mpsc::Receiver<async_nats::Message>), Stop> {
        let max = wire.config.relay_max_cell_subscriptions;
        let mut size = size;
        for _ in 0..2 {
            let grid = CellGrid::new(size, ROUTE_CELL);
            let cells = areas_cells(&grid, hub, size, now_ms, max)?;
            let (mut subscriptions, receiver) = CellSubscriptions::new(
                wire.client.clone(),
                wire.subjects.clone(),
                grid.dimensions().0,
                max,
                wire.config.relay_buffer,
            );
            subscriptions
                .follow(&Wanted::Cells(cells.clone()))
                .await
                .map_err(|e| Stop::Failed(e.to_string()))?;
            let ask = Ask::Cells(cells.iter().copied().collect());
            let parts = fetch(wire.client, wire.subjects, wire.config, ask)
                .await
                .map_err(Stop::Failed)?;
            let replica = PartialReplica::from_parts(parts, &cells)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            if replica.world().size() != size {
                // The first round of an edge whose size flags differ from the owner's:
                // the cells are the owner's grid's.
                size = replica.world().size();
                continue;
            }
            let mut follow = FollowSet::new();
            follow.update(&cells, now_ms, HOLD_MS);
            let follower = CellFollower {
                replica,
                grid,
                follow,
                located: BTreeMap::new(),
                subscriptions,
                max,
                joined: cells.len(),
            };
            return Ok((follower, receiver));
        }
        Err(Stop::Failed("the owner's world size keeps changing".into()))
    }

    /// The replica.
    pub fn replica(&mut self) -> &mut PartialReplica {
        &mut self.replica
    }

    /// The objects of the cells followed.
    pub fn world(&self) -> &WorldSnapshot {
        self.replica.world()
    }

    /// How many cells it joined since the last call (for metrics).
    pub fn take_joined(&mut self) -> usize {
        std::mem::take(&mut self.joined)
    }

    /// How many NATS subscriptions to cells it holds.
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.count()
    }

    /// Moves the cells followed toward what the areas (and located ships) need at
    /// `now_ms`: joins new cells at once, leaves cells no longer needed after a while.
    /// True when the cells changed.
    pub async fn update(
        &mut self,
        wire: &Wire<'_>,
        hub: &FanoutHub,
        now_ms: i64,
    ) -> Result<bool, Stop> {
        let size = self.replica.world().size();
        let mut cells = areas_cells(&self.grid, hub, size, now_ms, self.max)?;
        self.located.retain(|_, until| *until > now_ms);
        cells.extend(self.located.keys().copied());
        if cells.len() > self.max {
            return Err(Stop::TooMany);
        }
        let change = self.follow.update(&cells, now_ms, HOLD_MS);
        if change.join.is_empty() && change.leave.is_empty() {
            return Ok(false);
        }
        if !change.leave.is_empty() {
            self.replica.leave(&change.leave, now_ms);
        }
        // Subscribed before the snapshot is asked for: what is published meanwhile
        // waits in the subscription, and what the snapshot holds is skipped.
        self.subscriptions
            .follow(&Wanted::Cells(self.follow.cells().clone()))
            .await
            .map_err(|e| Stop::Failed(e.to_string()))?;
        if !change.join.is_empty() {
            let ask = Ask::Cells(change.join.iter().copied().collect());
            let parts = fetch(wire.client, wire.subjects, wire.config, ask)
                .await
                .map_err(Stop::Failed)?;
            self.replica
                .join(parts, &change.join)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            self.joined += change.join.len();
        }
        Ok(true)
    }

    /// Finds `ships` at the owner and follows the cells that areas of their radius
    /// around them need, for a while (until their areas open and keep them); returns
    /// the ships found.
    pub async fn locate(
        &mut self,
        wire: &Wire<'_>,
        hub: &FanoutHub,
        ships: &[(ObjectId, f64)],
        now_ms: i64,
    ) -> Result<Vec<ObjectId>, Stop> {
        let ask = Ask::Objects(ships.iter().map(|(id, _)| *id).collect());
        let parts = fetch(wire.client, wire.subjects, wire.config, ask)
            .await
            .map_err(Stop::Failed)?;
        let size = self.replica.world().size();
        let mut found = Vec::new();
        for object in parts.iter().flat_map(|p| &p.objects) {
            let Some((_, radius)) = ships.iter().find(|(id, _)| *id == object.id) else {
                continue;
            };
            let speed = hub.speed().max(object.speed);
            let reach = hub.reach_of(*radius, speed) + travel(speed, LEAD_MS);
            let center = object.position_at(now_ms, size);
            let until = now_ms + LOCATE_HOLD_MS;
            for cell in self.grid.cover(center, reach).cells() {
                self.located.insert(cell, until);
            }
            found.push(object.id);
        }
        self.update(wire, hub, now_ms).await?;
        Ok(found)
    }
}

/// The cells `hub`'s open areas need at `now_ms`: their reach, and how far anything may
/// travel while a cell joins. [`Stop::TooMany`] past `max`.
fn areas_cells(
    grid: &CellGrid,
    hub: &FanoutHub,
    size: WorldSize,
    now_ms: i64,
    max: usize,
) -> Result<BTreeSet<CellId>, Stop> {
    let lead = travel(hub.speed(), LEAD_MS);
    let reaches = hub
        .area_reaches(size, now_ms)
        .into_iter()
        .map(|(center, reach)| (center, reach + lead));
    match wanted(grid, reaches, max) {
        Wanted::Cells(cells) => Ok(cells),
        Wanted::All => Err(Stop::TooMany),
    }
}

/// True when `hub`'s open areas need at most `max` cells in a world of `size` (an edge
/// holding the whole world may go back to following cells).
pub fn areas_fit(hub: &FanoutHub, size: WorldSize, now_ms: i64, max: usize) -> bool {
    let grid = CellGrid::new(size, ROUTE_CELL);
    areas_cells(&grid, hub, size, now_ms, max).is_ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use game_cache::fanout::{Follow, HubLimits};
    use game_domain::space_object::{ObjectKind, SpaceObject};
    use game_domain::world::World;

    use super::*;

    const SIZE: WorldSize = WorldSize {
        width: 4_000.0,
        height: 4_000.0,
    };

    #[test]
    fn an_area_needs_the_cells_of_its_reach_and_a_faster_world_needs_more() {
        let ship = SpaceObject {
            id: 1,
            kind: ObjectKind::PlayerShip,
            x: 2_000.0,
            y: 2_000.0,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: 0,
        };
        let world = World::versioned(SIZE, [ship], 0, 1).snapshot();
        let hub = FanoutHub::new(
            HubLimits {
                max_streams: 4,
                buffer: 4,
            },
            Duration::from_millis(250),
        );
        let grid = CellGrid::new(SIZE, ROUTE_CELL);
        assert!(areas_cells(&grid, &hub, SIZE, 0, 0).is_ok_and(|c| c.is_empty()));
        let area = hub
            .subscribe(
                "s".into(),
                i64::MAX,
                Follow::Area {
                    ship: 1,
                    radius: 300.0,
                },
            )
            .expect("an area");
        assert!(hub.open_area(area.id, &world, 0));
        // Nothing moves: reach 300 + a margin of 1 + 1, cells of 4,000 / 15 units: x and
        // y from 1,697 to 2,303 span cells 6 to 8, 3 × 3 of them.
        let cells = areas_cells(&grid, &hub, SIZE, 0, 9).expect("9 cells fit");
        let expected: BTreeSet<CellId> = (6..=8)
            .flat_map(|row| (6..=8).map(move |column| row * 15 + column))
            .collect();
        assert_eq!(cells, expected);
        assert!(areas_fit(&hub, SIZE, 0, 9));
        assert!(!areas_fit(&hub, SIZE, 0, 8));
        assert!(matches!(
            areas_cells(&grid, &hub, SIZE, 0, 8),
            Err(Stop::TooMany)
        ));
        // Something at 600 units a minute (500 a second): a margin of 251, 250 of travel
        // in two ticks and 500 of lead: 1,303 around the ship, 11 × 11 cells.
        hub.allow_speed(600.0);
        let cells = areas_cells(&grid, &hub, SIZE, 0, 225).expect("fits");
        assert_eq!(cells.len(), 121);
    }
}
