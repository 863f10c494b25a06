//! The superuser toggle routes (`maint_actix::routes`), driven through a real
//! app: actix-session cookie sessions, the maintenance middleware, users logged
//! in through a test-only route that calls `maint_actix::user::login`.

use actix_web::{App, cookie::Cookie, http::StatusCode, test, web};
use handlebars::Handlebars;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, routes, settings::StateBackendKind,
};
use maint_test_support::app::{self, Hits, Outcome, TestApp, memory};
use maint_test_support::login::{SESSION_COOKIE, csrf_token};

const ON: &str = "/maintenance-mode/on/";
const OFF: &str = "/maintenance-mode/off/";

/// The app: a home page, an admin page, the test login and `toggle` (the
/// toggle routes), behind the middleware, inside cookie sessions.
async fn start_app(maint: &MaintenanceMode, toggle: actix_web::Scope) -> TestApp {
    let hits = Hits::default();
    let app = App::new()
        .app_data(web::Data::new(hits.clone()))
        .route("/", web::get().to(app::page))
        .route("/admin/", web::get().to(app::page))
        .route("/test-login/{kind}", web::get().to(app::test_login))
        .service(toggle)
        .wrap(maint.middleware())
        .wrap(app::sessions());
    let service = test::init_service(app).await;
    TestApp::new(service, test::TestRequest::to_request, maint, &hits)
}

async fn start(maint: &MaintenanceMode) -> TestApp {
    start_app(maint, routes::routes()).await
}

async fn start_with(settings: MaintenanceSettings) -> TestApp {
    start(&app::build(settings)).await
}

/// The session cookie after `out`: the one it sets, else the one sent.
fn updated(session: &Cookie<'static>, out: &Outcome) -> Cookie<'static> {
    out.cookie(SESSION_COOKIE)
        .cloned()
        .unwrap_or_else(|| session.clone())
}

/// GETs the page of `path` as the session's user; returns the page, the
/// session (with the token stored) and the token.
async fn open(
    app: &TestApp,
    path: &str,
    session: &Cookie<'static>,
) -> (Outcome, Cookie<'static>, String) {
    let out = app.get_with(path, session).await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    let token =
        csrf_token(&out.body).unwrap_or_else(|| panic!("no csrf_token input: {}", out.body));
    let session = updated(session, &out);
    (out, session, token)
}

/// POSTs the form `fields` to `path` with the session cookie (if any).
async fn post(
    app: &TestApp,
    path: &str,
    session: Option<&Cookie<'static>>,
    fields: &[(&str, &str)],
) -> Outcome {
    let mut req = test::TestRequest::post().uri(path).set_form(fields);
    if let Some(session) = session {
        req = req.cookie(session.clone());
    }
    app.call(req).await
}

#[track_caller]
fn assert_no_store(out: &Outcome) {
    assert_eq!(out.header("cache-control"), Some("no-store"), "{out:?}");
}

#[track_caller]
fn assert_forbidden(out: &Outcome) {
    assert_eq!(out.status, StatusCode::FORBIDDEN, "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert!(csrf_token(&out.body).is_none(), "{out:?}");
    assert_no_store(out);
}

#[track_caller]
fn assert_see_other(out: &Outcome, location: &str) {
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{out:?}");
    assert_eq!(out.header("location"), Some(location), "{out:?}");
    assert_no_store(out);
}

#[actix_rt::test]
async fn superuser_get_shows_the_state_and_a_form_with_a_token() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (out, _, token) = open(&app, ON, &admin).await;
    assert!(out.content_type().starts_with("text/html"), "{out:?}");
    assert_no_store(&out);
    assert!(out.body.contains(r#"<form method="post">"#), "{}", out.body);
    assert!(
        out.body
            .contains(r#"<input type="hidden" name="csrf_token""#),
        "{}",
        out.body
    );
    assert!(
        out.body.contains("currently <strong>off</strong>"),
        "{}",
        out.body
    );
    assert!(
        out.body.contains("Turn maintenance mode on"),
        "{}",
        out.body
    );
    assert_eq!(token.len(), 64, "256 bits, hex: {token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert!(
        out.cookie(SESSION_COOKIE).is_some(),
        "the token is stored in the session"
    );

    let (out, _, _) = open(&app, OFF, &admin).await;
    assert!(
        out.body.contains("Turn maintenance mode off"),
        "{}",
        out.body
    );
}

#[actix_rt::test]
async fn the_page_shows_a_schedule() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let hour = std::time::Duration::from_secs(3600);
    let start = jiff::Timestamp::now() + hour;
    let end = start + hour;
    app.maint.schedule(Some(start), Some(end)).await.unwrap();
    let (out, _, _) = open(&app, ON, &admin).await;
    assert!(
        out.body.contains("currently <strong>off</strong>"),
        "{}",
        out.body
    );
    assert!(out.body.contains("Scheduled from"), "{}", out.body);
    assert!(out.body.contains(&start.to_string()), "{}", out.body);
    assert!(out.body.contains(&end.to_string()), "{}", out.body);
}

#[actix_rt::test]
async fn superuser_post_with_the_token_sets_the_state_and_redirects_home() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, ON, &admin).await;

    let out = post(&app, ON, Some(&admin), &[("csrf_token", &token)]).await;
    assert_see_other(&out, "/");
    assert!(app.maint.is_on());
    assert_eq!(app.maint.state(), MaintenanceState::On);

    let admin = updated(&admin, &out);
    let out = post(&app, OFF, Some(&admin), &[("csrf_token", &token)]).await;
    assert_see_other(&out, "/");
    assert!(!app.maint.is_on());
}

#[actix_rt::test]
async fn post_without_a_valid_token_is_forbidden_and_changes_nothing() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;

    // No token in the session yet: nothing matches.
    let out = post(&app, ON, Some(&admin), &[("csrf_token", &"0".repeat(64))]).await;
    assert_forbidden(&out);

    let (_, admin, token) = open(&app, ON, &admin).await;
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("csrf_token", "")],
        &[("csrf_token", &wrong)],
        &[("csrf_token", &token[..32])],
        &[("next", "/admin/")],
    ];
    for fields in cases {
        let out = post(&app, ON, Some(&admin), fields).await;
        assert_forbidden(&out);
        assert!(!app.maint.is_on(), "{fields:?}");
    }
    // The right token without its session.
    assert_forbidden(&post(&app, ON, None, &[("csrf_token", &token)]).await);
    // A body that is not a form at all.
    let out = app
        .call(
            test::TestRequest::post()
                .uri(ON)
                .cookie(admin.clone())
                .set_payload("junk"),
        )
        .await;
    assert_forbidden(&out);
    assert_eq!(app.maint.state(), MaintenanceState::Off);
}

