//! The `postgres` backend against a real PostgreSQL, beyond the shared suite
//! (`suite.rs`): the table (created if missing, its schema), `NOTIFY` and the
//! periodic resync, per-host rows, oversized and corrupt rows, passwords,
//! settings, and what happens when the server is away: at start-up, lost
//! while running, during a `set`, frozen.
//!
//! Tests that only read and write use a database of their own on the shared
//! server (`MAINT_DATABASE_URL`); tests that stop the server run a cluster of
//! their own (see `maint_test_support::postgres`).

use std::{
    net::TcpListener,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    backend::{BackendError, PostgresBackend, StateBackend},
    change::{Change, StateRecord, Via},
    settings::StateBackendKind,
    state::Schedule,
};
use maint_test_support::{
    app::build,
    poll::poll_until,
    postgres::{self, OwnPostgres},
    process::free_port,
};

use crate::logs;

/// The product's bound on how fast an instance sees a change.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// How fast a server that comes (back) must be noticed without any request.
const RECONNECT_LIMIT: Duration = Duration::from_secs(3);
/// How long a `set` against a dead or frozen server may take to fail.
const FAILURE_LIMIT: Duration = Duration::from_secs(5);

/// Settings of the `postgres` backend on `url`.
fn pg_settings(url: &str) -> MaintenanceSettings {
    MaintenanceSettings::default()
        .state_backend(StateBackendKind::Postgres)
        .database_url(url)
}

/// A handle on `backend`.
fn handle_on(backend: PostgresBackend, fallback: bool) -> MaintenanceMode {
    MaintenanceMode::builder(MaintenanceSettings::default().state_backend_fallback_value(fallback))
        .backend(backend)
        .build()
        .expect("valid settings")
}

/// Polls (every millisecond, bounded) until `handle.is_on()` is `on`; the time it took.
#[track_caller]
fn await_on(handle: &MaintenanceMode, on: bool, limit: Duration, what: &str) -> Duration {
    poll_until(limit, || handle.is_on() == on).unwrap_or_else(|| {
        panic!(
            "{what}: is_on() did not become {on} within {limit:?} (problem: {:?})",
            handle.backend_problem()
        )
    })
}

/// Polls (bounded) until the handle reports no backend problem.
#[track_caller]
fn await_no_problem(handle: &MaintenanceMode, limit: Duration, what: &str) -> Duration {
    poll_until(limit, || handle.backend_problem().is_none()).unwrap_or_else(|| {
        panic!(
            "{what}: the problem did not clear within {limit:?}: {:?}",
            handle.backend_problem()
        )
    })
}

// ---------------------------------------------------------------------------
// On a database of the test's own on the shared server.

/// The table is created when missing (reading creates no row), with the
/// schema the README documents.
#[actix_web::test]
async fn the_table_is_created_if_missing_with_the_documented_schema() {
    let Some(db) = postgres::shared("backends::postgres_backend::table_created") else {
        return;
    };
    let raw = db.raw();
    let exists = "SELECT to_regclass('maint_state') IS NOT NULL";
    let table_exists = || {
        raw.with_client(|c| c.query_one(exists, &[]).map(|row| row.get::<_, bool>(0)))
            .unwrap()
    };
    assert!(!table_exists());
    let backend = PostgresBackend::new(&db.url).unwrap();
    let error = backend.get().await.unwrap_err();
    assert!(matches!(error, BackendError::Missing { .. }), "{error}");
    assert!(table_exists(), "created by the first connection");
    assert_eq!(raw.state(""), None, "reading creates no row");

    let columns = raw
        .with_client(|c| {
            c.query(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                 WHERE table_name = 'maint_state' ORDER BY ordinal_position",
                &[],
            )
        })
        .unwrap();
    let columns: Vec<(String, String, String)> = columns
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let expected = [
        ("host", "text", "NO"),
        ("state", "text", "NO"),
        ("change", "text", "YES"),
        ("updated_at", "timestamp with time zone", "NO"),
    ];
    assert_eq!(
        columns,
        expected.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned())),
    );

    backend.set(&MaintenanceState::On).await.unwrap();
    assert_eq!(raw.state("").as_deref(), Some("1"));
    // Another instance on a table that exists: no error, same row.
    let other = PostgresBackend::new(&db.url).unwrap();
    assert_eq!(other.get().await.unwrap(), MaintenanceState::On);

    // Dropped while running: the read on the old connection fails (and
    // drops it), the next connection creates the table again, and the
    // empty table is unknown, not off.
    raw.execute("DROP TABLE maint_state");
    assert!(other.get().await.is_err());
    let error = other.get().await.unwrap_err();
    assert!(matches!(error, BackendError::Missing { .. }), "{error}");
    assert!(table_exists());
}

