//! Registration through the cache: the new player's ids are answered at once, before any
//! flush, and are the ids the flush then writes.

use game_domain::accounts::hash_token;
use game_domain::clock::ManualClock;
use game_domain::game::Registered;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_persistence::Store;

use crate::support::{
    T0, TestStore, game, on_both_backends, quiet_config, seed_demo, start, stored_users,
    stored_world,
};

async fn register_answers_the_new_ids(backend: TestStore) {
    let clock = ManualClock::new(T0);
    // The demo world: user 1 with ship 1, objects 2 to 10.
    seed_demo(&backend.db, T0).await;
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = game(repo.clone(), &clock, 7);
    // The game's RNG draws nothing before the token.

    let bob = game.register("bob", "pw").await.expect("register bob");
    assert_eq!(
        bob,
        Registered {
            // The first 16 bytes of the game's RNG seeded with 7, in hex.
            token: "bee986e8cd469905b6ade04fd2ab8aa0".to_owned(),
            user_id: 2,
            ship_id: 11,
        }
    );
    // Written through, valid for 24 h (docs/http-api.md).
    let session = backend
        .db
        .find_session(&hash_token(&bob.token))
        .await
        .expect("find")
        .expect("stored at once");
    assert_eq!(
        (session.user_id, session.created_ms, session.expires_ms),
        (2, T0, T0 + 86_400_000)
    );
    let eve = game.register("eve", "pw").await.expect("register eve");
    assert_eq!((eve.user_id, eve.ship_id), (3, 12));

    repo.flush_now().await.expect("flush");
    let stored = stored_users(&backend.db, &[2, 3]).await;
    assert_eq!(
        stored
            .iter()
            .map(|u| (u.id, u.username.as_str(), u.ship_id))
            .collect::<Vec<_>>(),
        vec![(2, "bob", 11), (3, "eve", 12)]
    );
    let ship = SpaceObject {
        id: 11,
        kind: ObjectKind::PlayerShip,
        // The spawn point of the rules: the world's (250, 250).
        x: 250.0,
        y: 250.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: T0,
    };
    assert_eq!(stored_world(&backend.db).await[10], ship);
    repo.shutdown().await.expect("shutdown");
}

on_both_backends!(
    register_answers_the_new_ids,
    register_answers_the_new_ids_on_sqlite,
    register_answers_the_new_ids_on_postgres
);
