//! `id_counters`: blocks of fresh ids.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::id_counters;

/// Which ids a counter hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// User ids.
    Users,
    /// Space object ids (ships included).
    Objects,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::Users => "users",
            Counter::Objects => "space_objects",
        }
    }
}

/// Takes `count` ids from `counter` and returns the first; the block is
/// `first..first + count`. Inside a write transaction the counter row stays locked until
/// commit, and a rollback returns the block, so ids are handed out at most once.
pub(crate) fn reserve(
    conn: &mut AnyConnection,
    counter: Counter,
    count: i64,
) -> Result<i64, StoreError> {
    if count < 1 {
        return Err(StoreError::InvalidData(format!(
            "cannot reserve {count} ids"
        )));
    }
    let row = id_counters::table.find(counter.name());
    // UPDATE first, so the row is locked before it is read (PostgreSQL). `RETURNING`
    // would save the SELECT but does not compile through `AnyConnection`.
    let updated = diesel::update(row)
        .set(id_counters::next_id.eq(id_counters::next_id + count))
        .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::InvalidData(format!(
            "id counter {:?} is missing",
            counter.name()
        )));
    }
    let next: i64 = row.select(id_counters::next_id).first(conn)?;
    Ok(next - count)
}

/// Locks `counter`'s row until the end of the write transaction (PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already excludes other writers), without taking ids.
// Only the PostgreSQL arm needs the counter's name.
#[cfg_attr(not(feature = "postgres"), expect(unused_variables))]
pub(crate) fn lock(conn: &mut AnyConnection, counter: Counter) -> Result<(), StoreError> {
    match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(_) => {}
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => {
            id_counters::table
                .find(counter.name())
                .select(id_counters::next_id)
                .for_update()
                .first::<i64>(c)?;
        }
    }
    Ok(())
}
