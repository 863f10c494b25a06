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
//! - issue 12's change file next to the state file →
//!   `a_file_rewritten_by_another_program_shows_no_change_on_running_instances`,
//!   `a_change_path_that_is_not_a_file_is_no_change`,
//!   `an_unwritable_change_file_costs_the_record_never_the_switch` (and the
//!   backend suite).

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

    // Only the state file and its change file (issue 12) are left in the
    // directory: no temp files.
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "maintenance_mode_state.txt",
            "maintenance_mode_state.txt.change.json"
        ]
    );
    let change: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join(&names[1])).unwrap()).unwrap();
    assert_eq!(change["by"], "api", "{change}");
    assert_eq!(change["via"], "api", "{change}");
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

/// Issue 12: the change lives next to the state file, in
/// `{name}.change.json`; a running instance shows it, and forgets it when
/// another program (`echo 0 > state`, Django) rewrites the state file.
#[actix_web::test]
async fn a_file_rewritten_by_another_program_shows_no_change_on_running_instances() {
    use maint_actix::change::{Change, Via};

    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let writer = build(file_settings(&path));
    let reader = start_with(file_settings(&path)).await;
    let ada = Change::new("ada", Via::Route);
    writer
        .set_with_change(MaintenanceState::On, ada.clone())
        .await
        .unwrap();
    wait_until(GENEROUS, || {
        reader.maint.last_change().as_ref() == Some(&ada)
    })
    .await
    .expect("the other instance sees the change");
    let change_file = dir.path().join("maintenance_mode_state.txt.change.json");
    assert!(change_file.is_file(), "{}", change_file.display());
    assert_eq!(fs::read_to_string(&path).unwrap(), "1", "Django's text");

    let end = Timestamp::from_second(Timestamp::now().as_second() + 3600).unwrap();
    for (text, state) in [
        ("0".to_owned(), MaintenanceState::Off),
        (
            format!(r#"{{"start": null, "end": "{}"}}"#, django_iso(end)),
            MaintenanceState::Scheduled(maint_actix::state::Schedule::new(None, Some(end))),
        ),
    ] {
        writer
            .set_with_change(MaintenanceState::On, ada.clone())
            .await
            .unwrap();
        wait_until(GENEROUS, || {
            reader.maint.last_change().as_ref() == Some(&ada)
        })
        .await
        .expect("the other instance sees the change");
        write_from_another_process(&path, &text);
        wait_until(GENEROUS, || {
            reader.maint.state() == state && writer.state() == state
        })
        .await
        .unwrap_or_else(|| panic!("{text}: not seen: {:?}", reader.maint.state()));
        assert_eq!(reader.maint.last_change(), None, "{text}");
        assert_eq!(writer.last_change(), None, "{text}");
        assert_eq!(reader.maint.backend_problem(), None);
    }
}

/// Issue 12: a change path holding something that is not a regular file
/// (a directory, a FIFO) is no change: the state reads as usual, at once,
/// with no problem reported.
#[cfg(unix)]
#[actix_web::test]
async fn a_change_path_that_is_not_a_file_is_no_change() {
    use maint_actix::{backend::LocalFileBackend, backend::StateBackend, change::StateRecord};
    use maint_test_support::{poll::within, process::mkfifo};

    for kind in ["directory", "FIFO"] {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        fs::write(&path, "1").unwrap();
        let change_path = dir.path().join("maintenance_mode_state.txt.change.json");
        match kind {
            "directory" => fs::create_dir(&change_path).unwrap(),
            _ => mkfifo(&change_path),
        }
        let backend = LocalFileBackend::new(&path);
        let read = within(Duration::from_secs(2), move || {
            pollster::block_on(backend.get_record())
        })
        .unwrap_or_else(|| panic!("{kind}: reading must not block"));
        assert_eq!(
            read.unwrap_or_else(|e| panic!("{kind}: {e}")),
            StateRecord::new(MaintenanceState::On),
            "{kind}"
        );
        let settings = file_settings(&path);
        let maint = within(Duration::from_secs(2), move || build(settings))
            .unwrap_or_else(|| panic!("{kind}: building must not block"));
        assert!(maint.is_on(), "{kind}");
        assert_eq!(maint.backend_problem(), None, "{kind}");
        assert_eq!(maint.last_change(), None, "{kind}");
    }
}

/// Issue 12: a change file that cannot be written (here a directory at
/// `{state}.change.json`) costs the record, never the switch: `set_record`
/// and the handle's `set` succeed, the state file holds the new state, no
/// change is stored or shown, and each write logs one warning naming the
/// change path. No temp file is left behind.
#[actix_web::test]
async fn an_unwritable_change_file_costs_the_record_never_the_switch() {
    use maint_actix::{
        backend::{LocalFileBackend, StateBackend},
        change::{Change, StateRecord, Via},
    };

    let log = crate::logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let change_path = dir.path().join("maintenance_mode_state.txt.change.json");
    fs::create_dir(&change_path).unwrap();
    let change_path_text = change_path.display().to_string();
    let warnings = || {
        log.lines_with(&change_path_text)
            .into_iter()
            .filter(|line| line.contains("cannot write the record of who changed"))
            .collect::<Vec<_>>()
    };

    // The backend: with a change, and without one (`set`, which removes the
    // change file: a directory cannot be removed that way either).
    let backend = LocalFileBackend::new(&path);
    let ada = Change::new("ada", Via::Route);
    backend
        .set_record(&StateRecord::new(MaintenanceState::On).with_change(ada.clone()))
        .await
        .expect("the state is written without its record");
    assert_eq!(fs::read_to_string(&path).unwrap(), "1");
    assert_eq!(
        backend.get_record().await.unwrap(),
        StateRecord::new(MaintenanceState::On),
        "no change stored"
    );
    assert_eq!(
        warnings().len(),
        1,
        "one warning per write: {:#?}",
        warnings()
    );
    backend
        .set(&MaintenanceState::Off)
        .await
        .expect("the state is written");
    assert_eq!(fs::read_to_string(&path).unwrap(), "0");
    assert_eq!(
        warnings().len(),
        2,
        "one warning per write: {:#?}",
        warnings()
    );
    let warning = &warnings()[1];
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("error="), "says why: {warning}");

    // The handle: `set` succeeds and every instance sees the state, with no
    // change (another instance reads the store).
    let maint = build(file_settings(&path));
    let other = build(file_settings(&path));
    maint
        .set_with_change(MaintenanceState::On, ada.clone())
        .await
        .expect("set succeeds without the record");
    assert_eq!(fs::read_to_string(&path).unwrap(), "1");
    assert!(maint.is_on());
    assert_eq!(
        warnings().len(),
        3,
        "one warning per write: {:#?}",
        warnings()
    );
    wait_until(GENEROUS, || other.is_on())
        .await
        .expect("the other instance sees the state");
    assert_eq!(other.last_change(), None, "no change stored");
    assert_eq!(other.backend_problem(), None);
    assert_eq!(maint.backend_problem(), None);
    maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "0");
    assert_eq!(
        warnings().len(),
        4,
        "one warning per write: {:#?}",
        warnings()
    );
    wait_until(GENEROUS, || !other.is_on())
        .await
        .expect("the other instance sees the state");
    assert_eq!(other.last_change(), None, "no change stored");

    assert!(change_path.is_dir(), "the directory is left alone");
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "maintenance_mode_state.txt",
            "maintenance_mode_state.txt.change.json"
        ],
        "no temp file left behind"
    );
}

