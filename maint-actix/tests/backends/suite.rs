//! One suite of checks, run over every state backend: `memory`, `local_file`
//! and `redis` (on the server `MAINT_REDIS_URL` names; see `maint_test_support::redis`).
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
//! (Django's rule: no file is off); Redis reads it as unknown
//! (`BackendError::Missing`), since a Redis that lost its data must not end
//! a maintenance.

use std::{
    fs,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::Duration,
};

use jiff::Timestamp;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, backend::BackendError,
    backend::LocalFileBackend, backend::MemoryBackend, backend::RedisBackend,
    backend::StateBackend, bypass::BypassSecret, state::Schedule,
};
use maint_test_support::{poll::poll_until, redis};

/// The product's bound on how fast another instance sees a change.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// How long a check polls for something that should happen within [`PROPAGATION_LIMIT`].
const POLL_LIMIT: Duration = Duration::from_secs(2);

type RawWriter = Box<dyn Fn(&str)>;
type RawReader = Box<dyn Fn() -> Option<String>>;

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
        location: String::new(),
        empty: Empty::Off,
        _keep: Box::new(()),
    })
}

fn open_local_file(_check: &str) -> Option<Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("maintenance_mode_state.txt");
    let (opened, written, read) = (path.clone(), path.clone(), path.clone());
    Some(Store {
        name: "local_file",
        open: Box::new(move || Arc::new(LocalFileBackend::new(&opened))),
        write_raw: Some(Box::new(move |text| {
            fs::write(&written, text).expect("write the state file")
        })),
        read_raw: Some(Box::new(move || fs::read_to_string(&read).ok())),
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
    Some(Store {
        name: "redis",
        open: Box::new(move || Arc::new(RedisBackend::new(&url, &prefix).expect("valid URL"))),
        // A plain SET, as Django (or a person with redis-cli) writes it: no announcement.
        write_raw: Some(Box::new(move |text| writer.set(&written, text))),
        read_raw: Some(Box::new(move || reader.get(&read))),
        location: key,
        empty: Empty::Unknown,
        _keep: Box::new(shared),
    })
}

macro_rules! suite {
    ($($check:ident),+ $(,)?) => {
        suite!(@backend memory_backend, open_memory; $($check),+);
        suite!(@backend local_file_backend, open_local_file; $($check),+);
        suite!(@backend redis_backend, open_redis; $($check),+);
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
);

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
}
