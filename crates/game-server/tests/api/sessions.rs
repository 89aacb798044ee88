//! Sessions (docs/limits.md): a forged token is refused without a database round trip; expired
//! and revoked sessions are deleted by the periodic sweep.

use std::time::{Duration, Instant};

use crate::harness::{Setup, TestServer, each_setup};

each_setup!(
    a_forged_cookie_costs_no_database_round_trip,
    dead_sessions_are_deleted_periodically
);

async fn metric(server: &TestServer, name: &str) -> f64 {
    server
        .metric(name)
        .await
        .unwrap_or_else(|| panic!("{name} missing"))
}

async fn a_forged_cookie_costs_no_database_round_trip(setup: Setup) {
    let server = setup.start().await;
    let token = server.demo().await.session.expect("token");
    assert_eq!(token.len(), 64);
    let forged = [
        format!("{}{}", &token[..32], "0".repeat(32)),
        "ab".repeat(32),
        token[..32].to_owned(),
    ];
    // The lease renewal and the write-behind flush also count as round trips; a window
    // without either shows the forged requests cost none (each would cost one or more).
    let mut fewest = f64::MAX;
    let mut attempts = 0.0;
    while fewest > 0.0 && attempts < 3.0 {
        attempts += 1.0;
        let before = metric(&server, "spacewars_db_round_trips_total").await;
        for cookie in &forged {
            for path in ["/api/world", "/api/user-stats"] {
                let reply = server.client_with(Some(cookie.clone())).get(path).await;
                assert_eq!(reply.status, 401, "{cookie} {path}");
            }
        }
        let after = metric(&server, "spacewars_db_round_trips_total").await;
        fewest = fewest.min(after - before);
    }
    assert_eq!(fewest, 0.0);
    assert_eq!(
        metric(&server, "spacewars_session_forged_total").await,
        6.0 * attempts
    );
    // The real cookie still works.
    let reply = server.client_with(Some(token)).get("/api/world").await;
    assert_eq!(reply.status, 200);
}

async fn dead_sessions_are_deleted_periodically(setup: Setup) {
    let server = setup.start_with(|c| c.limits.session_sweep_ms = 100).await;
    let mut revoked = server.demo().await;
    assert_eq!(revoked.post("/api/logout", "").await.status, 200);
    let _expiring = server.demo().await;
    server.advance_ms(86_400_000); // 24 h, the session lifetime
    let live = server.demo().await;
    let db = server.database();
    let sessions = "(SELECT count(*) FROM sessions)";
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.scalar(sessions) > 1 {
        assert!(Instant::now() < deadline, "dead sessions were not deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(db.scalar(sessions), 1);
    let reply = server.client_with(live.session).get("/api/world").await;
    assert_eq!(reply.status, 200);
}
