//! The body of one event stream: its opening bytes, then what the hub queues for it,
//! each event framed in one buffer (one write per batch).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use game_cache::fanout::Event;
use hyper::body::{Body, Bytes, Frame};
use tokio::sync::mpsc;

use super::event;

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
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
    }
}
