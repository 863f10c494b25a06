//! The middleware's on/off behaviour, the fixed `mode` setting, `ignore_tests`,
//! the toggle-off route, the response marker and the handle extractor.
//!
//! Counterparts in django-maintenance-mode's tests:
//! - `test_middleware.py::test_middleware_anonymous_user` →
//!   `maintenance_off_serves_every_route`, `maintenance_on_answers_503_everywhere`.
//! - `test_middleware.py::test_middleware_urls` (the `maintenance_mode_off` URL is
//!   always served) → `toggle_off_route_is_served_during_maintenance`.
//! - `test_middleware.py::test_middleware_ignore_tests` → `ignore_tests_*`.
//! - `test_core.py::test_core_maintenance_enabled` / `_disabled` / `test_core_set_disabled`
//!   (`MAINTENANCE_MODE = True/False` overrides the backend and refuses `set`) →
//!   `mode_true_*`, `mode_false_*`, `reload_keeps_the_fixed_mode`.
//! - `test_logging.py` (`RequireNotMaintenanceMode503`) → `maintenance_response_is_marked`.
//! - `test_core.py::test_core` (set then get) → `set_maintenance_mode_takes_effect_at_once`.
//! - maint addition: handles sharing one backend (several workers/instances) →
//!   `handles_sharing_a_backend_see_each_others_changes`.

use maint_test_support::poll::wait_until;
use std::{sync::Arc, time::Duration};

use actix_web::{http::StatusCode, test};
use maint_actix::{
    MaintenanceMode, MaintenanceState, backend::MemoryBackend, backend::StateBackend,
};
use maint_test_support::app::{self, TOGGLE_OFF_PATH, build, memory, start, start_with};

const ROUTES: [&str; 6] = [
    "/",
    "/admin/",
    "/api/status",
    "/maintenance/",
    "/state",
    "/whoami",
];

#[actix_web::test]
async fn maintenance_off_serves_every_route() {
    let app = start_with(memory()).await;
    assert!(!app.maint.is_on());
    for path in ROUTES {
        app.get(path).await.assert_served();
    }
    assert_eq!(app.hits.count(), ROUTES.len());
}

#[actix_web::test]
async fn maintenance_on_answers_503_everywhere() {
    let app = start_with(memory()).await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    assert!(app.maint.is_on());
    for path in ROUTES {
        app.get(path).await.assert_maintenance();
    }
    // A path without a route gets the maintenance response too, not a 404.
    app.get("/no/such/page").await.assert_maintenance();
    assert_eq!(app.hits.count(), 0, "no handler may run during maintenance");

    app.maint.set_maintenance_mode(false).await.unwrap();
    for path in ROUTES {
        app.get(path).await.assert_served();
    }
}

#[actix_web::test]
async fn set_maintenance_mode_takes_effect_at_once() {
    let app = start_with(memory()).await;
    for on in [true, false, true, false] {
        app.maint.set_maintenance_mode(on).await.unwrap();
        assert_eq!(app.maint.is_on(), on);
        let expected = if on {
            MaintenanceState::On
        } else {
            MaintenanceState::Off
        };
        assert_eq!(app.maint.state(), expected);
        app.get("/").await.assert_maintenance_if(on);
    }
}

