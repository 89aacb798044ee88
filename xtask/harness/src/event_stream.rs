//! One `GET /api/world/events` connection: the HTTP client's connection (see
//! [`crate::http_client::handshake`]) on its own TCP connection, whose body is read chunk
//! by chunk as the server pushes events.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, COOKIE, HOST};
use hyper::{Request, StatusCode};
use tokio::net::TcpStream;

use crate::http_client::{TransportError, handshake};

/// An open event stream.
pub struct EventStream {
    body: Incoming,
    /// Kept so the connection is not closed while the body is read.
    _sender: SendRequest<Empty<Bytes>>,
}

/// The answer to opening a stream.
pub enum Opened {
    /// 200: the events follow.
    Stream(EventStream),
    /// Any other status (the connection is dropped with its error body).
    Refused(StatusCode),
}

/// Opens the stream at `path` (with its query) for the session `cookie`, resuming after
/// `last_event_id` if given; the response head must come within `timeout`.
pub async fn open(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    last_event_id: Option<u64>,
    timeout: Duration,
) -> Result<Opened, TransportError> {
    match tokio::time::timeout(timeout, open_inner(addr, path, cookie, last_event_id)).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout),
    }
}

async fn open_inner(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    last_event_id: Option<u64>,
) -> Result<Opened, TransportError> {
    let not_sent = |e: &dyn std::fmt::Display| TransportError::NotSent(e.to_string());
    let stream = TcpStream::connect(addr).await.map_err(|e| not_sent(&e))?;
    stream.set_nodelay(true).map_err(|e| not_sent(&e))?;
    let mut sender = handshake(stream).await.map_err(|e| not_sent(&e))?;
    let mut request = Request::get(path)
        .header(HOST, addr.to_string())
        .header(ACCEPT, "text/event-stream")
        .header(COOKIE, cookie);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| not_sent(&format!("building request: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| TransportError::Unknown(e.to_string()))?;
    let status = response.status();
    if status != StatusCode::OK {
        return Ok(Opened::Refused(status));
    }
    Ok(Opened::Stream(EventStream {
        body: response.into_body(),
        _sender: sender,
    }))
}

impl EventStream {
    /// The next chunk of the body; `Ok(None)` when the server ended the stream.
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(TransportError::Unknown(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                    // Trailers carry no events.
                }
            }
        }
    }
}