#[actix_rt::test]
async fn a_token_only_works_in_its_own_session() {
    let app = start_with(memory()).await;
    let first = app.login("superuser").await;
    let second = app.login("superuser").await;
    let (_, first, first_token) = open(&app, ON, &first).await;
    let (_, second, second_token) = open(&app, ON, &second).await;
    assert_ne!(first_token, second_token, "each session gets its own token");

    // Reused while the session lives.
    let (_, first, again) = open(&app, OFF, &first).await;
    assert_eq!(again, first_token);

    assert_forbidden(&post(&app, ON, Some(&second), &[("csrf_token", &first_token)]).await);
    assert!(!app.maint.is_on());
    assert_see_other(
        &post(&app, ON, Some(&first), &[("csrf_token", &first_token)]).await,
        "/",
    );
    assert!(app.maint.is_on());
}

#[actix_rt::test]
async fn anyone_but_a_superuser_is_forbidden_and_changes_nothing() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (_, _, admin_token) = open(&app, ON, &admin).await;
    for kind in ["anonymous", "user", "staff"] {
        let session = match kind {
            "anonymous" => None,
            kind => Some(app.login(kind).await),
        };
        for path in [ON, OFF] {
            let req = test::TestRequest::get().uri(path);
            let req = match &session {
                Some(cookie) => req.cookie(cookie.clone()),
                None => req,
            };
            assert_forbidden(&app.call(req).await);
            // Even with a token (the superuser's, or one its own session would hold).
            let out = post(
                &app,
                path,
                session.as_ref(),
                &[("csrf_token", &admin_token)],
            )
            .await;
            assert_forbidden(&out);
        }
        assert_eq!(app.maint.state(), MaintenanceState::Off, "{kind}");
    }

    // And with maintenance on, nobody but a superuser switches it off.
    // (Log in first: the login route is itself behind maintenance.)
    let staff = app.login("staff").await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    assert_forbidden(&app.get_with(OFF, &staff).await);
    assert_forbidden(&post(&app, OFF, Some(&staff), &[("csrf_token", &admin_token)]).await);
    assert_forbidden(&app.get(OFF).await);
    assert_forbidden(&post(&app, OFF, None, &[("csrf_token", &admin_token)]).await);
    assert!(app.maint.is_on());
}

