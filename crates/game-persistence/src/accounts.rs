//! Creating a player: user row and ship, with the user id from its counter.

use game_domain::accounts::NewUser;
use game_domain::space_object::ObjectId;
use game_domain::user::User;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::queries::ids::{self, Counter};
use crate::queries::{objects, users};

/// Inserts `new_user` with a fresh user id and its ship under `ship_id`, inside the
/// caller's transaction. [`StoreError::UsernameTaken`] if the name exists.
pub(crate) fn create_user(
    conn: &mut AnyConnection,
    new_user: NewUser,
    ship_id: ObjectId,
) -> Result<User, StoreError> {
    let id = ids::reserve(conn, Counter::Users, 1)?;
    let user = User {
        id,
        username: new_user.username,
        password_hash: new_user.password_hash,
        iron: new_user.iron,
        last_updated: new_user.last_updated,
        tech_tree: new_user.tech_tree,
        ship_id,
    };
    users::insert(conn, &user)?;
    objects::insert_all(conn, &[new_user.ship.with_id(ship_id)])?;
    Ok(user)
}
