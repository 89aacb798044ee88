//! The body of one event stream: its opening bytes, then what the hub queues for it,
//! every event queued at the time framed in one buffer (one write), at most one write per
//! write interval.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use game_cache::fanout::Event;
use hyper::body::{Body, Bytes, Frame};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use super::event;

/// Past this many bytes, gathered events go out without waiting for the queue to be
/// drained (a subscriber far behind still sends in bounded pieces).
const MAX_FRAME: usize = 64 * 1024;

/// A streaming response body fed by a subscription's bounded queue. It skips whole-world
/// batches the opening event already covered, and ends when the hub ends the subscription
/// (cut off, session revoked, shutdown).
#[derive(Debug)]
pub struct EventBody {
    opening: Option<Bytes>,
    /// The version the client knows; whole-world batches leading to it or older are
    /// skipped.
    known: u64,
    queue: mpsc::Receiver<Event>,
    /// The least time between two writes; zero writes whenever something is queued.
    interval: Duration,
    /// Armed after a write while `interval` has not passed: until it fires the queue is
    /// not looked at, so batches arriving meanwhile neither wake the connection's task
    /// (the queue's waker was used by the first of them) nor cost a write of their own.
    /// The timer is kept once it fired and reset at the next write, so a stream
    /// allocates it once.
    hold: Option<Pin<Box<Sleep>>>,
}

impl EventBody {
    /// A body that first sends `opening` (which brings the client to version `known`),
    /// then what arrives on `queue`, writing at most once per `interval`.
    pub(crate) fn new(
        opening: Bytes,
        known: u64,
        queue: mpsc::Receiver<Event>,
        interval: Duration,
    ) -> EventBody {
        EventBody {
            opening: Some(opening),
            known,
            queue,
            interval,
            hold: None,
        }
    }

    /// `Pending` while the write interval since the last write has not passed.
    fn held(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.hold.as_mut() {
            Some(hold) if !hold.is_elapsed() => hold.as_mut().poll(cx),
            _ => Poll::Ready(()),
        }
    }

    /// Starts the write interval after a write.
    fn wrote(&mut self, bytes: Bytes) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if !self.interval.is_zero() {
            let deadline = Instant::now() + self.interval;
            match self.hold.as_mut() {
                Some(hold) => hold.as_mut().reset(deadline),
                None => self.hold = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(opening) = self.opening.take() {
            return Poll::Ready(Some(Ok(Frame::data(opening))));
        }
        if self.held(cx).is_pending() {
            return Poll::Pending;
        }
        // Every event already queued goes out in one frame, so one write: a subscriber
        // given a batch's share and a refresh's entries together, one that fell behind,
        // or one whose batches queued up during the write interval, costs one system call
        // instead of one per event. The bytes on the wire are the same events in the same
        // order.
        let mut gathered = Gathered::default();
        loop {
            let bytes = match self.queue.poll_recv(cx) {
                Poll::Ready(Some(Event::World(batch))) => {
                    if batch.version <= self.known {
                        continue;
                    }
                    self.known = batch.version;
                    // Framed once for every whole-world stream.
                    batch.framed(|b| event::event(b.version, b.name(), b.json()))
                }
                Poll::Ready(Some(Event::Area(area))) => event::area_event(&area),
                Poll::Ready(Some(Event::Heartbeat)) => event::heartbeat(),
                Poll::Ready(Some(Event::Ended(reason))) => event::ended(reason),
                // Ended (an ended queue says so again on the next poll) or nothing more
                // for now: send what was gathered.
                Poll::Ready(None) => {
                    return Poll::Ready(gathered.take().map(|bytes| Ok(Frame::data(bytes))));
                }
                Poll::Pending => {
                    return match gathered.take() {
                        Some(bytes) => self.wrote(bytes),
                        None => Poll::Pending,
                    };
                }
            };
            if gathered.push(bytes) >= MAX_FRAME
                && let Some(bytes) = gathered.take()
            {
                return self.wrote(bytes);
            }
        }
    }
}

/// The events gathered for one frame: the first as it is (a whole-world batch's shared
/// bytes are not copied when it goes alone), later ones appended to a copy.
#[derive(Debug, Default)]
enum Gathered {
    #[default]
    Nothing,
    One(Bytes),
    Many(Vec<u8>),
}

impl Gathered {
    /// Adds `bytes`; returns the length gathered.
    fn push(&mut self, bytes: Bytes) -> usize {
        *self = match std::mem::take(self) {
            Gathered::Nothing => Gathered::One(bytes),
            Gathered::One(first) => {
                let mut many = Vec::with_capacity((first.len() + bytes.len()) * 2);
                many.extend_from_slice(&first);
                many.extend_from_slice(&bytes);
                Gathered::Many(many)
            }
            Gathered::Many(mut many) => {
                many.extend_from_slice(&bytes);
                Gathered::Many(many)
            }
        };
        match self {
            Gathered::Nothing => 0,
            Gathered::One(bytes) => bytes.len(),
            Gathered::Many(many) => many.len(),
        }
    }

