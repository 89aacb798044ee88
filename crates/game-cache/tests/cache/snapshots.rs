//! World reads never hold writers back: a read takes an O(1) snapshot under the world
//! lock and positions its 100,000 objects after releasing it. Checked through the world
//! lock's wait counter, against a control run in the same test that copies the world
//! under the lock (as world reads did before snapshots).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use game_domain::Repository;
use game_domain::clock::ManualClock;
use game_domain::navigate::NavigateRequest;
use game_domain::user::UserId;

use crate::support::{
    T0, TestStore, game, quiet_config, register_player_ids, seed_asteroids, start,
};

const OBJECTS: usize = 100_000;
const WRITES: usize = 60;
const READERS: usize = 2;

/// Total time every world-lock acquisition waited while `READERS` tasks read the world
/// with `read` and one task made `WRITES` navigates.
async fn wait_under_reads<F, Fut>(
    repo: &game_cache::CachedRepo,
    game: &Arc<game_domain::game::Game<game_cache::CachedRepo>>,
    player: UserId,
    read: F,
) -> Duration
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let before = repo.stats().world_lock.total_wait;
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (read, stop) = (read.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    read().await;
                }
            })
        })
        .collect();
    for i in 0..WRITES {
        let course = NavigateRequest {
            speed: Some(1.0),
            angle: Some((i % 360) as f64),
        };
        game.navigate(player, course).await.expect("navigate");
        // Let the readers get a fresh read going between writes.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }
    repo.stats().world_lock.total_wait - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn world_reads_do_not_hold_writers_back() {
    let backend = TestStore::sqlite().await;
    let clock = ManualClock::new(T0);
    seed_asteroids(&backend.db, OBJECTS, 250.0, 3).await;
    let repo = start(backend.store(), quiet_config(), &clock).await;
    let game = Arc::new(game(repo.clone(), &clock, 7));
    let player = register_player_ids(&game, 1).await[0];

    // Control: positioning every object while holding the world lock.
    let copying = {
        let (repo, clock) = (repo.clone(), clock.clone());
        move || {
            let (repo, clock) = (repo.clone(), clock.clone());
            async move {
                let now = game_domain::clock::Clock::now_ms(&clock);
                let objects = repo.view_world(move |w| w.snapshot_at(now)).await;
                assert_eq!(objects.map(|o| o.len()).ok(), Some(OBJECTS + 1));
            }
        }
    };
    let control = wait_under_reads(&repo, &game, player, copying).await;

    // The world read as the server does it: snapshot under the lock, positions after.
    let snapshotting = {
        let game = game.clone();
        move || {
            let game = game.clone();
            async move {
                let world = game.world().await.expect("world");
                assert_eq!(world.space_objects.len(), OBJECTS + 1);
            }
        }
    };
    let snapshots = wait_under_reads(&repo, &game, player, snapshotting).await;
    eprintln!(
        "world lock waits: {snapshots:?} under snapshot reads, {control:?} under copying reads"
    );
    assert!(
        snapshots * 4 < control,
        "waits under snapshot reads {snapshots:?}, under copying reads {control:?}"
    );
    repo.shutdown().await.expect("shutdown");
}
