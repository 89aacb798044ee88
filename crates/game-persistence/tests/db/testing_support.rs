//! The `testing` feature's helpers do what dependents' suites rely on: a SQLite test
//! database is always made (never a silent skip), `PlainHasher` stores
//! `plain$<password>`, and `CI` decides whether a missing part fails or skips.
//!
//! Added for the mutation run (docs/test-strength.md): a `fresh_database` that skipped
//! SQLite, a hasher that stored nothing, or a `require_all` reading `CI` backwards,
//! passed this crate's suite.

use game_domain::game::PasswordHasher;
use game_persistence::testing::{PlainHasher, TestBackend};

use game_persistence::Store;

use crate::common::on_each_backend;

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

/// Where the child run below passes what `require_all()` should answer.
const EXPECT_VAR: &str = "SPACEWARS_TEST_EXPECT_REQUIRE_ALL";

/// Run only by `ci_values_decide_require_all`, in a child process whose environment it
/// sets (a test cannot set `CI` in its own process: `set_var` is `unsafe`).
#[test]
#[ignore = "run in a child process by ci_values_decide_require_all"]
fn require_all_in_child() {
    let expected = std::env::var(EXPECT_VAR).expect("run by ci_values_decide_require_all");
    assert_eq!(
        game_persistence::testing::environment::require_all().to_string(),
        expected
    );
}

/// CI services set `CI=true`; `CI` empty, `0` or `false` means "not CI", and
/// `SPACEWARS_TEST_REQUIRE_ALL=1` (only `1`) requires everything too (environment.rs).
#[test]
fn ci_values_decide_require_all() {
    let exe = std::env::current_exe().expect("the test binary's path");
    for (ci, require_all_var, expected) in [
        (Some("true"), None, true),
        (Some("1"), None, true),
        (Some("false"), None, false),
        (Some("0"), None, false),
        (Some(""), None, false),
        (None, Some("1"), true),
        (None, Some("0"), false),
        (None, None, false),
    ] {
        let mut child = std::process::Command::new(&exe);
        child
            .args([
                "--ignored",
                "--exact",
                "testing_support::require_all_in_child",
            ])
            .args(["--quiet", "--test-threads=1"])
            .env_remove("CI")
            .env_remove("SPACEWARS_TEST_REQUIRE_ALL")
            .env(EXPECT_VAR, expected.to_string())
            .stdout(std::process::Stdio::null());
        if let Some(ci) = ci {
            child.env("CI", ci);
        }
        if let Some(value) = require_all_var {
            child.env("SPACEWARS_TEST_REQUIRE_ALL", value);
        }
        let status = child.status().expect("the test binary runs");
        assert!(
            status.success(),
            "CI={ci:?}, SPACEWARS_TEST_REQUIRE_ALL={require_all_var:?} should give \
             require_all() == {expected}"
        );
    }
}

/// `break_now` breaks a PostgreSQL test database (every later call fails) and says it
/// cannot break a SQLite one (the tests that need a broken database run on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_now_breaks_postgres_and_refuses_sqlite() {
    on_each_backend(async |t| {
        let broke = t.test_db.break_now();
        let load = t.db.load_world().await;
        match t.test_db.backend() {
            TestBackend::Sqlite => assert!(!broke && load.is_ok(), "{load:?}"),
            TestBackend::Postgres => assert!(broke && load.is_err(), "{load:?}"),
        }
        // How failure messages name the backend.
        assert_eq!(
            [TestBackend::Sqlite, TestBackend::Postgres].map(|b| b.to_string()),
            ["sqlite", "postgres"]
        );
    })
    .await;
}

/// A variable that is set is handed back as it is (`PATH` is set wherever tests run).
#[test]
fn a_required_variable_that_is_set_is_returned() {
    assert_eq!(
        game_persistence::testing::environment::required_var("PATH", "the PATH"),
        std::env::var("PATH").ok()
    );
}

/// Run only by `postgres_is_skipped_loudly_without_its_variable`, in a child process
/// without `SPACEWARS_TEST_PG_URL`, `CI` and `SPACEWARS_TEST_REQUIRE_ALL`.
#[test]
#[ignore = "run in a child process by postgres_is_skipped_loudly_without_its_variable"]
fn availability_in_child() {
    assert!(TestBackend::Sqlite.available());
    assert!(!TestBackend::Postgres.available());
    assert!(TestBackend::Postgres.fresh_database().is_none());
}

/// Without the PostgreSQL variable (and outside CI) PostgreSQL is not available, SQLite
/// is, and the binary says on stderr that it skips the PostgreSQL tests.
#[test]
fn postgres_is_skipped_loudly_without_its_variable() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let child = std::process::Command::new(&exe)
        .args([
            "--ignored",
            "--exact",
            "testing_support::availability_in_child",
        ])
        .args(["--quiet", "--test-threads=1"])
        .env_remove("CI")
        .env_remove("SPACEWARS_TEST_REQUIRE_ALL")
        .env_remove(game_persistence::testing::PG_URL_VAR)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    assert!(stderr.contains("SKIPPING PostgreSQL tests in "), "{stderr}");
}
