//! Area-of-interest streams: what one subscriber is told, computed from the world's
//! changes and the spatial grid (the rules are in `game_domain::interest`).

use game_domain::geometry::WorldSize;
use game_domain::interest::{Interest, SpatialGrid};
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::views::WorldDeltaView;
use game_domain::world::WorldSnapshot;
use game_domain::world_history::Delta;
use hyper::body::Bytes;

use super::event;
use crate::response::{bodies, to_json};

/// The world as the hub sees it at one instant: for centring areas and their margin.
pub struct AreaContext<'a> {
    /// The world at the latest version.
    pub world: &'a WorldSnapshot,
    /// Now, in server time.
    pub now_ms: i64,
    /// How far beyond its radius each subscriber must know objects.
    pub margin: f64,
}

impl AreaContext<'_> {
    fn size(&self) -> WorldSize {
        self.world.size()
    }

    /// Where the ship `id` is now, if it exists.
    pub fn center(&self, ship: ObjectId) -> Option<(f64, f64)> {
        let ship = self.world.get(ship)?;
        Some(ship.position_at(self.now_ms, self.size()))
    }
}

/// More batches arrived before a stream's opening than it may queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// One area subscriber's state.
#[derive(Debug)]
pub struct AreaSubscriber {
    ship: ObjectId,
    interest: Interest,
    /// Batches that arrived between registration and the opening, to replay once the
    /// opening is known (`None` once it is).
    pending: Option<Vec<(u64, Delta)>>,
}

impl AreaSubscriber {
    /// A subscriber around `ship` with `radius`, waiting for its opening.
    pub fn new(ship: ObjectId, radius: f64) -> AreaSubscriber {
        AreaSubscriber {
            ship,
            interest: Interest::new(radius),
            pending: Some(Vec::new()),
        }
    }

    /// The opening: the stored states within `radius + margin` of the ship in `ctx` (a
    /// linear scan of the snapshot, once per stream), as an event at version `version`;
    /// then the batches that arrived meanwhile and lead past it. `None` when the ship no
    /// longer exists.
    pub fn open(&mut self, ctx: &AreaContext<'_>) -> Option<Vec<Bytes>> {
        let center = ctx.center(self.ship)?;
        let grid = SpatialGrid::build(
            ctx.world.objects(),
            ctx.size(),
            self.interest.radius(),
            ctx.now_ms,
        );
        let objects = self.interest.snapshot(&grid, ctx.world, center, ctx.margin);
        let version = ctx.world.version();
        let mut events = vec![snapshot_event(
            ctx,
            version,
            self.interest.radius(),
            objects,
        )];
        for (batch_version, changes) in self.pending.take().unwrap_or_default() {
            if batch_version > version {
                events.extend(self.changes(version, batch_version, &changes, ctx));
            }
        }
        Some(events)
    }

    /// True until [`AreaSubscriber::open`] ran.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// This subscriber's share of a batch of `changes` leading from `since` to
    /// `version`, framed; or nothing when none of it concerns the subscriber. Before the
    /// opening, the batch is kept for it instead ([`Overflow`] past `room` batches).
    pub fn batch(
        &mut self,
        since: u64,
        version: u64,
        changes: &Delta,
        ctx: &AreaContext<'_>,
        room: usize,
    ) -> Result<Option<Bytes>, Overflow> {
        if let Some(pending) = &mut self.pending {
            if pending.len() >= room {
                return Err(Overflow);
            }
            pending.push((version, changes.clone()));
            return Ok(None);
        }
        Ok(self.changes(since, version, changes, ctx))
    }

    /// Starts over from a fresh opening (after the change log could not say what changed).
    pub fn reopen(&mut self, ctx: &AreaContext<'_>) -> Option<Vec<Bytes>> {
        self.pending = Some(Vec::new());
        self.open(ctx)
    }

    fn changes(
        &mut self,
        since: u64,
        version: u64,
        changes: &Delta,
        ctx: &AreaContext<'_>,
    ) -> Option<Bytes> {
        let center = ctx.center(self.ship)?;
        let mine = self
            .interest
            .filter(changes, ctx.size(), center, ctx.margin, ctx.now_ms);
        delta_event(ctx, since, version, mine)
    }

    /// What entered and left the area since the last refresh (a tick), framed; nothing
    /// when neither happened or before the opening.
    pub fn refresh(&mut self, grid: &SpatialGrid, ctx: &AreaContext<'_>) -> Option<Bytes> {
        if self.is_pending() {
            return None;
        }
        let center = ctx.center(self.ship)?;
        let moved = self.interest.refresh(grid, ctx.world, center, ctx.margin);
        let version = ctx.world.version();
        delta_event(ctx, version, version, moved)
    }
}

fn snapshot_event(
    ctx: &AreaContext<'_>,
    version: u64,
    radius: f64,
    objects: Vec<SpaceObject>,
) -> Bytes {
    let body = AreaSnapshot {
        world_size: ctx.size(),
        space_objects: objects,
        current_time: ctx.now_ms,
        version,
        full: true,
        radius,
    };
    frame(version, "snapshot", to_json(&body))
}

fn delta_event(ctx: &AreaContext<'_>, since: u64, version: u64, delta: Delta) -> Option<Bytes> {
    if delta.is_empty() {
        return None;
    }
    let view = WorldDeltaView {
        world_size: ctx.size(),
        version,
        since,
        upserted: delta.upserted,
        removed: delta.removed,
        current_time: ctx.now_ms,
    };
    Some(frame(version, "delta", to_json(&bodies::Delta::of(&view))))
}

fn frame(version: u64, name: &str, json: serde_json::Result<Vec<u8>>) -> Bytes {
    match json {
        Ok(json) => event::event(version, name, &json),
        Err(error) => {
            // Plain numbers and strings always serialise; this cannot happen.
            tracing::error!(%error, "world stream: serialisation failed");
            event::heartbeat()
        }
    }
}

/// The opening of an area stream: the objects near the ship (stored states).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AreaSnapshot {
    world_size: WorldSize,
    space_objects: Vec<SpaceObject>,
    current_time: i64,
    version: u64,
    full: bool,
    /// The radius this stream follows (objects up to a margin beyond it are included).
    radius: f64,
}
