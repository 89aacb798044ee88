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
