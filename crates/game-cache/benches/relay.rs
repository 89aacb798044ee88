//! The owner's per-tick look for objects that drifted into another cell (relay
//! arrivals): one look at every object of a world of N ships at constant density (one per
//! 20,000 square units), every 250 ms of game time. `still`: nothing moves, nothing
//! crosses (the cost of the look alone, no allocation); `moving`: every ship at speed 20
//! (about 4 units a tick, so about 3 % of them cross a 256-unit cell's border a tick).
//!
//! Run with `cargo bench -p game-cache --bench relay`.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use game_cache::relay::Publisher;
use game_domain::geometry::WorldSize;
use game_domain::space_object::{ObjectId, ObjectKind, SpaceObject};
use game_domain::world::WorldSnapshot;

const AREA_PER_SHIP: f64 = 20_000.0;
const TICK_MS: i64 = 250;

/// A small deterministic generator (the bench must not depend on the OS's randomness).
fn unit(i: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    ((x ^ (x >> 29)) % 1_000_000) as f64 / 1_000_000.0
}

fn world(n: usize, speed: f64) -> WorldSnapshot {
    let side = (n as f64 * AREA_PER_SHIP).sqrt();
    let size = WorldSize {
        width: side,
        height: side,
    };
    let ships = (0..n as u64).map(|i| SpaceObject {
        id: i as ObjectId + 1,
        kind: ObjectKind::PlayerShip,
        x: unit(2 * i) * side,
        y: unit(2 * i + 1) * side,
        speed,
        angle: unit(3 * i + 7) * 360.0,
        last_position_update_ms: 0,
    });
    WorldSnapshot::replica(size, 1, ships)
}

fn arrivals(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay_arrivals");
    group.sample_size(10);
    for (name, speed) in [("still", 0.0), ("moving", 20.0)] {
        for n in [1_000usize, 10_000, 100_000] {
            let mut publisher = Publisher::new(1, world(n, speed), 0);
            let mut now_ms = 0;
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter_custom(|iterations| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iterations {
                        now_ms += TICK_MS;
                        let start = Instant::now();
                        let batch = publisher.arrivals(now_ms);
                        spent += start.elapsed();
                        std::hint::black_box(batch);
                    }
                    spent
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, arrivals);
criterion_main!(benches);
