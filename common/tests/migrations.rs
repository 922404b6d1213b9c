//! Releases roll forward and back over one database: a build runs on a
//! schema a newer release migrated further, and refuses a history that a
//! newer release does not explain. Then the rule that makes that safe:
//! every migration only adds, unless it is a reviewed exception.

use std::path::{Path, PathBuf};

use common::testing::TestDatabase;
use refinery::{Migration, Runner};

fn migration(name: &str, sql: &str) -> Migration {
    Migration::unapplied(name, sql).expect("a migration")
}

/// A release's migrations: the first `count` of a schema that only grows.
fn release(count: usize) -> Runner {
    let all = [
        migration(
            "V1__things",
            "CREATE TABLE things (id BIGSERIAL PRIMARY KEY)",
        ),
        migration("V2__names", "ALTER TABLE things ADD COLUMN name TEXT"),
        migration("V3__colours", "ALTER TABLE things ADD COLUMN colour TEXT"),
    ];
    Runner::new(&all[..count])
}

fn newest() -> Runner {
    release(3)
}

async fn migrate(database: &TestDatabase, runner: Runner) -> anyhow::Result<()> {
    let pool = common::db::pool(&database.settings).expect("a pool");
    common::db::migrate(&pool, runner).await
}

#[tokio::test]
async fn a_build_runs_on_a_schema_a_newer_release_migrated_further() {
    let database = TestDatabase::create("rollback", newest).await;

    // The previous release, as after a rollback: it knows V1 and V2 only.
    migrate(&database, release(2))
        .await
        .expect("the previous release accepts the newer schema");

    let db = database.client().await;
    db.batch_execute("INSERT INTO things (name) VALUES ('as the old release writes')")
        .await
        .expect("the old release's statements still work");
}

#[tokio::test]
async fn a_migration_changed_after_it_ran_is_refused() {
    let database = TestDatabase::create("rollback", newest).await;
    let edited = Runner::new(&[
        migration(
            "V1__things",
            "CREATE TABLE things (id BIGSERIAL PRIMARY KEY)",
        ),
        migration(
            "V2__names",
            "ALTER TABLE things ADD COLUMN name VARCHAR(10)",
        ),
    ]);

    let refused = migrate(&database, edited).await.expect_err("refused");

    assert!(format!("{refused:#}").contains("V2"), "{refused:#}");
}

#[tokio::test]
async fn another_branchs_migration_below_this_builds_newest_is_refused() {
    let database = TestDatabase::create("rollback", newest).await;
    let other_branch = Runner::new(&[
        migration(
            "V1__things",
            "CREATE TABLE things (id BIGSERIAL PRIMARY KEY)",
        ),
        migration("V4__sizes", "ALTER TABLE things ADD COLUMN size INT"),
    ]);

    let refused = migrate(&database, other_branch).await.expect_err("refused");

    assert!(format!("{refused:#}").contains("V2__names"), "{refused:#}");
}

#[tokio::test]
async fn a_newer_release_migrates_what_an_older_one_left() {
    let database = TestDatabase::create("rollback_old", || release(1)).await;

    migrate(&database, newest())
        .await
        .expect("migrated forward");

    let db = database.client().await;
    let applied: i64 = db
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .expect("the history")
        .get(0);
    assert_eq!(applied, 3);
}

// --- Migrations only add ----------------------------------------------------

/// Migrations that take something away, each reviewed: what it removes and
/// why no running release needed it. A new entry needs the same review
/// (docs/releases.md).
const REVIEWED: [(&str, &str); 3] = [
    (
        "billing/V4__settled_reservations.sql",
        "0.1.0, before releases: drops the state CHECK to add it again with one more state, settled",
    ),
    (
        "orders/V2__history_on_the_order.sql",
        "0.1.0, before releases: saga_steps moved into orders.history in the same migration",
    ),
    (
        "orders/V3__parked_sagas.sql",
        "0.1.0, before releases: drops and recreates the index orders_pending with a narrower predicate",
    ),
];

/// What takes something away, or breaks a statement an older release runs.
const DESTRUCTIVE: [&str; 7] = [
    "DROP ",
    "RENAME",
    "TRUNCATE",
    "DELETE FROM",
    " TYPE ",
    "SET NOT NULL",
    "SET DATA TYPE",
];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `*/migrations/*.sql` of the workspace, as `crate/file`.
fn migration_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let crates = std::fs::read_dir(repository()).expect("the repository");
    for krate in crates.flatten() {
        let dir = krate.path().join("migrations");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "sql") {
                files.push((name_of(&krate.path(), &path), read(&path)));
            }
        }
    }
    files.sort();
    files
}

fn name_of(krate: &Path, file: &Path) -> String {
    let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    format!(
        "{}/{}",
        file_name(krate).unwrap_or_default(),
        file_name(file).unwrap_or_default()
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The SQL without its `--` comments, upper-cased.
fn statements(sql: &str) -> String {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// `ADD COLUMN ... NOT NULL` without a default: an older release's inserts fail.
fn adds_a_required_column(statement: &str) -> bool {
    statement.contains("ADD COLUMN")
        && statement.contains("NOT NULL")
        && !statement.contains("DEFAULT")
}

/// Whether any statement of `sql` takes something away.
fn takes_away(sql: &str) -> bool {
    statements(sql).split(';').any(|statement| {
        DESTRUCTIVE.iter().any(|word| statement.contains(word)) || adds_a_required_column(statement)
    })
}

#[test]
fn every_migration_only_adds_or_is_a_reviewed_exception() {
    let files = migration_files();
    assert!(files.len() >= 10, "found only {files:?}");
    let offending: Vec<&String> = files
        .iter()
        .filter(|(name, sql)| takes_away(sql) && !REVIEWED.iter().any(|(file, _)| file == name))
        .map(|(name, _)| name)
        .collect();
    assert!(
        offending.is_empty(),
        "these migrations take something away; split them into expand now and contract a release later, or review them into REVIEWED: {offending:?}"
    );
}

#[test]
fn the_rule_would_catch_what_it_is_for() {
    for sql in [
        "ALTER TABLE orders DROP COLUMN reason;",
        "ALTER TABLE orders RENAME COLUMN reason TO why;",
        "ALTER TABLE orders ALTER COLUMN amount TYPE float8;",
        "ALTER TABLE orders ADD COLUMN owner_id bigint NOT NULL;",
        "ALTER TABLE orders ALTER COLUMN traceparent SET NOT NULL;",
    ] {
        assert!(takes_away(sql), "{sql}");
    }
    let additive = "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT ''; -- drop later";
    assert!(!takes_away(additive));
}

#[test]
fn every_reviewed_exception_names_a_migration_that_takes_something_away() {
    let files = migration_files();
    for (file, _) in REVIEWED {
        let sql = files
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, sql)| sql);
        assert!(
            sql.is_some_and(|sql| takes_away(sql)),
            "{file}: no such migration, or it only adds"
        );
    }
}
