//! The `local_file` backend through the middleware: Django's state file, changes
//! made by other processes, corrupted and unreadable files, failed writes.
//!
//! Counterparts in django-maintenance-mode's tests:
//! - `test_backends.py::test_backend_local_file` (missing → off, set/get) →
//!   `missing_file_serves_and_is_not_created`, `set_writes_djangos_format`.
//! - `test_backends.py::test_backend_schedule_state` → `django_files_are_honoured`.
//! - `test_backends.py::test_backend_local_file_invalid_values`,
//!   `test_backend_schedule_state_invalid_values` and `test_core.py::test_core_invalid_argument`
//!   (a corrupted file raises `ValueError`) → `corrupted_file_*`: here a request never
//!   fails; the state falls back to `state_backend_fallback_value` (Django's cache
//!   backend test of the fallback value) and the problem is reported.
//! - `test_core.py::test_core_invalid_file_path` and `test_io.py::test_io_invalid_file_path`
//!   (a directory as the path) → `unreadable_path_*`.
//! - `test_io.py::test_io` (overwrite, not append) → `set_writes_djangos_format`.
//! - `test_core.py::test_core_maintenance_disabled` with a file → `mode_false_*`.
//! - maint's requirement that every instance sees a change within 100 ms →
//!   `file_written_by_another_process_is_seen_without_restart`,
//!   `second_instance_sees_the_first_ones_writes`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use actix_web::http::StatusCode;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use maint_actix::{MaintenanceSettings, MaintenanceState, StateError, settings::StateBackendKind};
use maint_test_support::app::{TestApp, build, start, start_with};
use maint_test_support::poll::wait_until;

const GENEROUS: Duration = Duration::from_secs(5);

fn file_settings(path: &Path) -> MaintenanceSettings {
    MaintenanceSettings::default()
        .state_backend(StateBackendKind::LocalFile)
        .state_file_path(path)
}

fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("maintenance_mode_state.txt")
}

/// Writes `contents` to `path` from another process.
fn write_from_another_process(path: &Path, contents: &str) {
    let status = Command::new("sh")
        .args([
            "-c",
            "printf '%s' \"$1\" > \"$2\"",
            "sh",
            contents,
            &path.display().to_string(),
        ])
        .status()
        .expect("run sh");
    assert!(status.success());
}

/// Python's `datetime.isoformat()` of an aware UTC datetime.
fn django_iso(timestamp: Timestamp) -> String {
    timestamp
        .to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Requests `/` every 10 ms until the status is `status`; the time it took.
async fn wait_for_status(app: &TestApp, status: StatusCode, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let out = app.get("/").await;
        assert_ne!(out.status, StatusCode::INTERNAL_SERVER_ERROR, "{out:?}");
        if out.status == status {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn missing_file_serves_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let app = start_with(file_settings(&path)).await;
    app.get("/").await.assert_served();
    assert!(!app.maint.is_on());
    assert_eq!(app.maint.backend_problem(), None);
    assert!(!path.exists(), "reading must not create the file");
}

#[actix_web::test]
async fn file_written_by_another_process_is_seen_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let app = start_with(file_settings(&path)).await;
    app.get("/").await.assert_served();

    write_from_another_process(&path, "1");
    let elapsed = wait_for_status(
        &app,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(1),
    )
    .await
    .expect("the app never saw the file switch maintenance on");
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
    app.get("/").await.assert_maintenance();

    write_from_another_process(&path, "0");
    let elapsed = wait_for_status(&app, StatusCode::OK, Duration::from_secs(1))
        .await
        .expect("the app never saw the file switch maintenance off");
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
    app.get("/").await.assert_served();
}

#[actix_web::test]
async fn second_instance_sees_the_first_ones_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let first = start_with(file_settings(&path)).await;
    let second = start_with(file_settings(&path)).await;

    first.maint.set_maintenance_mode(true).await.unwrap();
    first.get("/").await.assert_maintenance();
    let elapsed = wait_for_status(
        &second,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(1),
    )
    .await
    .expect("the second instance never saw maintenance on");
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
}

