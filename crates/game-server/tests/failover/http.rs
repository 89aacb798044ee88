//! One request per connection, as a client that may land on any process behind a load
//! balancer, sent with the harness's HTTP client; a failed connection is a reply of
//! status 0.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::Value;
use spacewars_harness::http_client::{Connection, SESSION_COOKIE};

/// A reply: status (0 when the connection failed), the session cookie if one was set, and
/// the body as JSON (`Null` when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub session: Option<String>,
    pub json: Value,
}

/// Sends one request on a fresh connection; `session` goes in the cookie.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    session: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut conn = Connection::new(addr, Duration::from_secs(5));
    conn.set_cookie(session.map(|token| format!("{SESSION_COOKIE}={token}")));
    let sent = conn.cookie().map(str::to_owned);
    let body = body.map(Value::to_string);
    match conn
        .request(method, path, body.as_ref().map(String::as_bytes))
        .await
    {
        Ok(reply) => Reply {
            status: reply.status.as_u16(),
            // A cookie the reply set (the connection keeps it), not the one sent.
            session: conn
                .cookie()
                .filter(|cookie| Some(*cookie) != sent.as_deref())
                .and_then(|cookie| cookie.split_once('='))
                .map(|(_, token)| token.to_owned()),
            json: reply.json().unwrap_or(Value::Null),
        },
        Err(_) => Reply {
            status: 0,
            session: None,
            json: Value::Null,
        },
    }
}

/// GET.
pub async fn get(addr: SocketAddr, path: &str, session: Option<&str>) -> Reply {
    send(addr, Method::GET, path, session, None).await
}

/// POST with a JSON body.
pub async fn post(addr: SocketAddr, path: &str, session: Option<&str>, body: Value) -> Reply {
    send(addr, Method::POST, path, session, Some(&body)).await
}

/// Polls `/readyz` every 10 ms until it answers 200; how long that took since `since`.
pub async fn wait_ready(addr: SocketAddr, since: Instant, limit: Duration) -> Duration {
    loop {
        if get(addr, "/readyz", None).await.status == 200 {
            return since.elapsed();
        }
        assert!(since.elapsed() < limit, "{addr} not ready within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One kept-alive connection (the harness's, which reconnects when the server closed it),
/// as a client that keeps talking to the process it reached first.
pub struct KeptAlive {
    conn: Connection,
}

impl KeptAlive {
    /// Not connected yet: the first request connects.
    pub fn new(addr: SocketAddr, session: &str) -> KeptAlive {
        let mut conn = Connection::new(addr, Duration::from_secs(5));
        conn.set_cookie(Some(format!("{SESSION_COOKIE}={session}")));
        KeptAlive { conn }
    }

    /// POSTs `body`; status 0 when the exchange failed.
    pub async fn post(&mut self, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        match self
            .conn
            .request(Method::POST, path, Some(body.as_bytes()))
            .await
        {
            Ok(reply) => Reply {
                status: reply.status.as_u16(),
                session: None,
                json: reply.json().unwrap_or(Value::Null),
            },
            Err(_) => Reply {
                status: 0,
                session: None,
                json: Value::Null,
            },
        }
    }
}
