//! A small HTTP/1.1 client whose connections come from a chosen loopback address
//! (127.0.0.0/8 is all local), so the drill's attackers and its honest player count as
//! different clients for the server's per-address limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// Per-request time limit of the drill's clients.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// An answer: status, `code` of an error body, and the session cookie if one was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The error body's `code`, or empty.
    pub code: String,
    /// `spacewars-session=<value>` from `Set-Cookie`.
    pub cookie: Option<String>,
}

/// A TCP connection to `server` from `source` (a loopback address).
pub async fn connect_from(source: IpAddr, server: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4().context("socket")?;
    socket
        .bind(SocketAddr::new(source, 0))
        .with_context(|| format!("binding {source}"))?;
    let stream = socket.connect(server).await.context("connecting")?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One keep-alive connection.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    /// Sent as `Cookie` with every request once set.
    pub cookie: Option<String>,
}

impl Client {
    /// Opens a connection from `source` to `server`.
    pub async fn open(source: IpAddr, server: SocketAddr) -> anyhow::Result<Client> {
        let stream = connect_from(source, server).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Client {
            sender,
            cookie: None,
        })
    }

    /// Sends one request (with `forwarded_for` as `X-Forwarded-For` if given) and reads
    /// the whole answer; keeps a session cookie the server sets.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        forwarded_for: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost");
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        if let Some(cookie) = &self.cookie {
            builder = builder.header(COOKIE, cookie.as_str());
        }
        if let Some(address) = forwarded_for {
            builder = builder.header("x-forwarded-for", address);
        }
        let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let exchange = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status().as_u16();
            let cookie = response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.split(';').next().map(str::to_owned))
                .filter(|c| c.starts_with("spacewars-session=") && c.len() > 18);
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, cookie, body))
        };
        let (status, cookie, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .context("no answer in time")??;
        if cookie.is_some() {
            self.cookie.clone_from(&cookie);
        }
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(Answer {
            status,
            code,
            cookie,
        })
    }
}

/// `POST path` with `{username, password}` on a fresh connection from `source`.
pub async fn post_credentials(
    source: IpAddr,
    server: SocketAddr,
    path: &str,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> anyhow::Result<Answer> {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let mut client = Client::open(source, server).await?;
    client
        .send(Method::POST, path, Some(body), forwarded_for)
        .await
}
