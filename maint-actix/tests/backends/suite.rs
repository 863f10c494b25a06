//! One suite of checks, run over every state backend: `memory`, `local_file`,
//! `redis` (on the server `MAINT_REDIS_URL` names; see `maint_test_support::redis`),
//! `redis` again over TLS (`redis_tls_backend`: a TLS-only server of each
//! check's own, trusted through `redis_ca_file`'s PEM) and `postgres` (a
//! database of each check's own on the server `MAINT_DATABASE_URL` names; see
//! `maint_test_support::postgres`).
//!
//! Each check takes a [`Store`]: a way to open a backend on one store (a new
//! backend instance each time for the file and Redis, the same shared one for
//! memory, which nothing outside the process can reach), and a way to write
//! and read the store's raw text as another program (Django, `redis-cli`)
//! would. The raw-text checks do not apply to `memory` and say so.
//!
//! The generated tests are `suite::{backend}_backend::{check}`, e.g.
//! `suite::redis_backend::guards_restore_the_previous_state_exactly`.
//!
//! One rule differs by backend, and the suite checks each: what a store that
//! holds nothing reads as ([`Empty`]). The file and memory read it as off
//! (Django's rule: no file is off); Redis and PostgreSQL read it as unknown
//! (`BackendError::Missing`), since a Redis that lost its data (or a table
//! dropped and created again) must not end a maintenance.
//!
//! Issue 12 adds the change kept with the state (who, when, how): its
//! round trip, its removal, a state written behind maint's back or a bad
//! change record showing no change (never an error of the state), one log
//! line per instance that sees a change, and the handle's `subscribe()` and
//! `wait_until_off()` following another handle.

use std::{
    fs,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::{Duration, Instant},
};

use jiff::{SignedDuration, Timestamp};
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    backend::BackendError,
    backend::LocalFileBackend,
    backend::MemoryBackend,
    backend::PostgresBackend,
    backend::RedisBackend,
    backend::StateBackend,
    bypass::BypassSecret,
    change::{Change, StateRecord, Via},
    state::{MAX_STATE_TEXT_LEN, Schedule},
};
use maint_test_support::{poll::poll_until, postgres, redis, redis_tls::TlsRedis};

use crate::logs;

/// The product's bound on how fast another instance sees a change.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// How long a check polls for something that should happen within [`PROPAGATION_LIMIT`].
const POLL_LIMIT: Duration = Duration::from_secs(2);

type RawWriter = Box<dyn Fn(&str)>;
type RawReader = Box<dyn Fn() -> Option<String>>;
type RawBytesWriter = Box<dyn Fn(&[u8])>;

/// What a store holding nothing reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// [`MaintenanceState::Off`] (no file, a new memory store).
    Off,
    /// `BackendError::Missing`: unknown, the handle uses its fallback value
    /// (nothing known yet) and reports it.
    Unknown,
}

/// A store under test.
struct Store {
    name: &'static str,
    /// A backend on the store: a new instance for stores other processes
    /// share, the one shared instance for memory.
    open: Box<dyn Fn() -> Arc<dyn StateBackend>>,
    /// Writes the store's raw text, bypassing the backend (`None`: no such thing).
    write_raw: Option<RawWriter>,
    /// Reads the store's raw text (`None` inside: nothing stored).
    read_raw: Option<RawReader>,
    /// Writes the raw bytes of the change kept with the state (the file
    /// `{state file}.change.json`, the key `{prefix}:change`), bypassing
    /// the backend (`None`: no such thing).
    write_raw_change: Option<RawBytesWriter>,
    /// Reads the raw text of the change kept with the state (`None` inside:
    /// none stored).
    read_raw_change: Option<RawReader>,
    /// Writes `text` as the stored record of the host `shop.example.com`,
    /// bypassing the backend (`None`: no such thing).
    write_raw_host: Option<RawWriter>,
    /// What errors about the store name (the path, the key).
    location: String,
    /// What the store reads as before anything is stored.
    empty: Empty,
    /// Keeps the store alive (a temp dir, the shared server's keys) for the check.
    _keep: Box<dyn std::any::Any>,
}

impl Store {
    fn backend(&self) -> Arc<dyn StateBackend> {
        (self.open)()
    }

    /// A handle on a new backend instance of the store.
    fn handle(&self, fallback: bool) -> MaintenanceMode {
        MaintenanceMode::builder(
            MaintenanceSettings::default().state_backend_fallback_value(fallback),
        )
        .shared_backend(self.backend())
        .build()
        .expect("valid settings")
    }

    /// The raw writer, or `None` after saying the check does not apply.
    fn raw_writer(&self, check: &str) -> Option<&RawWriter> {
        if self.write_raw.is_none() {
            println!(
                "{check}: not applicable to the {} backend (no raw text)",
                self.name
            );
        }
        self.write_raw.as_ref()
    }
}

fn open_memory(_check: &str) -> Option<Store> {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new());
    Some(Store {
        name: "memory",
        open: Box::new(move || Arc::clone(&backend)),
        write_raw: None,
        read_raw: None,
        write_raw_change: None,
        read_raw_change: None,
        write_raw_host: None,
        location: String::new(),
        empty: Empty::Off,
        _keep: Box::new(()),
    })
}

fn open_local_file(_check: &str) -> Option<Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("maintenance_mode_state.txt");
    let change = dir.path().join("maintenance_mode_state.txt.change.json");
    let hosts = dir.path().join("maintenance_mode_state.txt.hosts.json");
    let (opened, written, read) = (path.clone(), path.clone(), path.clone());
    let (change_written, change_read) = (change.clone(), change);
    Some(Store {
        name: "local_file",
        open: Box::new(move || Arc::new(LocalFileBackend::new(&opened))),
        write_raw: Some(Box::new(move |text| {
            fs::write(&written, text).expect("write the state file")
        })),
        read_raw: Some(Box::new(move || fs::read_to_string(&read).ok())),
        write_raw_change: Some(Box::new(move |bytes| {
            fs::write(&change_written, bytes).expect("write the change file")
        })),
        read_raw_change: Some(Box::new(move || fs::read_to_string(&change_read).ok())),
        write_raw_host: Some(Box::new(move |text| {
            let record: serde_json::Value = serde_json::from_str(text).expect("a JSON record");
            let file = serde_json::json!({ "shop.example.com": record });
            // Renamed into place, as maint writes it: a reader never sees it half-written.
            let temp = hosts.with_extension("tmp");
            fs::write(&temp, file.to_string()).expect("write the hosts file");
            fs::rename(&temp, &hosts).expect("rename the hosts file")
        })),
        location: path.display().to_string(),
        empty: Empty::Off,
        _keep: Box::new(dir),
    })
}