/// Issue 12: when the change file cannot be written, the writing instance
/// shows what is stored, as every other instance and `status` do: the state
/// with no change, not the change it failed to store.
///
/// Fails today: `StateStore::write` makes the record it asked to store the
/// snapshot (with its change) once `set_record` returns `Ok`, and
/// `apply_read` then keeps the snapshot's change for a read of the same
/// state without one (meant for a read between the two writes of another
/// instance), so the writer's `last_change()` (and its status page) shows
/// "ada via route" for good, while other instances show none.
#[actix_web::test]
async fn the_writer_shows_no_change_when_its_record_was_lost() {
    use maint_actix::change::{Change, Via};

    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::create_dir(dir.path().join("maintenance_mode_state.txt.change.json")).unwrap();
    let maint = build(file_settings(&path));
    maint
        .set_with_change(MaintenanceState::On, Change::new("ada", Via::Route))
        .await
        .expect("set succeeds without the record");
    maint.reload().await;
    assert_eq!(
        maint.last_change(),
        None,
        "the change was not stored: {:?}",
        maint.last_change()
    );
}

/// Replaces `path` with `contents` as the backend does: a sibling temp file
/// renamed over it, so a reader sees the old or the new content, never a
/// partial one.
fn replace_atomically(path: &Path, contents: &str) {
    let temp = path.with_extension("tmp-by-test");
    fs::write(&temp, contents).unwrap();
    fs::rename(&temp, path).unwrap();
}

