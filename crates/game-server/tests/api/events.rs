//! A Server-Sent Events client over real TCP, for the world stream's tests.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::client::request;

/// How long a test waits for the next event before it fails.
pub const EVENT_WAIT: Duration = Duration::from_secs(10);

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `id:` (the world version it leads to).
    pub id: u64,
    /// `event:` (`snapshot` or `delta`).
    pub name: String,
    /// `data:`, parsed.
    pub data: Value,
}

/// An open stream.
pub struct EventStream {
    body: Incoming,
    buffer: String,
}

/// `GET /api/world/events?<query>` with a session and an optional `Last-Event-ID`: the
/// status, the `Content-Type`, and the stream (for a 200) or the JSON error body.
pub async fn open(
    addr: SocketAddr,
    query: &str,
    session: Option<&str>,
    last_event_id: Option<u64>,
) -> (u16, Option<String>, Result<EventStream, Value>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = format!("/api/world/events?{query}");
    let mut get = request(Method::GET, &path, None, session);
    if let Some(id) = last_event_id {
        get.headers_mut().insert(
            "last-event-id",
            HeaderValue::from_str(&id.to_string()).expect("id"),
        );
    }
    let response = sender.send_request(get).await.expect("answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body();
    if status == 200 {
        (
            status,
            content_type,
            Ok(EventStream {
                body,
                buffer: String::new(),
            }),
        )
    } else {
        let bytes = body.collect().await.expect("body").to_bytes();
        (
            status,
            content_type,
            Err(serde_json::from_slice(&bytes).expect("JSON error")),
        )
    }
}

impl EventStream {
    /// The next event (comments and `retry:` skipped); `None` when the stream ended.
    /// Fails the test after [`EVENT_WAIT`].
    pub async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(EVENT_WAIT, self.next_event())
            .await
            .expect("an event or the end of the stream in time")
    }

    async fn next_event(&mut self) -> Option<Event> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let frame = self.body.frame().await?.ok()?;
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

fn parse(block: &str) -> Option<Event> {
    let (mut id, mut name, mut data) = (None, None, None);
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.parse().ok();
        } else if let Some(value) = line.strip_prefix("event: ") {
            name = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data = serde_json::from_str(value).ok();
        }
    }
    Some(Event {
        id: id?,
        name: name?,
        data: data?,
    })
}
