//! The owner's side of the relay: every batch of its world cut by cell and published on
//! the cells' subjects, snapshot requests answered in parts, logouts announced.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt;
use game_cache::fanout::BATCH_WINDOW;
use game_cache::relay::{Batch, Beacon, Publisher, SessionNotice, SnapshotRequest, Subjects};
use game_domain::game::Game;
use rand::{RngCore, SeedableRng};
use tokio::sync::{mpsc, watch};

use super::RelayError;
use super::config::RelayConfig;
use crate::backend::Backend;

/// How many logouts may wait to be announced; past it one is dropped (and logged): its
/// streams on the edges then end at the session's expiry.
pub const NOTICE_QUEUE: usize = 1_024;

/// How often the owner's beacon goes out (and once at its start): the longest an edge
/// may follow a replaced owner, or miss a lost last batch, while nothing changes (twice
/// this for the latter).
pub const BEACON: std::time::Duration = std::time::Duration::from_secs(5);

/// Publishes `game`'s world on NATS until the process stops (module docs); `notices`
/// carries the hashes of revoked sessions; every `tick` (the hub's area refresh period)
/// the objects that drifted into another cell are published there. A relay that cannot
/// start is logged: the owner goes on serving its own players (its edges stay not ready).
pub async fn publish<R: Backend>(
    config: RelayConfig,
    game: Arc<Game<R>>,
    versions: watch::Receiver<u64>,
    notices: mpsc::Receiver<String>,
    tick: std::time::Duration,
) {
    if let Err(error) = run(config, game, versions, notices, tick).await {
        let error = error_chain(&error);
        tracing::error!(error, "relay: publishing the world stopped");
    }
}

/// The error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

async fn run<R: Backend>(
    config: RelayConfig,
    game: Arc<Game<R>>,
    mut versions: watch::Receiver<u64>,
    mut notices: mpsc::Receiver<String>,
    tick: std::time::Duration,
) -> Result<(), RelayError> {
    let Some(url) = config.nats.as_deref() else {
        return Ok(());
    };
    let subjects = config.subjects()?;
    let (client, _connected) = super::connect(url, config.relay_buffer).await?;
    // A new epoch for every owner: an edge that sees it knows the chains restart.
    let epoch = rand::rngs::StdRng::from_os_rng().next_u64();
    let start = loop {
        match game.world_snapshot().await {
            Ok(world) => break world,
            Err(error) => {
                tracing::warn!(%error, "relay: reading the world failed; retrying");
                tokio::time::sleep(BATCH_WINDOW).await;
            }
        }
    };
    versions.borrow_and_update();
    let publisher = Arc::new(Mutex::new(Publisher::new(epoch, start, game.now_ms())));
    let requests = client
        .subscribe(subjects.snapshot())
        .await
        .map_err(RelayError::Subscribe)?;
    tokio::spawn(answer_snapshots(
        client.clone(),
        requests,
        publisher.clone(),
        config.relay_snapshot_part,
    ));
    tracing::info!(epoch, world = %config.world, "relay: publishing the world on NATS");
    let mut beacons = tokio::time::interval(BEACON);
    beacons.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = beacons.tick() => {
                let version = publisher.lock().unwrap_or_else(PoisonError::into_inner).version();
                if let Ok(json) = serde_json::to_vec(&Beacon { epoch, version })
                    && let Err(error) = client.publish(subjects.owner(), Bytes::from(json)).await
                {
                    tracing::warn!(%error, "relay: the beacon failed");
                }
                continue;
            }
            _ = ticks.tick() => {
                let now_ms = game.now_ms();
                // One look at every object (31 ms for 100,000 moving ones): on the blocking
                // pool, so that requests on the async workers never wait behind it.
                let looked = tokio::task::spawn_blocking({
                    let publisher = publisher.clone();
                    move || {
                        let mut publisher = publisher.lock().unwrap_or_else(PoisonError::into_inner);
                        (publisher.arrivals(now_ms), publisher.columns())
                    }
                })
                .await;
                match looked {
                    Ok((Some(batch), columns)) => send(&client, &subjects, columns, batch).await,
                    Ok((None, _)) => {}
                    Err(error) => tracing::error!(%error, "relay: looking for arrivals failed"),
                }
                continue;
            }
            changed = versions.changed() => if changed.is_err() { return Ok(()) },
            notice = notices.recv() => {
                let Some(token_hash) = notice else { return Ok(()) };
                let notice = SessionNotice::Revoked { token_hash };
                if let Ok(json) = serde_json::to_vec(&notice)
                    && let Err(error) = client.publish(subjects.sessions(), Bytes::from(json)).await
                {
                    tracing::warn!(%error, "relay: announcing a logout failed");
                }
                continue;
            }
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        versions.borrow_and_update();
        let world = match game.world_snapshot().await {
            Ok(world) => world,
            Err(error) => {
                tracing::warn!(%error, "relay: reading the world failed");
                continue;
            }
        };
        let now_ms = game.now_ms();
        let (batch, columns) = {
            let mut publisher = publisher.lock().unwrap_or_else(PoisonError::into_inner);
            (publisher.next(world, now_ms), publisher.columns())
        };
        if let Some(batch) = batch {
            send(&client, &subjects, columns, batch).await;
        }
    }
}

