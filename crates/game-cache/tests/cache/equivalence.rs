//! The cache is an implementation detail: random operation sequences give the same
//! answers on `CachedRepo` and on `DbRepo`, and after a flush both databases hold the same
//! users, objects and sessions.
//!
//! Each case uses two fresh SQLite databases seeded alike, one `ManualClock` both games
//! read, and one RNG seed for both games. The cache runs with a cap of two users, so
//! eviction and reloading happen all the time, and some operations are mid-sequence
//! flushes.

use std::fmt::Debug;

use game_cache::CacheConfig;
use game_domain::clock::ManualClock;
use game_domain::error::{AppError, GameError};
use game_domain::game::Game;
use game_domain::geometry::WorldSize;
use game_domain::navigate::NavigateRequest;
use game_domain::repository::Repository;
use game_domain::tech_tree::ResearchType;
use game_domain::user::UserId;
use game_domain::views::WorldView;
use game_persistence::{DbRepo, Store};
use proptest::prelude::*;

use crate::support::{
    T0, TestStore, demo_user_of, game, quiet_config, seed_asteroids, seed_demo, start,
    stored_users, stored_world,
};

#[derive(Debug, Clone)]
enum Op {
    Register(u8),
    Login(usize, bool),
    Logout(usize),
    Session(usize),
    Advance(i64),
    UserStats(usize),
    ShipStats(usize),
    TechTree(usize),
    Trigger(usize, u8),
    Navigate(usize, Option<f64>, Option<f64>),
    Collect(usize, usize),
    World,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..6).prop_map(Op::Register),
        1 => (any::<usize>(), proptest::bool::weighted(0.8)).prop_map(|(p, ok)| Op::Login(p, ok)),
        1 => any::<usize>().prop_map(Op::Logout),
        1 => any::<usize>().prop_map(Op::Session),
        3 => (0i64..20_000).prop_map(Op::Advance),
        2 => any::<usize>().prop_map(Op::UserStats),
        1 => any::<usize>().prop_map(Op::ShipStats),
        1 => any::<usize>().prop_map(Op::TechTree),
        2 => (any::<usize>(), 0u8..4).prop_map(|(p, r)| Op::Trigger(p, r)),
        3 => (
            any::<usize>(),
            proptest::option::weighted(0.8, 0.0f64..30.0),
            proptest::option::weighted(0.8, -90.0f64..450.0),
        )
            .prop_map(|(p, s, a)| Op::Navigate(p, s, a)),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(p, o)| Op::Collect(p, o)),
        1 => Just(Op::World),
        1 => Just(Op::Flush),
    ]
}

const RESEARCHES: [&str; 4] = ["IronHarvesting", "shipSpeed", "Afterburner", "Warp"];

/// One side of the comparison: its game, the players it knows and their last tokens.
struct Side<R> {
    game: Game<R>,
    players: Vec<(String, UserId)>,
    tokens: Vec<Option<String>>,
}

/// An operation's answer in comparable form: the value's `Debug`, or the error's code.
fn answer<T: Debug>(result: Result<T, AppError>) -> Result<String, String> {
    match result {
        Ok(value) => Ok(format!("{value:?}")),
        Err(AppError::Game(error)) => Err(error.code().to_owned()),
        Err(other) => panic!("storage failed: {other}"),
    }
}

impl<R: Repository> Side<R> {
    async fn new(game: Game<R>) -> Side<R> {
        let demo = demo_user_of(game.repo()).await;
        Side {
            game,
            players: vec![("a".into(), demo.id)],
            tokens: vec![None],
        }
    }

    fn player(&self, n: usize) -> usize {
        n % self.players.len()
    }

