//! The units of work: `CachedRepo` as the game's `Repository`, each operation taking the
//! ordered locks it needs over memory and marking what it changed dirty as it commits.

use async_trait::async_trait;
use game_domain::accounts::{NewUser, Session};
use game_domain::error::{AppError, GameError};
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};
use game_domain::world::{World, WorldTx};
use game_locks::LockCtx;

use super::{CachedRepo, lock};
use crate::error::CacheError;
use crate::id_supply::Reserved;
use crate::stats::Counters;

#[async_trait]
impl Repository for CachedRepo {
    fn world_size(&self) -> WorldSize {
        self.inner.config.world_size
    }

    /// Writes through: the store creates the user and its ship (id from the reserved
    /// block) durably; then the user is cached and the ship joins the cached world at once.
    async fn create_user(&self, new_user: NewUser) -> Result<User, AppError> {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let ship_id = inner
            .ids
            .take(1)
            .await?
            .into_iter()
            .next()
            .ok_or(CacheError::NoObjectIds)?;
        let ship = new_user.ship.with_id(ship_id);
        let epoch = inner.users().evictions();
        let user = inner.store.create_user(new_user, ship_id).await?;
        let _pin = inner.pin(user.id);
        {
            let mut root = LockCtx::root();
            let (mut world, _ctx) = inner.world.write(&mut root).await;
            world.insert(ship);
            inner.world_version.send_replace(world.version());
        }
        let mut users = inner.users();
        // Cache it unless an eviction happened since the store call: then someone may have
        // loaded, changed, flushed and evicted it meanwhile, and this copy would be stale.
        // It then loads on demand instead.
        let cached = if users.get(user.id).is_some() || users.evictions() == epoch {
            let cached = users.insert_loaded(user);
            users.evict_past_cap();
            cached
        } else {
            user
        };
        Ok(cached)
    }

    /// The index answers for cached users; a miss reads the store and caches the user.
    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, AppError> {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let (hit, epoch) = {
            let mut users = inner.users();
            let hit = users.id_by_name(username).and_then(|id| users.get(id));
            (hit, users.evictions())
        };
        if let Some(user) = hit {
            Counters::bump(&inner.counters.hits);
            return Ok(Some(user));
        }
        Counters::bump(&inner.counters.misses);
        let Some(found) = inner.store.find_user_by_name(username).await? else {
            return Ok(None);
        };
        {
            let mut users = inner.users();
            // No eviction since before the read: the user was not in memory at any time
            // during it (else it would be cached now), so the store's copy is current.
            if users.get(found.id).is_some() || users.evictions() == epoch {
                let user = users.insert_loaded(found);
                users.evict_past_cap();
                return Ok(Some(user));
            }
        }
        // Evictions happened meanwhile: read again by id while pinned and holding the key.
        let id = found.id;
        let _pin = inner.pin(id);
        let mut root = LockCtx::root();
        let (_key, _ctx) = inner.user_locks.lock(&mut root, id).await;
        match inner.user_locked(id).await {
            Ok(user) => Ok(Some(user)),
            Err(AppError::Game(GameError::UserNotFound)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Writes through to the store, then caches.
    async fn insert_session(&self, session: Session) -> Result<(), AppError> {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        inner.store.insert_session(session.clone()).await?;
        lock(&inner.sessions).insert(session);
        Ok(())
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, AppError> {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let (hit, revocations) = {
            let mut sessions = lock(&inner.sessions);
            (sessions.get(token_hash), sessions.revocations())
        };
        if let Some(session) = hit {
            Counters::bump(&inner.counters.session_hits);
            return Ok(Some(session));
        }
        Counters::bump(&inner.counters.session_misses);
        let found = inner.store.find_session(token_hash).await?;
        if let Some(session) = &found {
            let mut sessions = lock(&inner.sessions);
            // A logout during the read may have been missed by it: then do not cache.
            if sessions.revocations() == revocations {
                sessions.insert(session.clone());
            }
        }
        Ok(found)
    }

    /// Writes through to the store, then updates the cached copy.
    async fn revoke_session(&self, token_hash: &str) -> Result<(), AppError> {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        inner.store.revoke_session(token_hash).await?;
        lock(&inner.sessions).revoke(token_hash);
        Ok(())
    }

    /// World READ lock only; memory only.
    async fn view_world<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&World) -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let mut root = LockCtx::root();
        let (world, _ctx) = inner.world.read(&mut root).await;
        inner.check_lease()?;
        Ok(f(&world))
    }

    /// World READ, then the user's key. A miss loads the user first (holding only its key).
    async fn read_player<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&User, &SpaceObject) -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let _pin = inner.pin(user_id);
        let mut root = LockCtx::root();
        inner.ensure_cached(&mut root, user_id).await?;
        let (world, mut world_ctx) = inner.world.read(&mut root).await;
        let (_key, _ctx) = inner.user_locks.lock(&mut world_ctx, user_id).await;
        inner.check_lease()?;
        let user = inner.users().get(user_id).ok_or(GameError::UserNotFound)?;
        let ship = world.get(user.ship_id).ok_or(GameError::UserNotFound)?;
        Ok(f(&user, ship))
    }