#[actix_web::test]
async fn mode_true_answers_503_and_refuses_changes() {
    let app = start_with(memory().mode(true)).await;
    assert!(app.maint.is_on());
    app.get("/").await.assert_maintenance();

    let err = app.maint.set_maintenance_mode(false).await.unwrap_err();
    assert!(err.to_string().contains("`mode`"), "{err}");
    let err = app.maint.set_maintenance_mode(true).await.unwrap_err();
    assert!(err.to_string().contains("`mode`"), "{err}");
    let err = app
        .maint
        .schedule(
            None,
            Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`mode`"), "{err}");

    assert!(app.maint.is_on());
    app.get("/").await.assert_maintenance();
    assert_eq!(app.hits.count(), 0);
}

#[actix_web::test]
async fn mode_false_serves_even_when_the_backend_says_on() {
    // Control: without `mode`, this backend puts the site in maintenance.
    let control = MaintenanceMode::builder(memory())
        .backend(MemoryBackend::with_state(MaintenanceState::On))
        .build()
        .unwrap();
    start(&control).await.get("/").await.assert_maintenance();

    let maint = MaintenanceMode::builder(memory().mode(false))
        .backend(MemoryBackend::with_state(MaintenanceState::On))
        .build()
        .unwrap();
    let app = start(&maint).await;
    assert!(!maint.is_on());
    app.get("/").await.assert_served();
    let err = maint.set_maintenance_mode(true).await.unwrap_err();
    assert!(err.to_string().contains("`mode`"), "{err}");
    app.get("/").await.assert_served();
}

#[actix_web::test]
async fn reload_keeps_the_fixed_mode() {
    let maint = MaintenanceMode::builder(memory().mode(false))
        .backend(MemoryBackend::with_state(MaintenanceState::On))
        .build()
        .unwrap();
    let app = start(&maint).await;
    maint.reload().await;
    assert!(!maint.is_on(), "mode = false must win over the backend");
    app.get("/").await.assert_served();

    let maint = MaintenanceMode::builder(memory().mode(true))
        .backend(MemoryBackend::with_state(MaintenanceState::Off))
        .build()
        .unwrap();
    let app = start(&maint).await;
    maint.reload().await;
    assert!(maint.is_on(), "mode = true must win over the backend");
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_tests_serves_while_tests_run() {
    let maint = MaintenanceMode::builder(memory().ignore_tests(true))
        .running_tests(true)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start(&maint).await;
    app.get("/").await.assert_served();
    app.get("/api/status").await.assert_served();
}

#[actix_web::test]
async fn ignore_tests_does_nothing_when_tests_do_not_run() {
    let maint = MaintenanceMode::builder(memory().ignore_tests(true))
        .running_tests(false)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    start(&maint).await.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn running_tests_without_ignore_tests_is_not_exempt() {
    let maint = MaintenanceMode::builder(memory().ignore_tests(false))
        .running_tests(true)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    start(&maint).await.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn toggle_off_route_is_served_during_maintenance() {
    let app = start_with(memory()).await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.get(TOGGLE_OFF_PATH).await.assert_served();
    // The same kind of route without the name is not exempt.
    app.get("/maintenance-mode/unnamed/")
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn maintenance_response_is_marked() {
    let app = start_with(memory().ignore_urls(["/api/"])).await;
    let served = app.get("/").await;
    served.assert_served();
    assert!(!served.marked);

    app.maint.set_maintenance_mode(true).await.unwrap();
    let blocked = app.get("/").await;
    assert_eq!(blocked.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(blocked.marked);
    // An exempt request during maintenance is an ordinary response.
    let exempt = app.get("/api/status").await;
    exempt.assert_served();
    assert!(!exempt.marked);
}

#[actix_web::test]
async fn handlers_extract_the_handle_behind_the_middleware() {
    let app = start_with(memory().ignore_urls(["/state"])).await;
    let off = app.get("/state").await;
    off.assert_served();
    assert_eq!(off.body, "false");

    app.maint.set_maintenance_mode(true).await.unwrap();
    let on = app.get("/state").await;
    on.assert_served();
    assert_eq!(on.body, "true", "the handler sees the middleware's handle");
}

#[actix_web::test]
async fn handlers_cannot_extract_the_handle_without_the_middleware() {
    // Control for the test above: the handle comes from the middleware (no
    // app_data, no installed global handle in this test binary).
    let hits = app::Hits::default();
    let service = test::init_service(app::routes(&hits).wrap(app::sessions())).await;
    let res = test::call_service(
        &service,
        test::TestRequest::get().uri("/state").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(hits.count(), 0);
}

#[actix_web::test]
async fn two_handles_do_not_share_state() {
    let a = build(memory());
    let b = build(memory());
    a.set_maintenance_mode(true).await.unwrap();
    start(&a).await.get("/").await.assert_maintenance();
    start(&b).await.get("/").await.assert_served();
}

#[actix_web::test]
async fn handles_sharing_a_backend_see_each_others_changes() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new());
    let a = MaintenanceMode::builder(memory())
        .shared_backend(Arc::clone(&backend))
        .build()
        .unwrap();
    let b = MaintenanceMode::builder(memory())
        .shared_backend(backend)
        .build()
        .unwrap();
    let app_b = start(&b).await;
    app_b.get("/").await.assert_served();

    a.set_maintenance_mode(true).await.unwrap();
    wait_until(Duration::from_secs(5), || b.is_on())
        .await
        .expect("b never saw a's change");
    app_b.get("/").await.assert_maintenance();

    a.set_maintenance_mode(false).await.unwrap();
    wait_until(Duration::from_secs(5), || !b.is_on())
        .await
        .expect("b never saw a's change");
    app_b.get("/").await.assert_served();
}