#[actix_web::test]
async fn django_files_are_honoured() {
    let now = Timestamp::now();
    let hour = SignedDuration::from_hours(1);
    let cases = [
        ("0".to_owned(), false),
        ("1".to_owned(), true),
        ("1\n".to_owned(), true),
        (String::new(), false),
        (
            format!(r#"{{"start": null, "end": "{}"}}"#, django_iso(now + hour)),
            true,
        ),
        (
            format!(
                r#"{{"start": "{}", "end": "{}"}}"#,
                django_iso(now - hour),
                django_iso(now + hour)
            ),
            true,
        ),
        (
            format!(r#"{{"start": "{}", "end": null}}"#, django_iso(now - hour)),
            true,
        ),
        (
            format!(r#"{{"start": null, "end": "{}"}}"#, django_iso(now - hour)),
            false,
        ),
        (
            format!(r#"{{"start": "{}", "end": null}}"#, django_iso(now + hour)),
            false,
        ),
    ];
    for (contents, on) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        fs::write(&path, &contents).unwrap();
        let app = start_with(file_settings(&path)).await;
        assert_eq!(app.maint.backend_problem(), None, "{contents:?}");
        assert_eq!(app.maint.is_on(), on, "{contents:?}");
        app.get("/").await.assert_maintenance_if(on);
    }
}

#[actix_web::test]
async fn django_schedule_file_sets_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let end = Timestamp::now() + SignedDuration::from_hours(1);
    fs::write(
        &path,
        format!(r#"{{"start": null, "end": "{}"}}"#, django_iso(end)),
    )
    .unwrap();
    let app = start_with(file_settings(&path)).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    let seconds: u64 = out.header("retry-after").unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&seconds), "{seconds}");
}

#[actix_web::test]
async fn corrupted_file_with_fallback_false_serves_and_reports_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "garbage").unwrap();
    let app = start_with(file_settings(&path).state_backend_fallback_value(false)).await;
    app.get("/").await.assert_served();
    let problem = app.maint.backend_problem().expect("a backend problem");
    assert!(problem.contains(&path.display().to_string()), "{problem}");

    // Fixed again: back to what the file says, and the problem is gone.
    fs::write(&path, "1").unwrap();
    // (A write is not atomic: wait for its final content, not an empty file.)
    wait_until(GENEROUS, || {
        app.maint.backend_problem().is_none() && app.maint.is_on()
    })
    .await
    .expect("the fixed file is read again");
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn corrupted_file_with_fallback_true_answers_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "garbage").unwrap();
    let app = start_with(file_settings(&path).state_backend_fallback_value(true)).await;
    app.get("/").await.assert_maintenance();
    let problem = app.maint.backend_problem().expect("a backend problem");
    assert!(problem.contains(&path.display().to_string()), "{problem}");

    fs::write(&path, "0").unwrap();
    wait_until(GENEROUS, || {
        app.maint.backend_problem().is_none() && !app.maint.is_on()
    })
    .await
    .expect("the fixed file is read again");
    app.get("/").await.assert_served();
}