    /// The user's key only. On `Ok` with a change, the new value and its dirty mark are
    /// committed together under the store-level lock.
    async fn with_user<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut User) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let _pin = inner.pin(user_id);
        let mut root = LockCtx::root();
        let (_key, mut user_ctx) = inner.user_locks.lock(&mut root, user_id).await;
        let mut user = inner.user_locked(user_id).await?;
        inner.check_lease()?;
        let out = f(&mut user)?;
        let changed = inner.users().differs(&user);
        if changed {
            let (mut dirty, _ctx) = inner.dirty.lock(&mut user_ctx).await;
            dirty.mark().user(user.clone());
            inner.users().write_back(user);
            inner.publish_dirty_counts(&dirty);
        }
        Ok(out)
    }

    /// Takes one spawn id per object named (a collected object is replaced by one spawn)
    /// before locking anything, failing fast if none are left and the store cannot give
    /// more; then world WRITE and the user's key (a miss loads the user before the world
    /// is locked). On `Ok`, spawned objects get the ids taken ahead (more, if needed, from
    /// memory only), and the user, the world and all dirty marks change together under
    /// the store-level lock. Ids not used go back to the supply.
    async fn with_user_and_world<T, F>(
        &self,
        user_id: UserId,
        objects: Vec<ObjectId>,
        f: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(&mut User, &mut WorldTx) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let _pass = inner.enter()?;
        let mut reserved = Reserved::take(&inner.ids, objects.len()).await?;
        let _pin = inner.pin(user_id);
        let mut root = LockCtx::root();
        inner.ensure_cached(&mut root, user_id).await?;
        let (mut world, mut world_ctx) = inner.world.write(&mut root).await;
        let (_key, mut user_ctx) = inner.user_locks.lock(&mut world_ctx, user_id).await;
        inner.check_lease()?;
        let mut user = inner.users().get(user_id).ok_or(GameError::UserNotFound)?;
        let mut ids = objects;
        ids.push(user.ship_id);
        let mut tx = world.begin(&ids);
        let out = f(&mut user, &mut tx)?;
        let changes = tx.into_changes();
        let user_changed = inner.users().differs(&user);
        if !user_changed && changes.is_empty() {
            return Ok(out);
        }
        let spawned: Vec<SpaceObject> = reserved
            .use_ids(changes.spawned.len())?
            .into_iter()
            .zip(&changes.spawned)
            .map(|(id, state)| state.with_id(id))
            .collect();
        let (mut dirty, _ctx) = inner.dirty.lock(&mut user_ctx).await;
        world.apply(&changes, &spawned);
        inner.world_version.send_replace(world.version());
        let mut mark = dirty.mark();
        for object in changes.updated.iter().chain(&spawned) {
            mark.upsert(*object);
        }
        for id in &changes.removed {
            mark.delete(*id);
        }
        if user_changed {
            mark.user(user.clone());
            inner.users().write_back(user);
        }
        inner.publish_dirty_counts(&dirty);
        Ok(out)
    }
}
