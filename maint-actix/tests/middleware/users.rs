//! The user exemptions and logouts, with users logged in through a real
//! actix-session cookie session (`/test-login/{kind}` calls `maint_actix::user::login`).
//!
//! Counterparts in django-maintenance-mode's `test_middleware.py`:
//! - `test_middleware_ignore_anonymous_user` → `ignore_anonymous_user`.
//! - `test_middleware_ignore_authenticated_user` → `ignore_authenticated_user`.
//! - `test_middleware_ignore_staff` → `ignore_staff`.
//! - `test_middleware_ignore_superuser` → `ignore_superuser`.
//! - `test_middleware_logout_authenticated_user` (its three cases) →
//!   `logout_authenticated_user_*`.
//! - `test_middleware_logout_staff_user` (None / False / True) → `logout_staff_user_*`.
//! - `test_middleware_logout_superuser` (None / False / True) → `logout_superuser_*`.
//! - `test_middleware_get_authenticated_user` (hook user, hook `None` falls back to
//!   the session user, no user source at all) → `get_authenticated_user_*`,
//!   `without_session_middleware_*`. The invalid-function-path cases have no Rust
//!   counterpart (hooks are closures, checked by the compiler).

use actix_web::{
    HttpRequest,
    test::{self, TestRequest},
};
use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceUser};
use maint_test_support::app::{self, Hits, TestApp, memory, start, start_with};
use maint_test_support::login;
use serde_json::json;

