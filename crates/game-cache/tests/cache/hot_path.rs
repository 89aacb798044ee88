//! docs/persistence.md, promise 1: once warm, gameplay never reaches the database.

use std::sync::atomic::Ordering::SeqCst;

use game_domain::accounts::SessionView;
use game_domain::clock::ManualClock;
use game_domain::error::AppError;
use game_domain::navigate::NavigateRequest;
use game_domain::tech_tree::ResearchType;
use game_persistence::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{
    T0, TestStore, game, on_both_backends, quiet_config, register_players, seed_asteroids,
    seed_demo, start, stored_world,
};

async fn thousand_operations_without_a_round_trip(backend: TestStore) {
    let clock = ManualClock::new(T0);
    seed_demo(&backend.db, T0).await;
    seed_asteroids(&backend.db, 40, 120.0, 1).await;
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 7);
    let players = register_players(&game, 20).await;

    // Warm-up: every player's session, user and ship are read once.
    for (id, token) in &players {
        assert_eq!(game.authenticate(Some(token)).await.expect("auth"), *id);
        game.user_stats(*id).await.expect("user stats");
        game.ship_stats(*id).await.expect("ship stats");
    }
    let world = game.world().await.expect("world");
    // Registration put every new ship into the cached world at once.
    for (id, _) in &players {
        let ship_id = crate::support::cached_users(&repo, &[*id]).await[0].ship_id;
        let ship = world.space_objects.iter().find(|o| o.id == ship_id);
        assert_eq!(ship.map(|s| (s.x, s.y)), Some((250.0, 250.0)));
    }
    let mut object_ids: Vec<i64> = world.space_objects.iter().map(|o| o.id).collect();

    let before = backend.db.round_trips();
    let stats_before = repo.stats();
    let mut rng = StdRng::seed_from_u64(42);
    // Operations that succeeded, by kind (`i % 9`).
    let mut succeeded = [0u32; 9];
    for i in 0..1_000 {
        clock.advance_ms(rng.random_range(0..1_500));
        let (id, token) = &players[rng.random_range(0..players.len())];
        let id = *id;
        let result: Result<(), AppError> = match i % 9 {
            0 => game.world().await.map(|w| {
                object_ids = w.space_objects.iter().map(|o| o.id).collect();
            }),
            1 => game.user_stats(id).await.map(drop),
            2 => game.ship_stats(id).await.map(drop),
            3 => game.tech_tree(id).await.map(drop),
            4 => {
                let request = NavigateRequest {
                    speed: Some(rng.random_range(0.0..=25.0)),
                    angle: Some(rng.random_range(0.0..360.0)),
                };
                game.navigate(id, request).await.map(drop)
            }
            5 | 6 => {
                let object = object_ids[rng.random_range(0..object_ids.len())];
                game.collect(id, object).await.map(drop)
            }
            7 => {
                let research = ResearchType::ALL[rng.random_range(0..3)];
                game.trigger_research(id, research).await
            }
            _ => match game.session(Some(token)).await {
                Ok(SessionView::LoggedIn { .. }) => game.authenticate(Some(token)).await.map(drop),
                Ok(other) => panic!("session lost: {other:?}"),
                Err(error) => Err(error),
            },
        };
        match result {
            Ok(()) => succeeded[i % 9] += 1,
            // Only writes break rules (too far, too fast, too poor); reads never fail.
            Err(AppError::Game(_)) if matches!(i % 9, 4..=7) => {}
            Err(other) => panic!("operation {i} (kind {}) failed: {other}", i % 9),
        }
    }
    assert_eq!(
        backend.db.round_trips(),
        before,
        "gameplay reached the database"
    );
    let stats = repo.stats();
    assert_eq!(
        stats.misses, stats_before.misses,
        "no cache miss after warm-up"
    );
    assert_eq!(stats.session_misses, stats_before.session_misses);
    assert!(stats.hits > stats_before.hits + 500);
    assert!(stats.dirty_users > 0 && stats.dirty_objects > 0);
    // Every read succeeded (of the thousand, 112 of kind 0 and 111 of each other kind),
    // and so did some of each kind of write.
    assert_eq!(
        [
            succeeded[0],
            succeeded[1],
            succeeded[2],
            succeeded[3],
            succeeded[8]
        ],
        [112, 111, 111, 111, 111]
    );
    for kind in 4..=7 {
        assert!(
            succeeded[kind] > 0,
            "no write of kind {kind}: {succeeded:?}"
        );
    }

    // The changes reach the database with the next flush, in one batch.
    let report = repo.flush_now().await.expect("flush");
    assert!(report.users > 0 && report.upserted_objects > 0);
    assert!(backend.db.round_trips() > before);
    assert_eq!(
        stored_world(&backend.db).await,
        crate::support::cached_world(&repo).await
    );
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    thousand_operations_without_a_round_trip,
    hot_path_sqlite,
    hot_path_postgres
);

