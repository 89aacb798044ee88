//! The floods of the abuse drill, each bounded in requests or time.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use spacewars_harness::http_client::connect_from;

use super::client::{self, Answer};

/// Where the guessing client and the silent connections come from.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// Where the registering client comes from.
const REGISTRAR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
/// Source addresses the login flood's connections are spread over (the per-address
/// connection cap would otherwise close most of them).
const FLOOD_SOURCES: u8 = 8;
/// Pause between two requests of the sequential floods (bounds their request count).
const PAUSE: Duration = Duration::from_millis(10);

/// Answers of a flood, by status and code.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Wall time of the flood.
    pub took: Duration,
    /// Answers by (status, code).
    pub answers: BTreeMap<(u16, String), usize>,
    /// Requests without an answer.
    pub unanswered: usize,
}

impl Outcomes {
    fn record(&mut self, answer: anyhow::Result<Answer>) {
        match answer {
            Ok(answer) => {
                *self
                    .answers
                    .entry((answer.status, answer.code))
                    .or_default() += 1
            }
            Err(_) => self.unanswered += 1,
        }
    }

    /// Answers with `status`, whatever the code.
    pub fn count(&self, status: u16) -> usize {
        self.answers
            .iter()
            .filter(|((s, _), _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }

    /// Logins whose password was actually checked (accepted or refused as wrong).
    pub fn checked(&self) -> usize {
        self.count(200)
            + self
                .answers
                .get(&(400, "invalid_credentials".to_owned()))
                .copied()
                .unwrap_or(0)
    }

    /// `200: n, 429 rate_limited: n, …, no answer: n`.
    pub fn outcomes(&self) -> String {
        let mut parts: Vec<String> = self
            .answers
            .iter()
            .map(|((status, code), n)| format!("{status} {code}: {n}").replace(" : ", ": "))
            .collect();
        parts.push(format!("no answer: {}", self.unanswered));
        parts.join(", ")
    }
}

/// `count` logins of unknown names, `concurrency` at a time, each with its own
/// `X-Forwarded-For` address.
pub async fn logins(server: SocketAddr, count: usize, concurrency: usize) -> Outcomes {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let source = IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                1,
                (i % usize::from(FLOOD_SOURCES)) as u8 + 1,
            ));
            let forwarded = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
            let name = format!("flood-{i}");
            client::post_credentials(source, server, "/api/login", &name, "x", Some(&forwarded))
                .await
        }));
    }
    let mut outcomes = Outcomes::default();
    for task in tasks {
        match task.await {
            Ok(answer) => outcomes.record(answer),
            Err(_) => outcomes.unanswered += 1,
        }
    }
    outcomes.took = started.elapsed();
    outcomes
}

/// One client guessing the demo user's password, one guess at a time, for `duration`.
pub async fn guesses(server: SocketAddr, duration: Duration) -> Outcomes {
    sequential(duration, |n| async move {
        let guess = format!("guess-{n}");
        client::post_credentials(ATTACKER, server, "/api/login", "a", &guess, None).await
    })
    .await
}

/// One client registering accounts, one at a time, for `duration`.
pub async fn registrations(server: SocketAddr, duration: Duration) -> Outcomes {
    sequential(duration, |n| async move {
        let name = format!("reg-{n}");
        client::post_credentials(REGISTRAR, server, "/api/register", &name, "pw", None).await
    })
    .await
}

async fn sequential<F, Fut>(duration: Duration, request: F) -> Outcomes
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Answer>>,
{
    let started = Instant::now();
    let mut outcomes = Outcomes::default();
    let mut n = 0;
    while started.elapsed() < duration {
        outcomes.record(request(n).await);
        n += 1;
        tokio::time::sleep(PAUSE).await;
    }
    outcomes.took = started.elapsed();
    outcomes
}

/// What became of the silent connections.
#[derive(Debug, Default)]
pub struct Slow {
    /// Connections established.
    pub opened: usize,
    /// Connections that could not be established.
    pub failed: usize,
    /// Of the established ones, those the server closed within 300 ms.
    pub closed_at_once: usize,
}

/// Opens `count` connections from one address that never send a byte, holds them for
/// `hold`, then closes them.
pub async fn slow_connections(server: SocketAddr, count: usize, hold: Duration) -> Slow {
    let started = Instant::now();
    let mut slow = Slow::default();
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        match connect_from(ATTACKER, server).await {
            Ok(stream) => streams.push(stream),
            Err(_) => slow.failed += 1,
        }
    }
    slow.opened = streams.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut buffer = [0u8; 16];
    for stream in &streams {
        match stream.try_read(&mut buffer) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            _ => slow.closed_at_once += 1,
        }
    }
    tokio::time::sleep(hold.saturating_sub(started.elapsed())).await;
    drop(streams);
    slow
}