#[actix_web::test]
async fn corrupted_while_running_falls_back_and_never_fails_a_request() {
    for (fallback, status) in [
        (false, StatusCode::OK),
        (true, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        // Start in the state opposite to the fallback, so the switch is visible.
        fs::write(&path, if fallback { "0" } else { "1" }).unwrap();
        let app = start_with(file_settings(&path).state_backend_fallback_value(fallback)).await;
        assert_eq!(app.maint.is_on(), !fallback);

        for garbage in ["garbage", "2", "{}", r#"{"invalid-key": "1"}"#] {
            write_from_another_process(&path, garbage);
            wait_until(GENEROUS, || app.maint.backend_problem().is_some())
                .await
                .unwrap_or_else(|| panic!("{garbage:?} not reported"));
            let out = app.get("/").await;
            assert_eq!(out.status, status, "{garbage:?}: {out:?}");
            assert_eq!(out.marked, fallback);
            assert_eq!(out.ran, !fallback);
            let problem = app.maint.backend_problem().unwrap();
            assert!(problem.contains(&path.display().to_string()), "{problem}");

            write_from_another_process(&path, if fallback { "0" } else { "1" });
            // (`printf >` truncates first: wait for the final content.)
            wait_until(GENEROUS, || {
                app.maint.backend_problem().is_none() && app.maint.is_on() != fallback
            })
            .await
            .expect("fixed file read again");
        }
    }
}

#[actix_web::test]
async fn set_repairs_a_corrupted_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "garbage").unwrap();
    let app = start_with(file_settings(&path)).await;
    assert!(app.maint.backend_problem().is_some());
    app.maint.set_maintenance_mode(true).await.unwrap();
    assert_eq!(app.maint.backend_problem(), None);
    assert_eq!(fs::read_to_string(&path).unwrap(), "1");
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn unreadable_path_falls_back_and_refuses_writes() {
    // A directory where the file should be, as Django's `invalid_file_path`.
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), "").unwrap();
    for (fallback, status) in [
        (false, StatusCode::OK),
        (true, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let app = start_with(file_settings(&path).state_backend_fallback_value(fallback)).await;
        assert_eq!(app.get("/").await.status, status);
        let problem = app.maint.backend_problem().expect("a backend problem");
        assert!(problem.contains(&path.display().to_string()), "{problem}");

        let err = app.maint.set_maintenance_mode(!fallback).await.unwrap_err();
        assert!(matches!(err, StateError::Backend(_)), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(app.maint.is_on(), fallback, "state unchanged");
    }
}

#[actix_web::test]
async fn unwritable_state_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-directory").join("state.txt");
    let app = start_with(file_settings(&path)).await;
    app.get("/").await.assert_served();

    let err = app.maint.set_maintenance_mode(true).await.unwrap_err();
    assert!(matches!(err, StateError::Backend(_)), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!app.maint.is_on());
    assert_eq!(app.maint.state(), MaintenanceState::Off);
    app.get("/").await.assert_served();

    let err = app
        .maint
        .schedule(None, Some(Timestamp::now() + SignedDuration::from_hours(1)))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    app.get("/").await.assert_served();
    assert!(!path.parent().unwrap().exists());
}

#[actix_web::test]
async fn set_writes_djangos_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let maint = build(file_settings(&path));
    for _ in 0..3 {
        maint.set_maintenance_mode(true).await.unwrap();
    }
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "1",
        "overwritten, not appended"
    );
    maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "0");

    let end = Timestamp::now() + SignedDuration::from_hours(1);
    maint.schedule(None, Some(end)).await.unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored["start"], serde_json::Value::Null);
    let stored_end = stored["end"].as_str().unwrap();
    assert!(
        stored_end.ends_with("+00:00"),
        "Python isoformat: {stored_end}"
    );
    assert_eq!(stored_end.parse::<Timestamp>().unwrap(), end);

    // Only the state file is left in the directory (no temp files).
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, [path.file_name().unwrap()]);
}

#[actix_web::test]
async fn mode_false_ignores_a_file_that_says_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "1").unwrap();
    let app = start_with(file_settings(&path).mode(false)).await;
    app.get("/").await.assert_served();
    // The file is not polled either: still served after another process writes.
    write_from_another_process(&path, "1");
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    app.get("/").await.assert_served();
}

#[actix_web::test]
async fn handle_shared_by_two_apps() {
    // One handle, two app instances (workers): both follow the same file.
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let maint = build(file_settings(&path));
    let one = start(&maint).await;
    let two = start(&maint).await;
    write_from_another_process(&path, "1");
    wait_for_status(&one, StatusCode::SERVICE_UNAVAILABLE, GENEROUS)
        .await
        .expect("worker one");
    two.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn reason_only_schedule_file_is_maintenance_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, r#"{"reason": "Database upgrade"}"#).unwrap();
    let app = start_with(file_settings(&path)).await;
    assert_eq!(app.maint.backend_problem(), None);
    let page = app.get("/").await;
    page.assert_maintenance();
    assert!(page.body.contains("Database upgrade"), "{}", page.body);
}

