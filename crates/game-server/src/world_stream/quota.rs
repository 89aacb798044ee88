//! Streams per session and per player (docs/limits.md): at most `--max-streams-per-session`
//! for one session and `--max-streams-per-user` for one player over all sessions. Opening
//! one more closes the oldest: the session's own if it is at its cap, else the player's.
//! So one cookie cannot take every stream slot, and a player who opens a new tab still
//! gets a stream.
//!
//! The quota knows streams only by a [`Ticket`] each; a stream's body is wrapped in
//! [`Capped`], which ends when its ticket is taken back. Memory: one entry per open
//! stream, so bounded by `--max-streams`.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use game_domain::user::UserId;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

use crate::metrics::Exposition;

/// Open streams by session and by player, and the caps on them.
#[derive(Debug)]
pub struct StreamQuota {
    per_session: usize,
    per_user: usize,
    open: Arc<Mutex<Open>>,
    replaced: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    /// Stream ids per session (by token hash) and per player, oldest first.
    by_session: HashMap<String, VecDeque<u64>>,
    by_user: HashMap<UserId, VecDeque<u64>>,
    /// Each open stream's owners and the sender whose drop ends it.
    streams: HashMap<u64, Owners>,
}

#[derive(Debug)]
struct Owners {
    session: String,
    user: UserId,
    _close: oneshot::Sender<()>,
}

impl Open {
    /// Forgets stream `id`; dropping its sender ends its body.
    fn remove(&mut self, id: u64) -> bool {
        let Some(owners) = self.streams.remove(&id) else {
            return false;
        };
        forget(&mut self.by_session, &owners.session, id);
        forget(&mut self.by_user, &owners.user, id);
        true
    }
}

fn forget<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, VecDeque<u64>>, key: &K, id: u64) {
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|open| *open != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

/// One stream's place in the quota; dropping it gives the place back.
#[derive(Debug)]
pub struct Ticket {
    id: u64,
    open: Arc<Mutex<Open>>,
    closed: oneshot::Receiver<()>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.open).remove(self.id);
    }
}

fn lock(open: &Mutex<Open>) -> MutexGuard<'_, Open> {
    // Every critical section leaves the maps consistent; a poisoned one is still good.
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StreamQuota {
    /// A quota of `per_session` streams per session and `per_user` per player.
    pub fn new(per_session: usize, per_user: usize) -> StreamQuota {
        StreamQuota {
            per_session,
            per_user,
            open: Arc::default(),
            replaced: AtomicU64::new(0),
        }
    }

    /// Counts a new stream of `user`'s session `session` (its token hash), first closing
    /// the oldest stream of the session, or else of the player, when either is at its cap.
    pub fn open(&self, session: &str, user: UserId) -> Ticket {
        let mut open = lock(&self.open);
        let oldest = |ids: Option<&VecDeque<u64>>, cap: usize| {
            ids.filter(|ids| ids.len() >= cap)
                .and_then(|ids| ids.front().copied())
        };
        let evict = oldest(open.by_session.get(session), self.per_session)
            .or_else(|| oldest(open.by_user.get(&user), self.per_user));
        if evict.is_some_and(|id| open.remove(id)) {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
        let id = open.next_id;
        open.next_id += 1;
        let (close, closed) = oneshot::channel();
        open.by_session
            .entry(session.to_owned())
            .or_default()
            .push_back(id);
        open.by_user.entry(user).or_default().push_back(id);
        open.streams.insert(
            id,
            Owners {
                session: session.to_owned(),
                user,
                _close: close,
            },
        );
        Ticket {
            id,
            open: self.open.clone(),
            closed,
        }
    }

    /// Adds `spacewars_streams_replaced_total`.
    pub fn write_metrics(&self, out: &mut Exposition) {
        out.counter(
            "spacewars_streams_replaced_total",
            "Streams closed because their session or player opened one more than its cap.",
            self.replaced.load(Ordering::Relaxed),
        );
    }
}

/// A stream body that ends when its [`Ticket`] is taken back by the quota.
#[derive(Debug)]
pub struct Capped<B> {
    inner: B,
    ticket: Ticket,
    ended: bool,
}

impl<B> Capped<B> {
    /// `inner`, ending early when `ticket` is taken back.
    pub fn new(inner: B, ticket: Ticket) -> Capped<B> {
        Capped {
            inner,
            ticket,
            ended: false,
        }
    }
}

impl<B: Body + Unpin> Body for Capped<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.ended || Pin::new(&mut self.ticket.closed).poll(cx).is_ready() {
            self.ended = true;
            return Poll::Ready(None);
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
