//! The edge's subscriptions to the owner's cells: one NATS subscription per cell it
//! follows, or the wildcard `cell.>` when it follows every cell (a whole-world stream, or
//! more cells than `max` subscriptions), each forwarding into one channel the link reads.
//! Which cells to follow is [`super::follower`]'s (with [`game_cache::relay::wanted`]);
//! this module only holds the subscriptions.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use game_cache::relay::{Subjects, Wanted};
use game_domain::interest::CellId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One subscription, forwarding its messages until it is dropped (which unsubscribes).
struct Forward(JoinHandle<()>);

impl Drop for Forward {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The cell subscriptions an edge holds.
pub struct CellSubscriptions {
    client: async_nats::Client,
    subjects: Subjects,
    columns: u32,
    max: usize,
    sender: mpsc::Sender<async_nats::Message>,
    cells: BTreeMap<CellId, Forward>,
    all: Option<Forward>,
}

impl CellSubscriptions {
    /// None yet, for a grid of `columns`, at most `max` per-cell subscriptions; what they
    /// receive comes out of the receiver (at most `buffer` unread).
    pub fn new(
        client: async_nats::Client,
        subjects: Subjects,
        columns: u32,
        max: usize,
        buffer: usize,
    ) -> (CellSubscriptions, mpsc::Receiver<async_nats::Message>) {
        let (sender, receiver) = mpsc::channel(buffer.max(1));
        let subscriptions = CellSubscriptions {
            client,
            subjects,
            columns,
            max,
            sender,
            cells: BTreeMap::new(),
            all: None,
        };
        (subscriptions, receiver)
    }

    /// How many NATS subscriptions it holds (the wildcard counts one).
    pub fn count(&self) -> usize {
        self.cells.len() + usize::from(self.all.is_some())
    }

    /// True when it follows every cell through the wildcard.
    pub fn follows_all(&self) -> bool {
        self.all.is_some()
    }

    /// Subscribes to what `wanted` names and drops the rest (a subscription that ends,
    /// with the client, is seen by the link through the client's connection state) (past `max` cells, the
    /// wildcard instead). New subscriptions are in place (flushed) when it returns, so a
    /// snapshot asked for afterwards is followed by every later message.
    pub async fn follow(&mut self, wanted: &Wanted) -> Result<(), async_nats::SubscribeError> {
        let cells = match wanted {
            Wanted::Cells(cells) if cells.len() <= self.max => cells,
            _ => {
                if self.all.is_none() {
                    let subscriber = self.client.subscribe(self.subjects.all_cells()).await?;
                    self.all = Some(self.forward(subscriber));
                }
                self.cells.clear();
                return Ok(());
            }
        };
        self.cells.retain(|cell, _| cells.contains(cell));
        let new: BTreeSet<CellId> = cells
            .iter()
            .filter(|cell| !self.cells.contains_key(cell))
            .copied()
            .collect();
        for cell in new {
            let subject = self.subjects.cell(cell, self.columns);
            let subscriber = self.client.subscribe(subject).await?;
            let forward = self.forward(subscriber);
            self.cells.insert(cell, forward);
        }
        // Per-cell subscriptions replace the wildcard only once they are all in place.
        self.all = None;
        // Best effort: a flush that fails is a lost link, which the link sees on its own.
        let _ = self.client.flush().await;
        Ok(())
    }

    fn forward(&self, mut subscriber: async_nats::Subscriber) -> Forward {
        let sender = self.sender.clone();
        Forward(tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                if sender.send(message).await.is_err() {
                    return;
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    /// Publishes one message on each cell of a 4 × 2 grid and returns the subjects of
    /// those that came out of `receiver` (in order; the round ends half a second after
    /// the last one).
    async fn round(
        client: &async_nats::Client,
        subjects: &Subjects,
        receiver: &mut mpsc::Receiver<async_nats::Message>,
    ) -> Vec<String> {
        for cell in 0..8 {
            client
                .publish(subjects.cell(cell, 4), Bytes::from_static(b"x"))
                .await
                .expect("published");
        }
        client.flush().await.expect("flushed");
        let mut seen = Vec::new();
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(500), receiver.recv()).await
        {
            seen.push(message.subject.to_string());
        }
        seen.sort();
        seen
    }

    #[tokio::test]
    async fn it_holds_one_subscription_per_cell_or_the_wildcard_past_its_cap() {
        let Some(url) =
            game_persistence::testing::environment::required_var("SPACEWARS_TEST_NATS_URL", "NATS")
        else {
            return;
        };
        let client = async_nats::connect(url).await.expect("NATS");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let world = format!("cells-{}-{nanos}", std::process::id());
        let subjects = Subjects::new(&world).expect("a valid name");
        let (mut subscriptions, mut receiver) =
            CellSubscriptions::new(client.clone(), subjects.clone(), 4, 3, 64);
        let cell = |c: u32, r: u32| format!("spacewars.{world}.cell.{c}.{r}");

        let some = Wanted::Cells([1, 6].into_iter().collect());
        subscriptions.follow(&some).await.expect("subscribed");
        assert_eq!(
            (subscriptions.count(), subscriptions.follows_all()),
            (2, false)
        );
        assert_eq!(
            round(&client, &subjects, &mut receiver).await,
            vec![cell(1, 0), cell(2, 1)]
        );
        // Four cells are more than the cap of 3: the wildcard, every cell.
        let many = Wanted::Cells([0, 1, 2, 3].into_iter().collect());
        subscriptions.follow(&many).await.expect("subscribed");
        assert_eq!(
            (subscriptions.count(), subscriptions.follows_all()),
            (1, true)
        );
        assert_eq!(round(&client, &subjects, &mut receiver).await.len(), 8);
        // Back to one cell: the wildcard is gone.
        let one = Wanted::Cells([5].into_iter().collect());
        subscriptions.follow(&one).await.expect("subscribed");
        assert_eq!(
            (subscriptions.count(), subscriptions.follows_all()),
            (1, false)
        );
        assert_eq!(
            round(&client, &subjects, &mut receiver).await,
            vec![cell(1, 1)]
        );
        subscriptions
            .follow(&Wanted::All)
            .await
            .expect("subscribed");
        assert_eq!(
            (subscriptions.count(), subscriptions.follows_all()),
            (1, true)
        );
    }
}