#[actix_rt::test]
async fn next_is_followed_only_to_a_path_on_this_site() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, ON, &admin).await;
    let cases = [
        ("/admin/", "/admin/"),
        ("/admin/?tab=users", "/admin/?tab=users"),
        ("//evil.com", "/"),
        ("///evil.com", "/"),
        ("https://evil.com", "/"),
        ("/\\evil", "/"),
        ("\\\\evil.com", "/"),
        ("javascript:x", "/"),
        ("/\t/evil.com", "/"),
        ("/\r\nSet-Cookie: x=y", "/"),
        ("", "/"),
        ("admin/", "/"),
    ];
    let mut on = false;
    for (next, location) in cases {
        on = !on;
        let path = if on { ON } else { OFF };
        let out = post(
            &app,
            path,
            Some(&admin),
            &[("csrf_token", &token), ("next", next)],
        )
        .await;
        assert_see_other(&out, location);
        assert_eq!(app.maint.is_on(), on, "{next:?}");
    }
}

#[actix_rt::test]
async fn the_page_carries_a_safe_next_into_its_form() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (out, _, _) = open(&app, &format!("{ON}?next=/admin/"), &admin).await;
    assert!(
        out.body.contains(r#"name="next" value="/admin/""#),
        "{}",
        out.body
    );
    let (out, _, _) = open(&app, &format!("{ON}?next=//evil.com"), &admin).await;
    assert!(!out.body.contains(r#"name="next""#), "{}", out.body);
}

#[actix_rt::test]
async fn the_off_route_is_served_during_maintenance_for_the_superuser() {
    // Default settings: nobody is exempt, not even superusers.
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    app.maint.set_maintenance_mode(true).await.unwrap();

    app.get_with("/", &admin).await.assert_maintenance();
    let (out, admin, token) = open(&app, OFF, &admin).await;
    assert!(!out.marked, "{out:?}");
    assert!(
        out.body.contains("currently <strong>on</strong>"),
        "{}",
        out.body
    );

    let out = post(&app, OFF, Some(&admin), &[("csrf_token", &token)]).await;
    assert!(!out.marked, "{out:?}");
    assert_see_other(&out, "/");
    assert!(!app.maint.is_on());
    app.get_with("/", &admin).await.assert_served();
}

#[actix_rt::test]
async fn the_on_route_is_not_exempt_during_maintenance() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, ON, &admin).await;
    app.maint.set_maintenance_mode(true).await.unwrap();

    app.get_with(ON, &admin).await.assert_maintenance();
    let out = post(&app, ON, Some(&admin), &[("csrf_token", &token)]).await;
    out.assert_maintenance();
    assert!(csrf_token(&out.body).is_none());
    assert!(app.maint.is_on());
}

#[actix_rt::test]
async fn a_fixed_mode_is_shown_and_refused_with_409() {
    for fixed in [true, false] {
        let app = start_with(memory().mode(fixed)).await;
        // Log in with the state not in the way (mode=true would answer the login with maintenance).
        let admin = {
            let free = start_with(memory()).await;
            free.login("superuser").await
        };
        let path = if fixed { OFF } else { ON };
        let out = app.get_with(path, &admin).await;
        assert_eq!(out.status, StatusCode::OK, "{out:?}");
        assert_no_store(&out);
        assert!(
            out.body.contains("fixed by the <code>mode</code> setting"),
            "{}",
            out.body
        );
        assert!(!out.body.contains("<form"), "{}", out.body);
        assert!(csrf_token(&out.body).is_none(), "{}", out.body);

        for fields in [&[][..], &[("csrf_token", "0".repeat(64).as_str())][..]] {
            let out = post(&app, path, Some(&admin), fields).await;
            assert_eq!(out.status, StatusCode::CONFLICT, "{out:?}");
            assert!(out.body.contains("`mode` setting"), "{}", out.body);
            assert_no_store(&out);
            assert_eq!(app.maint.is_on(), fixed);
        }
    }
}