fn open_redis(check: &str) -> Option<Store> {
    let shared = redis::shared(&format!("backends::suite::redis_backend::{check}"))?;
    let (url, prefix) = (shared.url.clone(), shared.prefix.clone());
    let key = shared.key();
    let (writer, reader) = (shared.raw.clone(), shared.raw.clone());
    let (written, read) = (key.clone(), key.clone());
    let change_key = format!("{}:change", shared.prefix);
    let (change_writer, change_reader) = (shared.raw.clone(), shared.raw.clone());
    let (change_written, change_read) = (change_key.clone(), change_key);
    let (hosts_writer, hosts_key) = (shared.raw.clone(), format!("{}:hosts", shared.prefix));
    Some(Store {
        name: "redis",
        open: Box::new(move || Arc::new(RedisBackend::new(&url, &prefix).expect("valid URL"))),
        // A plain SET, as Django (or a person with redis-cli) writes it: no announcement.
        write_raw: Some(Box::new(move |text| writer.set(&written, text))),
        read_raw: Some(Box::new(move || reader.get(&read))),
        write_raw_change: Some(Box::new(move |bytes| {
            let _: () = change_writer
                .query(::redis::cmd("SET").arg(&change_written).arg(bytes))
                .unwrap_or_else(|e| panic!("SET {change_written}: {e}"));
        })),
        read_raw_change: Some(Box::new(move || change_reader.get(&change_read))),
        write_raw_host: Some(Box::new(move |text| {
            let _: () = hosts_writer
                .query(
                    ::redis::cmd("HSET")
                        .arg(&hosts_key)
                        .arg("shop.example.com")
                        .arg(text),
                )
                .unwrap_or_else(|e| panic!("HSET {hosts_key}: {e}"));
        })),
        location: key,
        empty: Empty::Unknown,
        _keep: Box::new(shared),
    })
}

fn open_postgres(check: &str) -> Option<Store> {
    let database = postgres::shared(&format!("backends::suite::postgres_backend::{check}"))?;
    let url = database.url.clone();
    let location = PostgresBackend::new(&url).expect("valid URL").describe();
    let (writer, reader) = (database.raw(), database.raw());
    let (change_writer, change_reader) = (database.raw(), database.raw());
    let host_writer = database.raw();
    Some(Store {
        name: "postgres",
        open: Box::new(move || Arc::new(PostgresBackend::new(&url).expect("valid URL"))),
        // A plain UPDATE (or INSERT), as another program writes it: no NOTIFY.
        write_raw: Some(Box::new(move |text| writer.set_state("", text))),
        read_raw: Some(Box::new(move || reader.state(""))),
        // A text column holds UTF-8 only: PostgreSQL refuses other bytes, so
        // bytes that are not UTF-8 arrive with replacement characters.
        write_raw_change: Some(Box::new(move |bytes| {
            change_writer.set_change("", &String::from_utf8_lossy(bytes))
        })),
        read_raw_change: Some(Box::new(move || change_reader.change(""))),
        // A host's row holds the record's state text in its `state` column.
        write_raw_host: Some(Box::new(move |text| {
            let record: serde_json::Value = serde_json::from_str(text).expect("a JSON record");
            host_writer.set_state(
                "shop.example.com",
                record["state"].as_str().expect("a state"),
            )
        })),
        location,
        empty: Empty::Unknown,
        _keep: Box::new(database),
    })
}

/// The `redis` backend over `rediss://` on a TLS-only server of the check's
/// own (a few hundred milliseconds to generate its CA and start it).
fn open_redis_tls(check: &str) -> Option<Store> {
    let server = TlsRedis::start_new(&format!("backends::suite::redis_tls_backend::{check}"))?;
    let prefix = redis::unique_prefix(check);
    let (url, ca) = (server.url(), server.ca().pem());
    let key = redis::state_key(&prefix);
    let change_key = format!("{prefix}:change");
    let raw = server.raw();
    let (hosts_writer, hosts_key) = (raw.clone(), format!("{prefix}:hosts"));
    let (writer, reader, change_writer, change_reader) =
        (raw.clone(), raw.clone(), raw.clone(), raw);
    let (written, read) = (key.clone(), key.clone());
    let (change_written, change_read) = (change_key.clone(), change_key);
    Some(Store {
        name: "redis over TLS",
        open: Box::new(move || {
            Arc::new(RedisBackend::with_ca_pem(&url, &prefix, &ca).expect("valid URL and CA"))
        }),
        write_raw: Some(Box::new(move |text| writer.set(&written, text))),
        read_raw: Some(Box::new(move || reader.get(&read))),
        write_raw_change: Some(Box::new(move |bytes| {
            let _: () = change_writer
                .query(::redis::cmd("SET").arg(&change_written).arg(bytes))
                .unwrap_or_else(|e| panic!("SET {change_written}: {e}"));
        })),
        read_raw_change: Some(Box::new(move || change_reader.get(&change_read))),
        write_raw_host: Some(Box::new(move |text| {
            let _: () = hosts_writer
                .query(
                    ::redis::cmd("HSET")
                        .arg(&hosts_key)
                        .arg("shop.example.com")
                        .arg(text),
                )
                .unwrap_or_else(|e| panic!("HSET {hosts_key}: {e}"));
        })),
        location: key,
        empty: Empty::Unknown,
        _keep: Box::new(server),
    })
}

macro_rules! suite {
    ($($check:ident),+ $(,)?) => {
        suite!(@backend memory_backend, open_memory; $($check),+);
        suite!(@backend local_file_backend, open_local_file; $($check),+);
        suite!(@backend redis_backend, open_redis; $($check),+);
        suite!(@backend postgres_backend, open_postgres; $($check),+);
        suite!(@backend redis_tls_backend, open_redis_tls; $($check),+);
    };
    (@backend $module:ident, $open:ident; $($check:ident),+) => {
        mod $module {
            $(
                #[actix_web::test]
                async fn $check() {
                    if let Some(store) = super::$open(stringify!($check)) {
                        super::checks::$check(&store).await;
                    }
                }
            )+
        }
    };
}

suite!(
    empty_store_follows_the_backends_rule,
    set_then_get_round_trips,
    set_overwrites,
    stores_djangos_text,
    django_texts_read_back,
    corrupted_text_is_a_corrupted_error,
    a_change_through_one_handle_reaches_another_within_100ms,
    corrupted_content_gives_the_fallback_value,
    guards_restore_the_previous_state_exactly,
    a_rich_state_round_trips,
    djangos_format_unless_a_maint_field_is_set,
    a_records_change_round_trips,
    a_record_without_change_removes_the_old_change,
    a_state_written_behind_maints_back_shows_no_change,
    a_bad_change_record_is_no_change_never_an_error,
    a_change_reaches_another_handle_and_each_instance_logs_it_once,
    subscribe_sees_a_change_made_by_another_handle,
    wait_until_off_returns_at_once_when_off,
    wait_until_off_returns_when_another_handle_switches_off,
    wait_until_off_returns_when_the_window_ends_without_a_change,
    hosts_round_trip_and_removal_leaves_the_global_state,
    a_hosts_state_reaches_another_handle_and_its_requests_follow_it,
    a_corrupted_host_record_keeps_the_hosts_last_read,
);

/// A request for `host` (as a `Host` header).
fn request_for(host: &str) -> actix_web::HttpRequest {
    actix_web::test::TestRequest::default()
        .insert_header(("host", host))
        .to_http_request()
}

/// A second, whole-second timestamp `seconds` from now (text round trips are exact).
fn in_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second() + seconds).expect("a valid timestamp")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 timestamp")
}

