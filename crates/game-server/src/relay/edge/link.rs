//! The edge's link to the owner: subscribe to every cell (the wildcard, through
//! [`super::cells`]) and to the session notices, fetch a snapshot, then move the replica
//! forward batch by batch and feed the edge's own hub from it, as the owner's feeder does
//! from its game. A gap or another epoch fetches
//! a snapshot again (open streams get it as a fresh `snapshot` event); a lost link ends
//! every stream with `ended` `relay_lost` until NATS is back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use game_cache::fanout::{BatchChanges, Encoded, HEARTBEAT, SharedBatch, refresh_areas};
use game_cache::relay::{
    Beacon, CellMessage, Replica, SessionNotice, SnapshotPart, SnapshotRequest, Step, Subjects,
    Wanted,
};
use game_domain::views::WorldView;
use game_domain::world::WorldSnapshot;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::cells::CellSubscriptions;
use super::repo::EdgeRepo;
use crate::app::App;
use crate::relay::config::RelayConfig;

/// The reason an edge's streams end with when its link to NATS is lost.
pub const RELAY_LOST: &str = "relay_lost";

/// How long the edge waits before it asks again after a failed snapshot.
const RETRY: Duration = Duration::from_millis(250);

/// Follows the owner until the process stops (module docs).
pub async fn follow(
    app: Arc<App<EdgeRepo>>,
    client: async_nats::Client,
    mut connected: watch::Receiver<bool>,
    subjects: Subjects,
    config: RelayConfig,
) {
    let hub = app.streams.clone();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ticks = tokio::time::interval(hub.tick());
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut followed_before = false;
    loop {
        if connected.wait_for(|up| *up).await.is_err() {
            return;
        }
        // Subscribed before the snapshot is asked for: what is published meanwhile waits
        // in the subscription, and what the snapshot already holds is skipped. Every
        // cell, through the wildcard (the replica is of the whole world); the
        // subscriptions of the previous round are dropped with it.
        let (mut subscriptions, mut cells) =
            CellSubscriptions::new(client.clone(), subjects.clone(), 1, 0, config.relay_buffer);
        let subscribed = match subscriptions.follow(&Wanted::All).await {
            Ok(()) => match (
                client.subscribe(subjects.sessions()).await,
                client.subscribe(subjects.owner()).await,
            ) {
                (Ok(sessions), Ok(beacons)) => Ok((sessions, beacons)),
                (Err(error), _) | (_, Err(error)) => Err(error),
            },
            Err(error) => Err(error),
        };
        let (mut sessions, mut beacons) = match subscribed {
            Ok(both) => both,
            Err(error) => {
                tracing::warn!(%error, "edge: subscribing failed; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let mut replica = match snapshot(&client, &subjects, &config).await {
            Ok(replica) => replica,
            Err(why) => {
                tracing::warn!(why, "edge: no snapshot from the owner; asking again");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        app.game.repo().install(replica.world());
        tracing::info!(
            epoch = replica.epoch(),
            version = replica.world().version(),
            objects = replica.world().len(),
            cell_subscriptions = subscriptions.count(),
            all_cells = subscriptions.follows_all(),
            "edge: following the owner"
        );
        if followed_before {
            // Streams that stayed open (a takeover, a gap) get the world afresh.
            fresh_snapshot(&app, replica.world());
        }
        followed_before = true;
        let mut before = (replica.world().clone(), app.game.now_ms());
        let why = loop {
            tokio::select! {
                message = cells.recv() => {
                    let Some(message) = message else { break "the cells' subscription ended".to_owned() };
                    let Ok(message) = serde_json::from_slice::<CellMessage>(&message.payload) else {
                        tracing::warn!("edge: a cell message that is not one; ignored");
                        continue;
                    };
                    match replica.receive(message) {
                        Step::Applied(applied) => {
                            app.game.repo().install(replica.world());
                            let now_ms = app.game.now_ms();
                            let batch = SharedBatch::new(
                                applied.since,
                                applied.version,
                                now_ms,
                                replica.world().size(),
                                BatchChanges::Delta {
                                    upserted: applied.delta.upserted.into_iter().map(Encoded::new).collect(),
                                    removed: applied.delta.removed,
                                },
                            );
                            let at = game_cache::fanout::Before { world: &before.0, at_ms: before.1 };
                            hub.broadcast(&Arc::new(batch), replica.world(), now_ms, Some(at));
                            before = (replica.world().clone(), now_ms);
                        }
                        Step::Resync(resync) => break format!("{resync:?}"),
                        Step::Waiting | Step::Old | Step::Quiet => {}
                    }
                }
                beacon = beacons.next() => {
                    let Some(beacon) = beacon else { break "the beacons' subscription ended".to_owned() };
                    if let Ok(beacon) = serde_json::from_slice::<Beacon>(&beacon.payload)
                        && let Some(resync) = replica.beacon(beacon)
                    {
                        break format!("{resync:?}");
                    }
                }
                notice = sessions.next() => {
                    let Some(notice) = notice else { break "the sessions' subscription ended".to_owned() };
                    if let Ok(SessionNotice::Revoked { token_hash }) = serde_json::from_slice(&notice.payload) {
                        hub.close_session(&token_hash);
                    }
                }
                changed = connected.changed() => {
                    if changed.is_err() { return; }
                    if !*connected.borrow() {
                        app.game.repo().lose_feed();
                        let ended = hub.end_all_because(RELAY_LOST);
                        break format!("NATS link lost ({ended} streams ended)");
                    }
                }
                _ = heartbeat.tick() => hub.heartbeat(app.game.now_ms()),
                _ = ticks.tick() => {
                    if hub.has_areas()
                        && let Some(used) = refresh_areas(&hub, replica.world().clone(), app.game.now_ms()).await
                    {
                        before = used;
                    }
                }
            }
        };
        tracing::warn!(why, "edge: fetching the world again");
    }
}

/// Sends every open stream the whole world: whole-world streams a `snapshot` event,
/// areas their opening again.
fn fresh_snapshot(app: &App<EdgeRepo>, world: &WorldSnapshot) {
    let now_ms = app.game.now_ms();
    let batch = SharedBatch::new(
        world.version(),
        world.version(),
        now_ms,
        world.size(),
        BatchChanges::Full(WorldView::of(world, now_ms)),
    );
    app.streams.broadcast(&Arc::new(batch), world, now_ms, None);
}

/// Asks the owner for its world and gathers the parts of its answer.
async fn snapshot(
    client: &async_nats::Client,
    subjects: &Subjects,
    config: &RelayConfig,
) -> Result<Replica, String> {
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    let request = serde_json::to_vec(&SnapshotRequest {
        part_size: config.relay_snapshot_part,
        cells: None,
    })
    .map_err(|e| e.to_string())?;
    client
        .publish_with_reply(subjects.snapshot(), inbox, Bytes::from(request))
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + config.snapshot_timeout();
    let mut parts: Vec<SnapshotPart> = Vec::new();
    loop {
        let answer = tokio::time::timeout_at(deadline, answers.next())
            .await
            .map_err(|_| "no complete answer in time".to_owned())?
            .ok_or("the answer's subscription ended")?;
        let part: SnapshotPart =
            serde_json::from_slice(&answer.payload).map_err(|e| e.to_string())?;
        let count = usize::try_from(part.parts).unwrap_or(usize::MAX);
        parts.push(part);
        if parts.len() >= count {
            let _ = answers.unsubscribe().await;
            return Replica::from_parts(parts).map_err(|e| e.to_string());
        }
    }
}
