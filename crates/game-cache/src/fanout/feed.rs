//! The task that feeds a hub from a game: batches of the world's changes as they commit,
//! area refreshes every tick while areas are followed, keep-alives.

use std::sync::Arc;
use std::time::Duration;

use game_domain::game::Game;
use game_domain::interest::SpatialGrid;
use game_domain::repository::Repository;
use game_domain::views::WorldSync;
use game_domain::world::WorldSnapshot;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use super::event::{BatchChanges, Encoded, SharedBatch};
use super::hub::{FanoutHub, GRID_CELL};
use super::route::Before;

/// How long the feeder gathers commits into one batch after the first one.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// How often subscribers get a keep-alive (and expired sessions are ended).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

fn interval(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// Feeds `hub` from `game` until the hub closes: wakes on a new version (`versions`, the
/// repository's version channel), waits [`BATCH_WINDOW`] to gather more, asks what
/// changed since the last batch and fans it out; refreshes areas every `hub.tick()`;
/// sends keep-alives every [`HEARTBEAT`]. The fan-out runs on the blocking pool, so
/// requests never wait behind it.
pub async fn feed<R: Repository + 'static>(
    game: Arc<Game<R>>,
    hub: Arc<FanoutHub>,
    mut versions: watch::Receiver<u64>,
) {
    let mut last = *versions.borrow_and_update();
    let mut heartbeat = interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut ticks = interval(hub.tick());
    // The world as the last batch or refresh saw it: where removed objects were.
    let mut before: Option<(WorldSnapshot, i64)> = None;
    let closing = hub.closing.notified();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            changed = versions.changed() => if changed.is_err() { break },
            _ = heartbeat.tick() => {
                hub.heartbeat(game.now_ms());
                continue;
            }
            _ = ticks.tick() => {
                if hub.has_areas() {
                    before = refresh(&game, &hub).await.or(before);
                }
                continue;
            }
            () = &mut closing => break,
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        if hub.is_empty() {
            // Nobody to tell: a subscription opened later starts from its own opening.
            last = *versions.borrow_and_update();
            continue;
        }
        versions.borrow_and_update();
        let (sync, world) = match (game.world_since(last).await, game.world_snapshot().await) {
            (Ok(sync), Ok(world)) => (sync, world),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "world fan-out: reading the changes failed");
                continue;
            }
        };
        let batch = match sync {
            WorldSync::Delta(delta) => SharedBatch::new(
                last,
                delta.version,
                delta.current_time,
                delta.world_size,
                BatchChanges::Delta {
                    upserted: delta.upserted.into_iter().map(Encoded::new).collect(),
                    removed: delta.removed,
                },
            ),
            WorldSync::Full(view) => SharedBatch::new(
                last,
                view.version,
                view.current_time,
                view.world_size,
                BatchChanges::Full(view),
            ),
        };
        if batch.version == last {
            continue;
        }
        let faster = hub.outpaces(&batch);
        let version = batch.version;
        let now_ms = game.now_ms();
        let fan_hub = hub.clone();
        let previous = before.take();
        let sent = tokio::task::spawn_blocking(move || {
            let batch = Arc::new(batch);
            let at = previous.as_ref().map(|(world, at_ms)| Before {
                world,
                at_ms: *at_ms,
            });
            fan_hub.broadcast(&batch, &world, now_ms, at);
            world
        })
        .await;
        match sent {
            Ok(world) => before = Some((world, now_ms)),
            Err(error) => tracing::error!(%error, "world fan-out: the broadcast failed"),
        }
        last = version;
        if faster && hub.has_areas() {
            // Something moves faster than the margin allowed for: widen it everywhere now.
            before = refresh(&game, &hub).await.or(before);
        }
    }
}

/// One area refresh on the blocking pool: the grid of the world now, every area that may
/// have changed. Returns the world it used.
async fn refresh<R: Repository + 'static>(
    game: &Arc<Game<R>>,
    hub: &Arc<FanoutHub>,
) -> Option<(WorldSnapshot, i64)> {
    let world = match game.world_snapshot().await {
        Ok(world) => world,
        Err(error) => {
            tracing::warn!(%error, "world fan-out: reading the world failed");
            return None;
        }
    };
    let now_ms = game.now_ms();
    refresh_areas(hub, world, now_ms).await
}

/// Refreshes every area that may have changed against `world` at `now_ms`, on the blocking
/// pool (building the grid is O(world): it must not hold up an async worker). Returns the
/// world and instant it used, the `Before` of the next broadcast; `None` if the task
/// failed. A feeder of its own (an edge's replica) calls this as [`feed`] does.
pub async fn refresh_areas(
    hub: &Arc<FanoutHub>,
    world: WorldSnapshot,
    now_ms: i64,
) -> Option<(WorldSnapshot, i64)> {
    let hub = hub.clone();
    let refreshed = tokio::task::spawn_blocking(move || {
        let grid = SpatialGrid::build(world.objects(), world.size(), GRID_CELL, now_ms);
        hub.refresh(&grid, &world, now_ms);
        world
    })
    .await;
    match refreshed {
        Ok(world) => Some((world, now_ms)),
        Err(error) => {
            tracing::error!(%error, "world fan-out: the area refresh failed");
            None
        }
    }
}
