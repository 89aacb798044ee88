//! One request per connection (`Connection: close`), as a client that may land on any
//! process behind a load balancer; a refused connection is a reply of status 0.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A reply: status (0 when the connection failed), the session cookie if one was set, and
/// the body as JSON (`Null` when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub session: Option<String>,
    pub json: Value,
}

/// Sends one request; `session` goes in the cookie.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    session: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let failed = Reply {
        status: 0,
        session: None,
        json: Value::Null,
    };
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
    else {
        return failed;
    };
    let body = body.map(Value::to_string).unwrap_or_default();
    let cookie = session.map_or(String::new(), |s| {
        format!("Cookie: spacewars-session={s}\r\n")
    });
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{cookie}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut raw = Vec::new();
    let exchange = async {
        stream.write_all(head.as_bytes()).await?;
        stream.read_to_end(&mut raw).await
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), exchange).await,
        Ok(Ok(_))
    ) {
        return failed;
    }
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return failed;
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let session = head
        .lines()
        .filter_map(|line| {
            let prefix = "set-cookie: spacewars-session=";
            let matches =
                line.len() > prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix);
            matches.then(|| &line[prefix.len()..])
        })
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .find(|value| !value.is_empty());
    Reply {
        status,
        session,
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// GET.
pub async fn get(addr: SocketAddr, path: &str, session: Option<&str>) -> Reply {
    send(addr, "GET", path, session, None).await
}

/// POST with a JSON body.
pub async fn post(addr: SocketAddr, path: &str, session: Option<&str>, body: Value) -> Reply {
    send(addr, "POST", path, session, Some(&body)).await
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

/// One kept-alive connection, as a client that keeps talking to the process it reached
/// first; it reconnects when the server closed it.
pub struct KeptAlive {
    addr: SocketAddr,
    stream: Option<TcpStream>,
}

impl KeptAlive {
    /// Not connected yet: the first request connects.
    pub fn new(addr: SocketAddr) -> KeptAlive {
        KeptAlive { addr, stream: None }
    }

    /// POSTs `body` on the kept-alive connection (reconnecting if needed); status 0 when
    /// the exchange failed (the connection is dropped then).
    pub async fn post(&mut self, path: &str, session: &str, body: &Value) -> Reply {
        let failed = Reply {
            status: 0,
            session: None,
            json: Value::Null,
        };
        let addr = self.addr;
        let stream = match self.stream.take() {
            Some(stream) => stream,
            None => {
                match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => stream,
                    _ => return failed,
                }
            }
        };
        let body = body.to_string();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: spacewars-session={session}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match tokio::time::timeout(Duration::from_secs(5), exchange(stream, head)).await {
            Ok(Some((reply, stream))) => {
                self.stream = stream;
                reply
            }
            _ => failed,
        }
    }
}

/// Sends `head` and reads one response (by its `Content-Length`); the stream comes back
/// unless the server said `Connection: close`.
async fn exchange(mut stream: TcpStream, head: String) -> Option<(Reply, Option<TcpStream>)> {
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())?;
    while raw.len() < header_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..read]);
    }
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok())?;
    let json = serde_json::from_slice(&raw[header_end..header_end + length]).unwrap_or(Value::Null);
    let keep = !head.contains("connection: close");
    Some((
        Reply {
            status,
            session: None,
            json,
        },
        keep.then_some(stream),
    ))
}
