//! `space_objects`: loads, row locks, inserts, upserts and deletes.

use diesel::prelude::*;
use diesel::upsert::excluded;
use game_domain::space_object::{ObjectId, SpaceObject};

use super::MAX_BIND_PARAMS;
use crate::connection::{AnyConnection, on_backend};
use crate::error::StoreError;
use crate::rows::ObjectRow;
use crate::schema::space_objects;

/// Columns of a `space_objects` row (bind parameters per row of a multi-row insert).
const COLUMNS: usize = 7;

fn to_domain(rows: Vec<ObjectRow>) -> Result<Vec<SpaceObject>, StoreError> {
    rows.into_iter().map(SpaceObject::try_from).collect()
}

/// `objects` as rows, in chunks as large as one statement's bind parameters allow.
fn rows_per_statement(objects: &[SpaceObject]) -> impl Iterator<Item = Vec<ObjectRow>> {
    objects
        .chunks(MAX_BIND_PARAMS / COLUMNS)
        .map(|chunk| chunk.iter().map(ObjectRow::from).collect())
}

/// Every object, in id order.
pub(crate) fn load_all(conn: &mut AnyConnection) -> Result<Vec<SpaceObject>, StoreError> {
    let rows: Vec<ObjectRow> = space_objects::table
        .order(space_objects::id.asc())
        .load(conn)?;
    to_domain(rows)
}

/// Those of `ids` that exist, in id order, locked for the rest of the write transaction.
///
/// PostgreSQL: `ORDER BY id FOR UPDATE` locks them in id order, so two transactions
/// wanting overlapping objects queue instead of deadlocking. SQLite: the `BEGIN IMMEDIATE`
/// transaction already excludes every other writer.
pub(crate) fn find_for_update(
    conn: &mut AnyConnection,
    ids: &[ObjectId],
) -> Result<Vec<SpaceObject>, StoreError> {
    let query = space_objects::table
        .filter(space_objects::id.eq_any(ids))
        .order(space_objects::id.asc());
    let rows: Vec<ObjectRow> = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => query.load(c)?,
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => query.for_update().load(c)?,
    };
    to_domain(rows)
}

/// Inserts new objects; an existing id is an error.
pub(crate) fn insert_all(
    conn: &mut AnyConnection,
    objects: &[SpaceObject],
) -> Result<(), StoreError> {
    for rows in rows_per_statement(objects) {
        // Multi-row inserts are not available through `AnyConnection`.
        on_backend!(conn, c => diesel::insert_into(space_objects::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// Inserts or overwrites objects, in the given order, in as few statements as the bind
/// parameter limit allows.
pub(crate) fn upsert_all(
    conn: &mut AnyConnection,
    objects: &[SpaceObject],
) -> Result<(), StoreError> {
    for rows in rows_per_statement(objects) {
        // Upserts are not available through `AnyConnection`; the SQL is the same on both.
        on_backend!(conn, c => diesel::insert_into(space_objects::table)
            .values(&rows)
            .on_conflict(space_objects::id)
            .do_update()
            .set((
                space_objects::kind.eq(excluded(space_objects::kind)),
                space_objects::x.eq(excluded(space_objects::x)),
                space_objects::y.eq(excluded(space_objects::y)),
                space_objects::speed.eq(excluded(space_objects::speed)),
                space_objects::angle.eq(excluded(space_objects::angle)),
                space_objects::last_position_update_ms
                    .eq(excluded(space_objects::last_position_update_ms)),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// Deletes objects by id; missing ids are ignored.
pub(crate) fn delete_all(conn: &mut AnyConnection, ids: &[ObjectId]) -> Result<(), StoreError> {
    for chunk in ids.chunks(MAX_BIND_PARAMS) {
        diesel::delete(space_objects::table.filter(space_objects::id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(())
}

/// Number of objects.
pub(crate) fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(space_objects::table.count().get_result(conn)?)
}
