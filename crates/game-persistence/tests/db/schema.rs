//! Migrations and the demo world.

use game_domain::seed::{demo_objects, demo_user};
use game_domain::space_object::{ObjectKind, SpaceObject};
use game_domain::tech_tree::TechTree;
use game_domain::user::User;
use game_persistence::{Database, Store};

use crate::common::on_each_backend;

/// A plausible "now" (the original server's world.json was captured at this time).
const T0: i64 = 1_795_604_963_364;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_create_the_schema_once() {
    on_each_backend(async |t| {
        for table in ["users", "space_objects", "sessions"] {
            assert_eq!(
                t.test_db.count(table),
                0,
                "{table} on {}",
                t.test_db.backend()
            );
        }
        assert_eq!(t.test_db.count("id_counters"), 2);
        assert_eq!(
            t.test_db.scalar("(SELECT min(next_id) FROM id_counters)"),
            1
        );
        assert_eq!(t.test_db.count("lease"), 1);
        assert_eq!(t.test_db.count("__diesel_schema_migrations"), 5);

        t.db.seed_if_empty(None, T0).await.unwrap();
        // Connecting again applies nothing and keeps the data.
        let again = Database::connect(t.test_db.url()).await.unwrap();
        assert_eq!(t.test_db.count("__diesel_schema_migrations"), 5);
        assert_eq!(again.load_world().await.unwrap().len(), 9);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_is_created_and_the_url_scheme_is_optional() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let db = Database::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists());
    db.seed_if_empty(None, T0).await.unwrap();
    // The same file without the scheme.
    let plain = Database::connect(&path.display().to_string())
        .await
        .unwrap();
    assert_eq!(plain.load_world().await.unwrap().len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_database_is_seeded_with_the_demo_world() {
    on_each_backend(async |t| {
        let seeded =
            t.db.seed_if_empty(Some(demo_user("plain$a".into(), T0)), T0);
        assert!(seeded.await.unwrap());

        let world = t.db.load_world().await.unwrap();
        let ship = SpaceObject {
            id: 1,
            kind: ObjectKind::PlayerShip,
            x: 250.0,
            y: 250.0,
            speed: 0.0,
            angle: 0.0,
            last_position_update_ms: T0,
        };
        let mut expected = vec![ship];
        expected.extend((2..).zip(demo_objects(T0)).map(|(id, o)| o.with_id(id)));
        assert_eq!(world, expected, "on {}", t.test_db.backend());
        // Spot-check against the figures of docs/rules.md literally, not only against the
        // domain's table.
        assert_eq!(
            (
                world[1].kind,
                world[1].x,
                world[1].y,
                world[1].speed,
                world[1].angle
            ),
            (ObjectKind::Asteroid, 100.0, 150.0, 10.0, 0.0)
        );
        assert_eq!(
            (
                world[9].id,
                world[9].kind,
                world[9].x,
                world[9].y,
                world[9].speed,
                world[9].angle
            ),
            (10, ObjectKind::EscapePod, 400.0, 150.0, 45.0, 95.0)
        );

        let demo = t.db.find_user_by_name("a").await.unwrap().unwrap();
        assert_eq!(
            demo,
            User {
                id: 1,
                username: "a".into(),
                password_hash: "plain$a".into(),
                iron: 1000.0,
                last_updated: T0 / 1000,
                tech_tree: TechTree {
                    iron_harvesting: 1,
                    ship_speed: 1,
                    afterburner: 0,
                    active_research: None,
                },
                ship_id: 1,
            }
        );

        // A second start seeds nothing.
        let again =
            t.db.seed_if_empty(Some(demo_user("plain$a".into(), T0)), T0 + 1);
        assert!(!again.await.unwrap());
        assert_eq!(t.db.load_world().await.unwrap(), expected);
        assert_eq!(t.test_db.count("users"), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_demo_user_only_the_nine_objects_are_seeded() {
    on_each_backend(async |t| {
        assert!(t.db.seed_if_empty(None, T0).await.unwrap());
        let expected: Vec<_> = (1..)
            .zip(demo_objects(T0))
            .map(|(id, o)| o.with_id(id))
            .collect();
        assert_eq!(t.db.load_world().await.unwrap(), expected);
        assert_eq!(t.test_db.count("users"), 0);
        assert!(!t.db.seed_if_empty(None, T0).await.unwrap());
        assert_eq!(t.db.load_world().await.unwrap().len(), 9);
    })
    .await;
}

/// A `users` row as a database from before the key column holds it (no key).
fn legacy_user(id: i64, username: &str) -> String {
    format!(
        "INSERT INTO users (id, username, password_hash, iron, last_updated, \
         iron_harvesting_level, ship_speed_level, afterburner_level, ship_id) \
         VALUES ({id}, '{username}', 'h', 0, 0, 1, 1, 1, {})",
        100 + id
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_users_get_their_name_key_at_the_next_start() {
    on_each_backend(async |t| {
        // As if written before the migration: no keys, and two names equal but for case.
        t.test_db.execute(&legacy_user(1, "Bob"));
        t.test_db.execute(&legacy_user(2, "bob"));
        t.test_db.execute(&legacy_user(3, "\u{c9}mile"));
        let null_keys = "(SELECT count(*) FROM users WHERE username_key IS NULL)";
        assert_eq!(t.test_db.scalar(null_keys), 3);
        let again = Database::connect(t.test_db.url()).await.unwrap();
        // The older "Bob" owns the key; the younger "bob" keeps NULL and its exact name.
        assert_eq!(t.test_db.scalar(null_keys), 1);
        assert_eq!(
            t.test_db
                .scalar("(SELECT id FROM users WHERE username_key = 'bob')"),
            1
        );
        let id = |user: Option<User>| user.map(|u| u.id);
        assert_eq!(id(again.find_user_by_name("bob").await.unwrap()), Some(2));
        assert_eq!(id(again.find_user_by_name("Bob").await.unwrap()), Some(1));
        assert_eq!(id(again.find_user_by_name("BOB").await.unwrap()), Some(1));
        assert_eq!(
            id(again.find_user_by_name("\u{e9}MILE").await.unwrap()),
            Some(3)
        );
        // A third start changes nothing.
        drop(Database::connect(t.test_db.url()).await.unwrap());
        assert_eq!(t.test_db.scalar(null_keys), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_look_alikes_both_keep_working_and_new_ones_are_taken() {
    on_each_backend(async |t| {
        // Latin a and Cyrillic а, both registered before skeletons existed (ids past those
        // the id counter hands out).
        t.test_db.execute(&legacy_user(50, "a"));
        t.test_db.execute(&legacy_user(51, "\u{430}"));
        let null_skeletons = "(SELECT count(*) FROM users WHERE username_skeleton IS NULL)";
        assert_eq!(t.test_db.scalar(null_skeletons), 2);
        let again = Database::connect(t.test_db.url()).await.unwrap();
        // The older owns the skeleton; the younger keeps NULL, and both are found.
        assert_eq!(t.test_db.scalar(null_skeletons), 1);
        assert_eq!(
            t.test_db
                .scalar("(SELECT id FROM users WHERE username_skeleton = 'a')"),
            50
        );
        let id = |user: Option<User>| user.map(|u| u.id);
        assert_eq!(id(again.find_user_by_name("a").await.unwrap()), Some(50));
        assert_eq!(
            id(again.find_user_by_name("\u{430}").await.unwrap()),
            Some(51)
        );
        // A new name that looks like them (Latin alpha ɑ) is taken.
        let ship = again.reserve_object_ids(1).await.unwrap();
        let look_alike = game_domain::accounts::NewUser::register("\u{251}".into(), "h".into(), T0);
        let taken = again.create_user(look_alike, ship).await;
        assert!(
            matches!(taken, Err(game_persistence::StoreError::UsernameTaken)),
            "{taken:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_key_is_made_once_and_kept() {
    on_each_backend(async |t| {
        let key = t.db.server_key("session").await.unwrap();
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        let again = Database::connect(t.test_db.url()).await.unwrap();
        assert_eq!(again.server_key("session").await.unwrap(), key);
        assert_ne!(again.server_key("other").await.unwrap(), key);
        assert_eq!(t.test_db.count("server_keys"), 2);
    })
    .await;
}

/// Players are never seeded over, even where no object is left (their ships deleted by
/// hand): any user, or any object, means the database is in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_players_and_no_objects_is_not_seeded() {
    on_each_backend(async |t| {
        assert!(
            t.db.seed_if_empty(Some(demo_user("plain$a".into(), T0)), T0)
                .await
                .unwrap()
        );
        t.test_db.execute("DELETE FROM space_objects");
        assert_eq!(t.test_db.count("users"), 1);
        assert!(!t.db.seed_if_empty(None, T0).await.unwrap());
        assert_eq!(
            t.test_db.count("space_objects"),
            0,
            "on {}",
            t.test_db.backend()
        );
    })
    .await;
}

/// A database's identity (named by spill files) is made once and kept: the same through
/// every handle, and another database has another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_identity_is_made_once_and_kept() {
    on_each_backend(async |t| {
        let identity = t.db.identity().await.unwrap();
        assert!(identity.len() >= 16, "{identity:?}");
        assert_eq!(t.db.identity().await.unwrap(), identity);
        let again = Database::connect(t.test_db.url()).await.unwrap();
        assert_eq!(again.identity().await.unwrap(), identity);
        let other = game_persistence::testing::TestDatabase::sqlite();
        let other = Database::connect(other.url()).await.unwrap();
        assert_ne!(other.identity().await.unwrap(), identity);
    })
    .await;
}

/// Two servers starting at once on an empty PostgreSQL database seed it once: the second
/// waits for the first's lock on the id counter *before* it looks whether the database is
/// empty, then sees the first one's rows and seeds nothing. Here the "first server" is a
/// transaction of the test's, holding the counter and adding one object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeder_waits_for_another_seeders_lock_before_it_counts() {
    use std::time::{Duration, Instant};

    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let Some(test_db) = game_persistence::testing::TestDatabase::postgres() else {
        return;
    };
    let db = test_db.connect().await;
    let mut first = PgConnection::establish(test_db.url()).expect("a connection");
    first
        .batch_execute(
            "BEGIN; SELECT next_id FROM id_counters WHERE name = 'space_objects' FOR UPDATE",
        )
        .expect("lock the counter");
    let seeding = tokio::spawn({
        let db = db.clone();
        async move { db.seed_if_empty(None, T0).await }
    });
    // Until the seeder waits on a lock (every connection of this test database carries
    // its schema's name as application_name, the one `scalar` uses too).
    let waiting = "(SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                   AND application_name = current_setting('application_name'))";
    let deadline = Instant::now() + Duration::from_secs(30);
    while test_db.scalar(waiting) < 1 {
        assert!(Instant::now() < deadline, "the seeder never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first
        .batch_execute("INSERT INTO space_objects VALUES (500, 'asteroid', 1, 2, 0, 0, 0); COMMIT")
        .expect("the first seeder's object");
    assert!(!seeding.await.expect("task").expect("seeded or not"));
    assert_eq!(test_db.count("space_objects"), 1);
}
