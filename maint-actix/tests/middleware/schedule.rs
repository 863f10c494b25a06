//! Scheduled maintenance windows through the middleware (memory backend): the
//! response follows the clock without any write.
//!
//! Counterparts in django-maintenance-mode's `test_core.py`:
//! - `test_core_schedule` (active window, future start, expired window written
//!   directly to the backend, start only, end only, ISO 8601 strings, naive
//!   datetimes, last write wins) → `active_window_*`, `future_start_*`,
//!   `expired_schedule_*`, `open_ended_*`, `iso8601_*`, `plain_value_*`.
//! - `test_core_schedule_invalid_arguments` (start >= end, end in the past,
//!   invalid date string) → `invalid_schedules_*`, `iso8601_invalid_*`. The
//!   "schedule with value False" and "wrong type" cases cannot be expressed with
//!   `schedule(start, end)` and typed timestamps.
//! - `test_core_schedule_override` / `override_maintenance_mode`: no counterpart
//!   (maint has no override context manager).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use maint_actix::{
    MaintenanceMode, MaintenanceState, StateError, backend::MemoryBackend, settings::ResponseType,
    state::Schedule, state::ScheduleError, state::parse_iso8601,
};
use maint_test_support::app::{memory, start, start_with};

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

/// Sleeps on the test's runtime until `instant` has passed (plus a margin).
async fn sleep_past(instant: Timestamp) {
    let left = instant.duration_since(Timestamp::now()) + SignedDuration::from_millis(300);
    if let Ok(left) = Duration::try_from(left) {
        actix_rt::time::sleep(left).await;
    }
}

#[actix_web::test]
async fn active_window_answers_503_then_ends_by_itself() {
    let app = start_with(memory()).await;
    let now = Timestamp::now();
    let end = now + secs(2);
    app.maint
        .schedule(Some(now - secs(1)), Some(end))
        .await
        .unwrap();
    app.get("/").await.assert_maintenance();
    assert!(app.maint.is_on());
    let stored = app.maint.state();

    sleep_past(end).await;
    app.get("/").await.assert_served();
    assert!(!app.maint.is_on());
    assert_eq!(app.maint.state(), stored, "nothing was written");
    assert_eq!(
        app.maint.backend().get().await.unwrap(),
        stored,
        "the backend still holds the schedule"
    );
}

#[actix_web::test]
async fn future_start_serves_now_and_answers_503_from_the_start() {
    let app = start_with(memory()).await;
    let start_at = Timestamp::now() + secs(1);
    app.maint.schedule(Some(start_at), None).await.unwrap();
    app.get("/").await.assert_served();
    assert!(!app.maint.is_on());

    sleep_past(start_at).await;
    app.get("/").await.assert_maintenance();
    assert!(app.maint.is_on());
}

#[actix_web::test]
async fn future_window_serves_now() {
    let app = start_with(memory()).await;
    let now = Timestamp::now();
    app.maint
        .schedule(Some(now + secs(3600)), Some(now + secs(7200)))
        .await
        .unwrap();
    app.get("/").await.assert_served();
}