/// Issue 9: a FIFO at the state path made `open()` block for good, so the
/// refresher (and the handle's construction, and `status`) hung. Only a
/// regular file is read; anything else is a read error, at once, and the
/// handle follows the file once a real one replaces it.
#[cfg(unix)]
#[actix_web::test]
async fn fifo_at_the_state_path_is_an_error_not_a_hang() {
    use maint_actix::{backend::BackendError, backend::LocalFileBackend, backend::StateBackend};
    use maint_test_support::{poll::within, process::mkfifo};

    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    mkfifo(&path);

    let backend = LocalFileBackend::new(&path);
    let read = within(Duration::from_secs(2), move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(backend.get())
    })
    .expect("reading a FIFO must not block");
    let error = read.expect_err("a FIFO is not a state file");
    assert!(matches!(error, BackendError::Read { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a regular file"), "{message}");

    let settings = file_settings(&path).state_backend_fallback_value(true);
    let maint = within(Duration::from_secs(2), move || build(settings))
        .expect("building a handle on a FIFO must not block");
    assert!(maint.is_on(), "the fallback value");
    let problem = maint.backend_problem().expect("the problem is reported");
    assert!(problem.contains("not a regular file"), "{problem}");

    // A real file replaces the FIFO (atomically, as the backend writes): seen.
    let replacement = dir.path().join("replacement");
    fs::write(&replacement, "0").unwrap();
    fs::rename(&replacement, &path).unwrap();
    wait_until(GENEROUS, || {
        maint.backend_problem().is_none() && !maint.is_on()
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the refresher never saw the real file: {:?}",
            maint.backend_problem()
        )
    });
}

/// Issue 9: a huge corrupt state file was copied whole into the problem (and
/// its log line). It is refused by size, and messages quote a short prefix only.
#[actix_web::test]
async fn huge_garbage_file_gives_a_short_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let garbage = "garbage-".repeat(10 * 1024 * 1024 / 8);
    fs::write(&path, &garbage).unwrap();
    let maint = build(file_settings(&path).state_backend_fallback_value(true));
    assert!(maint.is_on(), "the fallback value");
    let problem = maint.backend_problem().expect("the problem is reported");
    println!("{problem}");
    assert!(
        problem.len() < 300,
        "{} bytes: {problem:.400}",
        problem.len()
    );
    assert!(problem.contains(&path.display().to_string()), "{problem}");
    assert!(problem.contains("65536"), "names the size limit: {problem}");
    assert!(
        !problem.contains(&"garbage-".repeat(6)),
        "more than a short prefix of the content: {problem}"
    );

    // A corrupt file under the limit: a short prefix, escaped, and the problem stays short.
    let long_line = format!("not a state\n{}", "x".repeat(60_000));
    fs::write(&path, &long_line).unwrap();
    maint.reload().await;
    let problem = maint.backend_problem().expect("the problem is reported");
    assert!(
        problem.len() < 300,
        "{} bytes: {problem:.400}",
        problem.len()
    );
    assert!(
        problem.contains(r"not a state\n"),
        "escaped prefix: {problem}"
    );
    assert!(!problem.contains(&"x".repeat(60)), "{problem}");
    assert!(!problem.contains('\n'), "one line: {problem:?}");
}

/// Issue 9: the text of a bad schedule (here a 60 KB date) is not copied into
/// messages through the JSON parser's reason either.
#[actix_web::test]
async fn bad_schedule_with_a_long_value_gives_a_short_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let long = "9".repeat(60_000);
    for text in [
        format!(r#"{{"start": "{long}", "end": null}}"#),
        format!(r#"{{"{long}": 1}}"#),
        format!(r#"{{"start": null, "end": null, "reason": {long}}}"#),
    ] {
        fs::write(&path, &text).unwrap();
        let maint = build(file_settings(&path));
        let problem = maint.backend_problem().expect("the problem is reported");
        assert!(
            problem.len() < 300,
            "{} bytes: {problem:.400}",
            problem.len()
        );
        assert!(!problem.contains(&"9".repeat(60)), "{problem:.400}");
    }
}
