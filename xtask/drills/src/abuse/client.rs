//! The drill's requests: the harness's [`Connection`], opened from a chosen loopback
//! address, so the drill's attackers and its honest player count as different clients
//! for the server's per-address limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hyper::Method;
use spacewars_harness::http_client::{Connection, Reply};

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

impl Answer {
    /// The answer `reply` gave on `conn`, a fresh connection (so its cookie, if any, is
    /// the one the reply set).
    pub fn of(reply: &Reply, conn: &Connection) -> Answer {
        let code = reply
            .json()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Answer {
            status: reply.status.as_u16(),
            code,
            cookie: conn.cookie().map(str::to_owned),
        }
    }
}

/// `POST path` with `{username, password}` on a fresh connection from `source`
/// (`forwarded_for` as `X-Forwarded-For` if given).
pub async fn post_credentials(
    source: IpAddr,
    server: SocketAddr,
    path: &str,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> anyhow::Result<Answer> {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let mut conn = Connection::from_source(source, server, TIMEOUT);
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|address| ("x-forwarded-for", address))
        .into_iter()
        .collect();
    let reply = conn
        .request_with_headers(Method::POST, path, Some(body.as_bytes()), &headers)
        .await?;
    Ok(Answer::of(&reply, &conn))
}