/// A `set` announces the change with `NOTIFY`: the other instance, whose
/// resync is a minute away, follows at once; every instance `LISTEN`s on
/// a connection of its own.
#[actix_web::test]
async fn set_notifies_and_another_instance_follows_without_polling() {
    let Some(db) = postgres::shared("backends::postgres_backend::notify") else {
        return;
    };
    let minute = Duration::from_secs(60);
    let writer = handle_on(
        PostgresBackend::new(&db.url)
            .unwrap()
            .with_resync_interval(minute),
        false,
    );
    let reader = handle_on(
        PostgresBackend::new(&db.url)
            .unwrap()
            .with_resync_interval(minute),
        false,
    );
    db.raw().await_listeners(2);
    let mut times = Vec::new();
    for on in [true, false, true, false] {
        writer.set_maintenance_mode(on).await.unwrap();
        times.push(await_on(&reader, on, PROPAGATION_LIMIT, "pushed"));
    }
    println!("postgres NOTIFY propagation (on, off, on, off): {times:?}");

    // A raw write with a NOTIFY of its own is seen at once too; one without
    // is not (until the resync).
    db.raw()
        .execute("UPDATE maint_state SET state = '1' WHERE host = ''; NOTIFY maint_state");
    await_on(&reader, true, PROPAGATION_LIMIT, "a raw NOTIFY");
    db.raw().set_state("", "0");
    thread::sleep(Duration::from_millis(300));
    assert!(reader.is_on(), "no NOTIFY, no resync yet: still on");
}

/// A raw write without `NOTIFY` is picked up by the periodic resync.
#[actix_web::test]
async fn raw_write_without_notify_is_picked_up_by_the_resync() {
    let Some(db) = postgres::shared("backends::postgres_backend::resync") else {
        return;
    };
    let backend = PostgresBackend::new(&db.url)
        .unwrap()
        .with_resync_interval(Duration::from_millis(200));
    let handle = handle_on(backend, false);
    db.raw().set_state("", "1");
    let took = await_on(&handle, true, Duration::from_secs(2), "resync");
    println!("picked up by the resync after {took:?}");
}

/// A 2 MB state is refused by size (never transferred), a bad one quoted
/// briefly; the handle falls back, and no message copies the value.
#[actix_web::test]
async fn huge_and_corrupt_rows_give_the_fallback_and_short_messages() {
    let Some(db) = postgres::shared("backends::postgres_backend::huge") else {
        return;
    };
    let log = logs::capture();
    let garbage = "garbage-".repeat(2 * 1024 * 1024 / 8);
    db.raw().set_state("", &garbage);
    let backend = PostgresBackend::new(&db.url).unwrap();
    let error = backend.get().await.unwrap_err();
    let message = error.to_string();
    println!("{message}");
    assert!(
        matches!(error, BackendError::Corrupted { .. }),
        "{error:.300}"
    );
    assert!(
        message.len() < 300,
        "{} bytes: {message:.400}",
        message.len()
    );
    assert!(message.contains("65536"), "names the limit: {message}");
    assert!(message.contains("2097152"), "names the size: {message}");

    let maint = build(pg_settings(&db.url).state_backend_fallback_value(true));
    assert!(maint.is_on(), "the fallback value");
    let problem = maint.backend_problem().expect("the problem is reported");
    assert!(
        problem.len() < 300,
        "{} bytes: {problem:.400}",
        problem.len()
    );

    let bad = format!("bad-{}\n{}", std::process::id(), "y".repeat(60_000));
    db.raw().set_state("", &bad);
    let message = backend.get().await.unwrap_err().to_string();
    assert!(
        message.len() < 300,
        "{} bytes: {message:.400}",
        message.len()
    );
    assert!(message.contains(r"\n"), "{message}");
    assert!(!message.contains(&"y".repeat(60)), "{message:.400}");
    maint.reload().await;
    for line in log.lines_with(&format!("bad-{}", std::process::id())) {
        assert!(line.len() < 600, "a long log line: {line:.700}");
    }
    assert!(log.lines_with(&"garbage-".repeat(6)).is_empty());
}

