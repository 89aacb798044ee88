//! The edge's link to the owner. Each round subscribes to the session notices and the
//! beacons, fetches a snapshot, then moves the replica forward batch by batch and feeds
//! the edge's own hub from it, as the owner's feeder does from its game. A round follows
//! either the whole world (every cell, through the wildcard: while a whole-world stream
//! is open, or when the areas need more cells than `--relay-max-cell-subscriptions`) or
//! only the cells its areas need ([`super::follower`]), joining and leaving cells as they
//! move. A gap, another epoch or a change of mode starts a new round (open streams get
//! the world afresh as a `snapshot` event); a lost link ends every stream with `ended`
//! `relay_lost` until NATS is back.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use game_cache::fanout::{BatchChanges, Encoded, HEARTBEAT, SharedBatch, refresh_areas};
use game_cache::relay::{
    Applied, BatchIndex, Beacon, CellMessage, Replica, SessionNotice, Subjects, Wanted,
};
use game_domain::repository::Repository;
use game_domain::views::WorldView;
use game_domain::world::WorldSnapshot;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use super::cells::CellSubscriptions;
use super::demand::Demand;
use super::fetch::{Ask, fetch};
use super::follower::{CellFollower, Stop, Wire, areas_fit};
use super::following::Following;
use super::repo::EdgeRepo;
use crate::app::App;
use crate::relay::config::RelayConfig;

/// The reason an edge's streams end with when its link to NATS is lost.
pub const RELAY_LOST: &str = "relay_lost";

/// How long the edge waits before it asks again after a failed snapshot.
const RETRY: Duration = Duration::from_millis(250);

/// How long an edge keeps the whole world after a whole-world stream asked for it (a
/// stream about to open must find it there).
pub(super) const WHOLE_HOLD_MS: i64 = 10_000;

/// The link's state across rounds.
pub(super) struct Link {
    pub(super) app: Arc<App<EdgeRepo>>,
    client: async_nats::Client,
    subjects: Subjects,
    config: RelayConfig,
    pub(super) demands: mpsc::Receiver<Demand>,
    /// Until when the whole world is kept for streams that asked for it.
    pub(super) whole_until_ms: i64,
    followed_before: bool,
}

/// Follows the owner until the process stops (module docs); `demands` are what streams
/// about to open ask for.
pub async fn follow(
    app: Arc<App<EdgeRepo>>,
    client: async_nats::Client,
    mut connected: watch::Receiver<bool>,
    subjects: Subjects,
    config: RelayConfig,
    demands: mpsc::Receiver<Demand>,
) {
    let mut link = Link {
        app,
        client,
        subjects,
        config,
        demands,
        whole_until_ms: i64::MIN,
        followed_before: false,
    };
    loop {
        if connected.wait_for(|up| *up).await.is_err() {
            return;
        }
        match link.round(&mut connected).await {
            Some(why) => tracing::warn!(why, "edge: fetching the world again"),
            None => return,
        }
    }
}

/// The next message of a subscription the round may not hold (then never).
async fn next_of(subscriber: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match subscriber {
        Some(subscriber) => subscriber.next().await,
        None => std::future::pending().await,
    }
}

