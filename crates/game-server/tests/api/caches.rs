//! The session cache drops the least recently used session past `--max-cached-sessions`
//! (not the oldest), and says so in `/metrics`.

use crate::harness::{Setup, each_setup};

async fn the_session_cache_keeps_the_recently_used(setup: Setup) {
    let server = setup
        .start_with(|config| config.sync.max_cached_sessions = 2)
        .await;
    let session_misses = || server.metric("spacewars_cache_misses_total{kind=\"session\"}");
    let mut first = server.client();
    first.register("first").await;
    let mut second = server.client();
    second.register("second").await;
    // The first, older session is used again, so the second is the least recently used
    // when a third one arrives.
    assert_eq!(first.get("/api/user-stats").await.status, 200);
    let mut third = server.client();
    third.register("third").await;
    assert_eq!(
        server
            .metric("spacewars_session_cache_evictions_total")
            .await,
        Some(1.0)
    );
    let misses = session_misses().await;
    assert_eq!(first.get("/api/user-stats").await.status, 200);
    assert_eq!(third.get("/api/user-stats").await.status, 200);
    assert_eq!(session_misses().await, misses, "first and third are cached");
    assert_eq!(second.get("/api/user-stats").await.status, 200);
    assert_eq!(
        session_misses().await,
        misses.map(|m| m + 1.0),
        "second was dropped and read again"
    );
}

// The database repository has no session cache.
each_setup!(cached: the_session_cache_keeps_the_recently_used);
