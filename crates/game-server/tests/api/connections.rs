//! Connection limits (docs/limits.md) over real TCP: caps close new connections at once, a silent
//! connection is closed after the first-request timeout, an idle keep-alive one after the
//! keep-alive timeout, and the operations listener answers while the game one is full.

use std::time::{Duration, Instant};

use game_server::RepoKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Client;
use crate::harness::Setup;
use game_persistence::testing::TestBackend;

const SQLITE_CACHED: Setup = Setup {
    db: TestBackend::Sqlite,
    repo: RepoKind::Cached,
};

/// How long the server took to close `stream` (reading until EOF); panics after 10 s,
/// a bound on hanging, not a figure the server must meet.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("closed within 10 s");
        match read {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

/// True if the server answers a request on `stream` (false if it closed it instead).
async fn answers(stream: &mut TcpStream) -> bool {
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    if stream.write_all(head).await.is_err() {
        return false;
    }
    let mut buffer = [0u8; 12];
    match tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut buffer)).await {
        Ok(Ok(_)) => &buffer == b"HTTP/1.1 200",
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_cap_new_connections_are_closed_at_once() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.max_connections = 3;
            c.limits.max_connections_per_address = 2;
            // Only the cap can close a silent connection within `closed_after`'s 10 s.
            c.limits.first_request_timeout_ms = 60_000;
            c.limits.ops_listen = Some("127.0.0.1:0".parse().expect("addr"));
        })
        .await;
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    assert!(answers(&mut first).await);
    assert!(answers(&mut second).await);
    // 127.0.0.1 has its two: a third is closed without an answer, long before its
    // first-request timeout could have closed it.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    closed_after(&mut third).await;
    // The operations listener is outside the caps, and serves only the operations routes.
    let ops = server.ops_addr.expect("ops listener");
    let mut ops_client = Client::new(ops);
    assert_eq!(ops_client.get("/healthz").await.status, 200);
    let page = ops_client.get("/metrics").await;
    let page = String::from_utf8(page.body.to_vec()).expect("utf-8");
    assert!(page.contains("spacewars_connections_open 2\n"), "{page}");
    assert!(
        page.contains("spacewars_connections_refused_total{cap=\"per_address\"} 1\n"),
        "{page}"
    );
    assert_eq!(ops_client.get("/api/world").await.code(), "not_found");
    // A place frees up when a connection closes.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TcpStream::connect(server.addr).await.expect("connect");
        if answers(&mut again).await {
            break;
        }
        assert!(Instant::now() < deadline, "the place did not come back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The order in which the server closes `streams` (each paired with when the test
/// started waiting on it): each one's index and how long after that it was closed, in
/// the order they were closed (each read until EOF on its own task).
async fn closing_order(streams: Vec<(TcpStream, Instant)>) -> Vec<(usize, Duration)> {
    let (closed, mut order) = tokio::sync::mpsc::unbounded_channel();
    for (index, (mut stream, since)) in streams.into_iter().enumerate() {
        let closed = closed.clone();
        tokio::spawn(async move {
            closed_after(&mut stream).await;
            let _ = closed.send((index, since.elapsed()));
        });
    }
    drop(closed);
    let mut closings = Vec::new();
    while let Some(closing) = order.recv().await {
        closings.push(closing);
    }
    closings
}

/// Which timeout closes which connection, by the order they are closed in (no wall-clock
/// upper bound): a first-request timeout of 300 ms, a keep-alive timeout ten times longer.
/// The only durations checked are lower bounds, which a slow machine cannot break.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.first_request_timeout_ms = 300;
            c.limits.keep_alive_timeout_ms = 3_000;
        })
        .await;
    // One request, then idle: its keep-alive timer starts once it was answered.
    let idle_since = Instant::now();
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    assert!(answers(&mut idle).await);
    let mut rest = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_millis(100), idle.read(&mut rest)).await;
    // Nothing sent; half a request head, then silence.
    let silent_since = Instant::now();
    let silent = TcpStream::connect(server.addr).await.expect("connect");
    let slow_since = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("write");
    let closings = closing_order(vec![
        (idle, idle_since),
        (silent, silent_since),
        (slow, slow_since),
    ])
    .await;
    // The first-request timeout closes the two newer ones before the keep-alive timeout
    // closes the idle one, though it was opened first; none closes before its timeout.
    let order: Vec<usize> = closings.iter().map(|(index, _)| *index).collect();
    assert_eq!(order.len(), 3);
    assert_eq!(order[2], 0, "closing order {closings:?}");
    let after = |index: usize| closings.iter().find(|(i, _)| *i == index).map(|(_, d)| *d);
    assert!(after(1) >= Some(Duration::from_millis(300)), "{closings:?}");
    assert!(after(2) >= Some(Duration::from_millis(300)), "{closings:?}");
    assert!(
        after(0) >= Some(Duration::from_millis(3_000)),
        "{closings:?}"
    );
}
