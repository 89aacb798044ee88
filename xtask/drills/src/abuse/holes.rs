//! The drill's runs for the abuse holes of docs/limits.md: account lockout by guessers, a
//! flood of long names, a slow-connection flood from 40 addresses, one session hogging
//! streams, and failed-login timing right after a restart with a higher cost. Each is
//! bounded in time and returns what it measured; [`super::holes_report`] prints them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

use spacewars_harness::http_client::connect_from;

/// One request on a fresh connection from `source`: status, error code, and the
/// `name=value` of every cookie set.
pub async fn exchange(
    source: IpAddr,
    server: SocketAddr,
    method: Method,
    path: &str,
    body: Option<String>,
    cookies: Option<&str>,
) -> anyhow::Result<(u16, String, Vec<String>)> {
    let stream = connect_from(source, server).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, "localhost");
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    if let Some(cookies) = cookies {
        builder = builder.header(COOKIE, cookies);
    }
    let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let answer = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let set: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, set, body))
    };
    let (status, set, body) = tokio::time::timeout(super::client::TIMEOUT, answer).await??;
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok((status, code, set))
}

fn credentials(name: &str, password: &str) -> String {
    serde_json::json!({"username": name, "password": password}).to_string()
}

fn loopback(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, a, b))
}

/// What the lockout run saw.
#[derive(Debug, Default)]
pub struct Lockout {
    /// The owner's logins, and how many succeeded.
    pub owner_tries: usize,
    /// The owner's successful logins.
    pub owner_ok: usize,
    /// The guessers' guesses, and how many were checked (not 429).
    pub guesses: usize,
    /// Guesses answered with a verification (`invalid_credentials`).
    pub guesses_checked: usize,
}

/// The owner of `name` (password `password`), on a device that signed in once before,
/// logs in every 2 s for `duration` from 127.0.1.1 while two guessers (127.0.1.2 and
/// 127.0.1.3) each send one wrong guess a second.
pub async fn lockout(
    server: SocketAddr,
    name: &str,
    password: &str,
    duration: Duration,
) -> Lockout {
    let owner = loopback(1, 1);
    let first = exchange(
        owner,
        server,
        Method::POST,
        "/api/login",
        Some(credentials(name, password)),
        None,
    )
    .await;
    let device = first
        .ok()
        .and_then(|(_, _, set)| set.into_iter().find(|c| c.starts_with("spacewars-device=")));
    let deadline = Instant::now() + duration;
    let guessers: Vec<_> = [loopback(1, 2), loopback(1, 3)]
        .into_iter()
        .map(|source| {
            let name = name.to_owned();
            tokio::spawn(async move {
                let (mut sent, mut checked) = (0, 0);
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                while Instant::now() < deadline {
                    tick.tick().await;
                    let guess = exchange(
                        source,
                        server,
                        Method::POST,
                        "/api/login",
                        Some(credentials(&name, "wrong")),
                        None,
                    )
                    .await;
                    sent += 1;
                    if matches!(guess, Ok((_, ref code, _)) if code == "invalid_credentials") {
                        checked += 1;
                    }
                }
                (sent, checked)
            })
        })
        .collect();
    let mut result = Lockout::default();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.tick().await;
    while Instant::now() < deadline {
        tick.tick().await;
        let login = exchange(
            owner,
            server,
            Method::POST,
            "/api/login",
            Some(credentials(name, password)),
            device.as_deref(),
        )
        .await;
        result.owner_tries += 1;
        if matches!(login, Ok((200, _, _))) {
            result.owner_ok += 1;
        }
    }
    for guesser in guessers {
        if let Ok((sent, checked)) = guesser.await {
            result.guesses += sent;
            result.guesses_checked += checked;
        }
    }
    result
}

/// `count` logins with distinct 15,000-character names, from 250 forwarded addresses,
/// `concurrency` at once; returns how many were answered 400.
pub async fn long_names(server: SocketAddr, count: usize, concurrency: usize) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, refused) = (next.clone(), refused.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return;
                    }
                    let name = format!("{n:06}{}", "x".repeat(14_994));
                    let forwarded = format!("10.9.0.{}", n % 250);
                    let source = loopback(2, u8::try_from(n % 250 + 1).unwrap_or(1));
                    let answer = super::client::post_credentials(
                        source,
                        server,
                        "/api/login",
                        &name,
                        "pw",
                        Some(&forwarded),
                    )
                    .await;
                    if matches!(answer, Ok(ref a) if a.status == 400) {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    refused.load(Ordering::Relaxed)
}

/// What the slow-connection flood saw.
#[derive(Debug, Default)]
pub struct SlowFlood {
    /// Connections the attackers opened (reconnecting whenever the server closed one).
    pub opened: usize,
    /// The honest client's requests, and how many got a 200.
    pub honest_tries: usize,
    /// The honest client's successes.
    pub honest_ok: usize,
}

