//! The subscribers of the world stream and the task that sends them the world's changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use game_domain::views::WorldSync;
use hyper::body::Bytes;
use tokio::sync::{Notify, mpsc, watch};

use super::event;
use crate::app::App;
use crate::backend::Backend;
use crate::metrics::Exposition;
use crate::response::to_json;

/// How long the hub gathers commits into one batch after the first one.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// How often idle streams get a keep-alive comment (and expired sessions are closed).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The hub's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams open at once; more are refused (503 `too_many_streams`).
    pub max_streams: usize,
    /// Events queued for one stream; a stream further behind is cut off.
    pub buffer: usize,
}

/// What the hub queues for a stream.
#[derive(Debug)]
pub(crate) enum Queued {
    /// A batch of changes leading to `version`.
    Batch {
        /// The version the batch leads to.
        version: u64,
        /// The framed event, shared by every subscriber.
        bytes: Bytes,
    },
    /// A comment (keep-alive).
    Comment(Bytes),
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_streams` are open.
    TooMany,
    /// The server is shutting down.
    Closed,
}

struct Subscriber {
    token_hash: String,
    expires_ms: i64,
    queue: mpsc::Sender<Queued>,
}

#[derive(Default)]
struct HubState {
    closed: bool,
    next_id: u64,
    subscribers: HashMap<u64, Subscriber>,
}

/// Open streams and what they were sent.
pub struct StreamHub {
    limits: StreamLimits,
    state: Mutex<HubState>,
    closing: Notify,
    opened: AtomicU64,
    cut_off: AtomicU64,
    batches: AtomicU64,
    version: AtomicU64,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("limits", &self.limits)
            .field("open", &self.len())
            .finish()
    }
}

impl StreamHub {
    /// A hub with no stream.
    pub fn new(limits: StreamLimits) -> StreamHub {
        StreamHub {
            limits,
            state: Mutex::new(HubState::default()),
            closing: Notify::new(),
            opened: AtomicU64::new(0),
            cut_off: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            version: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        // Every critical section leaves the map consistent; a poisoned one is still good.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Streams open now.
    pub fn len(&self) -> usize {
        self.state().subscribers.len()
    }

    /// True when no stream is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers a stream for the session `token_hash` (valid until `expires_ms`); what
    /// the hub sends from now on arrives on the returned queue.
    pub(crate) fn subscribe(
        &self,
        token_hash: String,
        expires_ms: i64,
    ) -> Result<mpsc::Receiver<Queued>, Refused> {
        let mut state = self.state();
        if state.closed {
            return Err(Refused::Closed);
        }
        if state.subscribers.len() >= self.limits.max_streams {
            // Streams whose client left linger until the next send; drop them first.
            state.subscribers.retain(|_, s| !s.queue.is_closed());
            if state.subscribers.len() >= self.limits.max_streams {
                return Err(Refused::TooMany);
            }
        }
        let (queue, receiver) = mpsc::channel(self.limits.buffer);
        let id = state.next_id;
        state.next_id += 1;
        state.subscribers.insert(
            id,
            Subscriber {
                token_hash,
                expires_ms,
                queue,
            },
        );
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(receiver)
    }

    /// Queues one batch for every stream (the same bytes for all). A stream whose queue
    /// is full is cut off; one whose client left is forgotten.
    pub fn broadcast(&self, version: u64, bytes: Bytes) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.version.store(version, Ordering::Relaxed);
        self.send_all(|| Queued::Batch {
            version,
            bytes: bytes.clone(),
        });
    }

    /// Sends a keep-alive comment to every stream and ends those whose session expired
    /// by `now_ms`.
    pub fn heartbeat(&self, now_ms: i64) {
        self.state()
            .subscribers
            .retain(|_, s| s.expires_ms > now_ms);
        self.send_all(|| Queued::Comment(event::heartbeat()));
    }

    fn send_all(&self, message: impl Fn() -> Queued) {
        let mut cut = 0;
        self.state()
            .subscribers
            .retain(|_, s| match s.queue.try_send(message()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    cut += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        self.cut_off.fetch_add(cut, Ordering::Relaxed);
    }

    /// Ends the streams of a session (it was revoked); returns how many.
    pub fn close_session(&self, token_hash: &str) -> usize {
        let mut state = self.state();
        let before = state.subscribers.len();
        state.subscribers.retain(|_, s| s.token_hash != token_hash);
        before - state.subscribers.len()
    }

    /// Ends every stream and refuses new ones (shutdown); stops the broadcast task.
    pub fn close_all(&self) {
        let mut state = self.state();
        state.closed = true;
        state.subscribers.clear();
        drop(state);
        self.closing.notify_waiters();
        self.closing.notify_one();
    }

    /// Writes the stream families into `/metrics`.
    pub fn write_metrics(&self, out: &mut Exposition) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        out.single(
            "spacewars_world_streams_open",
            "gauge",
            "World event streams open now.",
            self.len(),
        );
        out.single(
            "spacewars_world_streams_opened_total",
            "counter",
            "World event streams opened.",
            get(&self.opened),
        );
        out.single(
            "spacewars_world_streams_cut_off_total",
            "counter",
            "World event streams ended because their client fell too far behind.",
            get(&self.cut_off),
        );
        out.single(
            "spacewars_world_stream_batches_total",
            "counter",
            "Batches of world changes sent (each serialised once for every stream).",
            get(&self.batches),
        );
        out.single(
            "spacewars_world_stream_version",
            "gauge",
            "The world version of the last batch sent.",
            get(&self.version),
        );
    }
}

/// Sends the world's changes to the hub's streams until the hub closes: wakes on a new
/// version, waits [`BATCH_WINDOW`] to gather more, asks the game what changed since the
/// last batch, and broadcasts it; sends heartbeats in between.
pub async fn broadcast_changes<R: Backend>(app: Arc<App<R>>, mut versions: watch::Receiver<u64>) {
    let hub = &app.streams;
    let mut last = *versions.borrow_and_update();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    let closing = hub.closing.notified();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            changed = versions.changed() => if changed.is_err() { break },
            _ = heartbeat.tick() => {
                hub.heartbeat(app.game.now_ms());
                continue;
            }
            () = &mut closing => break,
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        if hub.is_empty() {
            // Nobody to tell: a stream opened later starts from its own opening event.
            last = *versions.borrow_and_update();
            continue;
        }
        versions.borrow_and_update();
        let sync = match app.game.world_since(last).await {
            Ok(sync) => sync,
            Err(error) => {
                tracing::warn!(%error, "world stream: reading the changes failed");
                continue;
            }
        };
        let (version, name, json) = match &sync {
            WorldSync::Delta(delta) => (delta.version, "delta", to_json(delta)),
            WorldSync::Full(world) => (world.version, "snapshot", to_json(world)),
        };
        if version == last {
            continue;
        }
        match json {
            Ok(json) => {
                hub.broadcast(version, event::event(version, name, &json));
                last = version;
            }
            Err(error) => tracing::error!(%error, "world stream: serialisation failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(max_streams: usize, buffer: usize) -> StreamHub {
        StreamHub::new(StreamLimits {
            max_streams,
            buffer,
        })
    }

    fn batch(version: u64) -> Bytes {
        Bytes::from(format!("v{version}"))
    }

    fn received(queue: &mut mpsc::Receiver<Queued>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(message) = queue.try_recv() {
            out.push(match message {
                Queued::Batch { version, bytes } => {
                    format!("{version}:{}", String::from_utf8_lossy(&bytes))
                }
                Queued::Comment(_) => "comment".to_owned(),
            });
        }
        out
    }

    #[test]
    fn every_stream_gets_the_same_batches_and_a_slow_one_is_cut_off() {
        let hub = hub(10, 2);
        let mut fast = hub.subscribe("a".into(), i64::MAX).expect("fast");
        let mut slow = hub.subscribe("b".into(), i64::MAX).expect("slow");
        hub.broadcast(1, batch(1));
        hub.broadcast(2, batch(2));
        assert_eq!(received(&mut fast), ["1:v1", "2:v2"]);
        // The slow one has two queued and no room for a third: cut off.
        hub.broadcast(3, batch(3));
        assert_eq!(hub.len(), 1);
        assert_eq!(received(&mut fast), ["3:v3"]);
        // What was queued still arrives, then its stream ends (it resumes from id 2).
        assert_eq!(received(&mut slow), ["1:v1", "2:v2"]);
        assert!(slow.is_closed());
        let mut out = Exposition::default();
        hub.write_metrics(&mut out);
        let page = out.finish();
        assert!(
            page.contains("spacewars_world_streams_cut_off_total 1\n"),
            "{page}"
        );
        assert!(page.contains("spacewars_world_streams_open 1\n"), "{page}");
        assert!(
            page.contains("spacewars_world_stream_batches_total 3\n"),
            "{page}"
        );
        assert!(
            page.contains("spacewars_world_stream_version 3\n"),
            "{page}"
        );
    }

    #[test]
    fn streams_are_capped_and_a_departed_client_frees_its_place() {
        let hub = hub(2, 4);
        let first = hub.subscribe("a".into(), i64::MAX).expect("1");
        let _second = hub.subscribe("b".into(), i64::MAX).expect("2");
        assert_eq!(
            hub.subscribe("c".into(), i64::MAX).err(),
            Some(Refused::TooMany)
        );
        drop(first);
        assert!(hub.subscribe("c".into(), i64::MAX).is_ok());
    }

    #[test]
    fn revocation_expiry_and_shutdown_end_streams() {
        let hub = hub(10, 4);
        let mut revoked = hub.subscribe("gone".into(), i64::MAX).expect("1");
        let expiring = hub.subscribe("old".into(), 1_000).expect("2");
        let mut other = hub.subscribe("kept".into(), i64::MAX).expect("3");
        assert_eq!(hub.close_session("gone"), 1);
        assert!(revoked.try_recv().is_err() && revoked.is_closed());
        hub.heartbeat(1_000);
        assert!(expiring.is_closed());
        assert_eq!(received(&mut other), ["comment"]);
        hub.close_all();
        assert!(other.is_closed());
        assert_eq!(
            hub.subscribe("new".into(), i64::MAX).err(),
            Some(Refused::Closed)
        );
    }
}
