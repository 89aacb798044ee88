//! The use cases of `game_domain::game::Game` on `DbRepo`, with exact expected values.
//!
//! The game's RNG is seeded; a second RNG with the same seed makes the same draws in the
//! same order (session tokens, collect rolls), so the test knows every random value.

use std::sync::Arc;

use game_domain::accounts::{SessionView, hash_token};
use game_domain::clock::{Clock, ManualClock};
use game_domain::collect::{CollectOutcome, CollectRoll};
use game_domain::error::GameError;
use game_domain::game::{Game, Registered};
use game_domain::geometry::WorldSize;
use game_domain::navigate::{NavigateOutcome, NavigateRequest};
use game_domain::rng::GameRng;
use game_domain::seed::{demo_objects, demo_user};
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::spawn::Spawn;
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::UserStats;
use game_domain::views::ShipStats;
use game_persistence::{Database, DbRepo, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use game_persistence::testing::PlainHasher;

use crate::common::{game_error, on_each_backend};

const T0: i64 = 1_795_604_963_364;
const T0_S: i64 = T0 / 1000;
const SIZE: WorldSize = WorldSize::DEFAULT;
const DEMO: i64 = 1;

/// The demo world on `db`, and a game over it on `clock` with the RNG seeded with 7.
async fn seeded_game(db: &Database, clock: &ManualClock) -> Game<DbRepo> {
    db.seed_if_empty(Some(demo_user("plain$a".into(), T0)), T0)
        .await
        .expect("seeded");
    Game::new(
        DbRepo::new(db.clone(), SIZE),
        Arc::new(clock.clone()),
        GameRng::from_seed(7),
        Arc::new(PlainHasher),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_use_cases_run_on_the_database() {
    on_each_backend(async |t| {
        let clock = ManualClock::new(T0);
        let game = seeded_game(&t.db, &clock).await;
        let mut mirror = StdRng::seed_from_u64(7);

        // Login brings the stats up to date: 5 s at 1 iron/s.
        clock.advance_ms(5_000);
        let now = clock.now_ms();
        let token = game.login("a", "a").await.unwrap();
        // The first 16 bytes the game's RNG (seeded with 7) draws, in hex; the mirror draws
        // them too, to stay in step for the collect rolls below.
        assert_eq!(token, "bee986e8cd469905b6ade04fd2ab8aa0");
        let _token_bytes: [u8; 16] = mirror.random();
        // Valid for 24 h from the login (docs/http-api.md).
        let session =
            t.db.find_session(&hash_token(&token))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            (session.created_ms, session.expires_ms),
            (now, now + 86_400_000)
        );
        assert_eq!(game.authenticate(Some(&token)).await.unwrap(), DEMO);
        // The login itself wrote the update: the stored row moved, not only what a later
        // user-stats computes (which brings stats up to date on its own).
        let stored = t.db.load_user(DEMO).await.unwrap().unwrap();
        assert_eq!((stored.iron, stored.last_updated), (1005.0, T0_S + 5));
        assert_eq!(
            game_error(game.login("a", "wrong").await),
            GameError::InvalidCredentials
        );
        assert_eq!(
            game.user_stats(DEMO).await.unwrap(),
            UserStats {
                iron: 1005.0,
                last_updated: T0_S + 5,
                iron_per_second: 1.0
            }
        );

        // Collect the shipwreck (id 8) drifting towards the ship.
        let wreck = demo_objects(T0)[6].with_id(8);
        let roll = CollectRoll::draw(&mut mirror, SIZE, now);
        let outcome = game.collect(DEMO, 8).await.unwrap();
        let expected_iron = 1005.0 + f64::from(roll.shipwreck_reward);
        assert_eq!(
            outcome,
            CollectOutcome {
                distance: SIZE.distance((250.0, 250.0), wreck.position_at(now, SIZE)),
                iron_reward: roll.shipwreck_reward,
                total_iron: expected_iron,
                object_type: ObjectKind::Shipwreck,
            },
            "on {}",
            t.test_db.backend()
        );
        let world = t.db.load_world().await.unwrap();
        assert!(world.iter().all(|o| o.id != 8));
        let spawned = SpaceObject {
            last_position_update_ms: now,
            ..roll.spawn.with_id(11)
        };
        assert_eq!(world.last(), Some(&spawned));
        assert_eq!(
            t.db.load_user(DEMO).await.unwrap().unwrap().iron,
            expected_iron
        );

        // Failed collections write nothing (each still draws a roll first).
        for (object, error) in [
            (8, GameError::ObjectNotFound),
            (2, GameError::ObjectTooFar),
            (DEMO, GameError::NotCollectible),
        ] {
            CollectRoll::draw(&mut mirror, SIZE, now);
            assert_eq!(game_error(game.collect(DEMO, object).await), error);
        }
        assert_eq!(t.db.load_world().await.unwrap(), world);

        // Navigate; too fast is refused.
        let steer = NavigateRequest {
            speed: Some(20.0),
            angle: Some(450.0),
        };
        assert_eq!(
            game.navigate(DEMO, steer).await.unwrap(),
            NavigateOutcome {
                speed: 20.0,
                angle: 90.0,
                max_speed: 25.0
            }
        );
        let too_fast = NavigateRequest {
            speed: Some(30.0),
            angle: None,
        };
        assert_eq!(
            game_error(game.navigate(DEMO, too_fast).await),
            GameError::SpeedTooHigh { max: 25.0 }
        );
        let ship = SpaceObject {
            id: DEMO,
            kind: ObjectKind::PlayerShip,
            x: 250.0,
            y: 250.0,
            speed: 20.0,
            angle: 90.0,
            last_position_update_ms: now,
        };
        assert_eq!(t.db.load_world().await.unwrap()[0], ship);
        clock.advance_ms(6_000);
        assert_eq!(
            game.ship_stats(DEMO).await.unwrap(),
            ShipStats::of(&ship, &TechTree::default(), clock.now_ms(), SIZE)
        );

        // Research: stats first (+6 s of iron), then the cost.
        game.trigger_research(DEMO, ResearchType::IronHarvesting)
            .await
            .unwrap();
        let iron = expected_iron + 6.0 - 100.0;
        let user = t.db.load_user(DEMO).await.unwrap().unwrap();
        assert_eq!((user.iron, user.last_updated), (iron, T0_S + 11));
        assert_eq!(
            user.tech_tree.active_research,
            Some(ActiveResearch {
                kind: ResearchType::IronHarvesting,
                remaining_duration: 10.0
            })
        );
        assert_eq!(
            game_error(game.trigger_research(DEMO, ResearchType::ShipSpeed).await),
            GameError::ResearchInProgress
        );
        // 15 s later: 10 s at the old rate, 5 s at the new one.
        clock.advance_ms(15_000);
        let stats = game.user_stats(DEMO).await.unwrap();
        assert_eq!(
            stats,
            UserStats {
                iron: iron + 1.0 * 10.0 + 1.1 * 5.0,
                last_updated: T0_S + 26,
                iron_per_second: 1.1
            }
        );
        let user = t.db.load_user(DEMO).await.unwrap().unwrap();
        assert_eq!((user.tech_tree.iron_harvesting, user.iron), (2, stats.iron));
        assert_eq!(user.tech_tree.active_research, None);

        // Register, session, logout.
        let now = clock.now_ms();
        let bob = game.register("bob", "pw").await.unwrap();
        assert_eq!(
            bob,
            Registered {
                token: "0acbaee2b63111e620c40adad550348e".to_owned(),
                user_id: 2,
                ship_id: 12,
            }
        );
        assert_eq!(game.ship_of(2).await.unwrap(), 12);
        assert_eq!(game.ship_of(DEMO).await.unwrap(), DEMO);
        assert_eq!(game.now_ms(), T0 + 26_000);
        let bob_token = bob.token;
        assert_eq!(
            game.session(Some(&bob_token)).await.unwrap(),
            SessionView::LoggedIn {
                username: "bob".into(),
                ship_id: 12
            }
        );
        assert_eq!(
            game_error(game.register("bob", "other").await),
            GameError::UsernameTaken
        );
        game.logout(&bob_token).await.unwrap();
        assert_eq!(
            game.session(Some(&bob_token)).await.unwrap(),
            SessionView::LoggedOut
        );
        assert_eq!(
            game_error(game.authenticate(Some(&bob_token)).await),
            GameError::NotAuthenticated
        );
        assert_eq!(
            game_error(game.user_stats(99).await),
            GameError::UserNotFound
        );

        // The world: the seed, less the wreck, plus its replacement and bob's ship.
        let view = game.world().await.unwrap();
        let ids: Vec<_> = view.space_objects.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]);
        assert_eq!(view.current_time, now);
    })
    .await;
}