#[actix_web::test]
async fn open_ended_schedules() {
    let app = start_with(memory()).await;
    let now = Timestamp::now();
    // Started, no end.
    app.maint
        .schedule(Some(now - secs(3600)), None)
        .await
        .unwrap();
    app.get("/").await.assert_maintenance();
    // No start, end ahead.
    app.maint.set_maintenance_mode(false).await.unwrap();
    app.maint
        .schedule(None, Some(now + secs(3600)))
        .await
        .unwrap();
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn expired_schedule_written_to_the_backend_serves() {
    let expired =
        MaintenanceState::Scheduled(Schedule::new(None, Some(Timestamp::now() - secs(3600))));
    let maint = MaintenanceMode::builder(memory())
        .backend(MemoryBackend::with_state(expired.clone()))
        .build()
        .unwrap();
    let app = start(&maint).await;
    assert_eq!(maint.state(), expired);
    app.get("/").await.assert_served();

    // Written behind the handle's back, then read.
    let running = Timestamp::now() + secs(3600);
    maint
        .backend()
        .set(&MaintenanceState::Scheduled(Schedule::new(
            None,
            Some(running),
        )))
        .await
        .unwrap();
    maint.reload().await;
    app.get("/").await.assert_maintenance();
    maint.backend().set(&expired).await.unwrap();
    maint.reload().await;
    app.get("/").await.assert_served();
}

#[track_caller]
fn assert_schedule_error(result: Result<(), StateError>) -> String {
    match result {
        Err(err @ StateError::Schedule(_)) => err.to_string(),
        other => panic!("expected a schedule error, got {other:?}"),
    }
}

#[actix_web::test]
async fn invalid_schedules_are_refused_and_change_nothing() {
    let app = start_with(memory()).await;
    let now = Timestamp::now();

    let message = assert_schedule_error(app.maint.schedule(None, Some(now - secs(3600))).await);
    assert!(message.contains("future"), "{message}");
    let message = assert_schedule_error(
        app.maint
            .schedule(Some(now + secs(3600)), Some(now - secs(3600)))
            .await,
    );
    assert!(message.contains("before"), "{message}");
    assert_schedule_error(
        app.maint
            .schedule(Some(now + secs(60)), Some(now + secs(60)))
            .await,
    );
    assert_schedule_error(app.maint.schedule(None, None).await);
    assert_eq!(app.maint.state(), MaintenanceState::Off);
    app.get("/").await.assert_served();

    // Also refused through `set`, and an existing state is kept.
    app.maint.set_maintenance_mode(true).await.unwrap();
    let past = MaintenanceState::Scheduled(Schedule::new(None, Some(now - secs(1))));
    assert_schedule_error(app.maint.set(past).await);
    assert_eq!(app.maint.state(), MaintenanceState::On);
    app.get("/").await.assert_maintenance();
}

#[test]
fn invalid_schedule_errors_are_typed() {
    let now = Timestamp::now();
    assert!(matches!(
        MaintenanceState::scheduled(None, Some(now - secs(1)), now),
        Err(ScheduleError::EndNotInFuture(_))
    ));
    assert!(matches!(
        MaintenanceState::scheduled(Some(now + secs(2)), Some(now + secs(1)), now),
        Err(ScheduleError::StartNotBeforeEnd { .. })
    ));
    assert!(matches!(
        MaintenanceState::scheduled(None, None, now),
        Err(ScheduleError::Empty)
    ));
}

#[actix_web::test]
async fn plain_value_overwrites_a_schedule() {
    let app = start_with(memory()).await;
    let end = Timestamp::now() + secs(3600);
    app.maint.schedule(None, Some(end)).await.unwrap();
    app.maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(app.maint.state(), MaintenanceState::Off);
    app.get("/").await.assert_served();

    app.maint.schedule(None, Some(end)).await.unwrap();
    app.maint.set_maintenance_mode(true).await.unwrap();
    assert_eq!(app.maint.state(), MaintenanceState::On);
}

#[actix_web::test]
async fn iso8601_strings_with_offset_or_naive_utc() {
    let app = start_with(memory()).await;
    let hour_ago = Timestamp::now() - secs(3600);
    let in_an_hour = Timestamp::now() + secs(3600);
    // Python's aware `isoformat()`.
    let start =
        parse_iso8601(&hour_ago.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00").to_string()).unwrap();
    // A naive datetime is read as UTC.
    let end = parse_iso8601(&in_an_hour.strftime("%Y-%m-%dT%H:%M:%S").to_string()).unwrap();
    app.maint.schedule(Some(start), Some(end)).await.unwrap();
    app.get("/").await.assert_maintenance();
    let MaintenanceState::Scheduled(schedule) = app.maint.state() else {
        panic!("not a schedule")
    };
    assert_eq!(schedule.start, Some(start));
    assert!(schedule.end.unwrap().duration_since(in_an_hour).abs() < SignedDuration::from_secs(1));
}

#[test]
fn iso8601_invalid_string_is_an_error() {
    let err = parse_iso8601("not-a-datetime").unwrap_err();
    assert!(matches!(err, ScheduleError::InvalidDate { .. }), "{err:?}");
}

#[actix_web::test]
async fn schedule_reason_and_end_are_shown() {
    let app = start_with(memory().response_type(ResponseType::Auto)).await;
    let end = Timestamp::now() + secs(3600);
    app.maint
        .set(MaintenanceState::Scheduled(
            Schedule::new(None, Some(end)).with_reason("Database upgrade"),
        ))
        .await
        .unwrap();
    let page = app.get("/").await;
    page.assert_maintenance();
    assert!(page.body.contains("Database upgrade"), "{}", page.body);

    let json = app
        .call(
            actix_web::test::TestRequest::get()
                .uri("/")
                .insert_header(("Accept", "application/json")),
        )
        .await;
    json.assert_maintenance();
    let body = json.json();
    assert_eq!(body["reason"], serde_json::json!("Database upgrade"));
    let shown: Timestamp = body["end"].as_str().unwrap().parse().unwrap();
    assert_eq!(shown, end);
}

/// `Schedule`'s documentation (maint-actix/src/state.rs:37) allows a window with
/// only a `reason` (on until switched off, with a message), and such a state
/// reads back from a file (see `state_file` in the `backends` tests); `set`
/// should store it too.
#[actix_web::test]
async fn set_accepts_a_reason_only_schedule() {
    let app = start_with(memory()).await;
    let state =
        MaintenanceState::Scheduled(Schedule::new(None, None).with_reason("Database upgrade"));
    app.maint.set(state.clone()).await.unwrap();
    assert_eq!(app.maint.state(), state);
    let page = app.get("/").await;
    page.assert_maintenance();
    assert!(page.body.contains("Database upgrade"), "{}", page.body);
}
