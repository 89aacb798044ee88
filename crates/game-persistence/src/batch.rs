//! Writing a write-behind [`Batch`]: rows in key order, in as few statements as the
//! bind-parameter limit allows.

use std::collections::BTreeMap;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::queries::{objects, users};
use crate::store::Batch;

/// Writes `batch` inside the caller's transaction: users upserted, then objects upserted,
/// then objects deleted (an id both upserted and deleted ends up deleted).
///
/// Every writer touches rows in ascending key order, so two concurrent writers queue on
/// the first row they share instead of each holding a row the other needs (a deadlock).
pub(crate) fn apply(conn: &mut AnyConnection, batch: Batch) -> Result<(), StoreError> {
    let users = in_key_order(batch.users, |u| u.id);
    let objects = in_key_order(batch.upserted_objects, |o| o.id);
    let mut deleted = batch.deleted_objects;
    deleted.sort_unstable();
    deleted.dedup();
    users::upsert_all(conn, &users)?;
    objects::upsert_all(conn, &objects)?;
    objects::delete_all(conn, &deleted)
}

/// Sorted by key, one entry per key: the last one given, as it is the most recent.
/// (PostgreSQL also refuses to upsert one row twice in a statement.)
fn in_key_order<T>(items: Vec<T>, key: impl Fn(&T) -> i64) -> Vec<T> {
    let by_key: BTreeMap<i64, T> = items.into_iter().map(|item| (key(&item), item)).collect();
    by_key.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_keeps_the_last_of_duplicates() {
        let items = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd')];
        assert_eq!(
            in_key_order(items, |item| item.0),
            vec![(1, 'b'), (2, 'd'), (3, 'c')]
        );
    }
}