/// Per-host rows: stored next to the global row, read back, removed, each
/// change notified; the global row is not a host; bad names refused; at
/// most 1,000 hosts.
#[actix_web::test]
async fn per_host_rows_round_trip_and_are_bounded() {
    let Some(db) = postgres::shared("backends::postgres_backend::hosts") else {
        return;
    };
    let backend = PostgresBackend::new(&db.url).unwrap();
    let other = PostgresBackend::new(&db.url).unwrap();
    db.raw().await_listeners(2);
    assert_eq!(backend.get_hosts().await.unwrap(), Vec::new());
    backend.set(&MaintenanceState::Off).await.unwrap();

    let mut pushed = other.subscribe().expect("the backend pushes");
    pushed.borrow_and_update();
    let change = Change::new("ada", Via::Command);
    let shop = StateRecord::new(MaintenanceState::On).with_change(change.clone());
    let window = MaintenanceState::Scheduled(Schedule::new(None, None).with_reason("blog"));
    backend.set_host("shop.example", Some(&shop)).await.unwrap();
    backend
        .set_host("blog.example", Some(&StateRecord::new(window.clone())))
        .await
        .unwrap();
    tokio::time::timeout(PROPAGATION_LIMIT, pushed.changed())
        .await
        .expect("set_host notifies")
        .unwrap();
    assert_eq!(db.raw().state("shop.example").as_deref(), Some("1"));
    assert_eq!(
        other.get_hosts().await.unwrap(),
        vec![
            ("blog.example".to_owned(), StateRecord::new(window)),
            ("shop.example".to_owned(), shop),
        ]
    );
    assert_eq!(
        other.get().await.unwrap(),
        MaintenanceState::Off,
        "global untouched"
    );

    pushed.borrow_and_update();
    backend.set_host("blog.example", None).await.unwrap();
    tokio::time::timeout(PROPAGATION_LIMIT, pushed.changed())
        .await
        .expect("a removal notifies")
        .unwrap();
    let hosts = other.get_hosts().await.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].0, "shop.example");
    assert_eq!(db.raw().state("blog.example"), None);

    for bad in ["", &"h".repeat(256)] {
        let error = backend
            .set_host(bad, Some(&StateRecord::new(MaintenanceState::On)))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("host name"), "{error}");
    }
    assert_eq!(
        db.raw().state("").as_deref(),
        Some("0"),
        "the global row is intact"
    );

    // A host row that is not a state is an error naming the host.
    db.raw().set_state("bad.example", "garbage");
    let error = other.get_hosts().await.unwrap_err();
    assert!(matches!(error, BackendError::Corrupted { .. }), "{error}");
    assert!(error.to_string().contains("bad.example"), "{error}");
    db.raw()
        .execute("DELETE FROM maint_state WHERE host = 'bad.example'");

    // 1,000 hosts: the 1,001st is refused, and a table holding more (written
    // behind maint's back) is an error, not a silent cut.
    db.raw().execute(
        "INSERT INTO maint_state (host, state) \
         SELECT 'h' || n || '.example', '1' FROM generate_series(1, 999) AS n",
    );
    assert_eq!(other.get_hosts().await.unwrap().len(), 1000);
    let error = backend
        .set_host(
            "one-too-many.example",
            Some(&StateRecord::new(MaintenanceState::On)),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("1000"), "{error}");
    backend
        .set_host(
            "shop.example",
            Some(&StateRecord::new(MaintenanceState::Off)),
        )
        .await
        .expect("an existing host can still change");
    db.raw().set_state("h1000.example", "1");
    let error = other.get_hosts().await.unwrap_err();
    assert!(error.to_string().contains("more than 1000"), "{error}");
}

