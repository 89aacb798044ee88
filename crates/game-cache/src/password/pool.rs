//! A small dedicated pool of threads for password hashing, behind a bounded queue.
//!
//! Argon2 is deliberately expensive in CPU and memory (19 MiB per hash by default). Run on
//! tokio's shared blocking pool, a login flood would queue without bound there and starve
//! everything else that pool runs (database calls, the lease renewal). Here at most
//! `threads` hashes run at once and at most `queue` more wait (counted as jobs admitted
//! and not finished, so a job not yet picked up counts as waiting); beyond that a request
//! is refused at once ([`PoolError::Busy`]), and a job whose deadline passed while it
//! waited is dropped unhashed ([`PoolError::Expired`]). Peak memory is `threads` × the
//! argon2 memory cost (see [`super::argon2_memory`]). The threads run at a lower priority
//! ([`HASH_THREAD_NICE`]) than the async workers.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use thiserror::Error;
use tokio::sync::oneshot;

/// Why a job was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PoolError {
    /// The queue is full: refused without waiting.
    #[error("password hashing is busy")]
    Busy,
    /// The job's deadline passed before a thread was free; it was never run.
    #[error("the request's deadline passed while waiting to hash")]
    Expired,
    /// The pool's threads are gone (a job panicked, or the pool shut down).
    #[error("password hashing threads stopped")]
    Gone,
}

/// Counters of the pool, for `/metrics`.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Jobs run to the end.
    pub completed: AtomicU64,
    /// Jobs refused because the queue was full.
    pub refused: AtomicU64,
    /// Jobs dropped unrun because their deadline had passed.
    pub expired: AtomicU64,
    /// Jobs waiting now.
    pub queued: AtomicU64,
    /// Jobs running now.
    pub running: AtomicU64,
}

type Work = Box<dyn FnOnce() + Send>;

struct Job {
    deadline: Instant,
    work: Work,
}

/// The pool: cheap to clone; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct HashPool {
    sender: Sender<Job>,
    /// Jobs admitted and not finished (running or waiting): at most `threads + queue`.
    admitted: Arc<AtomicUsize>,
    stats: Arc<PoolStats>,
    threads: usize,
    queue: usize,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Starts `threads` threads (at least 1) taking jobs from a queue of `queue` places.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<HashPool> {
        let threads = threads.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let stats = Arc::new(PoolStats::default());
        let admitted = Arc::new(AtomicUsize::new(0));
        for n in 0..threads {
            let receiver = receiver.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&receiver, &stats))?;
        }
        Ok(HashPool {
            sender,
            admitted,
            stats,
            threads,
            queue,
        })
    }

    /// Number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Places in the queue.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// The pool's counters.
    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Takes a place for one job now, or [`PoolError::Busy`]: a request reserves before
    /// it does any other work (a database lookup), so a saturated pool refuses it first.
    /// Dropping the reservation unused gives the place back.
    pub fn reserve(&self) -> Result<Reservation, PoolError> {
        let capacity = self.threads + self.queue;
        let admitted = self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            });
        if admitted.is_err() {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Err(PoolError::Busy);
        }
        Ok(Reservation(Finish(self.admitted.clone())))
    }

    /// Runs `f` on a pool thread unless the queue is full or `deadline` passes first.
    pub async fn run<T, F>(&self, deadline: Instant, f: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let reservation = self.reserve()?;
        self.run_reserved(reservation, deadline, f).await
    }

    /// Runs `f` in the place `reservation` holds, unless `deadline` passes first.
    pub async fn run_reserved<T, F>(
        &self,
        reservation: Reservation,
        deadline: Instant,
        f: F,
    ) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let Reservation(finish) = reservation;
        let stats = self.stats.clone();
        let work: Work = Box::new(move || {
            let value = f();
            // Counted out before the reply is sent, so a caller that got its answer can
            // queue again at once, and sees the counters with its job done.
            stats.running.fetch_sub(1, Ordering::Relaxed);
            stats.completed.fetch_add(1, Ordering::Relaxed);
            drop(finish);
            let _ = reply.send(value);
        });
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.sender.send(Job { deadline, work }).is_err() {
            // The returned job was dropped, which counted it out.
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(PoolError::Gone);
        }
        // The reply is dropped unsent only when the job expired (or its thread panicked).
        answer.await.map_err(|_| {
            if Instant::now() >= deadline {
                PoolError::Expired
            } else {
                PoolError::Gone
            }
        })
    }
}

