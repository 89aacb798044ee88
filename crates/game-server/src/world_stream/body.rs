//! The body of one event stream: its opening bytes, then what the hub queues for it,
//! each event framed in one buffer (one write per batch).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use game_cache::fanout::Event;
use hyper::body::{Body, Bytes, Frame};
use tokio::sync::mpsc;

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
}

impl EventBody {
    /// A body that first sends `opening` (which brings the client to version `known`),
    /// then what arrives on `queue`.
    pub(crate) fn new(opening: Bytes, known: u64, queue: mpsc::Receiver<Event>) -> EventBody {
        EventBody {
            opening: Some(opening),
            known,
            queue,
        }
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
        // Every event already queued goes out in one frame, so one write: a subscriber
        // given a batch's share and a refresh's entries together, or one that fell
        // behind, costs one system call instead of one per event. The bytes on the wire
        // are the same events in the same order.
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
                        Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                        None => Poll::Pending,
                    };
                }
            };
            if gathered.push(bytes) >= MAX_FRAME
                && let Some(bytes) = gathered.take()
            {
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
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
        let mut body = EventBody::new(Bytes::from_static(b"retry: 1000\n\n"), 0, events);
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
}
