//! Times one write-behind flush: `apply_batch` of 10 000 users and 1 000 objects, on a
//! SQLite file and, when `SPACEWARS_TEST_PG_URL` is set, on a PostgreSQL schema.
//!
//! The rows exist already (as after the first flush), so each sample rewrites them all
//! with changed values: the steady state of a server whose players are all active.

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::TechTree;
use game_domain::user::User;
use game_persistence::{Batch, Database, Store};
use tokio::runtime::Runtime;

const USERS: i64 = 10_000;
const OBJECTS: i64 = 1_000;

/// Every user and object, with values depending on `generation`.
fn flush(generation: i64) -> Batch {
    let users = (1..=USERS)
        .map(|id| User {
            id,
            username: format!("player{id}"),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            iron: (id * generation) as f64 / 3.0,
            last_updated: 1_800_000_000 + generation,
            tech_tree: TechTree::default(),
            ship_id: id,
        })
        .collect();
    let upserted_objects = (1..=OBJECTS)
        .map(|id| SpaceObject {
            id: USERS + id,
            kind: ObjectKind::Asteroid,
            x: ((id + generation) % 500) as f64,
            y: (id % 500) as f64,
            speed: 5.0,
            angle: ((id + generation) % 360) as f64,
            last_position_update_ms: 1_800_000_000_000 + generation,
        })
        .collect();
    Batch {
        users,
        upserted_objects,
        deleted_objects: Vec::new(),
    }
}

fn bench_on(c: &mut Criterion, runtime: &Runtime, name: &str, url: &str) {
    let db = runtime
        .block_on(Database::connect(url))
        .expect("connect to the benchmark database");
    runtime
        .block_on(db.apply_batch(flush(0)))
        .expect("first flush");
    let mut group = c.benchmark_group("apply_batch 10k users + 1k objects");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let mut generation = 0;
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                generation += 1;
                flush(generation)
            },
            |batch| runtime.block_on(db.apply_batch(batch)).expect("flush"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn apply_batch(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.db").display().to_string();
    bench_on(c, &runtime, "sqlite", &path);

    let Ok(base_url) = std::env::var("SPACEWARS_TEST_PG_URL") else {
        println!("PostgreSQL benchmark skipped: SPACEWARS_TEST_PG_URL is not set");
        return;
    };
    let schema = format!("bench_{}", std::process::id());
    let mut admin = PgConnection::establish(&base_url).expect("connect to PostgreSQL");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create the benchmark schema");
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
    bench_on(c, &runtime, "postgres", &url);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop the benchmark schema");
}

criterion_group!(benches, apply_batch);
criterion_main!(benches);
