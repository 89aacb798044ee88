//! The edge's repository: the world is the replica the link keeps at the owner's
//! versions; users and sessions are read from the database (never written); every
//! write is refused (the router sends those paths away before they get here).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use game_cache::engine::{Backing, EngineError, ShutdownError, SpillTarget};
use game_domain::accounts::{NewUser, Session};
use game_domain::clock::Clock;
use game_domain::error::{AppError, GameError, StorageKind};
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};
use game_domain::world::{World, WorldSnapshot, WorldTx};
use game_persistence::{Database, DbRepo, Store};
use tokio::sync::{mpsc, watch};

use super::demand::Demand;
use crate::backend::Backend;
use crate::metrics::Exposition;

/// How long a player's stream waits for its ship to reach the replica (a ship created
/// moments ago is published with the next batch).
const SHIP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What an edge refuses: it writes nothing, and it has no world while its link is down.
#[derive(Debug, thiserror::Error)]
pub enum EdgeRefusal {
    /// A write reached the edge: a routing mistake an operator must fix (the load
    /// balancer sends only streams to edges), hence [`StorageKind::Invalid`].
    #[error("an edge server writes nothing")]
    ReadOnly,
    /// The owner's feed is not (or no longer) there.
    #[error("the edge has no feed from the world's owner (relay_lost)")]
    NoFeed,
    /// What a stream needs (the whole world, or the cells around its ship) did not
    /// arrive in time.
    #[error("the edge could not fetch what the stream needs from the world's owner in time")]
    NotReady,
}

/// A write that reached the edge (see [`EdgeRefusal::ReadOnly`]).
fn read_only<T>() -> Result<T, AppError> {
    Err(AppError::storage(
        StorageKind::Invalid,
        EdgeRefusal::ReadOnly,
    ))
}

/// The edge's repository (module docs).
pub struct EdgeRepo {
    pub(super) db: DbRepo,
    world: RwLock<Arc<World>>,
    pub(super) versions: watch::Sender<u64>,
    live: AtomicBool,
    /// True while the world installed is the owner's whole world (not some cells).
    whole: AtomicBool,
    /// What streams about to open ask of the link.
    pub(super) demands: mpsc::Sender<Demand>,
    /// The link's NATS subscriptions to cells (the wildcard counts one), for metrics.
    cell_subscriptions: AtomicUsize,
    /// Cells the link joined (fetched and subscribed to), for metrics.
    cells_joined: AtomicU64,
}

impl EdgeRepo {
    /// A repository over `db` with an empty world of `size` (the flags' size, until the
    /// owner's world is installed), not live until the link installs one; what streams
    /// ask of the link goes to `demands`.
    pub fn new(db: Database, size: WorldSize, demands: mpsc::Sender<Demand>) -> EdgeRepo {
        EdgeRepo {
            db: DbRepo::new(db, size),
            world: RwLock::new(Arc::new(World::versioned(size, [], 0, 0))),
            versions: watch::channel(0).0,
            live: AtomicBool::new(false),
            whole: AtomicBool::new(false),
            demands,
            cell_subscriptions: AtomicUsize::new(0),
            cells_joined: AtomicU64::new(0),
        }
    }

    /// Installs the replica's world as of a batch (or a snapshot) and marks the edge live;
    /// `whole` when it is the owner's whole world, not the objects of some cells.
    pub fn install(&self, world: &WorldSnapshot, whole: bool) {
        *self.world.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(world.to_world());
        self.whole.store(whole, Ordering::Release);
        self.live.store(true, Ordering::Release);
        self.versions.send_replace(world.version());
    }

    /// True while the world installed is the owner's whole world.
    pub fn is_whole(&self) -> bool {
        self.whole.load(Ordering::Acquire)
    }

    /// Records how many NATS subscriptions to cells the link holds.
    pub fn set_cell_subscriptions(&self, count: usize) {
        self.cell_subscriptions.store(count, Ordering::Relaxed);
    }

    /// Counts `joined` more cells joined.
    pub fn count_cells_joined(&self, joined: usize) {
        let joined = u64::try_from(joined).unwrap_or(u64::MAX);
        self.cells_joined.fetch_add(joined, Ordering::Relaxed);
    }

    /// True when the installed world holds object `id` (while the feed is live).
    pub(super) fn holds(&self, id: ObjectId) -> bool {
        self.world().is_ok_and(|world| world.get(id).is_some())
    }

    /// Marks the feed lost: no new stream opens and `/readyz` answers 503 until the next
    /// [`EdgeRepo::install`].
    pub fn lose_feed(&self) {
        self.live.store(false, Ordering::Release);
    }