/// Without `database_url`, or with one that is empty or does not parse, the
/// site does not start, and the one-line error names `database_url`,
/// never the password.
#[test]
fn bad_database_url_fails_at_start_naming_the_key() {
    let missing = MaintenanceMode::new(
        MaintenanceSettings::default().state_backend(StateBackendKind::Postgres),
    )
    .unwrap_err();
    assert!(missing.to_string().contains("database_url"), "{missing}");
    for url in [
        "",
        "  ",
        "postgres://user:secret-pw@127.0.0.1:99999/db",
        "postgres://user:secret-pw@/db",
        "nonsense=1",
    ] {
        let error = MaintenanceMode::new(pg_settings(url)).unwrap_err();
        let message = error.to_string();
        println!("{url:?}: {message}");
        assert!(message.contains("database_url"), "{url:?}: {message}");
        assert!(!message.contains("secret-pw"), "{url:?}: {message}");
        assert!(!message.contains('\n'), "{message:?}");
    }
    let shown = format!(
        "{:?}",
        pg_settings("postgres://user:secret-pw@127.0.0.1/db")
    );
    assert!(
        !shown.contains("secret-pw") && shown.contains("127.0.0.1"),
        "{shown}"
    );
}

/// A password never reaches `describe()`, `Debug`, errors, problems or
/// logs, whether the server is absent or refuses the login.
#[actix_web::test]
async fn the_password_never_shows() {
    let log = logs::capture();
    let password = format!("pw-{}-{}", std::process::id(), free_port());
    let mut urls = vec![format!(
        "postgres://maint:{password}@127.0.0.1:{}/db",
        free_port()
    )];
    // A real server, a user that does not exist: the login is refused.
    if let Ok(shared) = std::env::var(postgres::URL_VAR) {
        let port = shared
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or("5432")
            .to_owned();
        urls.push(format!(
            "postgres://nobody-here:{password}@127.0.0.1:{port}/postgres"
        ));
    }
    for url in &urls {
        let backend = PostgresBackend::new(url).unwrap();
        assert!(!backend.describe().contains(&password));
        assert!(
            backend.describe().contains("127.0.0.1"),
            "{}",
            backend.describe()
        );
        assert!(!format!("{backend:?}").contains(&password));
        let error = backend.get().await.unwrap_err();
        println!("{error}");
        assert!(!error.to_string().contains(&password), "{error}");
        let maint = build(pg_settings(url));
        let problem = maint.backend_problem().expect("not readable");
        assert!(!problem.contains(&password), "{problem}");
        let error = maint.set_maintenance_mode(true).await.unwrap_err();
        assert!(!error.to_string().contains(&password), "{error}");
        assert!(!format!("{maint:?}").contains(&password));
    }
    assert!(
        log.lines_with(&password).is_empty(),
        "{:#?}",
        log.lines_with(&password)
    );
}

/// A server that accepts connections but never answers makes reads and
/// writes fail within seconds, not hang.
#[actix_web::test]
async fn a_frozen_server_fails_within_seconds() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, answering nothing.
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        while stopped.try_recv().is_err() {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    let backend =
        Arc::new(PostgresBackend::new(&format!("postgres://maint@127.0.0.1:{port}/db")).unwrap());
    for what in ["get", "set"] {
        let started = Instant::now();
        let error = if what == "get" {
            backend.get().await.unwrap_err()
        } else {
            backend.set(&MaintenanceState::On).await.unwrap_err()
        };
        let took = started.elapsed();
        println!("{what} against a frozen server failed after {took:?}: {error}");
        assert!(took < FAILURE_LIMIT, "{what} took {took:?}");
        assert!(matches!(error, BackendError::Unavailable { .. }), "{error}");
    }
    stop.send(()).unwrap();
    holder.join().unwrap();
}

// ---------------------------------------------------------------------------
// On a cluster of the test's own, stopped and started by it.

