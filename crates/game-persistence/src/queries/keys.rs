//! `server_keys`: named secrets, made once.

use diesel::prelude::*;

use crate::connection::{AnyConnection, on_backend};
use crate::error::StoreError;
use crate::schema::server_keys;

/// The secret named `name`, stored as `fresh` first if there is none yet (inside the
/// caller's transaction; of two processes racing, the first insert wins for both).
pub(crate) fn get_or_insert(
    conn: &mut AnyConnection,
    name: &str,
    fresh: &str,
) -> Result<String, StoreError> {
    on_backend!(conn, c => diesel::insert_into(server_keys::table)
        .values((server_keys::name.eq(name), server_keys::secret.eq(fresh)))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(server_keys::table
        .find(name)
        .select(server_keys::secret)
        .first(conn)?)
}
