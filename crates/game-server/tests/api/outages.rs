//! docs/persistence.md, "A failing database" and "Deadlines", over the running server:
//! while the database is down, `/readyz` answers `503 not_ready` and what needs the
//! database fails with 503 while the cached game goes on; a call cut at its deadline is
//! answered `503 outcome_unknown`; a database that ends every connection (a restart)
//! costs each pooled connection at most one failed call, and the owner keeps its lease.

use std::time::{Duration, Instant};

use game_persistence::testing::PG_URL_VAR;
use game_server::RepoKind;
use serde_json::json;

use crate::client::Reply;
use crate::harness::{Setup, TestServer, each_setup};
use crate::proxy::{Proxy, target_of};

each_setup!(a_call_cut_at_its_deadline_is_503_outcome_unknown);
// Only a database behind a network connection can go down under a running server.
each_setup!(postgres:
    readyz_is_503_not_ready_while_the_database_is_down,
    the_game_goes_on_after_the_database_ends_every_connection,
);

/// Polls `/readyz` until it answers `status` (up to 30 s, a bound on hanging).
async fn until_ready_is(server: &TestServer, status: u16) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = server.client().get("/readyz").await;
        if reply.status == status {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still answers {}",
            reply.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz_is_503_not_ready_while_the_database_is_down(setup: Setup) {
    let admin_url = std::env::var(PG_URL_VAR).expect("a PostgreSQL setup has the URL");
    let proxy = Proxy::start(target_of(&admin_url)).await;
    let server = setup
        .start_with(|config| {
            config.database_url = proxy.url_through(&config.database_url);
            config.storage.db_call_timeout_ms = 1_000;
        })
        .await;
    let mut demo = server.demo().await;
    assert_eq!(server.client().get("/readyz").await.status, 200);

    proxy.cut();
    let down = until_ready_is(&server, 503).await;
    assert_eq!(down.code(), "not_ready");
    assert!(
        down.error().1.starts_with("Not ready: "),
        "{:?}",
        down.error()
    );
    let late = server
        .client()
        .post_json(
            "/api/register",
            json!({"username": "late", "password": "pw"}),
        )
        .await;
    // Refused: `storage_unavailable`, or `outcome_unknown` when the pool was still
    // retrying the connection at the call deadline (as on a loaded machine).
    let refused = |reply: &Reply| {
        let (status, _, code) = reply.error();
        assert_eq!(status, 503, "{:?}", reply.body);
        assert!(
            code == "storage_unavailable" || code == "outcome_unknown",
            "{code}"
        );
    };
    refused(&late);
    let navigated = demo.post_json("/api/navigate", json!({"speed": 1})).await;
    match setup.repo {
        // The cached game goes on from memory.
        RepoKind::Cached => assert_eq!(navigated.status, 200),
        RepoKind::Db => refused(&navigated),
    }

    proxy.restore();
    until_ready_is(&server, 200).await;
    server.client().register("back").await;
}

async fn a_call_cut_at_its_deadline_is_503_outcome_unknown(setup: Setup) {
    let server = setup
        .start_with(|config| config.storage.db_call_timeout_ms = 300)
        .await;
    let timeouts = server.metric("spacewars_db_timeouts_total").await;
    assert_eq!(timeouts, Some(0.0));
    // Registration is written through; a held write lock keeps its insert from returning.
    let lock = server.database().block_writes();
    let cut = server
        .client()
        .post_json(
            "/api/register",
            json!({"username": "cut", "password": "pw"}),
        )
        .await;
    assert_eq!(
        cut.error(),
        (
            503,
            "The database did not answer in time; the operation may or may not have taken \
             effect"
                .to_owned(),
            "outcome_unknown".to_owned()
        )
    );
    assert_eq!(
        server.metric("spacewars_db_timeouts_total").await,
        Some(1.0)
    );
    drop(lock);
    server.client().register("after").await;
}

async fn the_game_goes_on_after_the_database_ends_every_connection(setup: Setup) {
    let ttl = Duration::from_secs(3);
    let server = setup
        .start_with(|config| {
            config.storage.lease_ttl_ms = u64::try_from(ttl.as_millis()).expect("ms");
        })
        .await;
    let mut demo = server.demo().await;
    let ended = server.database().end_connections().expect("PostgreSQL");
    assert!(
        ended >= 2,
        "the pool's and the lease's connections: {ended}"
    );

    // Each ended pooled connection (8 at most) fails one call with 503; then new
    // connections serve every one. World reads first: plain reads on `--repo db` (a
    // transaction's failed BEGIN marked its connection broken even before the pool
    // noticed dead connections itself, a plain read did not), from memory on `--repo
    // cached`. Then registrations, written through on both.
    let mut reads = Vec::new();
    for _ in 0..16 {
        reads.push(demo.get("/api/world").await.status);
    }
    fails_then_recovers(&reads);
    let mut registrations = Vec::new();
    for i in 0..16 {
        let reply = server
            .client()
            .post_json(
                "/api/register",
                json!({"username": format!("p{i}"), "password": "pw"}),
            )
            .await;
        registrations.push(reply.status);
    }
    fails_then_recovers(&registrations);

    // The lease's connection fails one renewal and is replaced at the next, well within
    // the TTL: two TTLs later the owner still answers.
    tokio::time::sleep(2 * ttl).await;
    let navigated = demo.post_json("/api/navigate", json!({"speed": 1})).await;
    assert_eq!(navigated.status, 200, "{:?}", navigated.body);
    assert_eq!(server.client().get("/readyz").await.status, 200);
}

/// Asserts that `statuses` are at most 8 (the pool's size) `503`s, then only `200`s.
fn fails_then_recovers(statuses: &[u16]) {
    let failed = statuses.iter().take_while(|status| **status == 503).count();
    assert!(failed <= 8, "{statuses:?}");
    assert!(
        statuses[failed..].iter().all(|status| *status == 200),
        "{statuses:?}"
    );
}
