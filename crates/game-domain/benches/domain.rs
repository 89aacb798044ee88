//! Hot paths of the pure rules: the world view (positions at now, then JSON) for 10, 100
//! and 10 000 objects, a collect, and a stats update.
//!
//! Run with `cargo bench -p game-domain --bench domain` (or `cargo xtask bench`).

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use game_domain::collect::{CollectRoll, collect};
use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::User;
use game_domain::views::WorldView;
use game_domain::world::World;
use rand::SeedableRng;
use rand::rngs::StdRng;

const T0_MS: i64 = 1_800_000_000_000;

/// A world of `n` moving objects (the first is the player's ship, id 1).
fn world_of(n: i64) -> World {
    let objects = (1..=n).map(|id| SpaceObject {
        id,
        kind: if id == 1 {
            ObjectKind::PlayerShip
        } else {
            ObjectKind::Asteroid
        },
        x: (id * 37 % 500) as f64,
        y: (id * 91 % 500) as f64,
        speed: 5.0 + (id % 20) as f64,
        angle: (id * 13 % 360) as f64,
        last_position_update_ms: T0_MS,
    });
    World::new(WorldSize::DEFAULT, objects)
}

fn player() -> User {
    User {
        id: 1,
        username: "bench".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        iron: 1_000.0,
        last_updated: T0_MS / 1000,
        tech_tree: TechTree::default(),
        ship_id: 1,
    }
}

fn world_view(c: &mut Criterion) {
    let mut group = c.benchmark_group("world_view");
    for n in [10, 100, 10_000] {
        let world = world_of(n);
        let now = T0_MS + 8_188;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("positions", n), &world, |b, world| {
            b.iter(|| black_box(world.snapshot_at(black_box(now))))
        });
        group.bench_with_input(BenchmarkId::new("positions+json", n), &world, |b, world| {
            b.iter(|| {
                let view = WorldView::of(&world.snapshot(), black_box(now));
                black_box(serde_json::to_vec(&view).expect("serialises"))
            })
        });
    }
    group.finish();
}

fn collect_one(c: &mut Criterion) {
    // The ship at (250, 250) and an asteroid 10 units away, both still.
    let mut world = world_of(2);
    world.insert(SpaceObject {
        id: 1,
        kind: ObjectKind::PlayerShip,
        x: 250.0,
        y: 250.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: T0_MS,
    });
    world.insert(SpaceObject {
        id: 2,
        kind: ObjectKind::Asteroid,
        x: 260.0,
        y: 250.0,
        speed: 0.0,
        angle: 0.0,
        last_position_update_ms: T0_MS,
    });
    let mut rng = StdRng::seed_from_u64(7);
    let roll = CollectRoll::draw(&mut rng, WorldSize::DEFAULT, T0_MS);
    c.bench_function("collect", |b| {
        b.iter_batched(
            || (player(), world.begin(&[1, 2])),
            |(mut user, mut tx)| {
                let outcome = collect(&mut user, &mut tx, 2, T0_MS + 1_000, &roll);
                black_box((outcome, tx.into_changes()))
            },
            BatchSize::SmallInput,
        )
    });
}

fn stats_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("stats_update");
    group.bench_function("no_research", |b| {
        b.iter_batched(
            player,
            |mut user| {
                user.update_stats(black_box(T0_MS / 1000 + 3));
                black_box(user.iron)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("iron_harvesting_completes", |b| {
        let mut researching = player();
        researching.tech_tree.active_research = Some(ActiveResearch {
            kind: ResearchType::IronHarvesting,
            remaining_duration: 2.0,
        });
        b.iter_batched(
            || researching.clone(),
            |mut user| {
                user.update_stats(black_box(T0_MS / 1000 + 3));
                black_box(user.iron)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, world_view, collect_one, stats_update);
criterion_main!(benches);
