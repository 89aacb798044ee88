//! Closing connections whose client stops reading: a socket that accepts no byte of a
//! response for `--write-stall-timeout-ms` fails the write with `TimedOut`, which ends the
//! connection. Without it a client that sends requests (or opens a stream) and never
//! reads the answers holds its connection for ever.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Sleep, sleep};

/// `S`, whose writes fail after `timeout` without progress.
#[derive(Debug)]
pub struct StallTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Running while a write waits for the socket; reset by any byte written.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> StallTimeout<S> {
    /// `inner` with writes limited to `timeout` without progress.
    pub fn new(inner: S, timeout: Duration) -> StallTimeout<S> {
        StallTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// After the socket said "not now": `TimedOut` once the stall lasted `timeout`, else
    /// pending (woken by the socket or by the timer, whichever comes first).
    fn poll_stall<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(sleep(timeout)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing for the write stall timeout",
        )))
    }

    fn progressed<T>(
        &mut self,
        outcome: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match outcome {
            Poll::Pending => self.poll_stall(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progressed(outcome, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progressed(outcome, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_flush(cx);
        self.progressed(outcome, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progressed(outcome, cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_fails_after_the_timeout() {
        let (near, mut far) = duplex(16);
        let mut stream = StallTimeout::new(near, Duration::from_secs(30));
        stream.write_all(&[1; 16]).await.expect("fits the buffer");
        // The buffer is full and nobody reads: the paused clock runs to the timeout.
        let stalled = stream.write_all(&[2; 8]).await.expect_err("stalled");
        assert_eq!(stalled.kind(), io::ErrorKind::TimedOut);
        let mut got = [0; 16];
        far.read_exact(&mut got).await.expect("read");
        assert_eq!(got, [1; 16]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_is_not_a_stalled_one() {
        let (near, mut far) = duplex(4);
        let mut stream = StallTimeout::new(near, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut total = Vec::new();
            let mut chunk = [0; 4];
            while total.len() < 40 {
                // 20 s between reads: each under the timeout, together well over it.
                tokio::time::sleep(Duration::from_secs(20)).await;
                let n = far.read(&mut chunk).await.expect("read");
                total.extend_from_slice(&chunk[..n]);
            }
            total
        });
        stream
            .write_all(&[7; 40])
            .await
            .expect("never stalled for 30 s");
        assert_eq!(reader.await.expect("reader"), vec![7; 40]);
    }
}
