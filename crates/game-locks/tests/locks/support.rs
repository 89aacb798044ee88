//! Helpers shared by the test modules.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// Upper bound for anything that should finish at once; hitting it means a deadlock.
pub const HANG: Duration = Duration::from_secs(10);

/// Polls `fut` exactly once from the current task: afterwards a lock future that returned
/// `None` is queued inside tokio's lock, deterministically.
pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    poll_fn(|cx| match Pin::new(&mut *fut).poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Yields until `cond` holds (bounded by the caller's timeout).
pub async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::task::yield_now().await;
    }
}