/// 40 attacker addresses (127.0.3.1–40) keep `per_address` connections each open for
/// `duration`: half send one byte of a request head and then nothing, half send requests
/// and never read the answers; each reconnects when the server closes it. Meanwhile an
/// honest client at 127.0.1.9 sends a request on a fresh connection every 100 ms.
pub async fn slow_flood(server: SocketAddr, per_address: usize, duration: Duration) -> SlowFlood {
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicUsize::new(0));
    let mut attackers = Vec::new();
    for address in 1..=40u8 {
        for n in 0..per_address {
            let (stop, opened) = (stop.clone(), opened.clone());
            attackers.push(tokio::spawn(async move {
                let source = loopback(3, address);
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut stream) = connect_from(source, server).await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    opened.fetch_add(1, Ordering::Relaxed);
                    let head: &[u8] = if n % 2 == 0 {
                        b"G"
                    } else {
                        b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
                    };
                    let _ = stream
                        .write_all(&head.repeat(if n % 2 == 0 { 1 } else { 50 }))
                        .await;
                    // Hold it until the server closes it (a failed write tells) or the end.
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if n % 2 == 0 && stream.write_all(b"E").await.is_err() {
                            break;
                        }
                        if n % 2 == 1 && stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await.is_err()
                        {
                            break;
                        }
                    }
                }
            }));
        }
    }
    // Let the attackers fill the server first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut result = SlowFlood::default();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        let answer = exchange(
            loopback(1, 9),
            server,
            Method::GET,
            "/api/session",
            None,
            None,
        )
        .await;
        result.honest_tries += 1;
        if matches!(answer, Ok((200, _, _))) {
            result.honest_ok += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.abort();
    }
    result.opened = opened.load(Ordering::Relaxed);
    result
}

/// What stream hogging saw.
#[derive(Debug, Default)]
pub struct Hogging {
    /// Streams the hog's one session asked for, and how many got a 200.
    pub asked: usize,
    /// Streams of the hog still open at the end.
    pub still_open: usize,
    /// The next player's stream status.
    pub next_player: u16,
}

/// One session (`cookie`) opens `count` world streams and keeps reading them; then another
/// player (`other`) opens one.
pub async fn hogging(server: SocketAddr, cookie: &str, other: &str, count: usize) -> Hogging {
    let mut bodies = Vec::new();
    let mut result = Hogging {
        asked: count,
        ..Hogging::default()
    };
    for _ in 0..count {
        if let Ok((200, body)) = open_stream(loopback(4, 1), server, cookie).await {
            bodies.push(body);
        }
    }
    // Read what each stream has; an ended one reports its end.
    for body in &mut bodies {
        loop {
            match tokio::time::timeout(Duration::from_millis(200), body.frame()).await {
                Ok(Some(Ok(_))) => {}
                Ok(None | Some(Err(_))) => break,
                Err(_) => {
                    result.still_open += 1;
                    break;
                }
            }
        }
    }
    result.next_player = open_stream(loopback(4, 2), server, other)
        .await
        .map_or(0, |(status, _)| status);
    result
}

/// Opens a whole-world stream with `cookie` from `source`: its status and body (unread).
async fn open_stream(
    source: IpAddr,
    server: SocketAddr,
    cookie: &str,
) -> anyhow::Result<(u16, hyper::body::Incoming)> {
    let stream = connect_from(source, server).await?;
    let (mut sender, connection) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::get("/api/world/events?area=world")
        .header(HOST, "localhost")
        .header(COOKIE, cookie)
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await?;
    Ok((response.status().as_u16(), response.into_body()))
}

/// Failed-login times (ms) by kind.
#[derive(Debug, Default)]
pub struct Timing {
    /// An unknown name.
    pub unknown: Vec<f64>,
    /// An account whose hash has the old, cheaper cost.
    pub old_hash: Vec<f64>,
    /// An account whose hash has the current cost.
    pub current_hash: Vec<f64>,
}

/// `rounds` failed logins of each kind, interleaved, each from its own forwarded address.
pub async fn timing(server: SocketAddr, old: &str, current: &str, rounds: usize) -> Timing {
    let mut result = Timing::default();
    for round in 0..rounds {
        for kind in 0..3 {
            let name = match kind {
                0 => format!("nobody{round}"),
                1 => old.to_owned(),
                _ => current.to_owned(),
            };
            let started = Instant::now();
            let _ = exchange(
                loopback(5, 1),
                server,
                Method::POST,
                "/api/login",
                Some(credentials(&name, "wrong")),
                None,
            )
            .await;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            match kind {
                0 => result.unknown.push(ms),
                1 => result.old_hash.push(ms),
                _ => result.current_hash.push(ms),
            }
        }
    }
    result
}