fn scheduled(
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    reason: Option<&str>,
) -> MaintenanceState {
    let mut schedule = Schedule::new(start, end);
    schedule.reason = reason.map(str::to_owned);
    MaintenanceState::Scheduled(schedule)
}

/// Polls (every millisecond, at most [`POLL_LIMIT`]) until `handle` is in
/// `state`; the time it took, panicking on timeout.
#[track_caller]
fn await_state(handle: &MaintenanceMode, state: &MaintenanceState, what: &str) -> Duration {
    poll_until(POLL_LIMIT, || handle.state() == *state).unwrap_or_else(|| {
        panic!(
            "{what}: the handle did not reach {state:?} within {POLL_LIMIT:?}; it has {:?} (problem {:?})",
            handle.state(),
            handle.backend_problem()
        )
    })
}

/// [`await_state`], then until the handle's subscribers have it too: the
/// snapshot is replaced a moment before subscribers are told (see
/// `wait_until_off_agrees_with_is_on` for what that moment costs).
#[track_caller]
fn await_seen(handle: &MaintenanceMode, state: &MaintenanceState, what: &str) {
    await_state(handle, state, what);
    let changes = handle.subscribe();
    poll_until(POLL_LIMIT, || changes.borrow().state == *state).unwrap_or_else(|| {
        panic!(
            "{what}: subscribers did not get {state:?} within {POLL_LIMIT:?}: {:?}",
            changes.borrow()
        )
    });
}

/// The bypass token of the rich state (20 URL-safe characters).
const TOKEN: &str = "let-me-in-0123456789";

/// A reason with what JSON and Redis must carry unchanged: quotes, a
/// backslash, a line break, accents, a symbol outside the BMP.
const RICH_REASON: &str =
    "Mise \u{e0} jour \u{ab} base \u{bb}: \"quoted\" \\ back\nslash \u{2713} \u{1f6a7}";

/// Every field set: a window, a unicode reason, read-only mode, a bypass secret.
fn rich_state(secret: &BypassSecret) -> MaintenanceState {
    MaintenanceState::Scheduled(
        Schedule::new(Some(in_seconds(-60)), Some(in_seconds(7200)))
            .with_reason(RICH_REASON)
            .with_read_only(true)
            .with_bypass(secret.clone()),
    )
}

/// The keys of a stored JSON object, sorted.
#[track_caller]
fn stored_keys(text: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the stored schedule is not JSON ({e}): {text:?}"));
    let mut keys: Vec<String> = json
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// A name no other check (nor another run) logs: for picking a check's own
/// log lines out of the binary's shared capture.
fn unique(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    )
}

/// `state` as made by `change`.
fn record(state: MaintenanceState, change: &Change) -> StateRecord {
    StateRecord::new(state).with_change(change.clone())
}

/// A change record as a backend stores it (issue 12): the state's text it
/// was written for, when, by whom, how.
fn raw_change(state_text: &str, at: &str, by: &str, via: &str) -> String {
    serde_json::json!({"state": state_text, "at": at, "by": by, "via": via}).to_string()
}

/// Awaits `future` for at most `limit`, panicking with `what` on timeout.
async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: not within {limit:?}"),
    }
}

mod checks {
    use super::*;

    pub async fn empty_store_follows_the_backends_rule(store: &Store) {
        let backend = store.backend();
        match store.empty {
            Empty::Off => {
                assert_eq!(backend.get().await.unwrap(), MaintenanceState::Off);
                let handle = store.handle(true);
                assert!(!handle.is_on(), "an empty store is off, not the fallback");
                assert_eq!(handle.state(), MaintenanceState::Off);
                assert_eq!(handle.backend_problem(), None);
            }
            Empty::Unknown => {
                let error = backend.get().await.unwrap_err();
                assert!(
                    matches!(error, BackendError::Missing { .. }),
                    "{}: {error:?}",
                    store.name
                );
                assert!(error.to_string().contains(&store.location), "{error}");
                for fallback in [true, false] {
                    let handle = store.handle(fallback);
                    assert_eq!(handle.is_on(), fallback, "nothing known: the fallback");
                    let problem = handle.backend_problem().expect("reported");
                    assert!(problem.contains(&store.location), "{problem}");
                }
            }
        }
        if let Some(read_raw) = &store.read_raw {
            assert_eq!(read_raw(), None, "reading must not create the state");
        }
        // Once set, off is stored and read as off by every backend.
        backend.set(&MaintenanceState::Off).await.unwrap();
        assert_eq!(store.backend().get().await.unwrap(), MaintenanceState::Off);
        let handle = store.handle(true);
        assert!(!handle.is_on());
        assert_eq!(handle.backend_problem(), None);
    }

    pub async fn set_then_get_round_trips(store: &Store) {
        let writer = store.backend();
        let reader = store.backend();
        let states = [
            MaintenanceState::On,
            MaintenanceState::Off,
            scheduled(
                Some(at("2030-07-14T01:00:00Z")),
                Some(at("2030-07-14T03:00:00Z")),
                Some("database upgrade"),
            ),
            scheduled(None, Some(at("2030-07-14T03:00:00Z")), None),
            scheduled(Some(at("2030-07-14T01:00:00Z")), None, None),
            MaintenanceState::On,
            MaintenanceState::Off,
        ];
        for state in states {
            writer.set(&state).await.unwrap();
            assert_eq!(writer.get().await.unwrap(), state, "{}", store.name);
            assert_eq!(
                reader.get().await.unwrap(),
                state,
                "another instance reads it"
            );
        }
    }

    pub async fn set_overwrites(store: &Store) {
        let backend = store.backend();
        let last = scheduled(None, Some(at("2030-07-14T03:00:00Z")), Some("moving"));
        backend.set(&MaintenanceState::On).await.unwrap();
        backend.set(&MaintenanceState::Off).await.unwrap();
        backend.set(&last).await.unwrap();
        assert_eq!(backend.get().await.unwrap(), last);
        backend.set(&MaintenanceState::On).await.unwrap();
        assert_eq!(store.backend().get().await.unwrap(), MaintenanceState::On);
        if let Some(read_raw) = &store.read_raw {
            assert_eq!(
                read_raw().as_deref(),
                Some("1"),
                "overwritten, not appended"
            );
        }
    }