/// Issue 12: an instance writes the change's file first, then the state
/// file. Another instance whose poll falls between the two writes must
/// announce nothing: the state it reads is still the one the old change
/// made. Every instance then logs the change once, with who and how.
///
/// (Before the store kept the known change for an unchanged state, such a
/// read logged "maintenance state changed old=on new=on" without `by`/`via`
/// and told subscribers; with a 1 ms poll, 300 alternating changes gave
/// 248 such events at a second instance.)
#[actix_web::test]
async fn a_read_between_the_two_writes_of_another_instance_announces_nothing() {
    use maint_actix::change::{Change, StateRecord, Via, change_text};

    let log = crate::logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let change_file = dir.path().join("maintenance_mode_state.txt.change.json");
    let writer = build(file_settings(&path));
    let reader = build(file_settings(&path));
    let ada = Change::new("ada", Via::Route);
    writer
        .set_with_change(MaintenanceState::On, ada.clone())
        .await
        .unwrap();
    wait_until(GENEROUS, || reader.last_change().as_ref() == Some(&ada))
        .await
        .expect("the other instance sees the change");
    let mut changes = reader.subscribe();
    changes.borrow_and_update();

    // The first half of a third instance's switch off: the change's file.
    let grace = Change::new("grace", Via::Route);
    let next = StateRecord::new(MaintenanceState::Off).with_change(grace.clone());
    replace_atomically(&change_file, &change_text(&next).unwrap());
    // Several polls fall here.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reader.state(), MaintenanceState::On);
    assert!(
        !changes.has_changed().unwrap(),
        "announced without a change: {:?}",
        changes.borrow()
    );
    assert_eq!(
        reader.last_change(),
        Some(ada.clone()),
        "the state ada made"
    );
    assert_eq!(writer.last_change(), Some(ada));

    // The second half: the state file.
    replace_atomically(&path, "0");
    wait_until(GENEROUS, || {
        reader.last_change().as_ref() == Some(&grace)
            && writer.last_change().as_ref() == Some(&grace)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "not seen: {:?} / {:?}",
            reader.state(),
            reader.last_change()
        )
    });
    let lines: Vec<String> = log
        .lines_with(&path.display().to_string())
        .into_iter()
        .filter(|line| line.contains("maintenance state changed"))
        .collect();
    assert!(
        lines.iter().all(|line| line.contains("by=")),
        "a line without who: {lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.contains(r#"by="grace""#))
            .count(),
        2,
        "each instance logs grace's change once: {lines:#?}"
    );
    assert_eq!(
        lines.len(),
        4,
        "ada's and grace's, by each instance: {lines:#?}"
    );
}
