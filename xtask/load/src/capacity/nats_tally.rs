//! Counts the world's messages through NATS during a step with edges: the load tool
//! subscribes to `spacewars.<world>.>` (the cells' messages, the batch index, beacons,
//! logouts and snapshot requests; snapshot answers go to inboxes and are not counted) like
//! one more edge following everything, and counts messages and payload bytes (subjects and
//! NATS's own framing left out), so the sizing in docs/operations.md can say what a player
//! costs on the wire.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use futures_util::StreamExt;

/// A running count of one world's messages.
#[derive(Debug)]
pub struct NatsTally {
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Counts {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl NatsTally {
    /// Subscribes to `world`'s subjects on `nats`.
    pub async fn start(nats: &str, world: &str) -> anyhow::Result<NatsTally> {
        let client = async_nats::connect(nats)
            .await
            .with_context(|| format!("connecting to NATS at {nats} to count messages"))?;
        let mut subscriber = client
            .subscribe(format!("spacewars.{world}.>"))
            .await
            .context("subscribing to the world's subjects")?;
        let counts = Arc::new(Counts::default());
        let task = tokio::spawn({
            let counts = counts.clone();
            async move {
                // The client lives as long as the subscription it serves.
                let _client = client;
                while let Some(message) = subscriber.next().await {
                    counts.messages.fetch_add(1, Ordering::Relaxed);
                    counts
                        .bytes
                        .fetch_add(message.payload.len() as u64, Ordering::Relaxed);
                }
            }
        });
        Ok(NatsTally { counts, task })
    }

    /// Messages and payload bytes counted so far.
    pub fn now(&self) -> (u64, u64) {
        (
            self.counts.messages.load(Ordering::Relaxed),
            self.counts.bytes.load(Ordering::Relaxed),
        )
    }
}

impl Drop for NatsTally {
    fn drop(&mut self) {
        self.task.abort();
    }
}