/// Publishes a batch: its index first (a receiver that reads the index subject before
/// the cells' knows every message's batch), then its cells' messages. A failed publish
/// is a gap the edges see and repair with a snapshot.
async fn send(client: &async_nats::Client, subjects: &Subjects, columns: u32, batch: Batch) {
    match serde_json::to_vec(&batch.index) {
        Ok(json) => {
            if let Err(error) = client.publish(subjects.batch(), Bytes::from(json)).await {
                tracing::warn!(%error, "relay: publishing a batch index failed");
            }
        }
        Err(error) => tracing::error!(%error, "relay: encoding a batch index failed"),
    }
    for message in batch.messages {
        let subject = subjects.cell(message.cell, columns);
        match serde_json::to_vec(&message) {
            Ok(json) => {
                if let Err(error) = client.publish(subject, Bytes::from(json)).await {
                    tracing::warn!(%error, "relay: publishing a cell failed");
                }
            }
            Err(error) => tracing::error!(%error, "relay: encoding a cell failed"),
        }
    }
}

/// Answers each snapshot request with the world (or the cells, or the objects, asked for)
/// as of the last batch published, in parts of at most `part_cap` objects, on the request's reply
/// subject.
async fn answer_snapshots(
    client: async_nats::Client,
    mut requests: async_nats::Subscriber,
    publisher: Arc<Mutex<Publisher>>,
    part_cap: usize,
) {
    while let Some(request) = requests.next().await {
        let Some(reply) = request.reply else {
            continue;
        };
        let request = serde_json::from_slice::<SnapshotRequest>(&request.payload).ok();
        let parts = {
            let publisher = publisher.lock().unwrap_or_else(PoisonError::into_inner);
            match request {
                Some(SnapshotRequest {
                    objects: Some(ids), ..
                }) => vec![publisher.locate(&ids)],
                Some(SnapshotRequest {
                    part_size, cells, ..
                }) => publisher.snapshot(part_size.clamp(1, part_cap), cells.as_deref()),
                None => publisher.snapshot(part_cap, None),
            }
        };
        for part in parts {
            let Ok(json) = serde_json::to_vec(&part) else {
                break;
            };
            if let Err(error) = client.publish(reply.clone(), Bytes::from(json)).await {
                tracing::warn!(%error, "relay: answering a snapshot failed");
                break;
            }
        }
    }
}

/// The sender logouts are announced through, and the receiver [`publish`] reads.
pub fn notices() -> (mpsc::Sender<String>, mpsc::Receiver<String>) {
    mpsc::channel(NOTICE_QUEUE)
}
