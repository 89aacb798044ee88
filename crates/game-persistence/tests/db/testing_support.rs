//! The `testing` feature's helpers do what dependents' suites rely on: a SQLite test
//! database is always made (never a silent skip), and `PlainHasher` stores
//! `plain$<password>`.
//!
//! Added for the mutation run (docs/test-strength.md): a `fresh_database` that skipped
//! SQLite, or a hasher that stored nothing, passed this crate's suite.

use game_domain::game::PasswordHasher;
use game_persistence::testing::{PlainHasher, TestBackend};

#[test]
fn a_sqlite_test_database_is_always_made() {
    let test_db = TestBackend::Sqlite
        .fresh_database()
        .expect("SQLite needs nothing from the environment");
    assert_eq!(test_db.backend(), TestBackend::Sqlite);
}

#[tokio::test]
async fn the_plain_hasher_stores_plain_dollar_password() {
    assert_eq!(PlainHasher.hash("s3cret").await.unwrap(), "plain$s3cret");
    assert!(
        PlainHasher
            .verify("s3cret", Some("plain$s3cret"))
            .await
            .unwrap()
    );
    assert!(
        !PlainHasher
            .verify("s3cret", Some("plain$other"))
            .await
            .unwrap()
    );
    assert!(!PlainHasher.verify("s3cret", None).await.unwrap());
}
