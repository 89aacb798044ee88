//! Rows as stored, and their conversions to and from the domain types.
//!
//! Conversions from rows are fallible: the database may hold values the domain cannot
//! represent (an unknown kind, a negative level), and those must surface as errors rather
//! than panics.

use diesel::prelude::*;
use game_domain::accounts::Session;
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::{ActiveResearch, ResearchType, TechTree};
use game_domain::user::User;

use crate::error::StoreError;
use crate::schema::{sessions, space_objects, users};

// Row structs list the columns in table order: queries load them with the table's default
// selection, which (unlike `as_select()`) does not depend on the backend, so one query
// value serves both arms of a `match` on the connection.

/// A `users` row.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = users)]
// SQLite cannot batch-insert DEFAULT; a None is a NULL here anyway.
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub iron: f64,
    pub last_updated: i64,
    pub iron_harvesting_level: i32,
    pub ship_speed_level: i32,
    pub afterburner_level: i32,
    pub active_research_type: Option<String>,
    pub active_research_remaining: Option<f64>,
    pub ship_id: i64,
}

/// The columns of [`UserRow`], in its order (every column but `username_key`, which only
/// inserts and name lookups use).
pub(crate) type UserColumns = (
    users::id,
    users::username,
    users::password_hash,
    users::iron,
    users::last_updated,
    users::iron_harvesting_level,
    users::ship_speed_level,
    users::afterburner_level,
    users::active_research_type,
    users::active_research_remaining,
    users::ship_id,
);

/// The selection that loads a [`UserRow`].
pub(crate) const USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::password_hash,
    users::iron,
    users::last_updated,
    users::iron_harvesting_level,
    users::ship_speed_level,
    users::afterburner_level,
    users::active_research_type,
    users::active_research_remaining,
    users::ship_id,
);

/// A new `users` row: the row and its uniqueness keys.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow {
    #[diesel(embed)]
    pub row: UserRow,
    pub username_key: String,
    pub username_skeleton: String,
}

/// A `space_objects` row.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = space_objects)]
// SQLite cannot batch-insert DEFAULT.
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct ObjectRow {
    pub id: i64,
    pub kind: String,
    pub x: f64,
    pub y: f64,
    pub speed: f64,
    pub angle: f64,
    pub last_position_update_ms: i64,
}

/// A `sessions` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub token_hash: String,
    pub user_id: i64,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked: bool,
}

fn level_to_column(level: u32) -> Result<i32, StoreError> {
    i32::try_from(level).map_err(|_| StoreError::InvalidData(format!("level {level} too large")))
}

fn level_from_column(level: i32) -> Result<u32, StoreError> {
    u32::try_from(level).map_err(|_| StoreError::InvalidData(format!("negative level {level}")))
}

impl TryFrom<&User> for UserRow {
    type Error = StoreError;

    fn try_from(user: &User) -> Result<UserRow, StoreError> {
        let tree = &user.tech_tree;
        let active = tree.active_research;
        Ok(UserRow {
            id: user.id,
            username: user.username.clone(),
            password_hash: user.password_hash.clone(),
            iron: user.iron,
            last_updated: user.last_updated,
            iron_harvesting_level: level_to_column(tree.iron_harvesting)?,
            ship_speed_level: level_to_column(tree.ship_speed)?,
            afterburner_level: level_to_column(tree.afterburner)?,
            active_research_type: active.map(|a| a.kind.wire_name().to_owned()),
            active_research_remaining: active.map(|a| a.remaining_duration),
            ship_id: user.ship_id,
        })
    }
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<User, StoreError> {
        let active_research = match (row.active_research_type, row.active_research_remaining) {
            (None, None) => None,
            (Some(name), Some(remaining_duration)) => Some(ActiveResearch {
                kind: ResearchType::parse(&name).ok_or_else(|| {
                    StoreError::InvalidData(format!("unknown research type {name:?}"))
                })?,
                remaining_duration,
            }),
            _ => {
                return Err(StoreError::InvalidData(format!(
                    "user {}: research type and remaining duration must be set together",
                    row.id
                )));
            }
        };
        Ok(User {
            id: row.id,
            username: row.username,
            password_hash: row.password_hash,
            iron: row.iron,
            last_updated: row.last_updated,
            tech_tree: TechTree {
                iron_harvesting: level_from_column(row.iron_harvesting_level)?,
                ship_speed: level_from_column(row.ship_speed_level)?,
                afterburner: level_from_column(row.afterburner_level)?,
                active_research,
            },
            ship_id: row.ship_id,
        })
    }
}

impl From<&SpaceObject> for ObjectRow {
    fn from(object: &SpaceObject) -> ObjectRow {
        ObjectRow {
            id: object.id,
            kind: object.kind.as_str().to_owned(),
            x: object.x,
            y: object.y,
            speed: object.speed,
            angle: object.angle,
            last_position_update_ms: object.last_position_update_ms,
        }
    }
}

impl TryFrom<ObjectRow> for SpaceObject {
    type Error = StoreError;

    fn try_from(row: ObjectRow) -> Result<SpaceObject, StoreError> {
        let kind = ObjectKind::parse(&row.kind).ok_or_else(|| {
            StoreError::InvalidData(format!("object {}: unknown kind {:?}", row.id, row.kind))
        })?;
        Ok(SpaceObject {
            id: row.id,
            kind,
            x: row.x,
            y: row.y,
            speed: row.speed,
            angle: row.angle,
            last_position_update_ms: row.last_position_update_ms,
        })
    }
}

impl From<&Session> for SessionRow {
    fn from(session: &Session) -> SessionRow {
        SessionRow {
            token_hash: session.token_hash.clone(),
            user_id: session.user_id,
            created_ms: session.created_ms,
            expires_ms: session.expires_ms,
            revoked: session.revoked,
        }
    }
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Session {
        Session {
            token_hash: row.token_hash,
            user_id: row.user_id,
            created_ms: row.created_ms,
            expires_ms: row.expires_ms,
            revoked: row.revoked,
        }
    }
}