    pub async fn stores_djangos_text(store: &Store) {
        let Some(read_raw) = &store.read_raw else {
            println!(
                "stores_djangos_text: not applicable to the {} backend",
                store.name
            );
            return;
        };
        let backend = store.backend();
        backend.set(&MaintenanceState::On).await.unwrap();
        assert_eq!(read_raw().as_deref(), Some("1"));
        backend.set(&MaintenanceState::Off).await.unwrap();
        assert_eq!(read_raw().as_deref(), Some("0"));

        // A window without a reason is exactly what Django writes: start and end, ISO 8601.
        let window = scheduled(None, Some(at("2030-07-14T03:00:00Z")), None);
        backend.set(&window).await.unwrap();
        let text = read_raw().expect("a stored schedule");
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the stored schedule is not JSON ({e}): {text:?}"));
        let object = json.as_object().expect("a JSON object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["end", "start"], "{text}");
        assert_eq!(object["start"], serde_json::Value::Null, "{text}");
        let end: Timestamp = object["end"]
            .as_str()
            .expect("end is a string")
            .parse()
            .expect("end is ISO 8601");
        assert_eq!(end, at("2030-07-14T03:00:00Z"));
        assert_eq!(MaintenanceState::parse(&text).unwrap(), window);
    }

    pub async fn django_texts_read_back(store: &Store) {
        let Some(write_raw) = store.raw_writer("django_texts_read_back") else {
            return;
        };
        let backend = store.backend();
        let end = at("2026-07-14T03:00:00Z");
        let cases = [
            ("1", MaintenanceState::On),
            ("0", MaintenanceState::Off),
            (" 1\n", MaintenanceState::On),
            ("0\n", MaintenanceState::Off),
            ("", MaintenanceState::Off),
            (
                r#"{"start": null, "end": "2026-07-14T03:00:00+00:00"}"#,
                scheduled(None, Some(end), None),
            ),
            (
                r#"{"start": "2026-07-14T01:00:00.250000+00:00", "end": "2026-07-14T03:00:00+00:00"}"#,
                scheduled(Some(at("2026-07-14T01:00:00.25Z")), Some(end), None),
            ),
            (
                r#"{"start": null, "end": "2026-07-14T05:00:00+02:00", "reason": "upgrade"}"#,
                scheduled(None, Some(end), Some("upgrade")),
            ),
        ];
        for (text, expected) in cases {
            write_raw(text);
            assert_eq!(
                backend
                    .get()
                    .await
                    .unwrap_or_else(|e| panic!("{text:?}: {e}")),
                expected,
                "{}: {text:?}",
                store.name
            );
        }
    }

    pub async fn corrupted_text_is_a_corrupted_error(store: &Store) {
        let Some(write_raw) = store.raw_writer("corrupted_text_is_a_corrupted_error") else {
            return;
        };
        let backend = store.backend();
        for text in [
            "test",
            "2",
            "on",
            "{}",
            r#"{"invalid-key": "1"}"#,
            r#"{"start": "yesterday", "end": null}"#,
        ] {
            write_raw(text);
            let error = backend.get().await.unwrap_err();
            assert!(
                matches!(error, BackendError::Corrupted { .. }),
                "{}: {text:?}: {error:?}",
                store.name
            );
            assert!(
                error.to_string().contains(&store.location),
                "the error names {}: {error}",
                store.location
            );
        }
    }

    pub async fn a_change_through_one_handle_reaches_another_within_100ms(store: &Store) {
        let writer = store.handle(false);
        let reader = store.handle(false);
        let window = scheduled(None, Some(in_seconds(3600)), Some("propagation check"));
        let mut times = Vec::new();
        for state in [
            MaintenanceState::On,
            MaintenanceState::Off,
            window,
            MaintenanceState::Off,
        ] {
            writer.set(state.clone()).await.unwrap();
            assert_eq!(
                writer.state(),
                state,
                "the writer's own snapshot is at once current"
            );
            let took = await_state(&reader, &state, store.name);
            times.push(took);
            assert!(
                took < PROPAGATION_LIMIT,
                "{}: the other handle saw {state:?} after {took:?} (limit {PROPAGATION_LIMIT:?})",
                store.name
            );
        }
        println!(
            "{}: handle-to-handle propagation (on, off, window, off): {times:?}",
            store.name
        );
    }

    pub async fn corrupted_content_gives_the_fallback_value(store: &Store) {
        let Some(write_raw) = store.raw_writer("corrupted_content_gives_the_fallback_value") else {
            return;
        };
        write_raw("garbage");
        for fallback in [true, false] {
            let handle = store.handle(fallback);
            assert_eq!(
                handle.is_on(),
                fallback,
                "{}: fallback {fallback}",
                store.name
            );
            let problem = handle.backend_problem().expect("the problem is reported");
            assert!(problem.contains(&store.location), "{problem}");
        }

        // A handle that read a good state falls back once the content turns bad...
        write_raw("1");
        let handle = store.handle(false);
        assert!(handle.is_on());
        assert_eq!(handle.backend_problem(), None);
        write_raw("{not json");
        handle.reload().await;
        assert!(
            !handle.is_on(),
            "the fallback value false, not the last state"
        );
        assert!(handle.backend_problem().is_some());

        // ...and recovers when another instance writes a good one.
        let other = store.handle(true);
        assert!(other.is_on(), "fallback true");
        other.set_maintenance_mode(false).await.unwrap();
        assert_eq!(other.backend_problem(), None);
        poll_until(POLL_LIMIT, || {
            handle.backend_problem().is_none() && handle.state() == MaintenanceState::Off
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: the problem did not clear: {:?}",
                store.name,
                handle.backend_problem()
            )
        });
    }

