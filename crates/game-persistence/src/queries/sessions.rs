//! `sessions`: one statement each.

use diesel::prelude::*;
use game_domain::accounts::Session;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::rows::SessionRow;
use crate::schema::sessions;

/// Stores a new session.
pub(crate) fn insert(conn: &mut AnyConnection, session: &Session) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values(SessionRow::from(session))
        .execute(conn)?;
    Ok(())
}

/// A session by token hash.
pub(crate) fn find(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<Session>, StoreError> {
    let row = sessions::table
        .find(token_hash)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Session::from))
}

/// Marks a session revoked; unknown hashes are ignored.
pub(crate) fn revoke(conn: &mut AnyConnection, token_hash: &str) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(token_hash))
        .set(sessions::revoked.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Deletes sessions that can never authenticate again: revoked, or expired at `now_ms`.
/// Returns how many.
pub(crate) fn delete_dead(conn: &mut AnyConnection, now_ms: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::revoked
                .eq(true)
                .or(sessions::expires_ms.le(now_ms)),
        ),
    )
    .execute(conn)?)
}
