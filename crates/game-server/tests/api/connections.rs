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

/// How long the server took to close `stream` (reading until EOF); panics after 10 s.
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
            c.limits.ops_listen = Some("127.0.0.1:0".parse().expect("addr"));
        })
        .await
        .expect("sqlite");
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    assert!(answers(&mut first).await);
    assert!(answers(&mut second).await);
    // 127.0.0.1 has its two: a third is closed at once, without an answer.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed_after(&mut third).await < Duration::from_secs(1));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let server = SQLITE_CACHED
        .start_with(|c| {
            c.limits.first_request_timeout_ms = 300;
            c.limits.keep_alive_timeout_ms = 1_000;
        })
        .await
        .expect("sqlite");
    // Nothing sent: closed after the first-request timeout.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let took = closed_after(&mut silent).await;
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(900),
        "{took:?}"
    );
    // Half a request head, then silence: the same.
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("write");
    let took = closed_after(&mut slow).await;
    assert!(took < Duration::from_millis(900), "{took:?}");
    // One request, then idle: kept past the first-request timeout, closed after the
    // keep-alive timeout.
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    assert!(answers(&mut idle).await);
    let mut rest = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_millis(100), idle.read(&mut rest)).await;
    let took = closed_after(&mut idle).await;
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(2_000),
        "{took:?}"
    );
}
