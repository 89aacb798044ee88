//! docs/persistence.md, One owner: a server whose lease renewals cannot get through (here
//! SQLite's write lock held elsewhere, as a frozen database would) answers every game
//! request, reads included, `503 lease_expired` once past its own deadline, ends its world
//! streams, and serves again once a renewal is confirmed.

use std::time::{Duration, Instant};

use game_persistence::testing::TestBackend;
use game_server::RepoKind;
use serde_json::json;

use crate::client::{Client, Reply};
use crate::events;
use crate::harness::Setup;

/// GETs `path` until the answer's status is `status` (within 10 s).
async fn poll_until(client: &mut Client, path: &str, status: u16) -> Reply {
    let since = Instant::now();
    loop {
        let reply = client.get(path).await;
        if reply.status == status {
            return reply;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{path} never answered {status}: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_lease_deadline_a_server_answers_nothing_until_a_renewal_gets_through() {
    let setup = Setup {
        db: TestBackend::Sqlite,
        repo: RepoKind::Cached,
    };
    let server = setup
        .start_with(|config| {
            config.storage.lease_ttl_ms = 600;
            config.storage.db_call_timeout_ms = 200;
        })
        .await;
    let mut demo = server.demo().await;
    assert_eq!(demo.get("/api/world").await.status, 200);
    let (status, _, stream) = events::open(server.addr, "", demo.session.as_deref(), None).await;
    assert_eq!(status, 200);
    let mut stream = stream.expect("a stream");
    assert_eq!(server.metric("spacewars_lease_current").await, Some(1.0));

    let blocked = server.database().block_writes();
    let refused = poll_until(&mut demo, "/api/world", 503).await;
    assert_eq!(
        refused.error(),
        (
            503,
            "This server cannot confirm it still owns the database; retry shortly".to_owned(),
            "lease_expired".to_owned()
        )
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    let steer = demo
        .post_json("/api/navigate", json!({"speed": 1, "angle": 2}))
        .await;
    assert_eq!(
        (steer.status, steer.code()),
        (503, "lease_expired".to_owned())
    );
    let ready = server.client().get("/readyz").await;
    assert_eq!(
        (ready.status, ready.code()),
        (503, "lease_expired".to_owned())
    );
    assert_eq!(server.client().get("/healthz").await.status, 200);
    assert_eq!(server.metric("spacewars_lease_current").await, Some(0.0));
    // The stream ends (after whatever it had queued).
    while stream.next().await.is_some() {}

    drop(blocked);
    poll_until(&mut demo, "/api/world", 200).await;
    let steer = demo
        .post_json("/api/navigate", json!({"speed": 1, "angle": 2}))
        .await;
    assert_eq!(steer.status, 200, "{steer:?}");
    assert_eq!(server.metric("spacewars_lease_current").await, Some(1.0));
    server.stop().await.expect("clean stop");
}
