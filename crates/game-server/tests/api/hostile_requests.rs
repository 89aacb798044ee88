//! The rest of docs/http-api.md, Errors: unknown paths, wrong methods, bodies over the
//! limit, anything a client may send (never a 500) and storage failures (503, never 500).

use std::time::Duration;

use hyper::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Client, request};
use crate::errors::err;
use crate::harness::{Setup, each_setup};

each_setup!(
    unknown_paths_wrong_methods_and_large_bodies,
    nothing_a_client_sends_causes_a_500,
);

// Only a PostgreSQL schema can be broken under a running server (`break_now`).
each_setup!(postgres: storage_failures_are_503_never_500);

async fn unknown_paths_wrong_methods_and_large_bodies(setup: Setup) {
    let server = setup.start().await;
    let mut client = server.demo().await;
    // (`/` is the web client's page, tested with the other static files.)
    for path in [
        "/index.htm",
        "/api",
        "/api/worlds",
        "/api/world/",
        "/API/WORLD",
        "/api/world/1",
    ] {
        let reply = client.get(path).await;
        assert_eq!(reply.error(), err(404, "Not found", "not_found"), "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
    for (method, path, allow) in [
        (Method::GET, "/api/collect", "POST"),
        (Method::PUT, "/api/register", "POST"),
        (Method::POST, "/api/world", "GET"),
        (Method::DELETE, "/api/session", "GET"),
        (Method::POST, "/metrics", "GET"),
    ] {
        let reply = client.send(method.clone(), path, Some("{}")).await;
        assert_eq!(
            reply.error(),
            err(405, "Method not allowed", "method_not_allowed"),
            "{method} {path}"
        );
        assert_eq!(reply.header("allow"), Some(allow));
    }

    // 16 KiB is accepted (and then judged on its content); one byte more is not.
    let padded = |len: usize| {
        let (head, tail) = (r#"{"speed":1,"pad":""#, r#""}"#);
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let at_limit = padded(16 * 1024);
    assert_eq!(at_limit.len(), 16 * 1024);
    assert_eq!(
        client.post("/api/navigate", &at_limit).await.code(),
        "invalid_body"
    );
    let over = padded(16 * 1024 + 1);
    let reply = client.post("/api/navigate", &over).await;
    assert_eq!(
        reply.error(),
        err(
            413,
            "Request body larger than 16384 bytes",
            "payload_too_large"
        )
    );
    // A huge announced body is refused on its Content-Length alone, before it is read.
    // (Sent as headers only: a client still writing 1 MiB may see the connection reset
    // before it reads the answer, which made a full upload here flaky.)
    let reply = raw_announced(&server.client(), "/api/register", 1024 * 1024).await;
    assert!(reply.starts_with("HTTP/1.1 413 "), "{reply}");
    assert!(reply.contains("payload_too_large"), "{reply}");

    // Without Content-Length (chunked), the streamed size is checked.
    let reply = raw_chunked(&server.client(), "/api/register", 20, 1024).await;
    assert!(reply.starts_with("HTTP/1.1 413 "), "{reply}");
    assert!(reply.contains("payload_too_large"), "{reply}");
    let reply = raw_chunked(&server.client(), "/api/register", 1, 100).await;
    assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
}

/// Sends only the head of a POST announcing a `content_length`-byte body; returns the reply.
async fn raw_announced(client: &Client, path: &str, content_length: usize) -> String {
    let mut stream = TcpStream::connect(client.addr()).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// Sends `chunks` chunks of `size` bytes with chunked encoding on a raw socket, and returns
/// the response text (the server may answer before it read everything).
async fn raw_chunked(client: &Client, path: &str, chunks: usize, size: usize) -> String {
    let mut stream = TcpStream::connect(client.addr()).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let chunk = format!("{size:x}\r\n{}\r\n", "y".repeat(size));
    for _ in 0..chunks {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

async fn nothing_a_client_sends_causes_a_500(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    let deep = "[".repeat(10_000);
    let bodies = [
        "",
        "null",
        "true",
        "0",
        "-0",
        "1e999",
        "{}",
        "[]",
        "\"\u{0}\"",
        &deep,
        r#"{"username":"\u0000","password":"\u0000"}"#,
        r#"{"username":"\ud800","password":"x"}"#,
        r#"{"username":"ok","password":"x","username":"dup"}"#,
        r#"{"type":"IronHarvesting","type":"Afterburner"}"#,
        r#"{"objectId":9223372036854775807}"#,
        r#"{"objectId":-9223372036854775808}"#,
        r#"{"objectId":18446744073709551616}"#,
        r#"{"speed":1e308,"angle":1e308}"#,
        r#"{"speed":5e-324,"angle":-1e308}"#,
        r#"{"speed":0,"angle":1.7976931348623157e308}"#,
    ];
    let posts = [
        "/api/register",
        "/api/login",
        "/api/logout",
        "/api/trigger-research",
        "/api/navigate",
        "/api/collect",
    ];
    for path in posts {
        for body in bodies {
            let reply = demo.post(path, body).await;
            assert!(reply.status < 500, "{path} {body:.40} → {}", reply.status);
            assert_eq!(reply.header("content-type"), Some("application/json"));
            if path == "/api/logout" {
                demo = server.demo().await;
            }
        }
    }
    // Odd headers: a binary cookie, many cookies, a bad content length.
    let mut odd = request(Method::GET, "/api/world", None, None);
    odd.headers_mut().insert(
        "cookie",
        hyper::header::HeaderValue::from_bytes(b"spacewars-session=\xff\xfe").expect("bytes"),
    );
    assert_eq!(demo.send_request(odd).await.status, 401);
    let mut many = request(Method::GET, "/api/session", None, None);
    for i in 0..50 {
        many.headers_mut()
            .append("cookie", crate::client::header_value(&format!("c{i}=v{i}")));
    }
    assert_eq!(demo.send_request(many).await.status, 200);
    let mut stream = TcpStream::connect(demo.addr()).await.expect("connect");
    let _ = stream
        .write_all(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        .await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(!text.starts_with("HTTP/1.1 5"), "{text}");
    // The server is still fine.
    assert_eq!(demo.get("/api/world").await.status, 200);
}

async fn storage_failures_are_503_never_500(setup: Setup) {
    let server = setup.start().await;
    let mut demo = server.demo().await;
    assert!(server.database().break_now(), "PostgreSQL breaks");
    let unavailable = err(503, "Service unavailable", "storage_unavailable");
    let reply = server
        .client()
        .post_json(
            "/api/register",
            json!({"username": "late", "password": "pw"}),
        )
        .await;
    assert_eq!(reply.error(), unavailable);
    let reply = server.client().login("a", "a").await;
    assert_eq!(reply.error(), unavailable);
    // The database is not down: it answers, only the tables are gone. `/readyz` checks
    // that the database answers (docs/persistence.md); outages.rs takes it really down.
    let readiness = server.client().get("/readyz").await;
    assert_eq!(
        readiness.status, 200,
        "the server still reaches the database"
    );
    if setup.repo == game_server::RepoKind::Db {
        assert_eq!(demo.get("/api/world").await.error(), unavailable);
        let reply = demo.post_json("/api/navigate", json!({"speed": 1})).await;
        assert_eq!(reply.error(), unavailable);
    } else {
        // The cached game goes on from memory.
        assert_eq!(demo.get("/api/world").await.status, 200);
        let reply = demo.post_json("/api/navigate", json!({"speed": 1})).await;
        assert_eq!(reply.status, 200);
    }
}