/// With spread spawning a new ship starts at its user id's point of the Halton sequence:
/// user 2 at (¼, ⅔) of the 500 × 500 world (docs/operations.md, `--spawn spread`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spread_spawn_places_the_new_ship_at_its_point() {
    on_each_backend(async |t| {
        let game = seeded_game(&t.db, &ManualClock::new(T0))
            .await
            .with_spawn(Spawn::Spread);
        let bob = game.register("bob", "pw").await.unwrap();
        assert_eq!((bob.user_id, bob.ship_id), (2, 11));
        let world = t.db.load_world().await.unwrap();
        let ship = world.iter().find(|o| o.id == 11).expect("bob's ship");
        assert_eq!(ship.x, 125.0);
        assert!((ship.y - 1_000.0 / 3.0).abs() < 1e-9, "{ship:?}");
        // The demo ship stays at the spawn point.
        assert_eq!((world[0].x, world[0].y), (250.0, 250.0));
    })
    .await;
}

/// A database repository answers with the world size it was made with, not the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_repository_reports_its_own_world_size() {
    use game_domain::repository::Repository;
    let t = crate::common::sqlite().await;
    let size = WorldSize::new(1_000.0, 800.0).expect("a valid size");
    assert_eq!(DbRepo::new(t.db.clone(), size).world_size(), size);
}