/// Niceness of the hashing threads: the scheduler then gives the async workers (every
/// other request, the lease renewal) the cores first while a login flood keeps the
/// hashing threads busy.
pub const HASH_THREAD_NICE: i32 = 10;

/// One pool thread: takes jobs until every sender is gone.
fn work(receiver: &Mutex<Receiver<Job>>, stats: &PoolStats) {
    // On Linux a thread id names just that thread; failure only costs the priority.
    if let Err(error) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASH_THREAD_NICE)
    {
        tracing::warn!(%error, "cannot lower the hashing threads' priority");
    }
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            receiver.recv()
        };
        let Ok(job) = job else {
            return;
        };
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        if Instant::now() >= job.deadline {
            // Dropping the job counts it out and tells its caller.
            stats.expired.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        stats.running.fetch_add(1, Ordering::Relaxed);
        (job.work)();
    }
}

/// A place in the pool taken by [`HashPool::reserve`].
#[derive(Debug)]
pub struct Reservation(Finish);

/// Counts a job out of the admitted ones when it ends or is dropped unrun, even by a
/// panic (the thread then dies and the pool has one thread fewer; argon2 does not panic
/// on any input).
#[derive(Debug)]
struct Finish(Arc<AtomicUsize>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    fn later(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_expired_jobs_never_run() {
        let pool = HashPool::new(1, 1).expect("pool");
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let blocker = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(later(10_000), move || {
                    let _ = gate.lock().map(|g| g.recv());
                    1
                })
                .await
            })
        };
        while pool.stats().running.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ran = Arc::new(AtomicBool::new(false));
        let queued = {
            let pool = pool.clone();
            let ran = ran.clone();
            tokio::spawn(async move {
                pool.run(later(50), move || ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        while pool.stats().queued.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Refused at once: the thread is held until `release`, so a call that waited for
        // a place would never return here.
        assert_eq!(pool.run(later(10_000), || 3).await, Err(PoolError::Busy));
        // The queued job's deadline passes before the thread is free.
        tokio::time::sleep(Duration::from_millis(60)).await;
        release.send(()).expect("release");
        assert_eq!(blocker.await.expect("task"), Ok(1));
        assert_eq!(queued.await.expect("task"), Err(PoolError::Expired));
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(pool.run(later(10_000), || 4).await, Ok(4));
        let stats = pool.stats();
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
        assert_eq!(stats.expired.load(Ordering::Relaxed), 1);
        assert_eq!(stats.completed.load(Ordering::Relaxed), 2);
        assert_eq!(stats.queued.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn reservations_hold_places_until_used_or_dropped() {
        let pool = HashPool::new(1, 1).expect("pool");
        let first = pool.reserve().expect("first place");
        let second = pool.reserve().expect("second place");
        assert_eq!(pool.reserve().err(), Some(PoolError::Busy));
        drop(second);
        let third = pool
            .reserve()
            .expect("a dropped reservation gives its place back");
        assert_eq!(pool.run_reserved(first, later(10_000), || 7).await, Ok(7));
        assert_eq!(pool.run_reserved(third, later(10_000), || 8).await, Ok(8));
        assert_eq!(pool.run(later(10_000), || 9).await, Ok(9));
        assert_eq!(pool.stats().refused.load(Ordering::Relaxed), 1);
    }
}