/// Unreachable at start-up: the site starts at once with the fallback
/// value, says why, and picks up the stored state when the server comes,
/// without any request or write.
#[actix_web::test]
async fn unreachable_at_startup_uses_the_fallback_then_picks_up_the_state() {
    let Some(mut pg) = OwnPostgres::start_new("backends::postgres_backend::unreachable") else {
        return;
    };
    let url = pg.create_database();
    postgres::Raw::new(&url).set_state("", "1");
    pg.stop();

    let started = Instant::now();
    let off = build(pg_settings(&url));
    let on = build(pg_settings(&url).state_backend_fallback_value(true));
    assert!(
        started.elapsed() < FAILURE_LIMIT,
        "building took {:?}",
        started.elapsed()
    );
    assert!(!off.is_on(), "state_backend_fallback_value false");
    assert!(on.is_on(), "state_backend_fallback_value true");
    for handle in [&off, &on] {
        let problem = handle.backend_problem().expect("the problem is reported");
        assert!(
            problem.contains("postgres") && problem.contains(&format!("127.0.0.1:{}", pg.port())),
            "the problem names the server: {problem}"
        );
        assert!(!problem.contains('\n'), "{problem:?}");
    }

    pg.start();
    let took = await_on(&off, true, RECONNECT_LIMIT, "after the server came");
    await_no_problem(&off, RECONNECT_LIMIT, "fallback false");
    await_no_problem(&on, RECONNECT_LIMIT, "fallback true");
    assert!(on.is_on());
    println!("the stored state was picked up {took:?} after the server started");
}

/// Lost while running: the last state is kept (or, with
/// `keep_last_state(false)`, the fallback value); a `set` is a quick, clear
/// error that changes nothing; on return everything reconnects by itself
/// and changes flow again.
#[actix_web::test]
async fn lost_server_keeps_the_last_state_refuses_sets_and_recovers() {
    let Some(mut pg) = OwnPostgres::start_new("backends::postgres_backend::lost") else {
        return;
    };
    let url = pg.create_database();
    let maint = build(pg_settings(&url));
    let other = build(pg_settings(&url));
    let falls_back = handle_on(
        PostgresBackend::new(&url).unwrap().keep_last_state(false),
        false,
    );
    postgres::Raw::new(&url).await_listeners(3);
    maint.set_maintenance_mode(true).await.unwrap();
    await_on(&other, true, Duration::from_secs(1), "before the loss");
    await_on(&falls_back, true, Duration::from_secs(1), "before the loss");

    pg.stop();
    // Sample every millisecond: never off, while the loss gets reported.
    let lost = Instant::now();
    let mut problem = None;
    while lost.elapsed() < Duration::from_millis(1500) {
        assert!(
            maint.is_on() && other.is_on(),
            "the last state was not kept"
        );
        if problem.is_none() {
            problem = other.backend_problem();
        }
        thread::sleep(Duration::from_millis(1));
    }
    let problem = problem.expect("the loss is reported within 1.5 s");
    assert!(
        problem.contains("postgres") && problem.contains(&pg.port().to_string()),
        "{problem}"
    );
    await_on(
        &falls_back,
        false,
        Duration::from_secs(1),
        "keep_last_state(false)",
    );

    for attempt in ["set", "schedule", "guard"] {
        let started = Instant::now();
        let error = match attempt {
            "set" => maint.set_maintenance_mode(false).await.unwrap_err(),
            "schedule" => maint
                .set(MaintenanceState::Scheduled(Schedule::new(
                    None,
                    Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)),
                )))
                .await
                .unwrap_err(),
            _ => maint.maintenance_off().unwrap_err(),
        };
        let took = started.elapsed();
        let message = error.to_string();
        println!("{attempt} while the server is down failed after {took:?}: {message}");
        assert!(took < FAILURE_LIMIT, "{attempt} took {took:?}");
        assert!(message.contains("postgres"), "{attempt}: {message}");
        assert!(!message.contains('\n'), "one line: {message:?}");
        assert_eq!(
            maint.state(),
            MaintenanceState::On,
            "{attempt} changed the state"
        );
    }

    pg.start();
    let took = await_no_problem(&other, RECONNECT_LIMIT, "after the restart");
    await_no_problem(&maint, RECONNECT_LIMIT, "after the restart");
    await_on(
        &falls_back,
        true,
        RECONNECT_LIMIT,
        "the stored state is back",
    );
    assert!(other.is_on() && maint.is_on());
    assert_eq!(postgres::Raw::new(&url).state("").as_deref(), Some("1"));
    println!("recovered {took:?} after the server came back");

    postgres::Raw::new(&url).await_listeners(3);
    maint.set_maintenance_mode(false).await.unwrap();
    await_on(&other, false, PROPAGATION_LIMIT, "pushed after recovery");
    await_on(
        &falls_back,
        false,
        PROPAGATION_LIMIT,
        "pushed after recovery",
    );
}
