//! Spacewars storage on diesel: SQLite (embedded default) and PostgreSQL.
//!
//! - [`store`]: the [`Store`] trait the write-behind cache writes through, and [`Batch`].
//! - [`error`]: [`StoreError`].

pub mod error;
pub mod store;

pub use error::StoreError;
pub use store::{Batch, Store};