#[actix_rt::test]
async fn a_failing_backend_write_answers_503_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("missing-dir").join("state.txt");
    let app = start_with(
        MaintenanceSettings::default()
            .state_backend(StateBackendKind::LocalFile)
            .state_file_path(state_file.clone()),
    )
    .await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, ON, &admin).await;
    let out = post(&app, ON, Some(&admin), &[("csrf_token", &token)]).await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE, "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert!(out.content_type().starts_with("text/plain"), "{out:?}");
    assert!(
        out.body.contains("missing-dir"),
        "the error names the file: {}",
        out.body
    );
    assert_no_store(&out);
    assert!(!app.maint.is_on());
}

#[actix_rt::test]
async fn the_app_can_replace_the_page() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(
            routes::TOGGLE_TEMPLATE_NAME,
            r#"<p>Ours: {{action}} while {{state}}</p><form method="post"><input type="hidden" name="csrf_token" value="{{csrf_token}}"></form>"#,
        )
        .unwrap();
    let maint = MaintenanceMode::builder(memory())
        .templates(templates)
        .build()
        .unwrap();
    let app = start(&maint).await;
    let admin = app.login("superuser").await;
    let (out, admin, token) = open(&app, ON, &admin).await;
    assert!(
        out.body.starts_with("<p>Ours: on while off</p>"),
        "{}",
        out.body
    );
    assert_see_other(
        &post(&app, ON, Some(&admin), &[("csrf_token", &token)]).await,
        "/",
    );
    assert!(maint.is_on());
}

#[actix_rt::test]
async fn routes_at_mounts_under_another_prefix() {
    let maint = app::build(memory());
    let app = start_app(&maint, routes::routes_at("/ops/maint/")).await;
    let admin = app.login("superuser").await;
    assert_eq!(app.get_with(ON, &admin).await.status, StatusCode::NOT_FOUND);
    let (_, admin, token) = open(&app, "/ops/maint/on/", &admin).await;
    assert_see_other(
        &post(
            &app,
            "/ops/maint/on/",
            Some(&admin),
            &[("csrf_token", &token)],
        )
        .await,
        "/",
    );
    assert!(maint.is_on());

    // Its off route keeps the name the middleware serves during maintenance.
    let (out, admin, _) = open(&app, "/ops/maint/off/", &admin).await;
    assert!(!out.marked);
    app.get_with("/ops/maint/on/", &admin)
        .await
        .assert_maintenance();
    assert_see_other(
        &post(
            &app,
            "/ops/maint/off/",
            Some(&admin),
            &[("csrf_token", &token)],
        )
        .await,
        "/",
    );
    assert!(!maint.is_on());
}

#[actix_rt::test]
async fn the_routes_work_without_the_middleware_given_the_handle_as_app_data() {
    let maint = app::build(memory());
    let hits = Hits::default();
    let app = App::new()
        .app_data(maint.clone())
        .app_data(web::Data::new(hits.clone()))
        .route("/test-login/{kind}", web::get().to(app::test_login))
        .service(routes::routes())
        .wrap(app::sessions());
    let app = TestApp::new(
        test::init_service(app).await,
        test::TestRequest::to_request,
        &maint,
        &hits,
    );
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, ON, &admin).await;
    assert_see_other(
        &post(&app, ON, Some(&admin), &[("csrf_token", &token)]).await,
        "/",
    );
    assert!(maint.is_on());
}

#[actix_rt::test]
async fn other_methods_are_not_allowed() {
    let app = start_with(memory()).await;
    let admin = app.login("superuser").await;
    let out = app
        .call(test::TestRequest::put().uri(ON).cookie(admin))
        .await;
    assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED, "{out:?}");
    assert!(!app.maint.is_on());
}

#[actix_rt::test]
async fn routes_at_the_root() {
    let maint = app::build(memory());
    let app = start_app(&maint, routes::routes_at("/")).await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, "/on/", &admin).await;
    assert_see_other(
        &post(&app, "/on/", Some(&admin), &[("csrf_token", &token)]).await,
        "/",
    );
    assert!(maint.is_on());
    app.get_with("/", &admin).await.assert_maintenance();
    let (_, admin, _) = open(&app, "/off/", &admin).await;
    assert_see_other(
        &post(&app, "/off/", Some(&admin), &[("csrf_token", &token)]).await,
        "/",
    );
    assert!(!maint.is_on());
}