    pub async fn guards_restore_the_previous_state_exactly(store: &Store) {
        let handle = store.handle(false);
        let observer = store.handle(false);
        let backend = store.backend();
        let window = scheduled(None, Some(in_seconds(3600)), Some("guard check"));
        handle.set(window.clone()).await.unwrap();
        assert!(handle.is_on());

        {
            let off = handle.maintenance_off().unwrap();
            assert_eq!(off.previous(), Some(&window));
            assert!(!handle.is_on());
            assert_eq!(backend.get().await.unwrap(), MaintenanceState::Off);
            {
                let _on = handle.maintenance_on().unwrap();
                assert_eq!(handle.state(), MaintenanceState::On);
                assert_eq!(backend.get().await.unwrap(), MaintenanceState::On);
                await_state(&observer, &MaintenanceState::On, "nested guard");
            }
            assert_eq!(backend.get().await.unwrap(), MaintenanceState::Off);
            assert_eq!(handle.state(), MaintenanceState::Off);
        }
        assert_eq!(
            backend.get().await.unwrap(),
            window,
            "the schedule is restored exactly"
        );
        assert_eq!(handle.state(), window);
        await_state(&observer, &window, "restored schedule");

        // The decorator form, also when the body panics.
        assert!(!handle.with_maintenance_off(|| handle.is_on()).unwrap());
        assert_eq!(handle.state(), window);
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _off = handle.maintenance_off().unwrap();
            panic!("a failing body (expected by the test)");
        }));
        assert!(panicked.is_err());
        assert_eq!(
            backend.get().await.unwrap(),
            window,
            "restored while unwinding"
        );

        // The async form, restored explicitly.
        let guard = handle.maintenance_off_async().await.unwrap();
        assert!(!handle.is_on());
        guard.restore().await.unwrap();
        assert_eq!(backend.get().await.unwrap(), window);
        assert_eq!(handle.state(), window);
    }

    /// Every field of a state (issue 11's reason, read-only mode and bypass
    /// secret with the window) survives each backend, read by another
    /// instance and through another handle; the token itself is never stored.
    pub async fn a_rich_state_round_trips(store: &Store) {
        let secret = BypassSecret::new(TOKEN).unwrap();
        let rich = rich_state(&secret);
        let writer = store.backend();
        writer.set(&rich).await.unwrap();
        for backend in [writer, store.backend()] {
            let read = backend.get().await.unwrap();
            assert_eq!(read, rich, "{}", store.name);
            assert!(read.is_read_only(), "{read:?}");
            assert_eq!(read.reason(), Some(RICH_REASON));
            assert!(read.bypass().expect("the secret").matches(TOKEN));
            assert!(!read.bypass().unwrap().matches("another-token-987654"));
        }
        if let Some(read_raw) = &store.read_raw {
            let text = read_raw().expect("stored");
            assert!(!text.contains(TOKEN), "the token is stored: {text}");
            assert_eq!(MaintenanceState::parse(&text).unwrap(), rich);
        }

        // Through handles: one sets it, another (its own backend) sees it.
        let handle = store.handle(false);
        let observer = store.handle(false);
        handle.set_maintenance_mode(false).await.unwrap();
        await_state(&observer, &MaintenanceState::Off, store.name);
        let again = rich_state(&secret);
        handle.set(again.clone()).await.unwrap();
        await_state(&observer, &again, store.name);
        assert!(observer.is_on());
        assert!(observer.state().is_read_only());
        assert_eq!(observer.state().reason(), Some(RICH_REASON));
        assert!(observer.state().bypass().unwrap().matches(TOKEN));
        assert_eq!(store.backend().get().await.unwrap(), again);
    }

    /// A state with only Django's fields is stored exactly as Django writes
    /// it, so a Django site sharing the store reads it; each maint field
    /// turns it into the richer JSON, with only the fields that are set.
    pub async fn djangos_format_unless_a_maint_field_is_set(store: &Store) {
        let Some(read_raw) = &store.read_raw else {
            println!(
                "djangos_format_unless_a_maint_field_is_set: not applicable to the {} backend",
                store.name
            );
            return;
        };
        let backend = store.backend();
        let (start, end) = (at("2030-07-14T01:00:00Z"), at("2030-07-14T03:00:00Z"));
        let django = [
            (
                Schedule::new(Some(start), Some(end)),
                r#"{"start":"2030-07-14T01:00:00+00:00","end":"2030-07-14T03:00:00+00:00"}"#,
            ),
            (
                Schedule::new(None, Some(end)),
                r#"{"start":null,"end":"2030-07-14T03:00:00+00:00"}"#,
            ),
            (
                Schedule::new(Some(start), None).with_read_only(false),
                r#"{"start":"2030-07-14T01:00:00+00:00","end":null}"#,
            ),
        ];
        for (schedule, expected) in django {
            let state = MaintenanceState::Scheduled(schedule);
            backend.set(&state).await.unwrap();
            let text = read_raw().expect("stored");
            assert_eq!(text, expected, "{}: Django's bytes", store.name);
            assert_eq!(stored_keys(&text), ["end", "start"]);
            assert_eq!(store.backend().get().await.unwrap(), state);
        }

        let secret = BypassSecret::new(TOKEN).unwrap();
        let window = || Schedule::new(None, Some(end));
        let richer = [
            (
                window().with_reason("upgrade"),
                vec!["end", "reason", "start"],
            ),
            (
                window().with_read_only(true),
                vec!["end", "read_only", "start"],
            ),
            (
                window().with_bypass(secret.clone()),
                vec!["bypass", "end", "start"],
            ),
            (
                Schedule::default().with_reason(""),
                vec!["end", "reason", "start"],
            ),
            (
                window()
                    .with_reason("upgrade")
                    .with_read_only(true)
                    .with_bypass(secret.clone()),
                vec!["bypass", "end", "read_only", "reason", "start"],
            ),
        ];
        for (schedule, keys) in richer {
            let state = MaintenanceState::Scheduled(schedule);
            backend.set(&state).await.unwrap();
            let text = read_raw().expect("stored");
            assert_eq!(stored_keys(&text), keys, "{}: {text}", store.name);
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            if json.get("read_only").is_some() {
                assert_eq!(json["read_only"], serde_json::json!(true), "{text}");
            }
            if let Some(stored) = json.get("bypass") {
                assert_eq!(stored, &serde_json::json!(secret.to_stored()), "{text}");
                assert!(!text.contains(TOKEN), "{text}");
            }
            assert_eq!(store.backend().get().await.unwrap(), state, "{text}");
        }
    }

    /// Issue 12: the change kept with a state reads back exactly (who, how,
    /// when to the nanosecond), from this instance and another, while the
    /// state itself stays in Django's text.
    pub async fn a_records_change_round_trips(store: &Store) {
        let writer = store.backend();
        let reader = store.backend();
        let at = Timestamp::from_second(1_900_000_000)
            .unwrap()
            .checked_add(SignedDuration::from_nanos(123_456_789))
            .unwrap();
        let secret = BypassSecret::new(TOKEN).unwrap();
        let cases = [
            (MaintenanceState::On, Change::new("ada", Via::Route).at(at)),
            (
                MaintenanceState::Off,
                Change::new("deploy@build-7", Via::Command),
            ),
            (
                scheduled(None, Some(in_seconds(3600)), Some("upgrade")),
                Change::new("Zo\u{eb} \"the\" <admin>\nsecond line \u{1f6a7}", Via::Api),
            ),
            (rich_state(&secret), Change::api()),
            (MaintenanceState::On, Change::new("ada", Via::Route)),
        ];
        for (state, change) in cases {
            let stored = record(state.clone(), &change);
            writer.set_record(&stored).await.unwrap();
            for backend in [&writer, &reader] {
                assert_eq!(
                    backend.get_record().await.unwrap(),
                    stored,
                    "{}",
                    store.name
                );
                assert_eq!(backend.get().await.unwrap(), state, "{}", store.name);
            }
            if let Some(read_raw) = &store.read_raw {
                assert_eq!(
                    read_raw(),
                    Some(state.to_text()),
                    "{}: the state keeps Django's text alone",
                    store.name
                );
            }
            if let Some(read_raw_change) = &store.read_raw_change {
                let text = read_raw_change().expect("the change is stored");
                let json: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("the stored change is not JSON ({e}): {text}"));
                assert_eq!(json["by"], change.by.as_str(), "{text}");
                assert_eq!(json["via"], change.via.as_str(), "{text}");
                assert!(!text.contains(TOKEN), "the token is stored: {text}");
            }
        }

        // Through handles: the writer knows it at once, a new instance reads it.
        let handle = store.handle(false);
        let change = Change::new("grace", Via::Route);
        handle
            .set_with_change(MaintenanceState::On, change.clone())
            .await
            .unwrap();
        assert_eq!(handle.last_change(), Some(change.clone()));
        assert_eq!(store.handle(false).last_change(), Some(change));
        // `set` records the code as `api`.
        handle.set_maintenance_mode(false).await.unwrap();
        let api = store
            .backend()
            .get_record()
            .await
            .unwrap()
            .change
            .expect("recorded");
        assert_eq!((api.by.as_str(), api.via), ("api", Via::Api));
        assert_eq!(handle.last_change(), Some(api));
    }

    /// Issue 12: a record without a change (a backend's plain `set`, or
    /// `set_record` of a state alone) removes the change stored before,
    /// even for the same state: it no longer describes what is stored.
    pub async fn a_record_without_change_removes_the_old_change(store: &Store) {
        let backend = store.backend();
        let change = Change::new("ada", Via::Route);
        for state in [
            MaintenanceState::On,
            scheduled(None, Some(in_seconds(3600)), Some("upgrade")),
        ] {
            backend
                .set_record(&record(state.clone(), &change))
                .await
                .unwrap();
            assert_eq!(
                backend.get_record().await.unwrap().change,
                Some(change.clone())
            );
            backend
                .set_record(&StateRecord::new(state.clone()))
                .await
                .unwrap();
            assert_eq!(
                store.backend().get_record().await.unwrap(),
                StateRecord::new(state.clone()),
                "{}: set_record without a change",
                store.name
            );
            if let Some(read_raw_change) = &store.read_raw_change {
                assert_eq!(
                    read_raw_change(),
                    None,
                    "{}: the change is removed",
                    store.name
                );
            }

            backend
                .set_record(&record(state.clone(), &change))
                .await
                .unwrap();
            backend.set(&state).await.unwrap();
            assert_eq!(
                store.backend().get_record().await.unwrap(),
                StateRecord::new(state.clone()),
                "{}: a plain set",
                store.name
            );
            if let Some(read_raw_change) = &store.read_raw_change {
                assert_eq!(
                    read_raw_change(),
                    None,
                    "{}: the change is removed",
                    store.name
                );
            }
        }
    }

    /// Issue 12: a state written behind maint's back (a plain `set` by code
    /// that knows no change, Django, `echo 0 >`, `redis-cli SET`) shows no
    /// change, not the one recorded for the state it replaced; a handle
    /// that sees it forgets the old change too.
    pub async fn a_state_written_behind_maints_back_shows_no_change(store: &Store) {
        let handle = store.handle(false);
        let ada = Change::new("ada", Via::Route);
        handle
            .set_with_change(MaintenanceState::On, ada.clone())
            .await
            .unwrap();
        assert_eq!(handle.last_change(), Some(ada.clone()));

        // Another instance's plain `set`.
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        assert_eq!(
            store.backend().get_record().await.unwrap(),
            StateRecord::new(MaintenanceState::Off),
            "{}",
            store.name
        );
        handle.reload().await;
        assert_eq!(handle.state(), MaintenanceState::Off);
        assert_eq!(handle.last_change(), None, "{}", store.name);

        let Some(write_raw) =
            store.raw_writer("a_state_written_behind_maints_back_shows_no_change")
        else {
            return;
        };
        let window = scheduled(None, Some(in_seconds(3600)), None);
        for (text, state) in [
            ("0", MaintenanceState::Off),
            (window.to_text().as_str(), window.clone()),
            (
                r#"{"start": null, "end": "2999-07-14T03:00:00+00:00"}"#,
                scheduled(None, Some(at("2999-07-14T03:00:00Z")), None),
            ),
        ] {
            handle
                .set_with_change(MaintenanceState::On, ada.clone())
                .await
                .unwrap();
            write_raw(text);
            assert_eq!(
                store.backend().get_record().await.unwrap(),
                StateRecord::new(state.clone()),
                "{}: {text:?} written by another program",
                store.name
            );
            handle.reload().await;
            assert_eq!(handle.state(), state, "{text:?}");
            assert_eq!(handle.last_change(), None, "{}: {text:?}", store.name);
            assert_eq!(handle.backend_problem(), None);
        }
    }

    /// Issue 12: a change record that is garbage, for another state, not
    /// UTF-8, or huge is no change: the state reads as usual, with no
    /// error and no problem. (A good record written the same way is shown,
    /// so the bad ones are really read.)
    pub async fn a_bad_change_record_is_no_change_never_an_error(store: &Store) {
        let Some(write_raw_change) = &store.write_raw_change else {
            println!(
                "a_bad_change_record_is_no_change_never_an_error: not applicable to the {} backend",
                store.name
            );
            return;
        };
        store
            .backend()
            .set_record(&record(
                MaintenanceState::On,
                &Change::new("ada", Via::Route),
            ))
            .await
            .unwrap();

        let good = raw_change("1", "2030-01-01T00:00:00Z", "raw-tool", "command");
        write_raw_change(good.as_bytes());
        let read = store.backend().get_record().await.unwrap();
        let shown = read.change.expect("a good record written by hand is shown");
        assert_eq!((shown.by.as_str(), shown.via), ("raw-tool", Via::Command));

        let at_limit = |len: usize| {
            let skeleton = raw_change("1", "2030-01-01T00:00:00Z", "", "api");
            raw_change(
                "1",
                "2030-01-01T00:00:00Z",
                &"x".repeat(len - skeleton.len()),
                "api",
            )
        };
        let huge = raw_change(
            "1",
            "2030-01-01T00:00:00Z",
            &"garbage-".repeat(2 * 1024 * 1024 / 8),
            "api",
        );
        let mut invalid_utf8 = b"\xff\xfe".to_vec();
        invalid_utf8.extend_from_slice(good.as_bytes());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"garbage".to_vec()),
            ("empty", Vec::new()),
            ("an empty object", b"{}".to_vec()),
            ("an array", b"[1, 2]".to_vec()),
            ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
            (
                "for another state",
                raw_change("0", "2030-01-01T00:00:00Z", "raw-tool", "api").into_bytes(),
            ),
            (
                "for a state that is not one",
                raw_change("on", "2030-01-01T00:00:00Z", "raw-tool", "api").into_bytes(),
            ),
            (
                "an unknown via",
                raw_change("1", "2030-01-01T00:00:00Z", "raw-tool", "pigeon").into_bytes(),
            ),
            (
                "a bad time",
                raw_change("1", "yesterday", "raw-tool", "api").into_bytes(),
            ),
            ("not UTF-8", invalid_utf8),
            (
                "one byte over the limit",
                at_limit(MAX_STATE_TEXT_LEN + 1).into_bytes(),
            ),
            ("2 MB", huge.into_bytes()),
        ];
        for (what, bytes) in cases {
            write_raw_change(&bytes);
            // A new instance each time: nothing remembered from a read before.
            let backend = store.backend();
            let read = backend.get_record().await.unwrap_or_else(|e| {
                panic!("{}: {what}: the state is not readable: {e}", store.name)
            });
            assert_eq!(
                read,
                StateRecord::new(MaintenanceState::On),
                "{}: {what}",
                store.name
            );
            assert_eq!(backend.get().await.unwrap(), MaintenanceState::On);
            let handle = store.handle(false);
            assert!(handle.is_on(), "{what}");
            assert_eq!(handle.backend_problem(), None, "{}: {what}", store.name);
            assert_eq!(handle.last_change(), None, "{what}");
        }
    }

    /// Issue 12: a change made through one handle reaches another handle
    /// (its own backend instance on the same store) with who and how, and
    /// each instance logs it in exactly one "maintenance state changed"
    /// line with the old and new state, by and via: the writer as it
    /// writes, the other when its refresher sees it; later reads log nothing.
    pub async fn a_change_reaches_another_handle_and_each_instance_logs_it_once(store: &Store) {
        let log = logs::capture();
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let writer = store.handle(false);
        let reader = store.handle(false);
        let by = unique("auditor");
        let change = Change::new(&by, Via::Route);
        writer
            .set_with_change(MaintenanceState::On, change.clone())
            .await
            .unwrap();
        assert_eq!(writer.last_change(), Some(change.clone()));
        poll_until(POLL_LIMIT, || {
            reader.last_change().as_ref() == Some(&change)
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: the other handle has {:?} / {:?}",
                store.name,
                reader.state(),
                reader.last_change()
            )
        });
        assert_eq!(reader.state(), MaintenanceState::On);
        // Several polls and pushes later, still one line each.
        actix_rt::time::sleep(Duration::from_millis(300)).await;
        writer.reload().await;
        reader.reload().await;

        let lines = log.lines_with(&format!("by={by:?}"));
        assert_eq!(
            lines.len(),
            2,
            "{}: one line per instance: {lines:#?}",
            store.name
        );
        let at = change.at.to_string();
        for line in &lines {
            for part in [
                " INFO ",
                "maintenance state changed",
                "old=off",
                "new=on",
                r#"via="route""#,
                at.as_str(),
            ] {
                assert!(line.contains(part), "{}: {part:?} in {line}", store.name);
            }
        }
        let from_refresher = lines
            .iter()
            .filter(|line| line.contains("maint-refresher"))
            .count();
        assert_eq!(
            from_refresher, 1,
            "{}: the writer logs as it writes, the other instance's refresher as it sees it: {lines:#?}",
            store.name
        );
    }

    /// Issue 12: `subscribe()` on one handle sees each change made through
    /// another handle (its own backend instance), with the change.
    pub async fn subscribe_sees_a_change_made_by_another_handle(store: &Store) {
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let writer = store.handle(false);
        let reader = store.handle(false);
        let mut changes = reader.subscribe();
        assert_eq!(
            changes.borrow_and_update().clone(),
            StateRecord::new(MaintenanceState::Off)
        );
        let window = scheduled(None, Some(in_seconds(3600)), Some("subscribed"));
        for (state, change) in [
            (MaintenanceState::On, Change::new("ada", Via::Route)),
            (window, Change::new("grace", Via::Command)),
            (MaintenanceState::Off, Change::api()),
        ] {
            writer
                .set_with_change(state.clone(), change.clone())
                .await
                .unwrap();
            let expected = record(state, &change);
            within(POLL_LIMIT, store.name, async {
                loop {
                    changes.changed().await.expect("the handle lives");
                    if *changes.borrow_and_update() == expected {
                        break;
                    }
                }
            })
            .await;
            assert!(
                !changes.has_changed().unwrap(),
                "{}: announced once",
                store.name
            );
        }
    }

    /// Issue 12: `wait_until_off()` returns at once when maintenance is not
    /// in effect: off, a window still to open, a window that has ended.
    pub async fn wait_until_off_returns_at_once_when_off(store: &Store) {
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let handle = store.handle(true);
        for state in [
            MaintenanceState::Off,
            scheduled(Some(in_seconds(3600)), None, Some("later")),
            scheduled(Some(in_seconds(-7200)), Some(in_seconds(-3600)), None),
        ] {
            store.backend().set(&state).await.unwrap();
            handle.reload().await;
            assert_eq!(handle.state(), state);
            assert!(!handle.is_on());
            let started = Instant::now();
            within(
                Duration::from_millis(200),
                &format!("{}: {state:?}", store.name),
                handle.wait_until_off(),
            )
            .await;
            assert!(started.elapsed() < Duration::from_millis(200));
        }
    }

    /// Issue 12: `wait_until_off()` waits while maintenance is on and
    /// returns once another handle switches it off.
    pub async fn wait_until_off_returns_when_another_handle_switches_off(store: &Store) {
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let waiter = store.handle(false);
        let switcher = store.handle(false);
        switcher.set_maintenance_mode(true).await.unwrap();
        await_seen(&waiter, &MaintenanceState::On, store.name);

        let delay = Duration::from_millis(400);
        let off = switcher.clone();
        let started = Instant::now();
        let switching = std::thread::spawn(move || {
            std::thread::sleep(delay);
            off.set_maintenance_mode_blocking(false)
        });
        within(POLL_LIMIT + delay, store.name, waiter.wait_until_off()).await;
        let waited = started.elapsed();
        switching.join().unwrap().unwrap();
        assert!(
            waited >= delay - Duration::from_millis(50),
            "{}: returned after {waited:?}, before the switch at {delay:?}",
            store.name
        );
        assert!(!waiter.is_on(), "{}", store.name);
        assert_eq!(store.backend().get().await.unwrap(), MaintenanceState::Off);
    }

    /// Issue 12: a window ends by the clock, with no change announced:
    /// `wait_until_off()` returns when the end passes, promptly.
    pub async fn wait_until_off_returns_when_the_window_ends_without_a_change(store: &Store) {
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let waiter = store.handle(false);
        let writer = store.handle(false);
        // A whole second 1 to 2 s from now (text round trips are exact).
        let end = in_seconds(2);
        let window = scheduled(None, Some(end), Some("short"));
        writer.set(window.clone()).await.unwrap();
        await_seen(&waiter, &window, store.name);
        assert!(waiter.is_on());
        let mut changes = waiter.subscribe();
        changes.borrow_and_update();

        within(Duration::from_secs(4), store.name, waiter.wait_until_off()).await;
        let now = Timestamp::now();
        assert!(
            now >= end,
            "{}: returned at {now}, before the end {end}",
            store.name
        );
        assert!(
            now < end + SignedDuration::from_millis(500),
            "{}: returned at {now}, long after the end {end}",
            store.name
        );
        assert!(!waiter.is_on());
        assert!(
            !changes.has_changed().unwrap(),
            "{}: nothing was announced: {:?}",
            store.name,
            changes.borrow()
        );
        assert_eq!(
            waiter.state(),
            window,
            "the stored state is still the window"
        );
        assert_eq!(store.backend().get().await.unwrap(), window);
    }

    /// Issue 13: hosts with a state of their own, stored next to the global
    /// state without touching it.
    pub async fn hosts_round_trip_and_removal_leaves_the_global_state(store: &Store) {
        let backend = store.backend();
        backend.set(&MaintenanceState::Off).await.unwrap();
        assert_eq!(backend.get_hosts().await.unwrap(), vec![], "{}", store.name);
        let change = Change::new(unique("host-operator"), Via::Command);
        let shop = record(MaintenanceState::On, &change);
        let secret = BypassSecret::new(TOKEN).unwrap();
        let blog = StateRecord::new(rich_state(&secret));
        backend
            .set_host("shop.example.com", Some(&shop))
            .await
            .unwrap();
        backend
            .set_host("blog.example.com", Some(&blog))
            .await
            .unwrap();
        let mut hosts = store.backend().get_hosts().await.unwrap();
        hosts.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            hosts,
            vec![
                ("blog.example.com".to_owned(), blog.clone()),
                ("shop.example.com".to_owned(), shop.clone()),
            ],
            "{}: a new backend instance reads both hosts back exactly",
            store.name
        );
        assert_eq!(
            store.backend().get().await.unwrap(),
            MaintenanceState::Off,
            "{}: the global state is untouched",
            store.name
        );
        if let Some(read) = &store.read_raw {
            assert_eq!(
                read().as_deref().map(str::trim),
                Some("0"),
                "{}",
                store.name
            );
        }
        backend.set_host("shop.example.com", None).await.unwrap();
        backend.set_host("nobody.example.com", None).await.unwrap();
        assert_eq!(
            store.backend().get_hosts().await.unwrap(),
            vec![("blog.example.com".to_owned(), blog)],
            "{}: removing a host leaves the others",
            store.name
        );
        backend.set_host("blog.example.com", None).await.unwrap();
        assert_eq!(
            store.backend().get_hosts().await.unwrap(),
            vec![],
            "{}",
            store.name
        );
    }

    /// Issue 13: a host's own state set through one handle reaches another;
    /// requests for that host (any case, any port) follow it, others the
    /// global state; removing it makes the host follow the global state.
    pub async fn a_hosts_state_reaches_another_handle_and_its_requests_follow_it(store: &Store) {
        let log = logs::capture();
        store.backend().set(&MaintenanceState::On).await.unwrap();
        let writer = store.handle(false);
        let reader = store.handle(false);
        await_state(&reader, &MaintenanceState::On, store.name);
        let (shop, blog) = (
            request_for("SHOP.Example.com:8443"),
            request_for("blog.example.com"),
        );
        assert!(
            reader.is_on_for(&shop) && reader.is_on_for(&blog),
            "{}",
            store.name
        );

        // The global state is on; the shop has its own: off.
        let by = unique("host-switcher");
        writer
            .set_host_with_change(
                "Shop.Example.COM",
                Some(MaintenanceState::Off),
                Change::new(&by, Via::Api),
            )
            .await
            .unwrap();
        assert!(
            !writer.is_on_for(&shop),
            "{}: the writer at once",
            store.name
        );
        let took = poll_until(POLL_LIMIT, || !reader.is_on_for(&shop)).unwrap_or_else(|| {
            panic!(
                "{}: the other handle still has {:?}",
                store.name,
                reader.host_states()
            )
        });
        assert!(took < PROPAGATION_LIMIT, "{}: took {took:?}", store.name);
        assert!(
            reader.is_on_for(&blog),
            "{}: other hosts follow the global state",
            store.name
        );
        assert!(
            reader.is_on(),
            "{}: the global state is unchanged",
            store.name
        );
        let states = reader.host_states();
        assert_eq!(states.len(), 1, "{}: {states:?}", store.name);
        assert_eq!(states[0].0, "shop.example.com");
        assert_eq!(
            states[0].1.change.as_ref().map(|c| c.by.as_str()),
            Some(by.as_str())
        );

        writer.set_host("shop.example.com", None).await.unwrap();
        poll_until(POLL_LIMIT, || reader.is_on_for(&shop)).unwrap_or_else(|| {
            panic!(
                "{}: the shop does not follow the global state again",
                store.name
            )
        });
        assert!(reader.host_states().is_empty(), "{}", store.name);

        let lines = log.lines_with(&format!("by={by:?}"));
        assert_eq!(
            lines.len(),
            2,
            "{}: one line per instance: {lines:#?}",
            store.name
        );
        for line in &lines {
            for part in [
                "maintenance state changed",
                "host=\"shop.example.com\"",
                "old=global",
                "new=off",
            ] {
                assert!(line.contains(part), "{}: {part:?} in {line}", store.name);
            }
        }
    }

    /// Issue 13: a host record that is not a state keeps the hosts last read
    /// (reported once); a good record read later replaces them.
    pub async fn a_corrupted_host_record_keeps_the_hosts_last_read(store: &Store) {
        let Some(write_raw_host) = &store.write_raw_host else {
            println!("not applicable to the {} backend (no raw text)", store.name);
            return;
        };
        store.backend().set(&MaintenanceState::Off).await.unwrap();
        let handle = store.handle(false);
        handle
            .set_host("shop.example.com", Some(MaintenanceState::On))
            .await
            .unwrap();
        let shop = request_for("shop.example.com");
        assert!(handle.is_on_for(&shop));
        write_raw_host(r#"{"state": "maybe"}"#);
        handle.reload().await;
        assert!(
            handle.is_on_for(&shop),
            "{}: the hosts last read are kept",
            store.name
        );
        assert!(
            store.backend().get_hosts().await.is_err(),
            "{}: the backend says the record is corrupted",
            store.name
        );
        write_raw_host(r#"{"state": "0"}"#);
        handle.reload().await;
        assert!(
            !handle.is_on_for(&shop),
            "{}: a good record is read again",
            store.name
        );
        handle.set_host("shop.example.com", None).await.unwrap();
    }
}

/// Issue 12: the audit line quotes what it shows, so a reason (or a name)
/// with a line break cannot forge another log line: each instance's
/// "maintenance state changed" line stays one line.
#[actix_web::test]
async fn a_reason_or_a_name_cannot_forge_a_log_line() {
    let log = logs::capture();
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new());
    let handle = MaintenanceMode::builder(MaintenanceSettings::default())
        .shared_backend(backend)
        .build()
        .unwrap();
    let forged = unique("forged");
    let by = unique("writer");
    let reason = format!("upgrade\n{forged} maintenance state changed old=on new=off");
    let window = scheduled(None, Some(in_seconds(3600)), Some(&reason));
    handle
        .set_with_change(window, Change::new(&by, Via::Api))
        .await
        .unwrap();
    let name = format!("{by}\n{forged} maintenance state changed");
    handle
        .set_with_change(MaintenanceState::On, Change::new(&name, Via::Api))
        .await
        .unwrap();
    let lines = log.lines_with(&forged);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert!(
            !line.starts_with(&forged) && line.contains(" INFO "),
            "a forged line: {lines:#?}"
        );
        assert!(
            line.find("maintenance state changed") < line.find(&forged),
            "the reason or name is inside the one line: {line}"
        );
    }
}

