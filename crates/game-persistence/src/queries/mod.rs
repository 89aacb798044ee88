//! The statements, one module per table, as blocking functions over a connection.
//!
//! They run inside a transaction the caller opened (or alone, as one implicit
//! transaction), and return [`crate::StoreError`] so callers can use `?` directly.

pub(crate) mod ids;
pub(crate) mod keys;
pub(crate) mod lease;
pub(crate) mod objects;
pub(crate) mod sessions;
pub(crate) mod users;

/// Bind parameters one statement may carry on both backends: SQLite's default limit
/// (PostgreSQL allows 65 535). Multi-row statements are chunked to stay below it.
pub(crate) const MAX_BIND_PARAMS: usize = 32_766;
