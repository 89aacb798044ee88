//! docs/limits.md: each hashing thread keeps one argon2 memory buffer and reuses it, so
//! memory for hashing is exactly threads × the argon2 memory, whatever the flood. A test
//! binary of its own: the count it reads is the whole process's.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use game_cache::password::{Argon2Hasher, Argon2Params, HashPool, memory};
use game_domain::game::PasswordHasher;

const THREADS: usize = 3;
const MEMORY_KIB: u32 = 512;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_memory_is_threads_times_the_argon2_memory() {
    let pool = HashPool::new(THREADS, 64).expect("pool");
    let params = Argon2Params::new(MEMORY_KIB, 1, 1, None).expect("params");
    let later = || Instant::now() + Duration::from_secs(60);
    assert_eq!(memory::held_kib(), 0);

    // Every thread hashes once, all at the same time (none passes the barrier alone), so
    // each holds a buffer.
    let barrier = Arc::new(Barrier::new(THREADS));
    let together: Vec<_> = (0..THREADS)
        .map(|_| {
            let (pool, barrier, params) = (pool.clone(), barrier.clone(), params.clone());
            tokio::spawn(async move {
                pool.run(later(), move || {
                    barrier.wait();
                    memory::hash(&params, b"pw")
                })
                .await
            })
        })
        .collect();
    for job in together {
        let hashed = job.await.expect("task").expect("a place in the pool");
        assert!(hashed.is_ok(), "{hashed:?}");
    }
    assert_eq!(memory::held_kib(), 3 * 512);

    // A flood of hashes and verifications through the hasher (as many as the queue
    // takes; the rest are refused): the same buffers serve them all.
    let hasher = Argon2Hasher::new(params, pool).await.expect("hasher");
    let stored = hasher.hash_password("pw").await.expect("hash");
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let (hasher, stored) = (hasher.clone(), stored.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    hasher.hash(&format!("pw{i}")).await.map(drop)
                } else {
                    hasher.verify("guess", Some(&stored)).await.map(drop)
                }
            })
        })
        .collect();
    for job in flood {
        let _ = job.await.expect("task");
    }
    assert_eq!(memory::held_kib(), 3 * 512);
}