    /// What was gathered, if anything, leaving nothing.
    fn take(&mut self) -> Option<Bytes> {
        match std::mem::take(self) {
            Gathered::Nothing => None,
            Gathered::One(bytes) => Some(bytes),
            Gathered::Many(many) => Some(many.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn next(body: &mut EventBody) -> Option<Bytes> {
        let frame = body.frame().await?.ok()?;
        frame.into_data().ok()
    }

    #[tokio::test]
    async fn queued_events_go_out_in_one_frame_in_order_then_the_end() {
        let (queue, events) = mpsc::channel(8);
        let mut body = EventBody::new(
            Bytes::from_static(b"retry: 1000\n\n"),
            0,
            events,
            Duration::ZERO,
        );
        for _ in 0..3 {
            queue.try_send(Event::Heartbeat).expect("room");
        }
        assert_eq!(
            next(&mut body).await.as_deref(),
            Some(&b"retry: 1000\n\n"[..])
        );
        assert_eq!(
            next(&mut body).await.as_deref(),
            Some(&b": keep-alive\n\n: keep-alive\n\n: keep-alive\n\n"[..])
        );
        queue.try_send(Event::Heartbeat).expect("room");
        drop(queue);
        assert_eq!(
            next(&mut body).await.as_deref(),
            Some(&b": keep-alive\n\n"[..])
        );
        assert_eq!(next(&mut body).await, None);
    }

    /// Counts the wake-ups of the task polling a body.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn poll(body: &mut EventBody, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        Pin::new(body)
            .poll_frame(cx)
            .map(|frame| frame.and_then(|frame| frame.ok()?.into_data().ok()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_interval_gathers_what_arrives_during_it_into_the_next_write() {
        let (queue, events) = mpsc::channel(8);
        let mut body = EventBody::new(
            Bytes::from_static(b"retry: 1000\n\n"),
            0,
            events,
            Duration::from_millis(100),
        );
        assert_eq!(
            next(&mut body).await.as_deref(),
            Some(&b"retry: 1000\n\n"[..])
        );
        let wakes = std::sync::Arc::new(Wakes::default());
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        // The opening does not start the interval: the first event goes out at once.
        queue.try_send(Event::Heartbeat).expect("room");
        let start = Instant::now();
        assert_eq!(
            poll(&mut body, &mut cx),
            Poll::Ready(Some(Bytes::from_static(b": keep-alive\n\n")))
        );
        assert_eq!(poll(&mut body, &mut cx), Poll::Pending);
        // Three events within the interval wake the task once, and are not written yet.
        for _ in 0..3 {
            queue.try_send(Event::Heartbeat).expect("room");
        }
        assert_eq!(wakes.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(poll(&mut body, &mut cx), Poll::Pending);
        queue.try_send(Event::Heartbeat).expect("room");
        assert_eq!(wakes.0.load(std::sync::atomic::Ordering::SeqCst), 1);

        // At the end of the interval all four go out in one write.
        tokio::time::advance(Duration::from_millis(99)).await;
        assert_eq!(poll(&mut body, &mut cx), Poll::Pending);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(wakes.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(
            poll(&mut body, &mut cx),
            Poll::Ready(Some(Bytes::from_static(
                b": keep-alive\n\n: keep-alive\n\n: keep-alive\n\n: keep-alive\n\n"
            )))
        );
        assert_eq!(start.elapsed(), Duration::from_millis(100));

        // The end of the queue is passed on after the next interval.
        drop(queue);
        assert_eq!(poll(&mut body, &mut cx), Poll::Pending);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(poll(&mut body, &mut cx), Poll::Ready(None));
    }
}
