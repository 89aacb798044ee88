//! The embedders' entry point on a real database: one owner at a time, a waiting process
//! takes over at a clean shutdown with the state, the demo world is there at first start
//! when asked for and not otherwise, expired sessions are swept by the engine itself.

use std::sync::Arc;
use std::time::Duration;

use game_cache::engine::{Backing, Engine, EngineError, EngineOptions, EngineParts};
use game_cache::{CacheConfig, CachedRepo};
use game_domain::clock::{ManualClock, SystemClock};
use game_domain::error::{AppError, GameError};
use game_domain::game::SESSION_TTL_MS;
use game_domain::navigate::NavigateRequest;
use game_domain::seed::{DEMO_PASSWORD, DEMO_USERNAME};
use game_persistence::testing::{PlainHasher, TestDatabase};

fn parts() -> EngineParts {
    EngineParts {
        clock: Arc::new(SystemClock),
        hasher: Arc::new(PlainHasher),
    }
}

/// A lease of ten minutes: a waiting process that takes over within the test's time took
/// it over because it was released, not because it expired.
fn options(db: &TestDatabase, owner: &str) -> EngineOptions {
    let mut options = EngineOptions::new(db.url(), owner);
    options.lease.poll = Duration::from_millis(20);
    options.demo_user = true;
    options.lease.ttl = Duration::from_secs(600);
    options
}

async fn open(db: &TestDatabase, owner: &str) -> Result<Engine<CachedRepo>, EngineError> {
    Engine::open(options(db, owner), CacheConfig::default(), parts()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owner_at_a_time_and_a_waiting_process_takes_over_with_the_state() {
    let db = TestDatabase::sqlite();
    let first = open(&db, "first").await.expect("first opens");
    // The demo world was seeded before the cache loaded: the demo user can play at once.
    let game = first.game();
    let token = game
        .login(DEMO_USERNAME, DEMO_PASSWORD)
        .await
        .expect("demo login");
    let user = game.authenticate(Some(&token)).await.expect("session");
    let steer = NavigateRequest {
        speed: Some(4.0),
        angle: Some(40.0),
    };
    game.navigate(user, steer).await.expect("navigate");
    // Written behind: the steered ship waits for the next flush (what a drop would lose).
    assert_eq!(game.repo().pending_changes(), 1);
    let other = game.register("other", "pw").await.expect("register");
    let turn = NavigateRequest {
        speed: None,
        angle: Some(90.0),
    };
    game.navigate(other.user_id, turn).await.expect("navigate");
    assert_eq!(game.repo().pending_changes(), 2);
    // The demo world (ship 1, objects 2–10) and the new player's ship.
    assert_eq!(game.world().await.expect("world").space_objects.len(), 11);

    match open(&db, "second").await {
        Err(EngineError::LeaseHeld { owner, .. }) => assert_eq!(owner, "first"),
        other => panic!("expected LeaseHeld, got {other:?}"),
    }

    let waiting = tokio::spawn({
        let options = options(&db, "waiting");
        async move {
            Engine::<CachedRepo>::open_when_free(options, CacheConfig::default(), parts()).await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !waiting.is_finished(),
        "took the lease while the owner runs"
    );

    first.shutdown().await.expect("clean shutdown");
    // Within 60 s (a bound on hanging, a tenth of the lease): released, not expired. How
    // soon is the failover drill's figure.
    let second = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("took over the released lease")
        .expect("join")
        .expect("the waiting process opens");
    let ship = second.game().ship_stats(user).await.expect("ship");
    assert_eq!((ship.speed, ship.angle), (4.0, 40.0));
    assert!(!second.lease().is_lost());
    second.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_engine_opened_with_default_options_has_no_demo_account() {
    let db = TestDatabase::sqlite();
    let options = EngineOptions::new(db.url(), "defaults");
    let engine = Engine::<CachedRepo>::open(options, CacheConfig::default(), parts())
        .await
        .expect("opens");
    let game = engine.game();
    match game.login(DEMO_USERNAME, DEMO_PASSWORD).await {
        Err(AppError::Game(GameError::InvalidCredentials)) => {}
        other => panic!("the demo login must fail, got {other:?}"),
    }
    // The name is free: nobody owns `a`.
    game.register(DEMO_USERNAME, "a longer password")
        .await
        .expect("`a` registers");
    assert_eq!(db.count("users"), 1);
    engine.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_sweeps_expired_sessions_from_an_embedders_database() {
    const T0: i64 = 1_700_000_000_000;
    let db = TestDatabase::sqlite();
    let clock = Arc::new(ManualClock::new(T0));
    let mut options = EngineOptions::new(db.url(), "sweeper");
    options.session_sweep = Duration::from_millis(20);
    let parts = EngineParts {
        clock: clock.clone(),
        hasher: Arc::new(PlainHasher),
    };
    let engine = Engine::<CachedRepo>::open(options, CacheConfig::default(), parts)
        .await
        .expect("opens");
    let game = engine.game();
    game.register("early", "pw").await.expect("register");
    clock.advance_ms(SESSION_TTL_MS / 2);
    game.register("late", "pw").await.expect("register");
    // Sessions are written through: both are in the database, and no sweep deletes a
    // live one.
    assert_eq!(db.count("sessions"), 2);

    // The early session expires now; the late one half a day later.
    clock.advance_ms(SESSION_TTL_MS / 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.count("sessions") == 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no sweep deleted the expired session"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        db.scalar("(SELECT expires_ms FROM sessions)"),
        T0 + SESSION_TTL_MS / 2 + SESSION_TTL_MS,
        "the live session stays"
    );
    engine.shutdown().await.expect("clean shutdown");
}
