//! One HTTP/1.1 keep-alive connection to a local server (hyper 1 client over plain TCP).
//!
//! A virtual client owns one [`Connection`]; it reconnects when the server closed the
//! previous one. Transport failures say whether the request may have reached the server,
//! which the crash drill needs to tell "not applied" from "outcome unknown". A connection
//! may come from a chosen loopback address ([`Connection::from_source`]: 127.0.0.0/8 is
//! all local), so that a server's per-address limits see different clients.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, HeaderMap, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// The session cookie's name (docs/http-api.md, The session cookie).
pub const SESSION_COOKIE: &str = "spacewars-session";

/// A response: status, headers and whole body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body, read to the end.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, or `None` if it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request was certainly not delivered (connect refused, connection closed before
    /// the request was written).
    NotSent(String),
    /// The request may have been delivered and applied; no response came back.
    Unknown(String),
    /// No response within the time limit (the request may have been applied).
    Timeout,
}

impl TransportError {
    /// A short label for reports ("not_sent", "unknown", "timeout").
    pub fn label(&self) -> &'static str {
        match self {
            TransportError::NotSent(_) => "not_sent",
            TransportError::Unknown(_) => "no_response",
            TransportError::Timeout => "timeout",
        }
    }

    /// True when the request may have been applied by the server.
    pub fn outcome_unknown(&self) -> bool {
        !matches!(self, TransportError::NotSent(_))
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::NotSent(why) => write!(f, "request not sent: {why}"),
            TransportError::Unknown(why) => write!(f, "no response: {why}"),
            TransportError::Timeout => write!(f, "no response in time"),
        }
    }
}

impl std::error::Error for TransportError {}

/// One keep-alive connection to `addr`, carrying a session cookie once it has one.
pub struct Connection {
    addr: SocketAddr,
    source: Option<IpAddr>,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    cookie: Option<String>,
    timeout: Duration,
}

impl Connection {
    /// A connection to `addr` (opened lazily) whose requests time out after `timeout`.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Connection {
        Connection {
            addr,
            source: None,
            host: addr.to_string(),
            sender: None,
            cookie: None,
            timeout,
        }
    }

    /// Like [`Connection::new`], with every TCP connection opened from `source` (a
    /// loopback address).
    pub fn from_source(source: IpAddr, addr: SocketAddr, timeout: Duration) -> Connection {
        Connection {
            source: Some(source),
            ..Connection::new(addr, timeout)
        }
    }

    /// The session cookie sent with every request (`spacewars-session=<token>`).
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Sets the session cookie sent with every request.
    pub fn set_cookie(&mut self, cookie: Option<String>) {
        self.cookie = cookie;
    }

    /// Sends one request (with the session cookie, and `Content-Type: application/json`
    /// when it has a body) and reads the whole response. A `Set-Cookie` for the session
    /// is kept, and one that clears it clears it.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, TransportError> {
        self.request_with_headers(method, path, body, &[]).await
    }

    /// [`Connection::request`] with extra `headers` (name, value).
    pub async fn request_with_headers(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, TransportError> {
        let request = self.build(method, path, body, headers)?;
        self.send(request).await
    }

    /// Sends a prepared request as it is (no cookie or header added) and reads the whole
    /// response; a `Set-Cookie` for the session is kept as in [`Connection::request`].
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, TransportError> {
        match tokio::time::timeout(self.timeout, self.send_inner(request)).await {
            Ok(result) => {
                if result.is_err() {
                    self.sender = None;
                }
                result
            }
            Err(_) => {
                self.sender = None;
                Err(TransportError::Timeout)
            }
        }
    }

    async fn send_inner(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, TransportError> {
        let mut sender = self.ready_sender().await?;
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut failed) => {
                let error = failed.error().to_string();
                return Err(if failed.take_message().is_some() {
                    TransportError::NotSent(error)
                } else {
                    TransportError::Unknown(error)
                });
            }
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| TransportError::Unknown(format!("reading body: {e}")))?
            .to_bytes();
        self.sender = Some(sender);
        let set_session = parts
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{SESSION_COOKIE}=")));
        if let Some(set_session) = set_session {
            self.cookie = session_cookie(set_session);
        }
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// A sender whose connection is ready for the next request, reconnecting if needed.
    async fn ready_sender(&mut self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        if let Some(mut sender) = self.sender.take()
            && sender.ready().await.is_ok()
        {
            return Ok(sender);
        }
        let mut sender = self
            .connect()
            .await
            .map_err(|e| TransportError::NotSent(format!("{e:#}")))?;
        sender
            .ready()
            .await
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        Ok(sender)
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = match self.source {
            Some(source) => connect_from(source, self.addr).await?,
            None => {
                let stream = TcpStream::connect(self.addr)
                    .await
                    .with_context(|| format!("connecting to {}", self.addr))?;
                stream.set_nodelay(true)?;
                stream
            }
        };
        Ok(handshake(stream).await?)
    }

    fn build(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<Request<Full<Bytes>>, TransportError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(COOKIE, cookie);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(bytes) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::copy_from_slice(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        builder
            .body(body)
            .map_err(|e| TransportError::NotSent(format!("building request: {e}")))
    }
}

/// An HTTP/1.1 client connection over `stream` (whose connection task runs until the
/// socket closes; its error shows up as a failed `ready()` or send on this side).
pub async fn handshake<B>(stream: TcpStream) -> Result<SendRequest<B>, hyper::Error>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A TCP connection to `server` from `source` (a loopback address), without Nagle.
pub async fn connect_from(source: IpAddr, server: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4().context("socket")?;
    socket
        .bind(SocketAddr::new(source, 0))
        .with_context(|| format!("binding {source}"))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("connecting to {server} from {source}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `spacewars-session=<token>` out of one `Set-Cookie` value, unless it clears the cookie.
pub fn session_cookie(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    (name == SESSION_COOKIE && !value.is_empty()).then(|| format!("{SESSION_COOKIE}={value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_read_from_set_cookie() {
        assert_eq!(
            session_cookie("spacewars-session=abc123; HttpOnly; SameSite=Lax; Max-Age=86400"),
            Some("spacewars-session=abc123".to_owned())
        );
        assert_eq!(session_cookie("spacewars-session=; Max-Age=0"), None);
        assert_eq!(session_cookie("other=1; Path=/"), None);
    }

    #[test]
    fn only_unsent_requests_have_a_known_outcome() {
        assert!(!TransportError::NotSent("refused".into()).outcome_unknown());
        assert!(TransportError::Unknown("reset".into()).outcome_unknown());
        assert!(TransportError::Timeout.outcome_unknown());
    }
}
