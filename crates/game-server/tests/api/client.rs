//! The tests' view of the harness's HTTP client: every answer checked against the OpenAPI
//! document, the session cookie handled by hand, assertion helpers.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request};
use serde_json::Value;
use spacewars_harness::http_client::{self, TransportError};

use crate::openapi;

/// One answer, fully read.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The `code` of an error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Status and the error body, for compact assertions on errors.
    pub fn error(&self) -> (u16, String, String) {
        let body = self.json();
        (
            self.status,
            body["error"].as_str().unwrap_or_default().to_owned(),
            body["code"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How long a test waits for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One keep-alive connection (the harness's, which opens it on the first request).
pub struct Connection {
    inner: http_client::Connection,
}

impl Connection {
    /// A connection to `addr`.
    pub async fn open(addr: SocketAddr) -> Connection {
        Connection {
            inner: http_client::Connection::new(addr, REQUEST_TIMEOUT),
        }
    }

    /// A connection to `addr` from the local address `source` (any of 127.0.0.0/8 on
    /// loopback), so the server sees another client address.
    pub async fn open_from(addr: SocketAddr, source: std::net::IpAddr) -> Connection {
        Connection {
            inner: http_client::Connection::from_source(source, addr, REQUEST_TIMEOUT),
        }
    }

    /// Sends one request as it is and reads the whole answer; `Err` if the connection
    /// failed. Panics if the answer is not one the OpenAPI document describes
    /// ([`openapi`]).
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, TransportError> {
        let method = request.method().clone();
        let uri = request.uri().to_string();
        let answer = self.inner.send(request).await?;
        let reply = Reply {
            status: answer.status.as_u16(),
            headers: answer.headers,
            body: answer.body,
        };
        if let Err(mismatch) = openapi::check(&method, &uri, &reply) {
            panic!(
                "{method} {uri} answered {} outside the OpenAPI document: {mismatch}",
                reply.status
            );
        }
        Ok(reply)
    }
}

/// A player's client: one connection per request, the session cookie remembered.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    /// The `spacewars-session` value sent with each request, if any.
    pub session: Option<String>,
}

/// Builds a request to `path` with an optional body and cookie.
pub fn request(
    method: Method,
    path: &str,
    body: Option<&str>,
    session: Option<&str>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "localhost");
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(token) = session {
        builder = builder.header(
            header::COOKIE,
            format!("theme=dark; spacewars-session={token}"),
        );
    }
    let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
    builder.body(body).expect("request")
}

impl Client {
    /// A client without a session.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            session: None,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a raw body.
    pub async fn post(&mut self, path: &str, body: &str) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&mut self, path: &str, body: Value) -> Reply {
        self.post(path, &body.to_string()).await
    }

    /// Any request; applies a `Set-Cookie` for the session to the client.
    pub async fn send(&mut self, method: Method, path: &str, body: Option<&str>) -> Reply {
        let request = request(method, path, body, self.session.as_deref());
        let reply = self.send_request(request).await;
        if let Some(cookie) = reply.header("set-cookie") {
            self.session = session_from_set_cookie(cookie);
        }
        reply
    }

    /// Sends a prepared request on a fresh connection.
    pub async fn send_request(&self, request: Request<Full<Bytes>>) -> Reply {
        let mut connection = Connection::open(self.addr).await;
        connection.send(request).await.expect("request failed")
    }

    /// Registers `username` (password `pw-<username>`), keeping the session; asserts 200.
    pub async fn register(&mut self, username: &str) -> &mut Client {
        let reply = self
            .post_json(
                "/api/register",
                serde_json::json!({"username": username, "password": format!("pw-{username}")}),
            )
            .await;
        assert_eq!(reply.status, 200, "register {username}: {:?}", reply.body);
        self
    }

    /// Logs in; returns the reply.
    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/api/login",
            serde_json::json!({"username": username, "password": password}),
        )
        .await
    }
}

/// A TCP connection to `addr` from the local address `source`.
pub async fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> tokio::net::TcpStream {
    http_client::connect_from(source, addr)
        .await
        .expect("connect from the source address")
}

/// The session token a `Set-Cookie` sets, or `None` if it clears the cookie.
pub fn session_from_set_cookie(cookie: &str) -> Option<String> {
    let value = cookie
        .strip_prefix("spacewars-session=")?
        .split(';')
        .next()?;
    let cleared = cookie.contains("Max-Age=0") || value.is_empty();
    (!cleared).then(|| value.to_owned())
}

/// A header value from text.
pub fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("header")
}
