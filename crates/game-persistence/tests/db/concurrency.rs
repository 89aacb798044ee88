//! Concurrent units of work on `DbRepo`: no lost update, no double collection.

use std::sync::Arc;

use game_domain::accounts::NewUser;
use game_domain::clock::ManualClock;
use game_domain::error::GameError;
use game_domain::game::Game;
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::rng::GameRng;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_persistence::{Batch, DbRepo, Store};

use game_persistence::testing::PlainHasher;

use crate::common::{game_error, on_each_backend};

const NOW: i64 = 1_800_000_000_000;
const PLAYERS: i64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_object_collected_by_many_at_once_is_collected_once() {
    on_each_backend(async |t| {
        let mut players = Vec::new();
        for i in 0..PLAYERS {
            let ship_id = t.db.reserve_object_ids(1).await.unwrap();
            let new_user = NewUser::register(format!("p{i}"), "h".into(), NOW);
            players.push(t.db.create_user(new_user, ship_id).await.unwrap().id);
        }
        // A still shipwreck 10 units from every ship.
        let wreck_id = t.db.reserve_object_ids(1).await.unwrap();
        let wreck = SpaceObject {
            id: wreck_id,
            kind: ObjectKind::Shipwreck,
            x: 260.0,
            y: 250.0,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: NOW,
        };
        let batch = Batch {
            upserted_objects: vec![wreck],
            ..Batch::default()
        };
        t.db.apply_batch(batch).await.unwrap();

        let game = Arc::new(Game::new(
            DbRepo::new(t.db.clone(), WorldSize::DEFAULT),
            Arc::new(ManualClock::new(NOW)),
            GameRng::from_seed(1),
            Arc::new(PlainHasher),
        ));
        let tasks: Vec<_> = players
            .iter()
            .map(|&player| {
                let game = game.clone();
                tokio::spawn(async move { game.collect(player, wreck_id).await })
            })
            .collect();
        let mut rewards = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(outcome) => rewards.push(outcome.iron_reward),
                refused => assert_eq!(game_error(refused), GameError::ObjectNotFound),
            }
        }
        assert_eq!(rewards.len(), 1, "on {}", t.test_db.backend());

        let mut total_iron = 0.0;
        for &player in &players {
            total_iron += t.db.load_user(player).await.unwrap().unwrap().iron;
        }
        assert_eq!(total_iron, f64::from(rewards[0]));
        let world = t.db.load_world().await.unwrap();
        assert!(world.iter().all(|o| o.id != wreck_id));
        // The ships and exactly one replacement.
        assert_eq!(world.len() as i64, PLAYERS + 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_to_one_user_are_all_kept() {
    on_each_backend(async |t| {
        let ship_id = t.db.reserve_object_ids(1).await.unwrap();
        let new_user = NewUser::register("p".into(), "h".into(), NOW);
        let id = t.db.create_user(new_user, ship_id).await.unwrap().id;
        let repo = DbRepo::new(t.db.clone(), WorldSize::DEFAULT);
        let tasks: Vec<_> = (0..PLAYERS)
            .map(|_| {
                let repo = repo.clone();
                tokio::spawn(async move {
                    repo.with_user(id, |user| {
                        user.iron += 1.0;
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let iron = t.db.load_user(id).await.unwrap().unwrap().iron;
        assert_eq!(iron, PLAYERS as f64, "on {}", t.test_db.backend());
    })
    .await;
}
