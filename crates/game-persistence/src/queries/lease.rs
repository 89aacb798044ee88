//! `lease`: the one row naming the process that owns the database, and where the
//! database's write-behind history stands.
//!
//! Every expiry is written and compared on the database's clock, inside the statement
//! (PostgreSQL `clock_timestamp()`, SQLite `julianday('now')`): the processes' own wall
//! clocks never enter it, so two hosts whose clocks disagree still agree on who holds it.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::lease;

/// The lease row's single key.
const ROW: i32 = 1;

/// The database's clock, Unix ms, as SQL for `conn`'s backend. PostgreSQL's
/// `clock_timestamp()` is the time the statement reads it (not the transaction's start),
/// so a statement that waited for the row lock compares with the time after the wait.
fn db_now(conn: &AnyConnection) -> &'static str {
    match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(_) => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(_) => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

/// `db_now + ttl_ms`, the expiry of a lease taken or renewed now. `ttl_ms` is this
/// process's configuration, never a client's, so it is written into the SQL as a number.
fn expiry(conn: &AnyConnection, ttl_ms: i64) -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("({} + {ttl_ms})", db_now(conn)))
}

/// The lease as stored.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct LeaseRow {
    pub owner: String,
    pub expires_ms: i64,
    pub flush_id: String,
}

/// Reads the lease, locked until the end of the write transaction (PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already holds the one write lock).
pub(crate) fn read_for_update(conn: &mut AnyConnection) -> Result<Option<LeaseRow>, StoreError> {
    let query = lease::table
        .find(ROW)
        .select((lease::owner, lease::expires_ms, lease::flush_id));
    let row: Option<LeaseRow> = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => query.first(c).optional()?,
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => query.for_update().first(c).optional()?,
    };
    Ok(row)
}

/// Takes the lease for `token` if nobody holds it or it has expired on the database's
/// clock; true if taken. Run after [`read_for_update`] in the same transaction, so the
/// clock is read after any wait for the row.
pub(crate) fn take(
    conn: &mut AnyConnection,
    owner: &str,
    token: &str,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let now = sql::<BigInt>(db_now(conn));
    let expires = expiry(conn, ttl_ms);
    let taken = diesel::update(
        lease::table
            .find(ROW)
            .filter(lease::token.eq("").or(lease::expires_ms.le(now))),
    )
    .set((
        lease::owner.eq(owner),
        lease::token.eq(token),
        lease::expires_ms.eq(expires),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Recreates the row (someone deleted it) held by `token`.
pub(crate) fn insert(
    conn: &mut AnyConnection,
    owner: &str,
    token: &str,
    ttl_ms: i64,
) -> Result<(), StoreError> {
    let expires = expiry(conn, ttl_ms);
    diesel::insert_into(lease::table)
        .values((
            lease::id.eq(ROW),
            lease::owner.eq(owner),
            lease::token.eq(token),
            lease::expires_ms.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}

/// Extends the lease to the database's now + `ttl_ms` if `token` still holds it;
/// [`StoreError::LeaseLost`] otherwise. One statement: it both checks and renews, and
/// (PostgreSQL) locks the row.
pub(crate) fn renew(conn: &mut AnyConnection, token: &str, ttl_ms: i64) -> Result<(), StoreError> {
    let expires = expiry(conn, ttl_ms);
    let renewed = diesel::update(lease::table.find(ROW).filter(lease::token.eq(token)))
        .set(lease::expires_ms.eq(expires))
        .execute(conn)?;
    if renewed == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

/// Frees the lease if `token` holds it.
pub(crate) fn clear(conn: &mut AnyConnection, token: &str) -> Result<(), StoreError> {
    diesel::update(lease::table.find(ROW).filter(lease::token.eq(token)))
        .set((
            lease::owner.eq(""),
            lease::token.eq(""),
            lease::expires_ms.eq(0_i64),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records one more write-behind batch, `flush_id`, inside its transaction.
pub(crate) fn advance_flush(conn: &mut AnyConnection, flush_id: &str) -> Result<(), StoreError> {
    diesel::update(lease::table.find(ROW))
        .set((
            lease::flush_seq.eq(lease::flush_seq + 1_i64),
            lease::flush_id.eq(flush_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// The last write-behind batch written: its sequence number and id.
pub(crate) fn flush_position(conn: &mut AnyConnection) -> Result<(i64, String), StoreError> {
    Ok(lease::table
        .find(ROW)
        .select((lease::flush_seq, lease::flush_id))
        .first(conn)?)
}