/// Spawned objects take ids from the reserved block; a task of its own refills it in the
/// background when it runs low. With the store down, once the block is used up an
/// operation that needs an id fails at once and changes nothing; when the store is back
/// the background refill resumes.
async fn object_ids_come_from_reserved_blocks(backend: TestStore) {
    let clock = ManualClock::new(T0);
    let asteroids = seed_asteroids(&backend.db, 12, 100.0, 2).await;
    let faults = crate::support::FaultStore::new(backend.store());
    let config = game_cache::CacheConfig {
        id_block_size: 4,
        ..quiet_config()
    };
    let repo = start(faults.clone(), config, &clock).await;
    let game = game(repo.clone(), &clock, 3);
    let (id, _) = register_players(&game, 1).await[0]; // takes one id: 3 left
    assert_eq!(repo.stats().reserved_ids, 3);
    let initial: Vec<i64> = crate::support::cached_world(&repo)
        .await
        .iter()
        .map(|o| o.id)
        .collect();

    // Two spawns leave 1 (< half a block): the refill task reserves a new block.
    for &object in &asteroids[..2] {
        game.collect(id, object).await.expect("collect");
    }
    wait_until(|| repo.stats().reserved_ids > 1).await;
    assert_eq!(repo.stats().reserved_ids, 5, "refilled in the background");
    assert_eq!(repo.stats().inline_id_reservations, 0);

    // With the store down the task cannot refill: the 5 reserved ids are used, then the
    // next collect fails without asking the store and without changing anything.
    faults.set_down(true);
    for &object in &asteroids[2..7] {
        game.collect(id, object).await.expect("collect");
    }
    wait_until(|| repo.stats().id_reservation_failures >= 1).await;
    let reservations = faults.reservations.load(SeqCst);
    let failure = game
        .collect(id, asteroids[7])
        .await
        .expect_err("no id left");
    assert_eq!(
        failure.to_string(),
        "storage unavailable: no reserved object ids left and the database cannot reserve more"
    );
    let stats = repo.stats();
    assert_eq!(
        (
            stats.reserved_ids,
            stats.inline_id_reservations,
            stats.id_exhaustions
        ),
        (0, 0, 1)
    );
    assert_eq!(faults.reservations.load(SeqCst), reservations);
    let world = crate::support::cached_world(&repo).await;
    assert!(world.iter().any(|o| o.id == asteroids[7]), "not removed");
    let iron_before = crate::support::cached_users(&repo, &[id]).await[0].iron;

    // Back up: the refill task's next attempt (after its back-off) reserves a block, and
    // the collect goes through.
    faults.set_down(false);
    wait_until(|| repo.stats().reserved_ids > 0).await;
    assert_eq!(repo.stats().reserved_ids, 4);
    let outcome = game.collect(id, asteroids[7]).await.expect("collect");
    assert_eq!(repo.stats().inline_id_reservations, 0);
    let user = &crate::support::cached_users(&repo, &[id]).await[0];
    assert_eq!(user.iron, iron_before + f64::from(outcome.iron_reward));
    // Eight collects, each removing one object and spawning one: eight new ids, none
    // given twice nor taken from an object still in the world (the world is keyed by id,
    // so a reused id would have replaced an object and shrunk it).
    let world = crate::support::cached_world(&repo).await;
    assert_eq!(world.len(), initial.len());
    let mut spawned: Vec<i64> = world
        .iter()
        .map(|o| o.id)
        .filter(|id| !initial.contains(id))
        .collect();
    spawned.sort_unstable();
    spawned.dedup();
    assert_eq!(spawned.len(), 8, "spawned ids {spawned:?}");
    repo.flush_now().await.expect("flush");
    assert_eq!(stored_world(&backend.db).await, world);
    repo.shutdown().await.expect("shutdown");
}

/// Polls `condition` every millisecond for up to 10 s.
pub async fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("condition not met within 10 s");
}

on_both_backends!(
    object_ids_come_from_reserved_blocks,
    object_ids_sqlite,
    object_ids_postgres
);
