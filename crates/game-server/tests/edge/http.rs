//! Plain HTTP/1.1 over TCP to the processes: one-shot requests, and event streams read as
//! they arrive (the test looks at the bytes, as a browser's EventSource would).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long a condition may take before a test gives up (generous: a busy machine).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One request; the status, the `Set-Cookie` session pair if any, and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, Option<String>, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{cookie}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let session = text.lines().find_map(|line| {
        let value = line
            .strip_prefix("set-cookie: ")
            .or_else(|| line.strip_prefix("Set-Cookie: "))?;
        let pair = value.split(';').next()?;
        (!pair.ends_with('=')).then(|| pair.to_owned())
    });
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, session, body)
}

/// Polls `path` until it answers `status`.
pub async fn wait_status(addr: SocketAddr, path: &str, status: u16) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if request(addr, "GET", path, None, "").await.0 == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} on {addr} never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An event stream being read in the background.
pub struct Stream {
    text: Arc<Mutex<String>>,
    ended: Arc<Mutex<bool>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Stream {
    /// Closes the connection (the reader owns it).
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Stream {
    /// Opens `GET path` with `cookie` on `addr`.
    pub async fn open(addr: SocketAddr, path: &str, cookie: &str) -> Stream {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // `Connection: close`: "ended" means the server ended the response. Without it a
        // finished chunked body leaves a keep-alive connection open for its idle timeout
        // (30 s), and a test waiting for the close would measure that timeout instead.
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let text = Arc::new(Mutex::new(String::new()));
        let ended = Arc::new(Mutex::new(false));
        let (into, done) = (text.clone(), ended.clone());
        let reader = tokio::spawn(async move {
            let mut buffer = vec![0; 64 * 1024];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => into
                        .lock()
                        .expect("text")
                        .push_str(&String::from_utf8_lossy(&buffer[..n])),
                }
            }
            *done.lock().expect("ended") = true;
        });
        Stream {
            text,
            ended,
            reader,
        }
    }

    /// What arrived so far.
    pub fn text(&self) -> String {
        self.text.lock().expect("text").clone()
    }

    /// True once the server closed it.
    pub fn has_ended(&self) -> bool {
        *self.ended.lock().expect("ended")
    }

    /// Waits until `done` holds for what arrived.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.text()) {
            assert!(
                Instant::now() < deadline,
                "the stream never showed {what}; it holds:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the server closes it.
    pub async fn wait_end(&self) {
        let deadline = Instant::now() + PATIENCE;
        while !self.has_ended() {
            assert!(
                Instant::now() < deadline,
                "the stream never ended:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The events of a stream's text: (`id`, `event`, data as JSON).
pub fn events(text: &str) -> Vec<(Option<u64>, String, Value)> {
    let body = text.split_once("\r\n\r\n").map_or(text, |(_, b)| b);
    body.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).ok();
                }
            }
            Some((id, name?, data?))
        })
        .collect()
}

/// The world a whole-world stream's events build: each object's stored state by id
/// (`snapshot` replaces everything, `delta` upserts and removes), and the last version.
pub fn world_of(text: &str) -> (BTreeMap<u64, Value>, Option<u64>) {
    let mut world = BTreeMap::new();
    let mut version = None;
    for (id, name, data) in events(text) {
        let objects = match name.as_str() {
            "snapshot" => {
                world.clear();
                data.get("spaceObjects")
            }
            "delta" => data.get("upserted"),
            _ => continue,
        };
        for object in objects.and_then(Value::as_array).into_iter().flatten() {
            if let Some(key) = object.get("id").and_then(Value::as_u64) {
                world.insert(key, object.clone());
            }
        }
        for removed in data
            .get("removed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = removed.as_u64() {
                world.remove(&key);
            }
        }
        version = id.or(version);
    }
    (world, version)
}
