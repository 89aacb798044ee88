//! `lease`: the one row naming the process that owns the database.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::lease;

/// The lease row's single key.
const ROW: i32 = 1;

/// The lease as stored.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct LeaseRow {
    pub owner: String,
    pub token: String,
    pub expires_ms: i64,
}

impl LeaseRow {
    /// True if someone holds the lease and it has not expired at `now_ms`.
    pub(crate) fn is_held_at(&self, now_ms: i64) -> bool {
        !self.token.is_empty() && self.expires_ms > now_ms
    }
}

/// Reads the lease, locked until the end of the write transaction.
pub(crate) fn read_for_update(conn: &mut AnyConnection) -> Result<Option<LeaseRow>, StoreError> {
    let query = lease::table
        .find(ROW)
        .select((lease::owner, lease::token, lease::expires_ms));
    let row: Option<LeaseRow> = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => query.first(c).optional()?,
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => query.for_update().first(c).optional()?,
    };
    Ok(row)
}

/// Records a new holder (inserting the row if someone deleted it).
pub(crate) fn write(
    conn: &mut AnyConnection,
    owner: &str,
    token: &str,
    expires_ms: i64,
) -> Result<(), StoreError> {
    let updated = diesel::update(lease::table.find(ROW))
        .set((
            lease::owner.eq(owner),
            lease::token.eq(token),
            lease::expires_ms.eq(expires_ms),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(lease::table)
            .values((
                lease::id.eq(ROW),
                lease::owner.eq(owner),
                lease::token.eq(token),
                lease::expires_ms.eq(expires_ms),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Extends the lease if `token` still holds it; [`StoreError::LeaseLost`] otherwise.
/// One statement: it both checks and renews, and (PostgreSQL) locks the row.
pub(crate) fn renew(
    conn: &mut AnyConnection,
    token: &str,
    expires_ms: i64,
) -> Result<(), StoreError> {
    let renewed = diesel::update(lease::table.find(ROW).filter(lease::token.eq(token)))
        .set(lease::expires_ms.eq(expires_ms))
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