/// An app for `settings` with a user of each kind logged in while maintenance
/// was off; maintenance is on when it returns.
async fn with_logins(
    settings: MaintenanceSettings,
) -> (TestApp, [actix_web::cookie::Cookie<'static>; 3]) {
    let app = start_with(settings).await;
    let cookies = [
        app.login("user").await,
        app.login("staff").await,
        app.login("superuser").await,
    ];
    app.maint.set_maintenance_mode(true).await.unwrap();
    (app, cookies)
}

#[actix_web::test]
async fn ignore_anonymous_user() {
    let (app, [user, staff, superuser]) = with_logins(memory().ignore_anonymous_user(true)).await;
    app.get("/").await.assert_served();
    app.get_with("/", &user).await.assert_maintenance();
    app.get_with("/", &staff).await.assert_maintenance();
    app.get_with("/", &superuser).await.assert_maintenance();

    let app = start_with(memory().ignore_anonymous_user(false)).await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_authenticated_user() {
    let (app, [user, staff, superuser]) =
        with_logins(memory().ignore_authenticated_user(true)).await;
    app.get_with("/", &user).await.assert_served();
    app.get_with("/", &staff).await.assert_served();
    app.get_with("/", &superuser).await.assert_served();
    app.get("/").await.assert_maintenance();

    let (app, [user, ..]) = with_logins(memory().ignore_authenticated_user(false)).await;
    app.get_with("/", &user).await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_staff() {
    let (app, [user, staff, superuser]) = with_logins(memory().ignore_staff(true)).await;
    app.get_with("/", &staff).await.assert_served();
    app.get_with("/", &user).await.assert_maintenance();
    // Django's test superuser is not staff.
    app.get_with("/", &superuser).await.assert_maintenance();
    app.get("/").await.assert_maintenance();

    let (app, [_, staff, _]) = with_logins(memory().ignore_staff(false)).await;
    app.get_with("/", &staff).await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_superuser() {
    let (app, [user, staff, superuser]) = with_logins(memory().ignore_superuser(true)).await;
    app.get_with("/", &superuser).await.assert_served();
    app.get_with("/", &staff).await.assert_maintenance();
    app.get_with("/", &user).await.assert_maintenance();
    app.get("/").await.assert_maintenance();

    let (app, [_, _, superuser]) = with_logins(memory().ignore_superuser(false)).await;
    app.get_with("/", &superuser).await.assert_maintenance();
}

#[actix_web::test]
async fn the_session_user_reaches_the_handler() {
    // Sanity check of the login helper that the tests below rely on.
    let app = start_with(memory()).await;
    let staff = app.login("staff").await;
    let out = app.get_with("/whoami", &staff).await;
    out.assert_served();
    assert_eq!(out.json()["is_staff"], json!(true));
    assert!(!out.clears_session());
}

#[actix_web::test]
async fn logout_authenticated_user_then_ignore_anonymous_serves_as_anonymous() {
    let (app, [user, ..]) = with_logins(
        memory()
            .ignore_anonymous_user(true)
            .logout_authenticated_user(true),
    )
    .await;
    let out = app.get_with("/whoami", &user).await;
    out.assert_served();
    assert_eq!(
        out.json()["is_authenticated"],
        json!(false),
        "the handler sees the logged-out user"
    );
    assert!(out.clears_session(), "session cookie not removed: {out:?}");
}

#[actix_web::test]
async fn logout_authenticated_user_clears_the_session_on_the_maintenance_response() {
    let (app, [user, ..]) = with_logins(memory().logout_authenticated_user(true)).await;
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "session cookie not removed: {out:?}");
    // An anonymous visitor has no session to clear.
    let anonymous = app.get("/").await;
    anonymous.assert_maintenance();
    assert!(anonymous.cookie(login::SESSION_COOKIE).is_none());
}

#[actix_web::test]
async fn logout_authenticated_user_false_keeps_the_session() {
    let (app, [user, ..]) = with_logins(memory().logout_authenticated_user(false)).await;
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(!out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_happens_only_during_maintenance() {
    let app = start_with(memory().logout_authenticated_user(true)).await;
    let user = app.login("user").await;
    let out = app.get_with("/whoami", &user).await;
    out.assert_served();
    assert_eq!(out.json()["is_authenticated"], json!(true));
    assert!(!out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_happens_before_the_url_exemption() {
    // Django logs the user out before looking at the other exemptions.
    let (app, [user, ..]) = with_logins(
        memory()
            .logout_authenticated_user(true)
            .ignore_urls(["/whoami"]),
    )
    .await;
    let out = app.get_with("/whoami", &user).await;
    out.assert_served();
    assert_eq!(out.json()["is_authenticated"], json!(false));
    assert!(out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_staff_user_default_follows_logout_authenticated_user() {
    let (app, [_, staff, _]) = with_logins(memory().logout_authenticated_user(true)).await;
    let out = app.get_with("/", &staff).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_staff_user_false_keeps_staff_logged_in() {
    let (app, [user, staff, _]) = with_logins(
        memory()
            .logout_authenticated_user(true)
            .logout_staff_user(false)
            .ignore_staff(true),
    )
    .await;
    let out = app.get_with("/whoami", &staff).await;
    out.assert_served();
    assert_eq!(out.json()["is_staff"], json!(true));
    assert!(!out.clears_session(), "{out:?}");
    // Plain users are still logged out.
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_staff_user_true_logs_out_staff_only() {
    let (app, [user, staff, _]) = with_logins(
        memory()
            .logout_authenticated_user(false)
            .logout_staff_user(true)
            .ignore_staff(true),
    )
    .await;
    let out = app.get_with("/", &staff).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(
        !out.clears_session(),
        "plain users keep their session: {out:?}"
    );
}

#[actix_web::test]
async fn logout_superuser_default_follows_logout_authenticated_user() {
    let (app, [_, _, superuser]) = with_logins(
        memory()
            .logout_authenticated_user(true)
            .ignore_superuser(true),
    )
    .await;
    let out = app.get_with("/", &superuser).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_superuser_false_keeps_superusers_served() {
    let (app, [user, _, superuser]) = with_logins(
        memory()
            .logout_superuser(false)
            .logout_authenticated_user(true)
            .ignore_superuser(true),
    )
    .await;
    let out = app.get_with("/whoami", &superuser).await;
    out.assert_served();
    assert_eq!(out.json()["is_superuser"], json!(true));
    assert!(!out.clears_session(), "{out:?}");
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn logout_superuser_true_logs_out_superusers_only() {
    let (app, [user, _, superuser]) = with_logins(
        memory()
            .logout_authenticated_user(false)
            .logout_superuser(true)
            .ignore_superuser(true),
    )
    .await;
    let out = app.get_with("/", &superuser).await;
    out.assert_maintenance();
    assert!(out.clears_session(), "{out:?}");
    let out = app.get_with("/", &user).await;
    out.assert_maintenance();
    assert!(!out.clears_session(), "{out:?}");
}

#[actix_web::test]
async fn session_user_key_names_where_the_user_is_read() {
    let app = start_with(memory().ignore_staff(true).session_user_key("account")).await;
    let under_default_key = app.login("staff").await;
    let under_account = app.login_under("staff", "account").await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.get_with("/", &under_account).await.assert_served();
    app.get_with("/", &under_default_key)
        .await
        .assert_maintenance();
}

/// `Authorization: Bearer staff-token` is a staff user, `Bearer user-token` a plain one.
fn token_user(req: &HttpRequest) -> Option<MaintenanceUser> {
    match req.headers().get("authorization")?.to_str().ok()? {
        "Bearer staff-token" => Some(MaintenanceUser::authenticated("token-staff").staff()),
        "Bearer user-token" => Some(MaintenanceUser::authenticated("token-user")),
        _ => None,
    }
}

async fn token_app() -> (TestApp, [actix_web::cookie::Cookie<'static>; 3]) {
    let maint = MaintenanceMode::builder(memory().ignore_staff(true))
        .get_authenticated_user(token_user)
        .build()
        .unwrap();
    let app = start(&maint).await;
    let cookies = [
        app.login("user").await,
        app.login("staff").await,
        app.login("superuser").await,
    ];
    maint.set_maintenance_mode(true).await.unwrap();
    (app, cookies)
}

fn bearer(token: &str) -> TestRequest {
    TestRequest::get()
        .uri("/")
        .insert_header(("Authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn get_authenticated_user_hook_user_is_exempt() {
    let (app, _) = token_app().await;
    app.call(bearer("staff-token")).await.assert_served();
    app.call(bearer("user-token")).await.assert_maintenance();
    app.call(bearer("forged")).await.assert_maintenance();
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn get_authenticated_user_none_falls_back_to_the_session_user() {
    let (app, [user, staff, _]) = token_app().await;
    app.get_with("/", &staff).await.assert_served();
    app.get_with("/", &user).await.assert_maintenance();
    // An unknown token: the hook says None, so the session decides.
    app.call(bearer("forged").cookie(staff.clone()))
        .await
        .assert_served();
}

#[actix_web::test]
async fn get_authenticated_user_hook_wins_over_the_session() {
    let (app, [_, staff, _]) = token_app().await;
    app.call(bearer("user-token").cookie(staff))
        .await
        .assert_maintenance();
}

/// An app without any session middleware: there is no session user.
async fn start_without_sessions(maint: &MaintenanceMode) -> TestApp {
    let hits = Hits::default();
    let service = test::init_service(app::routes(&hits).wrap(maint.middleware())).await;
    TestApp::new(service, TestRequest::to_request, maint, &hits)
}

#[actix_web::test]
async fn without_session_middleware_ignore_staff_does_not_exempt() {
    // Django: "request without user (eg. auth middleware not installed)".
    let maint = app::build(memory().ignore_staff(true));
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start_without_sessions(&maint).await;
    app.get("/").await.assert_maintenance();
}

#[actix_web::test]
async fn without_session_middleware_the_hook_still_applies() {
    let maint = MaintenanceMode::builder(memory().ignore_staff(true))
        .get_authenticated_user(token_user)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start_without_sessions(&maint).await;
    app.call(bearer("staff-token")).await.assert_served();
    app.get("/").await.assert_maintenance();
}
