//! A player's area stream through HAProxy, kept open as the web client keeps it: after
//! `ended` or a dropped connection it is opened again (after the stream's `retry: 1000`),
//! and a refused open is retried at the same pace. What the stream says goes into the
//! player's [`View`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use spacewars_harness::event_stream::{self, Opened};
use spacewars_harness::sse::SseParser;

use crate::chaos::edges::view::View;

/// The pause before reopening (the server's `retry:`, what a browser waits).
pub const RETRY: Duration = Duration::from_millis(1_000);

/// How long opening may take until the response head.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What one player's stream has shown, shared with the drill.
#[derive(Debug, Default)]
pub struct Stream {
    view: Mutex<View>,
    /// True from the first world event of a connection until that connection ends.
    live: AtomicBool,
    /// Connections that ended (an `ended` event, the body's end, or a transport error)
    /// after carrying events.
    breaks: AtomicU64,
    /// Of those, ends with an `ended` event.
    ended: AtomicU64,
    /// Opens answered with another status than 200.
    refused: AtomicU64,
    /// World events that did not apply (a delta before a snapshot, a bad body).
    bad_events: AtomicU64,
}

impl Stream {
    /// True while a connection carries events.
    pub fn live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// Broken connections so far.
    pub fn breaks(&self) -> u64 {
        self.breaks.load(Ordering::SeqCst)
    }

    /// Of [`Stream::breaks`], those the server ended with an `ended` event.
    pub fn ended(&self) -> u64 {
        self.ended.load(Ordering::SeqCst)
    }

    /// Refused opens so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    /// Events that did not apply so far.
    pub fn bad_events(&self) -> u64 {
        self.bad_events.load(Ordering::SeqCst)
    }

    /// The player's view now.
    pub fn view(&self) -> MutexGuard<'_, View> {
        // A panic while holding the lock would be the drill's own bug; the view stays usable.
        self.view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn broke(&self) {
        if self.live.swap(false, Ordering::SeqCst) {
            self.breaks.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Follows `path` through `haproxy` as the session `cookie` for ever (abort the task to
/// stop), resuming with `Last-Event-ID` as a browser does.
pub async fn follow(haproxy: SocketAddr, path: String, cookie: String, stream: Arc<Stream>) {
    loop {
        let last_id = stream.view().version;
        match event_stream::open(haproxy, &path, &cookie, last_id, OPEN_TIMEOUT).await {
            Ok(Opened::Stream(mut body)) => {
                let mut parser = SseParser::default();
                'read: loop {
                    let chunk = match body.next_chunk().await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) | Err(_) => break 'read,
                    };
                    for event in parser.feed(&chunk) {
                        if event.name == "ended" {
                            if stream.live() {
                                stream.ended.fetch_add(1, Ordering::SeqCst);
                            }
                            break 'read;
                        }
                        match stream.view().apply(&event.name, &event.data) {
                            Ok(()) => {
                                if event.name == "snapshot" || event.name == "delta" {
                                    stream.live.store(true, Ordering::SeqCst);
                                }
                            }
                            Err(_) => {
                                stream.bad_events.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
                stream.broke();
            }
            Ok(Opened::Refused(_)) => {
                stream.refused.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {}
        }
        tokio::time::sleep(RETRY).await;
    }
}