impl Link {
    pub(super) fn wire(&self) -> Wire<'_> {
        Wire {
            client: &self.client,
            subjects: &self.subjects,
            config: &self.config,
        }
    }

    /// True when this round should hold the whole world.
    pub(super) fn wants_whole(&self, now_ms: i64) -> bool {
        self.config.relay_max_cell_subscriptions == 0
            || self.app.streams.world_streams() > 0
            || now_ms < self.whole_until_ms
    }

    /// One round (module docs): why it ended, `None` when the process stops.
    async fn round(&mut self, connected: &mut watch::Receiver<bool>) -> Option<String> {
        let subscribed = tokio::try_join!(
            self.client.subscribe(self.subjects.sessions()),
            self.client.subscribe(self.subjects.owner()),
            self.client.subscribe(self.subjects.batch()),
        );
        let (mut sessions, mut beacons, index) = match subscribed {
            Ok(all) => all,
            Err(error) => {
                tokio::time::sleep(RETRY).await;
                return Some(format!("subscribing failed: {error}"));
            }
        };
        let (mut following, mut cells) = match self.start().await {
            Ok(started) => started,
            Err(why) => {
                tokio::time::sleep(RETRY).await;
                return Some(why);
            }
        };
        // The index matters to a round following some cells only.
        let mut index = matches!(following, Following::Cells(_)).then_some(index);
        let app = self.app.clone();
        let hub = app.streams.clone();
        self.install(&mut following);
        let (whole, cell_subscriptions) = match &following {
            Following::Whole(_, subscriptions) => {
                (subscriptions.follows_all(), subscriptions.count())
            }
            Following::Cells(follower) => (false, follower.subscriptions()),
        };
        let world = following.world();
        tracing::info!(
            version = world.version(),
            objects = world.len(),
            whole,
            cell_subscriptions,
            "edge: following the owner"
        );
        if self.followed_before {
            // Streams that stayed open (a takeover, a gap, a change of mode) get the
            // world afresh.
            fresh_snapshot(&app, following.world());
        }
        self.followed_before = true;
        let mut before = (following.world().clone(), app.game.now_ms());
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ticks = tokio::time::interval(hub.tick());
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let stepped: Result<Vec<Applied>, String> = tokio::select! {
                message = cells.recv() => {
                    let Some(message) = message else { return Some("the cells' subscription ended".into()) };
                    let Ok(message) = serde_json::from_slice::<CellMessage>(&message.payload) else {
                        tracing::warn!("edge: a cell message that is not one; ignored");
                        continue;
                    };
                    following.receive(message)
                }
                message = next_of(&mut index) => {
                    let Some(message) = message else { return Some("the index's subscription ended".into()) };
                    let Ok(batch) = serde_json::from_slice::<BatchIndex>(&message.payload) else {
                        tracing::warn!("edge: a batch index that is not one; ignored");
                        continue;
                    };
                    hub.allow_speed(batch.speed);
                    following.index(batch)
                }
                beacon = beacons.next() => {
                    let Some(beacon) = beacon else { return Some("the beacons' subscription ended".into()) };
                    let Ok(beacon) = serde_json::from_slice::<Beacon>(&beacon.payload) else { continue };
                    match following.beacon(beacon) {
                        Some(why) => Err(why),
                        None => continue,
                    }
                }
                notice = sessions.next() => {
                    let Some(notice) = notice else { return Some("the sessions' subscription ended".into()) };
                    if let Ok(SessionNotice::Revoked { token_hash }) = serde_json::from_slice(&notice.payload) {
                        hub.close_session(&token_hash);
                    }
                    continue;
                }
                changed = connected.changed() => {
                    if changed.is_err() { return None; }
                    if !*connected.borrow() {
                        app.game.repo().lose_feed();
                        let ended = hub.end_all_because(RELAY_LOST);
                        return Some(format!("NATS link lost ({ended} streams ended)"));
                    }
                    continue;
                }
                demand = self.demands.recv() => {
                    let demand = demand?;
                    match self.demanded(&mut following, demand).await {
                        Ok(()) => { self.install(&mut following); continue; }
                        Err(why) => return Some(why),
                    }
                }
                _ = heartbeat.tick() => { hub.heartbeat(app.game.now_ms()); continue; }
                _ = ticks.tick() => {
                    let now_ms = app.game.now_ms();
                    match self.retarget(&mut following, now_ms).await {
                        Ok(true) => self.install(&mut following),
                        Ok(false) => {}
                        Err(why) => return Some(why),
                    }
                    if hub.has_areas()
                        && let Some(used) = refresh_areas(&hub, following.world().clone(), now_ms).await
                    {
                        before = used;
                    }
                    continue;
                }
            };
            let applied = match stepped {
                Ok(applied) => applied,
                Err(why) => return Some(why),
            };
            if applied.is_empty() {
                continue;
            }
            self.install(&mut following);
            let world = following.world();
            for applied in applied {
                let now_ms = app.game.now_ms();
                let batch = SharedBatch::new(
                    applied.since,
                    applied.version,
                    now_ms,
                    world.size(),
                    BatchChanges::Delta {
                        upserted: applied
                            .delta
                            .upserted
                            .into_iter()
                            .map(Encoded::new)
                            .collect(),
                        removed: applied.delta.removed,
                    },
                );
                let at = game_cache::fanout::Before {
                    world: &before.0,
                    at_ms: before.1,
                };
                hub.broadcast(&Arc::new(batch), world, now_ms, Some(at));
                before = (world.clone(), now_ms);
            }
        }
    }

    /// Starts a round: the cells the areas need, or the whole world (through the
    /// wildcard) when it should hold the whole world or the areas need too many cells.
    async fn start(&mut self) -> Result<(Following, mpsc::Receiver<async_nats::Message>), String> {
        let now_ms = self.app.game.now_ms();
        if !self.wants_whole(now_ms) {
            let size = self.app.game.repo().world_size();
            match CellFollower::start(&self.wire(), &self.app.streams, size, now_ms).await {
                Ok((follower, receiver)) => {
                    return Ok((Following::Cells(follower), receiver));
                }
                Err(Stop::TooMany) => self.whole_until_ms = now_ms + WHOLE_HOLD_MS,
                Err(Stop::Failed(why)) => return Err(why),
            }
        }
        // Every cell, through the wildcard, subscribed before the snapshot is asked for.
        let (mut subscriptions, receiver) = CellSubscriptions::new(
            self.client.clone(),
            self.subjects.clone(),
            1,
            0,
            self.config.relay_buffer,
        );
        subscriptions
            .follow(&Wanted::All)
            .await
            .map_err(|e| e.to_string())?;
        let parts = fetch(&self.client, &self.subjects, &self.config, Ask::World).await?;
        let replica = Replica::from_parts(parts).map_err(|e| e.to_string())?;
        Ok((Following::Whole(replica, subscriptions), receiver))
    }

    /// Makes the repository's world the round's.
    fn install(&self, following: &mut Following) {
        let repo = self.app.game.repo();
        match following {
            Following::Whole(replica, subscriptions) => {
                repo.install(replica.world(), true);
                repo.set_cell_subscriptions(subscriptions.count());
            }
            Following::Cells(follower) => {
                repo.install(follower.world(), false);
                repo.set_cell_subscriptions(follower.subscriptions());
                repo.count_cells_joined(follower.take_joined());
            }
        }
    }

    /// Every tick: a round following cells moves them with its areas; a round holding the
    /// whole world ends when no stream needs it any more (and the areas need at most half
    /// the cells allowed, so that it does not come straight back). True when the world
    /// changed.
    async fn retarget(&mut self, following: &mut Following, now_ms: i64) -> Result<bool, String> {
        match following {
            Following::Cells(follower) => {
                let changed = follower
                    .update(&self.wire(), &self.app.streams, now_ms)
                    .await;
                self.stopped(changed, now_ms)
            }
            Following::Whole(replica, _) => {
                let half = self.config.relay_max_cell_subscriptions / 2;
                let size = replica.world().size();
                if !self.wants_whole(now_ms) && areas_fit(&self.app.streams, size, now_ms, half) {
                    return Err("no stream needs the whole world: following cells".into());
                }
                Ok(false)
            }
        }
    }

    /// A follower's outcome; too many cells keep the whole world for a while.
    pub(super) fn stopped<T>(
        &mut self,
        outcome: Result<T, Stop>,
        now_ms: i64,
    ) -> Result<T, String> {
        outcome.map_err(|stop| match stop {
            Stop::TooMany => {
                self.whole_until_ms = now_ms + WHOLE_HOLD_MS;
                "the areas need more cells than --relay-max-cell-subscriptions".into()
            }
            Stop::Failed(why) => why,
        })
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
