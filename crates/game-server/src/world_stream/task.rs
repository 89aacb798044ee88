//! The task that feeds the hub: batches of the world's changes as they commit, area
//! refreshes on a tick while area streams are open, keep-alives.

use std::sync::Arc;
use std::time::Duration;

use game_domain::interest::{SpatialGrid, margin, max_speed};
use game_domain::views::WorldSync;
use game_domain::world::WorldSnapshot;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use super::area::AreaContext;
use super::event;
use super::hub::{BATCH_WINDOW, HEARTBEAT};
use crate::app::App;
use crate::backend::Backend;
use crate::response::bodies::{Delta, FullWorld};
use crate::response::to_json;

/// Cells of the spatial grid, in world units: small enough that an area query looks at
/// few objects, large enough that it looks at few cells.
const GRID_CELL: f64 = 128.0;

fn interval(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// The speeds the area margin allows for; it only grows (a faster object refreshes every
/// area at once, so nothing can slip in unseen).
struct Margin {
    speed: f64,
    tick: Duration,
}

impl Margin {
    fn units(&self) -> f64 {
        let tick_ms = i64::try_from(self.tick.as_millis()).unwrap_or(i64::MAX);
        margin(self.speed, tick_ms)
    }
}

/// Sends the world's changes to the hub's streams until the hub closes: wakes on a new
/// version, waits [`BATCH_WINDOW`] to gather more, asks the game what changed since the
/// last batch and broadcasts it; refreshes areas every `area_tick`; sends heartbeats.
pub async fn broadcast_changes<R: Backend>(
    app: Arc<App<R>>,
    mut versions: watch::Receiver<u64>,
    area_tick: Duration,
) {
    let hub = &app.streams;
    let mut last = *versions.borrow_and_update();
    let mut heartbeat = interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut ticks = interval(area_tick);
    let mut margin = Margin {
        speed: 0.0,
        tick: area_tick,
    };
    let closing = hub.closing.notified();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            changed = versions.changed() => if changed.is_err() { break },
            _ = heartbeat.tick() => {
                hub.heartbeat(app.game.now_ms());
                continue;
            }
            _ = ticks.tick() => {
                if app.streams.has_areas() {
                    refresh_areas(&app, &mut margin).await;
                }
                continue;
            }
            () = &mut closing => break,
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        if hub.is_empty() {
            // Nobody to tell: a stream opened later starts from its own opening.
            last = *versions.borrow_and_update();
            continue;
        }
        versions.borrow_and_update();
        let (sync, world) = match (
            app.game.world_since(last).await,
            app.game.world_snapshot().await,
        ) {
            (Ok(sync), Ok(world)) => (sync, world),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "world stream: reading the changes failed");
                continue;
            }
        };
        let (version, name, json, changes) = match &sync {
            WorldSync::Delta(delta) => (
                delta.version,
                "delta",
                to_json(&Delta::of(delta)),
                Some(delta.changes()),
            ),
            WorldSync::Full(world) => (
                world.version,
                "snapshot",
                to_json(&FullWorld::of(world)),
                None,
            ),
        };
        if version == last {
            continue;
        }
        let json = match json {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "world stream: serialisation failed");
                continue;
            }
        };
        let faster = changes
            .as_ref()
            .is_some_and(|c| max_speed(&c.upserted) > margin.speed);
        let bytes = event::event(version, name, &json);
        let (since, now_ms, margin_units) = (last, app.game.now_ms(), margin.units());
        let hub_app = app.clone();
        // Matching the changes against every area stream costs in proportion to the
        // streams: off the async workers, so requests never wait behind it.
        let sent = tokio::task::spawn_blocking(move || {
            let ctx = AreaContext {
                world: &world,
                now_ms,
                margin: margin_units,
            };
            hub_app
                .streams
                .broadcast(since, version, bytes, changes.as_ref(), &ctx);
        })
        .await;
        if let Err(error) = sent {
            tracing::error!(%error, "world stream: the broadcast failed");
        }
        last = version;
        if faster && app.streams.has_areas() {
            // Something moves faster than the margin allowed for: widen it everywhere now.
            refresh_areas(&app, &mut margin).await;
        }
    }
}

/// One area tick: the grid of the world now, every area stream's enters and leaves;
/// computed on the blocking pool (it positions the objects near every area stream).
async fn refresh_areas<R: Backend>(app: &Arc<App<R>>, margin: &mut Margin) {
    let world: WorldSnapshot = match app.game.world_snapshot().await {
        Ok(world) => world,
        Err(error) => {
            tracing::warn!(%error, "world stream: reading the world failed");
            return;
        }
    };
    margin.speed = margin.speed.max(max_speed(world.objects()));
    let (now_ms, margin_units) = (app.game.now_ms(), margin.units());
    let hub_app = app.clone();
    let refreshed = tokio::task::spawn_blocking(move || {
        let grid = SpatialGrid::build(world.objects(), world.size(), GRID_CELL, now_ms);
        let ctx = AreaContext {
            world: &world,
            now_ms,
            margin: margin_units,
        };
        hub_app.streams.refresh_areas(&grid, &ctx);
    })
    .await;
    if let Err(error) = refreshed {
        tracing::error!(%error, "world stream: the area refresh failed");
    }
}
