//! [`DbRepo`]: the game's [`Repository`] straight on the database, one transaction per
//! unit of work. The baseline the write-behind cache is measured against: correct, not
//! fast.

use async_trait::async_trait;
use game_domain::accounts::{NewUser, Session};
use game_domain::error::{AppError, GameError};
use game_domain::geometry::WorldSize;
use game_domain::repository::Repository;
use game_domain::space_object::{ObjectId, SpaceObject};
use game_domain::user::{User, UserId};
use game_domain::world::{World, WorldChanges, WorldTx};

use crate::connection::AnyConnection;
use crate::database::Database;
use crate::error::StoreError;
use crate::queries::ids::{self, Counter};
use crate::queries::{objects, users};
use crate::store::Store;

/// [`Repository`] on a [`Database`]: every unit of work is one write transaction whose
/// rows are locked (PostgreSQL `FOR UPDATE`; SQLite `BEGIN IMMEDIATE`) in a fixed order
/// (the user, then objects by ascending id, then the id counter) so concurrent units of
/// work queue and never deadlock. If this process holds the lease, each one verifies it.
#[derive(Debug, Clone)]
pub struct DbRepo {
    db: Database,
    world_size: WorldSize,
}

impl DbRepo {
    /// A repository over `db` for a world of `world_size`.
    pub fn new(db: Database, world_size: WorldSize) -> DbRepo {
        DbRepo { db, world_size }
    }

    /// The database underneath.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

#[async_trait]
impl Repository for DbRepo {
    fn world_size(&self) -> WorldSize {
        self.world_size
    }

    async fn create_user(&self, new_user: NewUser) -> Result<User, AppError> {
        // A taken name wastes the reserved ship id; ids need not be dense.
        let ship_id = self.db.reserve_object_ids(1).await?;
        Ok(self.db.create_user(new_user, ship_id).await?)
    }

    async fn find_user_by_name(&self, username: &str) -> Result<Option<User>, AppError> {
        Ok(self.db.find_user_by_name(username).await?)
    }

    async fn insert_session(&self, session: Session) -> Result<(), AppError> {
        Ok(self.db.insert_session(session).await?)
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<Session>, AppError> {
        Ok(self.db.find_session(token_hash).await?)
    }

    async fn revoke_session(&self, token_hash: &str) -> Result<(), AppError> {
        Ok(self.db.revoke_session(token_hash).await?)
    }

    async fn view_world<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&World) -> T + Send + 'static,
        T: Send + 'static,
    {
        let size = self.world_size;
        self.db
            .read(move |conn| Ok(f(&World::new(size, objects::load_all(conn)?))))
            .await
    }

    async fn read_player<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&User, &SpaceObject) -> T + Send + 'static,
        T: Send + 'static,
    {
        let player = self
            .db
            .read(move |conn| users::find_with_ship(conn, user_id))
            .await?;
        let (user, ship) = player.ok_or(GameError::UserNotFound)?;
        Ok(f(&user, &ship))
    }

    async fn with_user<T, F>(&self, user_id: UserId, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut User) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .write(move |conn| {
                let before = lock_user(conn, user_id)?;
                let mut user = before.clone();
                let value = f(&mut user)?;
                if user != before {
                    users::update(conn, &user)?;
                }
                Ok(value)
            })
            .await
    }

    async fn with_user_and_world<T, F>(
        &self,
        user_id: UserId,
        wanted: Vec<ObjectId>,
        f: F,
    ) -> Result<T, AppError>
    where
        F: FnOnce(&mut User, &mut WorldTx) -> Result<T, GameError> + Send + 'static,
        T: Send + 'static,
    {
        let size = self.world_size;
        self.db
            .write(move |conn| {
                let before = lock_user(conn, user_id)?;
                let mut ids = wanted;
                ids.push(before.ship_id);
                ids.sort_unstable();
                ids.dedup();
                let mut world = WorldTx::new(size, objects::find_for_update(conn, &ids)?);
                let mut user = before.clone();
                // An `Err` here rolls the transaction back: nothing is written.
                let value = f(&mut user, &mut world)?;
                if user != before {
                    users::update(conn, &user)?;
                }
                write_changes(conn, world.into_changes())?;
                Ok(value)
            })
            .await
    }
}

/// The user, locked until the end of the transaction (the first lock a unit of work takes).
fn lock_user(conn: &mut AnyConnection, user_id: UserId) -> Result<User, AppError> {
    Ok(users::find_for_update(conn, user_id)?.ok_or(GameError::UserNotFound)?)
}

/// Writes what a unit of work changed in the world; spawned objects get ids from the
/// counter, in the same transaction (the counter row is the last lock taken).
fn write_changes(conn: &mut AnyConnection, changes: WorldChanges) -> Result<(), StoreError> {
    objects::upsert_all(conn, &changes.updated)?;
    objects::delete_all(conn, &changes.removed)?;
    if changes.spawned.is_empty() {
        return Ok(());
    }
    let first = ids::reserve(conn, Counter::Objects, changes.spawned.len() as i64)?;
    let spawned: Vec<SpaceObject> = (first..)
        .zip(changes.spawned)
        .map(|(id, state)| state.with_id(id))
        .collect();
    objects::insert_all(conn, &spawned)
}
