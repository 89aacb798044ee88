//! The body of one event stream: its opening bytes, then what the hub queues for it.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame};
use tokio::sync::mpsc;

use super::hub::Queued;

/// A streaming response body fed by a subscriber's bounded queue. It skips batches the
/// opening event already covered, and ends when the hub drops the queue's sender (cut
/// off, session revoked, shutdown).
#[derive(Debug)]
pub struct EventBody {
    opening: Option<Bytes>,
    /// The version the client knows; batches leading to it or older are skipped.
    known: u64,
    queue: mpsc::Receiver<Queued>,
}

impl EventBody {
    /// A body that first sends `opening` (which brings the client to version `known`),
    /// then what arrives on `queue`.
    pub(crate) fn new(opening: Bytes, known: u64, queue: mpsc::Receiver<Queued>) -> EventBody {
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
            match self.queue.poll_recv(cx) {
                Poll::Ready(Some(Queued::Batch { version, bytes })) => {
                    if version <= self.known {
                        continue;
                    }
                    self.known = version;
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Poll::Ready(Some(Queued::Direct(bytes))) => {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