    /// True while the replica follows the owner.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn world(&self) -> Result<Arc<World>, AppError> {
        if !self.is_live() {
            return Err(AppError::storage(
                StorageKind::Unavailable,
                EdgeRefusal::NoFeed,
            ));
        }
        Ok(self
            .world
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

#[async_trait]
impl Repository for EdgeRepo {
    /// The owner's world size, from the last world installed (its snapshot carries it):
    /// an edge started with other `--world-width`/`--world-height` flags than the owner
    /// must not judge areas by its own, or it would serve an area stream as the whole
    /// world when its size is the smaller.
    fn world_size(&self) -> WorldSize {
        self.world
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size()
    }

    async fn create_user(&self, _new_user: NewUser) -> Result<User, AppError> {
        read_only()
    }

    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, AppError> {
        self.db.find_user_by_name(username).await
    }

    async fn insert_session(&self, _session: Session) -> Result<(), AppError> {
        read_only()
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, AppError> {
        self.db.find_session(token_hash).await
    }

    async fn revoke_session(&self, _token_hash: &str) -> Result<(), AppError> {
        read_only()
    }

    async fn view_world<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&World) -> T + Send + 'static,
        T: Send + 'static,
    {
        let world = self.world()?;
        Ok(f(&world))
    }

    async fn read_player<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&User, &SpaceObject) -> T + Send + 'static,
        T: Send + 'static,
    {
        // The user from the database; its ship as the owner last published it (the
        // database's copy lags behind the owner's memory).
        let (user, ship_id) = self
            .db
            .read_player(user_id, |u, s| (u.clone(), s.id))
            .await?;
        // A ship created within the last batch may not have reached the replica yet:
        // wait for a few batches before calling it missing.
        let mut versions = self.versions.subscribe();
        let deadline = tokio::time::Instant::now() + SHIP_WAIT;
        loop {
            let world = self.world()?;
            if let Some(ship) = world.get(ship_id) {
                return Ok(f(&user, ship));
            }
            let next = tokio::time::timeout_at(deadline, versions.changed()).await;
            if !matches!(next, Ok(Ok(()))) {
                return Err(GameError::UserNotFound.into());
            }
        }
    }

    async fn with_user<T, F>(&self, _user_id: UserId, _f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut User) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        read_only()
    }

    async fn with_user_and_world<T, F>(
        &self,
        _user_id: UserId,
        _objects: Vec<ObjectId>,
        _f: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(&mut User, &mut WorldTx) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        read_only()
    }
}

#[async_trait]
impl Backing for EdgeRepo {
    type Config = WorldSize;

    async fn start(
        db: &Database,
        size: WorldSize,
        _clock: Arc<dyn Clock>,
    ) -> Result<EdgeRepo, EngineError> {
        // Started this way (as an engine backing), nothing follows the owner: demands
        // go nowhere, and the edge stays not live.
        Ok(EdgeRepo::new(db.clone(), size, mpsc::channel(1).0))
    }

    async fn stop(&self, _spill: &SpillTarget) -> Result<(), ShutdownError> {
        Ok(())
    }

    fn pending_changes(&self) -> usize {
        0
    }
}

#[async_trait]
impl Backend for EdgeRepo {
    async fn check_ready(&self) -> Result<(), String> {
        if !self.is_live() {
            return Err("no feed from the world's owner (relay_lost)".into());
        }
        self.db.database().ping().await.map_err(|e| e.to_string())
    }

    fn write_metrics(&self, out: &mut Exposition) {
        out.gauge(
            "spacewars_edge_live",
            "1 while this edge's replica follows the owner's feed, else 0.",
            i64::from(self.is_live()),
        );
        out.gauge(
            "spacewars_edge_world_version",
            "The world version this edge's replica is at.",
            *self.versions.borrow(),
        );
        out.gauge(
            "spacewars_edge_whole_world",
            "1 while this edge holds the owner's whole world (a whole-world stream is open, or its areas cover more cells than --relay-max-cell-subscriptions), 0 while it follows some cells.",
            i64::from(self.is_whole()),
        );
        out.gauge(
            "spacewars_edge_cell_subscriptions",
            "NATS subscriptions this edge holds to the owner's cells (the every-cell wildcard counts one).",
            u64::try_from(self.cell_subscriptions.load(Ordering::Relaxed)).unwrap_or(u64::MAX),
        );
        out.counter(
            "spacewars_edge_cells_joined_total",
            "Cells this edge joined (subscribed to and fetched) as its areas moved.",
            self.cells_joined.load(Ordering::Relaxed),
        );
    }

    async fn prepare_stream(&self, user_id: UserId, area: Option<f64>) -> Result<(), AppError> {
        self.prepare(user_id, area).await
    }

    fn world_versions(&self) -> Option<watch::Receiver<u64>> {
        Some(self.versions.subscribe())
    }

    fn keeps_versions(&self) -> bool {
        true
    }
}
