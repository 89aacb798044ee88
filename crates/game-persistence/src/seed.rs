//! The demo world an empty database starts with (docs/rules.md, The demo world).

use game_domain::accounts::NewUser;
use game_domain::seed::demo_objects;
use game_domain::space_object::SpaceObject;

use crate::accounts::create_user;
use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::queries::ids::{self, Counter};
use crate::queries::{objects, users};

/// Seeds inside the caller's write transaction if there are no users and no objects;
/// returns whether it did. The demo user's ship takes the first id of the block, the
/// nine objects the following ones.
pub(crate) fn seed_if_empty(
    conn: &mut AnyConnection,
    demo_user: Option<NewUser>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    // Two servers starting at once on an empty PostgreSQL database: the second waits
    // here, then sees the first one's rows and seeds nothing.
    ids::lock(conn, Counter::Objects)?;
    if users::count(conn)? > 0 || objects::count(conn)? > 0 {
        return Ok(false);
    }
    let states = demo_objects(now_ms);
    let ships = i64::from(demo_user.is_some());
    let mut next_id = ids::reserve(conn, Counter::Objects, states.len() as i64 + ships)?;
    if let Some(demo_user) = demo_user {
        create_user(conn, demo_user, next_id)?;
        next_id += 1;
    }
    let seeded: Vec<SpaceObject> = (next_id..)
        .zip(states)
        .map(|(id, state)| state.with_id(id))
        .collect();
    objects::insert_all(conn, &seeded)?;
    Ok(true)
}
