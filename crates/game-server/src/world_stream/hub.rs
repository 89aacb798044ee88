//! The subscribers of the world stream: registration, what each is sent, cut-offs,
//! closing. Whole-world streams share one framed batch; area streams get their own share
//! of it ([`super::area`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use game_domain::interest::SpatialGrid;
use game_domain::world_history::Delta;
use hyper::body::Bytes;
use tokio::sync::{Notify, mpsc};

use super::area::{AreaContext, AreaSubscriber};
use super::event;
use crate::metrics::Exposition;

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
    /// Bytes for this stream alone (an area stream's events, keep-alive comments), sent
    /// as they are.
    Direct(Bytes),
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
    /// `None` for a whole-world stream.
    area: Option<AreaSubscriber>,
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
    /// Wakes the broadcast task when the hub closes.
    pub(crate) closing: Notify,
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

    /// True when some stream follows an area (the broadcast task then ticks).
    pub fn has_areas(&self) -> bool {
        self.state().subscribers.values().any(|s| s.area.is_some())
    }

    /// Registers a stream for the session `token_hash` (valid until `expires_ms`), of the
    /// whole world or of an `area`; what the hub sends from now on arrives on the returned
    /// queue. An area stream then needs [`StreamHub::open_area`].
    pub(crate) fn subscribe(
        &self,
        token_hash: String,
        expires_ms: i64,
        area: Option<AreaSubscriber>,
    ) -> Result<(u64, mpsc::Receiver<Queued>), Refused> {
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
                area,
            },
        );
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok((id, receiver))
    }

    /// Sends area stream `id` its opening (what is near its ship in `ctx`, then the batches
    /// that arrived since it registered). False, and the stream ends, when it cannot be
    /// opened (its ship is gone, or its client is already behind).
    pub(crate) fn open_area(&self, id: u64, ctx: &AreaContext<'_>) -> bool {
        let mut state = self.state();
        let Some(subscriber) = state.subscribers.get_mut(&id) else {
            return false;
        };
        let events = subscriber.area.as_mut().and_then(|area| area.open(ctx));
        let sent = events.is_some_and(|events| {
            events
                .into_iter()
                .all(|bytes| subscriber.queue.try_send(Queued::Direct(bytes)).is_ok())
        });
        if !sent {
            state.subscribers.remove(&id);
        }
        sent
    }

    /// Queues one batch leading from `since` to `version` for every stream: whole-world
    /// streams get `bytes` (the same for all), area streams their share of `changes`
    /// (when the change log could not give changes, a fresh opening). A stream whose queue
    /// is full is cut off; one whose client left is forgotten.
    pub fn broadcast(
        &self,
        since: u64,
        version: u64,
        bytes: Bytes,
        changes: Option<&Delta>,
        ctx: &AreaContext<'_>,
    ) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.version.store(version, Ordering::Relaxed);
        let room = self.limits.buffer;
        self.send_all(|subscriber| match (&mut subscriber.area, changes) {
            (None, _) => Sent::Batch(Queued::Batch {
                version,
                bytes: bytes.clone(),
            }),
            (Some(area), Some(changes)) => match area.batch(since, version, changes, ctx, room) {
                Ok(Some(mine)) => Sent::Direct(vec![mine]),
                Ok(None) => Sent::Nothing,
                Err(_overflow) => Sent::CutOff,
            },
            (Some(area), None) => area.reopen(ctx).map_or(Sent::End, Sent::Direct),
        });
    }

    /// Sends every area stream what entered and left its area (a tick).
    pub fn refresh_areas(&self, grid: &SpatialGrid, ctx: &AreaContext<'_>) {
        self.send_all(|subscriber| match &mut subscriber.area {
            None => Sent::Nothing,
            Some(area) => area
                .refresh(grid, ctx)
                .map_or(Sent::Nothing, |bytes| Sent::Direct(vec![bytes])),
        });
    }

    /// Sends a keep-alive comment to every stream and ends those whose session expired
    /// by `now_ms`.
    pub fn heartbeat(&self, now_ms: i64) {
        self.state()
            .subscribers
            .retain(|_, s| s.expires_ms > now_ms);
        self.send_all(|_| Sent::Direct(vec![event::heartbeat()]));
    }

    /// Queues for every stream what `message` says, dropping the streams that are full
    /// (cut off, counted), whose client left, or that must end.
    fn send_all(&self, mut message: impl FnMut(&mut Subscriber) -> Sent) {
        let mut cut = 0;
        self.state().subscribers.retain(|_, subscriber| {
            let queued = match message(subscriber) {
                Sent::Nothing => return !subscriber.queue.is_closed(),
                Sent::End => return false,
                Sent::CutOff => Err(mpsc::error::TrySendError::Full(())),
                Sent::Batch(queued) => subscriber.queue.try_send(queued).map_err(drop_message),
                Sent::Direct(events) => events.into_iter().try_for_each(|bytes| {
                    subscriber
                        .queue
                        .try_send(Queued::Direct(bytes))
                        .map_err(drop_message)
                }),
            };
            match queued {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(())) => {
                    cut += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(())) => false,
            }
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

    /// Ends every stream open now, leaving the hub open (a process past its lease
    /// deadline: it may not go on telling anyone what its world looks like); returns how
    /// many.
    pub fn end_all(&self) -> usize {
        let mut state = self.state();
        let ended = state.subscribers.len();
        state.subscribers.clear();
        ended
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
        out.gauge(
            "spacewars_world_streams_open",
            "World event streams open now.",
            self.len(),
        );
        out.counter(
            "spacewars_world_streams_opened_total",
            "World event streams opened.",
            get(&self.opened),
        );
        out.counter(
            "spacewars_world_streams_cut_off_total",
            "World event streams ended because their client fell too far behind.",
            get(&self.cut_off),
        );
        out.counter(
            "spacewars_world_stream_batches_total",
            "Batches of world changes sent (each serialised once for every stream).",
            get(&self.batches),
        );
        out.gauge(
            "spacewars_world_stream_version",
            "The world version of the last batch sent.",
            get(&self.version),
        );
    }
}

/// What one stream gets from a send.
enum Sent {
    /// Nothing this time.
    Nothing,
    /// A shared batch.
    Batch(Queued),
    /// Events of its own.
    Direct(Vec<Bytes>),
    /// Its client is too far behind.
    CutOff,
    /// It must end (its ship is gone).
    End,
}

fn drop_message<T>(error: mpsc::error::TrySendError<T>) -> mpsc::error::TrySendError<()> {
    match error {
        mpsc::error::TrySendError::Full(_) => mpsc::error::TrySendError::Full(()),
        mpsc::error::TrySendError::Closed(_) => mpsc::error::TrySendError::Closed(()),
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
