//! Asking the owner for a snapshot (the whole world, some cells, or some objects) and
//! gathering the parts of its answer.

use bytes::Bytes;
use futures_util::StreamExt;
use game_cache::relay::{SnapshotPart, SnapshotRequest, Subjects};
use game_domain::interest::CellId;
use game_domain::space_object::ObjectId;
use tokio::time::Instant;

use crate::relay::config::RelayConfig;

/// What to ask the owner for.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// The whole world.
    World,
    /// The objects of these cells.
    Cells(Vec<CellId>),
    /// These objects.
    Objects(Vec<ObjectId>),
}

/// Sends the request and gathers every part of the answer (within the snapshot timeout).
pub async fn fetch(
    client: &async_nats::Client,
    subjects: &Subjects,
    config: &RelayConfig,
    ask: Ask,
) -> Result<Vec<SnapshotPart>, String> {
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (cells, objects) = match ask {
        Ask::World => (None, None),
        Ask::Cells(cells) => (Some(cells), None),
        Ask::Objects(objects) => (None, Some(objects)),
    };
    let request = serde_json::to_vec(&SnapshotRequest {
        part_size: config.relay_snapshot_part,
        cells,
        objects,
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
        if answer.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            // NATS's own answer, with an empty body: nobody is subscribed to the
            // requests (between an owner's end and its successor's start).
            return Err("no owner answers snapshot requests".to_owned());
        }
        let part: SnapshotPart =
            serde_json::from_slice(&answer.payload).map_err(|e| e.to_string())?;
        let count = usize::try_from(part.parts).unwrap_or(usize::MAX);
        parts.push(part);
        if parts.len() >= count {
            let _ = answers.unsubscribe().await;
            return Ok(parts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_no_owner_running_nats_answers_at_once_and_the_edge_says_so() {
        let Some(url) =
            game_persistence::testing::environment::required_var("SPACEWARS_TEST_NATS_URL", "NATS")
        else {
            return;
        };
        let client = async_nats::connect(url).await.expect("NATS");
        let world = format!("fetch-{}", std::process::id());
        let subjects = Subjects::new(&world).expect("a valid name");
        let config = RelayConfig {
            relay_snapshot_timeout_ms: 60_000,
            ..RelayConfig::default()
        };
        // NATS itself says nobody listens (a timeout would say "no complete answer in
        // time", after 60 s).
        let answer = fetch(&client, &subjects, &config, Ask::World).await;
        assert_eq!(answer, Err("no owner answers snapshot requests".to_owned()));
    }
}