/// Issue 12: `wait_until_off()` agrees with `is_on()`: once `is_on()` says
/// maintenance is on, `wait_until_off()` does not return while it stays on.
///
/// Fails today (a race, caught within these rounds): the refresher swaps
/// the snapshot (what `is_on()` reads), logs the change, and only then
/// tells subscribers (what `wait_until_off()` reads). A worker that checks
/// `is_on()` in that moment and calls `wait_until_off()` gets the old state,
/// off, and goes on working during maintenance.
#[actix_web::test]
async fn wait_until_off_agrees_with_is_on() {
    // Logging as in production: the change's line is written in that moment.
    let _ = logs::capture();
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new());
    let handle = || {
        MaintenanceMode::builder(MaintenanceSettings::default())
            .shared_backend(Arc::clone(&backend))
            .build()
            .unwrap()
    };
    let (writer, waiter) = (handle(), handle());
    for round in 0..100 {
        writer.set_maintenance_mode(true).await.unwrap();
        let started = Instant::now();
        while !waiter.is_on() {
            assert!(started.elapsed() < POLL_LIMIT, "round {round}: never on");
            std::hint::spin_loop();
        }
        let returned = tokio::time::timeout(Duration::from_millis(20), waiter.wait_until_off())
            .await
            .is_ok();
        assert!(
            !returned,
            "round {round}: wait_until_off() returned while maintenance is on (is_on() = {})",
            waiter.is_on()
        );
        writer.set_maintenance_mode(false).await.unwrap();
        within(POLL_LIMIT, "switched off", waiter.wait_until_off()).await;
    }
}
