//! Write transactions that behave alike on both backends.

#[cfg(feature = "sqlite")]
use diesel::connection::AnsiTransactionManager;
#[cfg(feature = "postgres")]
use diesel::connection::Connection;
use diesel::connection::TransactionManager;
use diesel::result::Error;

use crate::connection::AnyConnection;
use crate::error::StoreError;

/// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back otherwise.
///
/// SQLite: `BEGIN IMMEDIATE` takes the database's single write lock up front, so a
/// transaction never reads under a shared lock and then fails to upgrade it (which
/// `busy_timeout` cannot wait out); writers simply queue. PostgreSQL: a plain `BEGIN`;
/// the statements lock the rows they touch (`FOR UPDATE`, `UPDATE`), in a fixed order.
pub(crate) fn write<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let begun = match conn {
        #[cfg(feature = "sqlite")]
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        #[cfg(feature = "postgres")]
        AnyConnection::Pg(c) => <PgManager as TransactionManager<_>>::begin_transaction(c),
    };
    begun.map_err(StoreError::from)?;
    // The rest mirrors diesel's own `TransactionManager::transaction`.
    match f(conn) {
        Ok(value) => {
            AnyConnection::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(error) => match AnyConnection::rollback_transaction(conn) {
            // A broken manager means the connection is dropped by the pool; the original
            // error is the one worth reporting.
            Ok(()) | Err(Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(StoreError::from(rollback).into()),
        },
    }
}

#[cfg(feature = "postgres")]
type PgManager = <diesel::pg::PgConnection as Connection>::TransactionManager;
