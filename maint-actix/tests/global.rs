//! The process-wide free functions over an installed handle. The default handle
//! is process state, installed once for good, so this is a test binary of its
//! own (other tests rely on no handle being installed in their process) with a
//! single test that runs its steps in order.
//!
//! Counterparts in django-maintenance-mode's `test_core.py`:
//! - `test_core` (set True → get True, set False → get False) → the
//!   `set_maintenance_mode` / `get_maintenance_mode` steps.
//! - `test_core_schedule` through the module-level API → the
//!   `set_maintenance_state` step.
//! - `TestOverrideMaintenanceMode` through the module-level API → the guard steps.

use actix_web::{App, HttpResponse, http::StatusCode, test, web};
use jiff::{SignedDuration, Timestamp};
use maint_actix::{MaintenanceMode, MaintenanceState, state::Schedule};
use maint_test_support::app;

#[actix_web::test]
async fn installed_handle_backs_the_free_functions() {
    assert!(maint_actix::global::installed().is_none());

    let maint = app::build(app::memory());
    maint_actix::global::install(maint.clone()).expect("first install");
    let other = app::build(app::memory());
    assert!(
        maint_actix::global::install(other).is_err(),
        "only the first install counts"
    );
    assert!(maint_actix::global::installed().is_some());

    let app = app::start(&maint).await;
    assert!(!maint_actix::global::get_maintenance_mode());
    app.get("/").await.assert_served();

    maint_actix::global::set_maintenance_mode(true).unwrap();
    assert!(maint_actix::global::get_maintenance_mode());
    assert!(maint.is_on(), "the installed handle is the one set");
    app.get("/").await.assert_maintenance();

    maint_actix::global::set_maintenance_mode(false).unwrap();
    assert!(!maint_actix::global::get_maintenance_mode());
    app.get("/").await.assert_served();

    // Changes through the handle show through the free functions too.
    maint.set_maintenance_mode(true).await.unwrap();
    assert!(maint_actix::global::get_maintenance_mode());
    maint.set_maintenance_mode(false).await.unwrap();

    // A schedule through the module-level API.
    let end = Timestamp::now() + SignedDuration::from_hours(1);
    maint_actix::global::set_maintenance_state(MaintenanceState::Scheduled(Schedule::new(
        None,
        Some(end),
    )))
    .unwrap();
    assert!(maint_actix::global::get_maintenance_mode());
    app.get("/").await.assert_maintenance();
    let expired = MaintenanceState::Scheduled(Schedule::new(
        None,
        Some(Timestamp::now() - SignedDuration::from_hours(1)),
    ));
    assert!(maint_actix::global::set_maintenance_state(expired).is_err());
    assert!(
        maint_actix::global::get_maintenance_mode(),
        "refused state changes nothing"
    );
    maint_actix::global::set_maintenance_mode(false).unwrap();

    // Without the middleware or app_data, handlers find the installed handle.
    let service = test::init_service(App::new().route(
        "/state",
        web::get().to(|maint: MaintenanceMode| async move {
            HttpResponse::Ok().body(maint.is_on().to_string())
        }),
    ))
    .await;
    macro_rules! read_state {
        () => {{
            let req = test::TestRequest::get().uri("/state").to_request();
            let res = test::call_service(&service, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
        }};
    }
    assert_eq!(read_state!(), "false");
    maint_actix::global::set_maintenance_mode(true).unwrap();
    assert_eq!(read_state!(), "true");

    // The scoped guards over the default handle (Django's module-level
    // `maintenance_mode_on()` / `maintenance_mode_off()`).
    {
        let _off = maint_actix::guard::maintenance_off().unwrap();
        assert!(!maint_actix::global::get_maintenance_mode());
        {
            let _on = maint_actix::guard::maintenance_on().unwrap();
            assert!(maint_actix::global::get_maintenance_mode());
        }
        assert!(!maint_actix::global::get_maintenance_mode());
    }
    assert!(
        maint_actix::global::get_maintenance_mode(),
        "restored to on"
    );
    assert!(
        !maint_actix::guard::with_maintenance_off(maint_actix::global::get_maintenance_mode)
            .unwrap()
    );
    assert!(
        maint_actix::guard::with_maintenance_on(maint_actix::global::get_maintenance_mode).unwrap()
    );
    assert!(maint.is_on());
}
