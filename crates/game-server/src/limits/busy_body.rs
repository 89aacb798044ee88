//! A response body that keeps its connection marked busy until it is sent (or dropped), so
//! eviction near the connection cap ([`super::connections`]) never cuts a response short.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};

use super::connections::Busy;

/// `B`, holding a [`Busy`] guard for as long as it lives.
#[derive(Debug)]
pub struct BusyBody<B> {
    inner: B,
    _busy: Option<Busy>,
}

impl<B> BusyBody<B> {
    /// `inner`, keeping `busy` (none on the operations listener) until it is dropped.
    pub fn new(inner: B, busy: Option<Busy>) -> BusyBody<B> {
        BusyBody { inner, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for BusyBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