    async fn run(&mut self, op: &Op) -> Result<String, String> {
        let game = &self.game;
        match *op {
            Op::Register(n) => {
                let name = format!("p{n}");
                let result = game.register(&name, "pw").await;
                if let Ok(registered) = &result {
                    self.players.push((name, registered.user_id));
                    self.tokens.push(Some(registered.token.clone()));
                }
                answer(result)
            }
            Op::Login(p, right) => {
                let p = self.player(p);
                let name = self.players[p].0.clone();
                let password = match (right, p) {
                    (false, _) => "wrong",
                    (true, 0) => "a",
                    (true, _) => "pw",
                };
                let result = game.login(&name, password).await;
                if let Ok(token) = &result {
                    self.tokens[p] = Some(token.clone());
                }
                answer(result)
            }
            Op::Logout(p) => {
                let token = self.tokens[self.player(p)].clone().unwrap_or_default();
                answer(game.logout(&token).await)
            }
            Op::Session(p) => {
                let token = self.tokens[self.player(p)].clone();
                answer(game.session(token.as_deref()).await)
            }
            Op::Advance(_) | Op::Flush => Ok(String::new()),
            Op::UserStats(p) => answer(game.user_stats(self.players[self.player(p)].1).await),
            Op::ShipStats(p) => answer(game.ship_stats(self.players[self.player(p)].1).await),
            Op::TechTree(p) => answer(game.tech_tree(self.players[self.player(p)].1).await),
            Op::Trigger(p, r) => answer(
                // An unknown name is refused before the repository, as the handler does.
                match ResearchType::parse(RESEARCHES[r as usize]) {
                    Some(kind) => {
                        game.trigger_research(self.players[self.player(p)].1, kind)
                            .await
                    }
                    None => Err(GameError::InvalidResearchType.into()),
                },
            ),
            Op::Navigate(p, speed, angle) => answer(
                game.navigate(
                    self.players[self.player(p)].1,
                    NavigateRequest { speed, angle },
                )
                .await,
            ),
            Op::Collect(p, rank) => {
                let ids: Vec<i64> = game
                    .repo()
                    .view_world(|w| w.objects().map(|o| o.id).collect())
                    .await
                    .expect("world");
                let object = ids[rank % ids.len()];
                answer(game.collect(self.players[self.player(p)].1, object).await)
            }
            // Only the cache keeps world versions (the database repository reports 0).
            Op::World => answer(game.world().await.map(|world| WorldView {
                version: 0,
                ..world
            })),
        }
    }
}

async fn same_answers_and_same_database(ops: Vec<Op>) {
    let (cached_db, plain_db) = (TestStore::sqlite().await, TestStore::sqlite().await);
    for backend in [&cached_db, &plain_db] {
        seed_demo(&backend.db, T0).await;
        seed_asteroids(&backend.db, 30, 125.0, 31).await;
    }
    let clock = ManualClock::new(T0);
    let config = CacheConfig {
        max_cached_users: 2,
        id_block_size: 1_000,
        ..quiet_config()
    };
    let repo = start(cached_db.store(), config, &clock).await;
    let mut cached = Side::new(game(repo.clone(), &clock, 77)).await;
    let mut plain = Side::new(game(
        DbRepo::new(plain_db.db.clone(), WorldSize::DEFAULT),
        &clock,
        77,
    ))
    .await;

    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Advance(ms) => clock.advance_ms(*ms),
            Op::Flush => {
                repo.flush_now().await.expect("flush");
            }
            _ => {}
        }
        let (a, b) = (cached.run(op).await, plain.run(op).await);
        assert_eq!(a, b, "step {step}: {op:?}");
    }
    repo.flush_now().await.expect("flush");

    assert_eq!(
        stored_world(&cached_db.db).await,
        stored_world(&plain_db.db).await
    );
    let ids: Vec<UserId> = cached.players.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        ids,
        plain.players.iter().map(|(_, id)| *id).collect::<Vec<_>>()
    );
    assert_eq!(
        stored_users(&cached_db.db, &ids).await,
        stored_users(&plain_db.db, &ids).await
    );
    for token in cached.tokens.iter().flatten() {
        let hash = game_domain::accounts::hash_token(token);
        assert_eq!(
            cached_db.db.find_session(&hash).await.expect("session"),
            plain_db.db.find_session(&hash).await.expect("session")
        );
    }
    repo.shutdown().await.expect("shutdown");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn cached_repo_behaves_like_db_repo(ops in proptest::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(same_answers_and_same_database(ops));
    }
}
