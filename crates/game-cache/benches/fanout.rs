//! The world fan-out: one batch of changes to a hub of N area subscribers at constant
//! density (the world grows with them: one ship per 20,000 square units, the default
//! radius of 600), with changes in proportion to N (one ship in 100 steers per batch).
//! The time per batch must grow with N, not with N²: each change is looked at by the
//! subscribers of its cell only, and encoded once.
//!
//! `per_subscriber_filter` is the design before cells for comparison: every subscriber
//! runs the interest filter over every change of the batch.
//!
//! Run with `cargo bench -p game-cache --bench fanout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use game_cache::fanout::Before;
use game_cache::fanout::{
    BatchChanges, Encoded, Event, FanoutHub, Follow, HubLimits, SharedBatch, Subscription,
};
use game_domain::geometry::WorldSize;
use game_domain::interest::{Interest, SpatialGrid, margin};
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::{World, WorldSnapshot};
use game_domain::world_history::Delta;

/// Square units per ship.
const AREA_PER_SHIP: f64 = 20_000.0;
const RADIUS: f64 = 600.0;
const TICK: Duration = Duration::from_millis(250);
/// One ship in this many steers in each batch.
const STEER_ONE_IN: usize = 100;

/// A world of `n` ships spread evenly (a jittered lattice) and a hub with one area
/// subscriber per ship, all opened.
struct Fixture {
    world: WorldSnapshot,
    hub: FanoutHub,
    subscriptions: Vec<Subscription>,
    size: WorldSize,
}

/// A small deterministic generator (the bench must not depend on the OS's randomness).
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn unit(i: u64) -> f64 {
    (mix(i) % 1_000_000) as f64 / 1_000_000.0
}

fn ship(id: ObjectId, x: f64, y: f64) -> SpaceObject {
    SpaceObject {
        id,
        kind: ObjectKind::PlayerShip,
        x,
        y,
        speed: 20.0,
        angle: 0.0,
        last_position_update_ms: 0,
    }
}

impl Fixture {
    fn new(n: usize) -> Fixture {
        let side = (n as f64 * AREA_PER_SHIP).sqrt();
        let size = WorldSize {
            width: side,
            height: side,
        };
        let per_row = (n as f64).sqrt().ceil() as usize;
        let spacing = side / per_row as f64;
        let ships = (0..n).map(|i| {
            let (col, row) = ((i % per_row) as f64, (i / per_row) as f64);
            let id = i as ObjectId + 1;
            ship(
                id,
                (col + unit(2 * id as u64)) * spacing % side,
                (row + unit(2 * id as u64 + 1)) * spacing % side,
            )
        });
        let world = World::versioned(size, ships, 0, 1_000).snapshot();
        let hub = FanoutHub::new(
            HubLimits {
                max_streams: n,
                buffer: 1_000_000,
            },
            TICK,
        );
        let grid = SpatialGrid::build(world.objects(), size, 128.0, 0);
        // A refresh first: the hub learns the fastest speed the openings' margins allow for.
        hub.refresh(&grid, &world, 0);
        let subscriptions: Vec<Subscription> = (1..=n as ObjectId)
            .map(|ship| {
                let subscription = hub
                    .subscribe(
                        String::new(),
                        i64::MAX,
                        Follow::Area {
                            ship,
                            radius: RADIUS,
                        },
                    )
                    .expect("room for every subscriber");
                assert!(hub.open_area_in(subscription.id, &world, &grid, 0));
                subscription
            })
            .collect();
        let mut fixture = Fixture {
            world,
            hub,
            subscriptions,
            size,
        };
        fixture.drain();
        fixture
    }

    /// Batch `k`: one ship in 100 (chosen afresh each batch) takes a new heading.
    fn changes(&self, k: u64) -> Vec<SpaceObject> {
        let n = self.world.len() as u64;
        let mut ids: Vec<ObjectId> = (0..n / STEER_ONE_IN as u64)
            .map(|j| (mix(k * 1_000_003 + j) % n) as ObjectId + 1)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .filter_map(|id| self.world.get(*id))
            .map(|o| SpaceObject {
                angle: (k % 360) as f64,
                ..*o
            })
            .collect()
    }

    fn batch(&self, k: u64, changes: &[SpaceObject]) -> Arc<SharedBatch> {
        Arc::new(SharedBatch::new(
            k - 1,
            k,
            0,
            self.size,
            BatchChanges::Delta {
                upserted: changes.iter().copied().map(Encoded::new).collect(),
                removed: vec![],
            },
        ))
    }

    /// Empties every queue (a transport's work, not the hub's); returns the events.
    fn drain(&mut self) -> usize {
        let mut events = 0;
        for subscription in &mut self.subscriptions {
            while let Ok(event) = subscription.events.try_recv() {
                assert!(matches!(event, Event::Area(_)));
                events += 1;
            }
        }
        events
    }
}

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_batch");
    group.sample_size(10);
    for n in [1_000usize, 10_000, 100_000] {
        let mut fixture = Fixture::new(n);
        let mut k = 1u64;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    k += 1;
                    let changes = fixture.changes(k);
                    let before = Before {
                        world: &fixture.world,
                        at_ms: 0,
                    };
                    let start = Instant::now();
                    let batch = fixture.batch(k, &changes);
                    fixture
                        .hub
                        .broadcast(&batch, &fixture.world, 0, Some(before));
                    spent += start.elapsed();
                    fixture.drain();
                }
                spent
            });
        });
    }
    group.finish();
}

/// The design before cells: every subscriber filters every change.
fn per_subscriber_filter(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_subscriber_filter");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let fixture = Fixture::new(n);
        let grid = SpatialGrid::build(fixture.world.objects(), fixture.size, 128.0, 0);
        let margin = margin(20.0, 250);
        let centers: Vec<(f64, f64)> = fixture
            .world
            .objects()
            .map(|o| o.position_at(0, fixture.size))
            .collect();
        let mut interests: Vec<Interest> = centers
            .iter()
            .map(|center| {
                let mut interest = Interest::new(RADIUS);
                interest.snapshot(&grid, &fixture.world, *center, margin);
                interest
            })
            .collect();
        let mut k = 1u64;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    k += 1;
                    let changes = Delta {
                        upserted: fixture.changes(k),
                        removed: vec![],
                    };
                    let start = Instant::now();
                    let mut shares = 0;
                    for (interest, center) in interests.iter_mut().zip(&centers) {
                        let mine = interest.filter(&changes, fixture.size, *center, margin, 0);
                        shares += usize::from(!mine.is_empty());
                    }
                    std::hint::black_box(shares);
                    spent += start.elapsed();
                }
                spent
            });
        });
    }
    group.finish();
}

criterion_group!(benches, fan_out, per_subscriber_filter);
criterion_main!(benches);
