//! `users`: loads, row locks, inserts and (batch) upserts.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::upsert::excluded;
use game_domain::space_object::SpaceObject;
use game_domain::user::{User, UserId};
use game_domain::username::{username_key, username_skeleton};

use super::MAX_BIND_PARAMS;
use crate::connection::{AnyConnection, on_backend};
use crate::error::StoreError;
use crate::rows::{NewUserRow, ObjectRow, USER_COLUMNS, UserRow};
use crate::schema::{space_objects, users};

/// Columns of a `users` row (bind parameters per row of a multi-row insert).
const COLUMNS: usize = 11;

/// One user by id.
pub(crate) fn find(conn: &mut AnyConnection, id: UserId) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = users::table
        .find(id)
        .select(USER_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(User::try_from).transpose()
}

/// The user whose name has the key of `username` (or, for a legacy row without a key, the
/// same exact name); an exact match wins.
pub(crate) fn find_by_name(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<User>, StoreError> {
    let key = username_key(username);
    let row: Option<UserRow> = users::table
        .filter(users::username_key.eq(key).or(users::username.eq(username)))
        .order_by(users::username.eq(username).desc())
        .select(USER_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(User::try_from).transpose()
}

/// One user by id, locked for the rest of the write transaction.
///
/// PostgreSQL: `FOR UPDATE`. SQLite has no row locks; its `BEGIN IMMEDIATE` transaction
/// already holds the database's write lock.
pub(crate) fn find_for_update(
    conn: &mut AnyConnection,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    let query = users::table.find(id).select(USER_COLUMNS);
    let row: Option<UserRow> = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => query.first(c).optional()?,
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => query.for_update().first(c).optional()?,
    };
    row.map(User::try_from).transpose()
}

/// A user with its ship, read in one statement. `None` if either is missing.
pub(crate) fn find_with_ship(
    conn: &mut AnyConnection,
    id: UserId,
) -> Result<Option<(User, SpaceObject)>, StoreError> {
    let row: Option<(UserRow, ObjectRow)> = users::table
        .inner_join(space_objects::table.on(space_objects::id.eq(users::ship_id)))
        .filter(users::id.eq(id))
        .select((USER_COLUMNS, space_objects::all_columns))
        .first(conn)
        .optional()?;
    row.map(|(user, ship)| Ok((User::try_from(user)?, SpaceObject::try_from(ship)?)))
        .transpose()
}

/// Inserts a new user with its name's key and skeleton; a taken name (or key, or
/// skeleton) is [`StoreError::UsernameTaken`].
pub(crate) fn insert(conn: &mut AnyConnection, user: &User) -> Result<(), StoreError> {
    let row = NewUserRow {
        row: UserRow::try_from(user)?,
        username_key: username_key(&user.username),
        username_skeleton: username_skeleton(&user.username),
    };
    match diesel::insert_into(users::table).values(&row).execute(conn) {
        Ok(_) => Ok(()),
        Err(error) if is_username_conflict(&error) => Err(StoreError::UsernameTaken),
        Err(error) => Err(error.into()),
    }
}

/// Rewrites an existing user's row.
pub(crate) fn update(conn: &mut AnyConnection, user: &User) -> Result<(), StoreError> {
    upsert_all(conn, std::slice::from_ref(user))
}

/// Inserts or overwrites full rows, in the given order, in as few statements as the bind
/// parameter limit allows.
pub(crate) fn upsert_all(conn: &mut AnyConnection, all: &[User]) -> Result<(), StoreError> {
    for chunk in all.chunks(MAX_BIND_PARAMS / COLUMNS) {
        let rows = chunk
            .iter()
            .map(UserRow::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // Upserts are not available through `AnyConnection`; the SQL is the same on both.
        on_backend!(conn, c => diesel::insert_into(users::table)
            .values(&rows)
            .on_conflict(users::id)
            .do_update()
            .set((
                users::username.eq(excluded(users::username)),
                users::password_hash.eq(excluded(users::password_hash)),
                users::iron.eq(excluded(users::iron)),
                users::last_updated.eq(excluded(users::last_updated)),
                users::iron_harvesting_level.eq(excluded(users::iron_harvesting_level)),
                users::ship_speed_level.eq(excluded(users::ship_speed_level)),
                users::afterburner_level.eq(excluded(users::afterburner_level)),
                users::active_research_type.eq(excluded(users::active_research_type)),
                users::active_research_remaining.eq(excluded(users::active_research_remaining)),
                users::ship_id.eq(excluded(users::ship_id)),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// True for a unique violation on the username (SQLite names the column in its message,
/// PostgreSQL in the constraint `users_username_key`).
fn is_username_conflict(error: &Error) -> bool {
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.message().contains("username")
                || info
                    .constraint_name()
                    .is_some_and(|n| n.contains("username"))
        }
        _ => false,
    }
}

/// Fills in `username_key` and `username_skeleton` for rows that have none (databases from
/// before the columns), one statement per row, oldest first; a row whose key or skeleton
/// another row has already keeps NULL.
pub(crate) fn backfill_keys(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let missing_keys: Vec<(i64, String)> = users::table
        .filter(users::username_key.is_null())
        .select((users::id, users::username))
        .order_by(users::id)
        .load(conn)?;
    for (id, username) in missing_keys {
        let update = diesel::update(users::table.find(id))
            .set(users::username_key.eq(username_key(&username)))
            .execute(conn);
        tolerate_taken(update)?;
    }
    let missing_skeletons: Vec<(i64, String)> = users::table
        .filter(users::username_skeleton.is_null())
        .select((users::id, users::username))
        .order_by(users::id)
        .load(conn)?;
    for (id, username) in missing_skeletons {
        let update = diesel::update(users::table.find(id))
            .set(users::username_skeleton.eq(username_skeleton(&username)))
            .execute(conn);
        tolerate_taken(update)?;
    }
    Ok(())
}

/// An update whose new value another row already has is skipped, not an error.
fn tolerate_taken(update: Result<usize, Error>) -> Result<(), StoreError> {
    match update {
        Ok(_) => Ok(()),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Number of users.
pub(crate) fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(users::table.count().get_result(conn)?)
}
