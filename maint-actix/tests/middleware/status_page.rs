//! Issue 12: the superuser status page `GET, POST /maintenance-mode/` and the
//! public status JSON `GET /maintenance-mode/status`, through a real app
//! (cookie sessions, the maintenance middleware, the library's routes, users
//! logged in through the test-only route).
//!
//! The app answers every other path and method itself (`METHOD path`, counted
//! in [`Hits`]), so a write to `/` shows whether read-only mode (or a bypass
//! cookie) lets it through.

use actix_web::{App, HttpRequest, HttpResponse, cookie::Cookie, http::StatusCode, test, web};
use handlebars::Handlebars;
use jiff::{SignedDuration, Timestamp};
use maint_actix::{
    MaintenanceMode, MaintenanceState,
    bypass::{BypassSecret, COOKIE_NAME},
    change::{Change, Via},
    routes,
    state::Schedule,
};
use maint_test_support::{
    app::{self, Hits, Outcome, TestApp, memory},
    login::{SESSION_COOKIE, csrf_token},
};
use serde_json::{Value, json};

const PAGE: &str = "/maintenance-mode/";
const STATUS: &str = "/maintenance-mode/status";
const BYPASS: &str = "/maintenance-mode/bypass/";
/// Far in the future, so windows stay valid.
const END: &str = "2999-01-01T03:00:00Z";
/// A bypass token (20 URL-safe characters).
const TOKEN: &str = "let-me-in-0123456789";

/// Every path and method the routes do not answer: `METHOD path`.
async fn anything(hits: web::Data<Hits>, req: HttpRequest) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body(format!("{} {}", req.method(), req.path()))
}

async fn start(maint: &MaintenanceMode) -> TestApp {
    let hits = Hits::default();
    let app = App::new()
        .app_data(web::Data::new(hits.clone()))
        .route("/test-login/{kind}", web::get().to(app::test_login))
        .service(routes::routes())
        .default_service(web::to(anything))
        .wrap(maint.middleware())
        .wrap(app::sessions());
    let service = test::init_service(app).await;
    TestApp::new(service, test::TestRequest::to_request, maint, &hits)
}

async fn start_memory() -> TestApp {
    start(&app::build(memory())).await
}

/// The session cookie after `out`: the one it sets, else the one sent.
fn updated(session: &Cookie<'static>, out: &Outcome) -> Cookie<'static> {
    out.cookie(SESSION_COOKIE)
        .cloned()
        .unwrap_or_else(|| session.clone())
}

/// GETs the status page as the session's user: the page (checked to be
/// 200, HTML, never cached, not the maintenance response), the session with
/// the token (and without a flash shown) and the token.
async fn open(app: &TestApp, session: &Cookie<'static>) -> (Outcome, Cookie<'static>, String) {
    let out = app.get_with(PAGE, session).await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert!(out.content_type().starts_with("text/html"), "{out:?}");
    assert_no_store(&out);
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

/// POSTs `fields` with the token to the page; checks the 303 back to it.
async fn switch(
    app: &TestApp,
    session: &Cookie<'static>,
    token: &str,
    fields: &[(&str, &str)],
) -> Cookie<'static> {
    let mut all = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    let out = post(app, PAGE, Some(session), &all).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{fields:?}: {out:?}");
    assert_eq!(out.header("location"), Some(PAGE), "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert_no_store(&out);
    updated(session, &out)
}

#[track_caller]
fn assert_no_store(out: &Outcome) {
    assert_eq!(out.header("cache-control"), Some("no-store"), "{out:?}");
}

#[track_caller]
fn assert_forbidden(out: &Outcome) {
    assert_eq!(out.status, StatusCode::FORBIDDEN, "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert!(!out.ran, "{out:?}");
    assert!(csrf_token(&out.body).is_none(), "{out:?}");
    assert!(!out.body.contains("Last change"), "{out:?}");
    assert_no_store(out);
}

/// `<dt>{term}</dt><dd>{value}</dd>` of the default page.
#[track_caller]
fn assert_shows(page: &str, term: &str, value: &str) {
    let row = format!("<dt>{term}</dt><dd>{value}</dd>");
    assert!(page.contains(&row), "{row} in\n{page}");
}

/// The bypass link on the page, if one is shown.
fn shown_link(page: &str) -> Option<String> {
    let start = page.find(&format!(r#"href="{BYPASS}"#))? + r#"href=""#.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn in_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second() + seconds).unwrap()
}

fn scheduled(schedule: Schedule) -> MaintenanceState {
    MaintenanceState::Scheduled(schedule)
}

// --- the page --------------------------------------------------------------------

#[actix_rt::test]
async fn a_superuser_sees_the_state_and_the_form_to_switch_on() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (out, _, token) = open(&app, &admin).await;
    let page = &out.body;
    assert_shows(page, "Maintenance", r#"<span class="state off">off</span>"#);
    assert_shows(page, "Reason", "–");
    assert_shows(page, "Window", "–");
    assert_shows(page, "Bypass link", "none");
    assert_shows(page, "Last change", "unknown");
    assert!(page.contains(r#"<form method="post">"#), "{page}");
    assert!(
        page.contains(&format!(r#"name="csrf_token" value="{token}""#)),
        "{page}"
    );
    assert_eq!(token.len(), 64, "{token}");
    for field in [
        r#"name="state" value="on""#,
        r#"name="reason""#,
        r#"name="for""#,
        r#"name="end""#,
        r#"name="read_only""#,
        r#"name="with_secret""#,
    ] {
        assert!(page.contains(field), "{field} in {page}");
    }
    assert!(
        !page.contains(r#"name="state" value="off""#),
        "nothing to switch off: {page}"
    );
    assert!(page.contains("Signed in as superuser"), "{page}");
}

#[actix_rt::test]
async fn the_page_shows_every_field_escaped() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let reason = "<script>alert(1)</script> & \"upgrade\"";
    let end = in_seconds(3600);
    let state = scheduled(
        Schedule::new(None, Some(end))
            .with_reason(reason)
            .with_read_only(true)
            .with_bypass(BypassSecret::new(TOKEN).unwrap()),
    );
    let when = at("2030-01-01T02:00:00Z");
    app.maint
        .set_with_change(state, Change::new("eve <admin>", Via::Api).at(when))
        .await
        .unwrap();
    let (out, _, _) = open(&app, &admin).await;
    let page = &out.body;
    assert_shows(
        page,
        "Maintenance",
        r#"<span class="state on">on</span> · Read-only mode"#,
    );
    assert_shows(
        page,
        "Reason",
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;upgrade&quot;",
    );
    assert!(!page.contains("<script>"), "{page}");
    assert_shows(
        page,
        "Window",
        &format!(r#"until <time datetime="{end}">{end}</time>"#),
    );
    assert_shows(page, "Bypass link", "set");
    assert_shows(
        page,
        "Last change",
        &format!(r#"<time datetime="{when}">{when}</time> by eve &lt;admin&gt; via api"#),
    );
    assert!(!page.contains(TOKEN), "{page}");
    assert!(
        page.contains(r#"name="state" value="off""#),
        "the form to switch off: {page}"
    );

    // A window still to open: off now, from and until shown, and switchable off.
    let start = in_seconds(3600);
    let end = in_seconds(7200);
    app.maint
        .set(scheduled(Schedule::new(Some(start), Some(end))))
        .await
        .unwrap();
    let (out, _, _) = open(&app, &admin).await;
    let page = &out.body;
    assert_shows(page, "Maintenance", r#"<span class="state off">off</span>"#);
    assert_shows(
        page,
        "Window",
        &format!(
            r#"from <time datetime="{start}">{start}</time> until <time datetime="{end}">{end}</time>"#
        ),
    );
    assert_shows(page, "Bypass link", "none");
    assert_shows(page, "Reason", "–");
    assert!(page.contains(" by api via api"), "{page}");
    assert!(page.contains(r#"name="state" value="off""#), "{page}");
}

/// The `<input ...>` tag of the page whose `name` is `name`, if any.
fn input<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(r#"name="{name}""#);
    page.split('<')
        .filter(|tag| tag.starts_with("input"))
        .map(|tag| &tag[..tag.find('>').unwrap_or(tag.len())])
        .find(|tag| tag.contains(&needle))
}

/// Whether the checkbox `name` is on the page and ticked.
#[track_caller]
fn checked(page: &str, name: &str) -> bool {
    let tag = input(page, name).unwrap_or_else(|| panic!("no {name} input in {page}"));
    tag.split_whitespace().any(|word| word == "checked")
}

/// The `value` of the input `name`.
#[track_caller]
fn value_of(page: &str, name: &str) -> String {
    let tag = input(page, name).unwrap_or_else(|| panic!("no {name} input in {page}"));
    maint_test_support::login::attribute(tag, "value")
        .unwrap_or_else(|| panic!("no value in {tag}"))
}

/// With maintenance stored on, the on form is the form to change its
/// settings: headed so, saying that saving replaces them, and prefilled
/// with the stored reason (escaped), end and read-only mode, with a
/// `keep_secret` checkbox, ticked, when a bypass secret is set. Off, it is
/// the empty form to switch on. The page links back to the site.
#[actix_rt::test]
async fn the_on_form_is_prefilled_with_the_stored_settings_when_on() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;

    // Off: an empty form to switch on.
    let (out, admin, _) = open(&app, &admin).await;
    let page = &out.body;
    assert!(
        page.contains(r#"<h2 id="switch-on">Switch maintenance on</h2>"#),
        "{page}"
    );
    assert!(!page.contains("Change maintenance settings"), "{page}");
    assert!(!page.contains("Saving replaces"), "{page}");
    assert_eq!(value_of(page, "reason"), "");
    assert_eq!(value_of(page, "end"), "");
    assert!(!checked(page, "read_only"), "{page}");
    assert!(!checked(page, "with_secret"), "{page}");
    assert!(
        input(page, "keep_secret").is_none(),
        "no secret to keep: {page}"
    );
    assert!(
        page.contains(r#"<a href="/">← Back to the site</a>"#),
        "{page}"
    );

    // On, with every setting.
    let reason = "Database <upgrade> & \"more\"";
    app.maint
        .set(scheduled(
            Schedule::new(None, Some(at(END)))
                .with_reason(reason)
                .with_read_only(true)
                .with_bypass(BypassSecret::new(TOKEN).unwrap()),
        ))
        .await
        .unwrap();
    let (out, admin, _) = open(&app, &admin).await;
    let page = &out.body;
    assert!(
        page.contains(r#"<h2 id="switch-on">Change maintenance settings</h2>"#),
        "{page}"
    );
    assert!(
        page.contains("Saving replaces the settings above with these."),
        "{page}"
    );
    assert!(page.contains("Save maintenance settings"), "{page}");
    assert_eq!(
        value_of(page, "reason"),
        "Database &lt;upgrade&gt; &amp; &quot;more&quot;",
        "escaped in the attribute"
    );
    assert!(!page.contains("<upgrade>"), "{page}");
    assert_eq!(value_of(page, "end"), END);
    let for_input = input(page, "for").expect("a for input");
    assert!(
        !for_input.contains(" value="),
        "nothing to prefill: {for_input}"
    );
    assert!(checked(page, "read_only"), "{page}");
    assert!(checked(page, "keep_secret"), "ticked by default: {page}");
    assert!(!checked(page, "with_secret"), "{page}");
    assert!(!page.contains(TOKEN), "{page}");

    // On, without end, read-only mode or secret: nothing of those prefilled.
    app.maint.set_maintenance_mode(true).await.unwrap();
    let (out, _, _) = open(&app, &admin).await;
    let page = &out.body;
    assert!(page.contains("Change maintenance settings"), "{page}");
    assert_shows(page, "Window", "until switched off");
    assert_eq!(value_of(page, "reason"), "");
    assert_eq!(value_of(page, "end"), "");
    assert!(!checked(page, "read_only"), "{page}");
    assert!(
        input(page, "keep_secret").is_none(),
        "no secret to keep: {page}"
    );
}

/// Times on the page are whole seconds: the window's end (also in the
/// form, where an operator reads and types it back) and the last change.
#[actix_rt::test]
async fn the_page_shows_times_to_the_second() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let end = at("2999-01-01T03:00:00.25Z");
    let when = at("2030-01-01T02:00:00.123456789Z");
    app.maint
        .set_with_change(
            scheduled(Schedule::new(None, Some(end))),
            Change::new("ada", Via::Api).at(when),
        )
        .await
        .unwrap();
    let (out, _, _) = open(&app, &admin).await;
    let page = &out.body;
    assert_shows(
        page,
        "Window",
        r#"until <time datetime="2999-01-01T03:00:00Z">2999-01-01T03:00:00Z</time>"#,
    );
    assert_shows(
        page,
        "Last change",
        r#"<time datetime="2030-01-01T02:00:00Z">2030-01-01T02:00:00Z</time> by ada via api"#,
    );
    assert_eq!(value_of(page, "end"), "2999-01-01T03:00:00Z");
    assert!(!page.contains("03:00:00.25"), "{page}");
    assert!(!page.contains("02:00:00.123"), "{page}");
}

/// A bypass cookie of the stored secret (opened through its link).
async fn bypass_cookie(app: &TestApp) -> Cookie<'static> {
    let opened = app.get(&format!("{BYPASS}{TOKEN}")).await;
    assert_eq!(opened.status, StatusCode::FOUND, "{opened:?}");
    opened
        .cookie(COOKIE_NAME)
        .cloned()
        .unwrap_or_else(|| panic!("no bypass cookie: {opened:?}"))
}

/// Whether a write to `/` with `cookie` is let through (else it gets the
/// maintenance response).
async fn write_served(app: &TestApp, cookie: &Cookie<'static>) -> bool {
    let out = app
        .call(test::TestRequest::post().uri("/").cookie(cookie.clone()))
        .await;
    if out.status == StatusCode::OK {
        assert!(out.ran && !out.marked, "{out:?}");
        true
    } else {
        out.assert_maintenance();
        false
    }
}

/// Saving the settings with `keep_secret` keeps the bypass secret, so a
/// browser's bypass cookie keeps working; read-only mode stays only when
/// its checkbox is posted (an unticked box is not posted). Without
/// `keep_secret` the secret is dropped and the cookie stops working;
/// `with_secret` makes a new one whatever `keep_secret` says.
#[actix_rt::test]
async fn keep_secret_keeps_the_bypass_and_read_only_only_when_posted() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;
    app.maint
        .set(scheduled(
            Schedule::new(None, Some(at(END)))
                .with_reason("first")
                .with_read_only(true)
                .with_bypass(BypassSecret::new(TOKEN).unwrap()),
        ))
        .await
        .unwrap();
    let cookie = bypass_cookie(&app).await;
    assert!(
        write_served(&app, &cookie).await,
        "the cookie lets a write through"
    );
    app.call(test::TestRequest::post().uri("/"))
        .await
        .assert_maintenance();

    // A new reason, the rest as prefilled: read-only and the secret kept.
    let admin = switch(
        &app,
        &admin,
        &token,
        &[
            ("state", "on"),
            ("reason", "second"),
            ("end", END),
            ("read_only", "on"),
            ("keep_secret", "on"),
        ],
    )
    .await;
    let state = app.maint.state();
    assert_eq!(state.reason(), Some("second"), "{state:?}");
    assert_eq!(state.end(), Some(at(END)), "{state:?}");
    assert!(app.maint.is_read_only(), "{state:?}");
    let secret = state.bypass().expect("the secret is kept");
    assert!(secret.matches(TOKEN), "the same secret");
    assert!(write_served(&app, &cookie).await, "the cookie still works");
    let change = app.maint.last_change().expect("a change");
    assert_eq!((change.by.as_str(), change.via), ("superuser", Via::Route));
    let (out, admin, _) = open(&app, &admin).await;
    assert!(shown_link(&out.body).is_none(), "no new link: {}", out.body);
    assert_shows(&out.body, "Bypass link", "set");
    assert!(checked(&out.body, "keep_secret"), "{}", out.body);

    // Read-only unticked (not posted): full maintenance, the secret kept.
    let admin = switch(
        &app,
        &admin,
        &token,
        &[("state", "on"), ("reason", "third"), ("keep_secret", "on")],
    )
    .await;
    let state = app.maint.state();
    assert!(app.maint.is_on() && !app.maint.is_read_only(), "{state:?}");
    assert_eq!(state.end(), None, "the end was not posted: {state:?}");
    assert!(state.bypass().is_some_and(|secret| secret.matches(TOKEN)));
    app.get("/").await.assert_maintenance();
    let read = app
        .call(test::TestRequest::get().uri("/").cookie(cookie.clone()))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert!(read.ran, "{read:?}");
    assert!(write_served(&app, &cookie).await, "the cookie still works");

    // `keep_secret` with `with_secret`: a new secret, the old cookie is done.
    let admin = switch(
        &app,
        &admin,
        &token,
        &[
            ("state", "on"),
            ("reason", "fourth"),
            ("keep_secret", "on"),
            ("with_secret", "on"),
        ],
    )
    .await;
    let state = app.maint.state();
    let new_secret = state.bypass().expect("a new secret");
    assert!(!new_secret.matches(TOKEN), "a new secret");
    assert!(!write_served(&app, &cookie).await, "the old cookie stopped");
    let (out, admin, _) = open(&app, &admin).await;
    let link = shown_link(&out.body).unwrap_or_else(|| panic!("no link: {}", out.body));
    let new_token = link.strip_prefix(BYPASS).unwrap().to_owned();
    assert!(new_secret.matches(&new_token));
    let opened = app.get(&link).await;
    let new_cookie = opened
        .cookie(COOKIE_NAME)
        .cloned()
        .unwrap_or_else(|| panic!("no bypass cookie: {opened:?}"));
    assert!(write_served(&app, &new_cookie).await);

    // Without `keep_secret`: the secret is dropped, its cookie stops working.
    let admin = switch(
        &app,
        &admin,
        &token,
        &[("state", "on"), ("reason", "fifth")],
    )
    .await;
    let state = app.maint.state();
    assert_eq!(state.reason(), Some("fifth"), "{state:?}");
    assert_eq!(state.bypass(), None, "{state:?}");
    assert!(!write_served(&app, &new_cookie).await, "the cookie stopped");
    let opened = app.get(&link).await;
    assert!(opened.cookie(COOKIE_NAME).is_none(), "{opened:?}");
    let (out, admin, _) = open(&app, &admin).await;
    assert_shows(&out.body, "Bypass link", "none");
    assert!(input(&out.body, "keep_secret").is_none(), "{}", out.body);

    // `keep_secret` with no secret set keeps none.
    let _ = switch(
        &app,
        &admin,
        &token,
        &[("state", "on"), ("reason", "sixth"), ("keep_secret", "on")],
    )
    .await;
    assert_eq!(app.maint.state().bypass(), None);
    assert_eq!(app.maint.state().reason(), Some("sixth"));
}

#[actix_rt::test]
async fn anyone_but_a_superuser_gets_403_and_changes_nothing() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, admin_token) = open(&app, &admin).await;
    let mut sessions = vec![("anonymous", None)];
    for kind in ["user", "staff"] {
        sessions.push((kind, Some(app.login(kind).await)));
    }
    let states = [
        MaintenanceState::Off,
        MaintenanceState::On,
        scheduled(Schedule::new(None, Some(in_seconds(3600))).with_read_only(true)),
    ];
    for state in states {
        app.maint.set(state.clone()).await.unwrap();
        let before = app.maint.last_change();
        for (kind, session) in &sessions {
            let get = test::TestRequest::get().uri(PAGE);
            let get = match session {
                Some(cookie) => get.cookie(cookie.clone()),
                None => get,
            };
            assert_forbidden(&app.call(get).await);
            for fields in [
                &[("csrf_token", admin_token.as_str()), ("state", "on")][..],
                &[("csrf_token", admin_token.as_str()), ("state", "off")][..],
                &[("state", "off")][..],
            ] {
                assert_forbidden(&post(&app, PAGE, session.as_ref(), fields).await);
            }
            // Even with a token of its own session.
            if let Some(cookie) = session {
                let out = post(&app, PAGE, Some(cookie), &[("state", "off")]).await;
                assert_forbidden(&out);
            }
            assert_eq!(app.maint.state(), state, "{kind}");
            assert_eq!(app.maint.last_change(), before, "{kind}");
        }
    }
    // The superuser is still let in, with the same session token.
    let (_, _, token) = open(&app, &admin).await;
    assert_eq!(token, admin_token);
}

#[actix_rt::test]
async fn reachable_during_maintenance_and_in_read_only_mode() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;

    // Full maintenance: the rest of the site is the maintenance response.
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.get_with("/", &admin).await.assert_maintenance();
    let (out, admin, again) = open(&app, &admin).await;
    assert_eq!(again, token);
    assert_shows(
        &out.body,
        "Maintenance",
        r#"<span class="state on">on</span>"#,
    );
    let admin = switch(&app, &admin, &token, &[("state", "off")]).await;
    assert!(!app.maint.is_on());

    // Read-only mode: a write elsewhere is refused, the page's POST is not.
    let read_only = scheduled(Schedule::default().with_read_only(true));
    app.maint.set(read_only).await.unwrap();
    let write = app
        .call(test::TestRequest::post().uri("/").cookie(admin.clone()))
        .await;
    write.assert_maintenance();
    let (out, admin, _) = open(&app, &admin).await;
    assert_shows(
        &out.body,
        "Maintenance",
        r#"<span class="state on">on</span> · Read-only mode"#,
    );
    let _ = switch(
        &app,
        &admin,
        &token,
        &[
            ("state", "on"),
            ("reason", "still read-only"),
            ("read_only", "on"),
        ],
    )
    .await;
    assert!(app.maint.is_read_only());
    assert_eq!(app.maint.state().reason(), Some("still read-only"));
    // Other methods on the page get the maintenance response, not a 405.
    let put = app
        .call(test::TestRequest::put().uri(PAGE).cookie(admin.clone()))
        .await;
    put.assert_maintenance();
}

#[actix_rt::test]
async fn switching_on_with_every_field_stores_them_and_shows_the_link_once() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;
    let before = Timestamp::now();
    let admin = switch(
        &app,
        &admin,
        &token,
        &[
            ("state", "on"),
            ("reason", "Database <upgrade>"),
            ("for", "2h"),
            ("read_only", "on"),
            ("with_secret", "on"),
        ],
    )
    .await;
    let after = Timestamp::now();
    let state = app.maint.state();
    assert!(app.maint.is_on(), "{state:?}");
    assert!(app.maint.is_read_only(), "{state:?}");
    assert_eq!(state.reason(), Some("Database <upgrade>"));
    let end = state.end().expect("an end");
    let two_hours = SignedDuration::from_hours(2);
    let slack = SignedDuration::from_secs(1);
    assert!(
        before + two_hours - slack <= end && end <= after + two_hours + slack,
        "{end}"
    );
    let secret = state.bypass().expect("a bypass secret").clone();
    let change = app.maint.last_change().expect("a change");
    assert_eq!((change.by.as_str(), change.via), ("superuser", Via::Route));

    // The link, once.
    let (out, admin, _) = open(&app, &admin).await;
    let link = shown_link(&out.body).unwrap_or_else(|| panic!("no link: {}", out.body));
    let token_shown = link.strip_prefix(BYPASS).unwrap();
    assert_eq!(token_shown.len(), 32, "{link}");
    assert!(secret.matches(token_shown), "the link opens this secret");
    assert_shows(&out.body, "Bypass link", "set");
    assert_shows(&out.body, "Reason", "Database &lt;upgrade&gt;");
    assert_shows(
        &out.body,
        "Maintenance",
        r#"<span class="state on">on</span> · Read-only mode"#,
    );
    assert!(out.body.contains("by superuser via route"), "{}", out.body);
    let (out, _, _) = open(&app, &admin).await;
    assert!(!out.body.contains(BYPASS), "shown once: {}", out.body);
    assert!(!out.body.contains(token_shown), "{}", out.body);

    // It works: the link gives a cookie, the cookie lets a write through.
    let anonymous_write = app.call(test::TestRequest::post().uri("/")).await;
    anonymous_write.assert_maintenance();
    let opened = app.get(&link).await;
    assert_eq!(opened.status, StatusCode::FOUND, "{opened:?}");
    assert_eq!(opened.header("location"), Some("/"), "{opened:?}");
    let cookie = opened
        .cookie(COOKIE_NAME)
        .cloned()
        .unwrap_or_else(|| panic!("no bypass cookie: {opened:?}"));
    let write = app
        .call(test::TestRequest::post().uri("/").cookie(cookie))
        .await;
    assert_eq!(write.status, StatusCode::OK, "{write:?}");
    assert!(write.ran && !write.marked, "{write:?}");
}

#[actix_rt::test]
async fn switching_on_with_an_end_and_without_a_secret_shows_no_link() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;
    let admin = switch(&app, &admin, &token, &[("state", "on"), ("end", END)]).await;
    let state = app.maint.state();
    assert_eq!(state.end(), Some(at(END)), "{state:?}");
    assert!(!app.maint.is_read_only());
    assert_eq!(state.bypass(), None);
    assert_eq!(state.reason(), None);
    let (out, _, _) = open(&app, &admin).await;
    assert!(!out.body.contains(BYPASS), "{}", out.body);
    assert!(!out.body.contains("Not switched"), "{}", out.body);
    assert_shows(
        &out.body,
        "Window",
        &format!(r#"until <time datetime="{END}">{END}</time>"#),
    );
}

/// Without `state`, any field of the on form means on; with none of them
/// (or another `state`), nothing changes and the page says why, once.
#[actix_rt::test]
async fn without_state_an_on_field_means_on() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;
    let admin = switch(&app, &admin, &token, &[("reason", "implied")]).await;
    assert!(app.maint.is_on());
    assert_eq!(app.maint.state().reason(), Some("implied"));
    let admin = switch(&app, &admin, &token, &[("state", "off")]).await;
    let admin = switch(&app, &admin, &token, &[("read_only", "on")]).await;
    assert!(app.maint.is_read_only());
    let admin = switch(&app, &admin, &token, &[("state", "OFF")]).await;
    assert!(!app.maint.is_on());
    let change = app.maint.last_change();

    for fields in [&[][..], &[("state", "maybe")][..], &[("reason", "  ")][..]] {
        let admin = switch(&app, &admin, &token, fields).await;
        assert_eq!(app.maint.state(), MaintenanceState::Off, "{fields:?}");
        assert_eq!(app.maint.last_change(), change, "{fields:?}");
        let (out, admin, _) = open(&app, &admin).await;
        assert!(
            out.body.contains("Not switched: "),
            "{fields:?}: {}",
            out.body
        );
        let (out, _, _) = open(&app, &admin).await;
        assert!(!out.body.contains("Not switched"), "once: {}", out.body);
    }
}

#[actix_rt::test]
async fn switching_off_records_the_superuser() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, admin, token) = open(&app, &admin).await;
    app.maint
        .set(scheduled(
            Schedule::new(None, Some(in_seconds(3600)))
                .with_reason("x")
                .with_bypass(BypassSecret::new(TOKEN).unwrap()),
        ))
        .await
        .unwrap();
    let admin = switch(&app, &admin, &token, &[("state", "off")]).await;
    assert_eq!(app.maint.state(), MaintenanceState::Off);
    let change = app.maint.last_change().expect("a change");
    assert_eq!((change.by.as_str(), change.via), ("superuser", Via::Route));
    let (out, _, _) = open(&app, &admin).await;
    assert_shows(
        &out.body,
        "Maintenance",
        r#"<span class="state off">off</span>"#,
    );
    assert_shows(&out.body, "Bypass link", "none");
    assert!(out.body.contains("by superuser via route"), "{}", out.body);
    app.get("/").await.assert_served();
}

#[actix_rt::test]
async fn a_post_without_a_valid_token_is_403_and_changes_nothing() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let other = app.login("superuser").await;
    // No token in the session yet: nothing matches.
    let out = post(
        &app,
        PAGE,
        Some(&admin),
        &[("csrf_token", &"0".repeat(64)), ("state", "on")],
    )
    .await;
    assert_forbidden(&out);

    let (_, admin, token) = open(&app, &admin).await;
    let (_, _, other_token) = open(&app, &other).await;
    assert_ne!(token, other_token);
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    for on in [true, false] {
        app.maint.set_maintenance_mode(on).await.unwrap();
        let before = app.maint.last_change();
        let state = if on { "off" } else { "on" };
        let cases: [&[(&str, &str)]; 5] = [
            &[("state", state)],
            &[("csrf_token", ""), ("state", state)],
            &[("csrf_token", &wrong), ("state", state)],
            &[("csrf_token", &token[..32]), ("state", state)],
            &[("csrf_token", &other_token), ("state", state)],
        ];
        for fields in cases {
            assert_forbidden(&post(&app, PAGE, Some(&admin), fields).await);
            assert_eq!(app.maint.is_on(), on, "{fields:?}");
            assert_eq!(app.maint.last_change(), before, "{fields:?}");
        }
        // The right token without its session.
        assert_forbidden(
            &post(
                &app,
                PAGE,
                None,
                &[("csrf_token", &token), ("state", state)],
            )
            .await,
        );
        assert_eq!(app.maint.is_on(), on);
    }
}

#[actix_rt::test]
async fn a_refused_switch_changes_nothing_and_shows_why_once() {
    let app = start_memory().await;
    let admin = app.login("superuser").await;
    let (_, mut admin, token) = open(&app, &admin).await;
    app.maint
        .set_with_change(MaintenanceState::On, Change::new("grace", Via::Api))
        .await
        .unwrap();
    let before = app.maint.last_change();
    for (fields, why) in [
        (
            &[("state", "on"), ("end", END), ("for", "1h")][..],
            "give an end or a duration, not both",
        ),
        (&[("state", "on"), ("for", "soon")][..], "soon"),
        (&[("state", "on"), ("end", "tomorrow")][..], "tomorrow"),
        (
            &[("state", "on"), ("end", "2000-01-01T00:00:00Z")][..],
            "future",
        ),
    ] {
        admin = switch(&app, &admin, &token, fields).await;
        assert_eq!(app.maint.state(), MaintenanceState::On, "{fields:?}");
        assert_eq!(app.maint.last_change(), before, "{fields:?}");
        let (out, next, _) = open(&app, &admin).await;
        let notice = out
            .body
            .split("Not switched: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{fields:?}: no error shown: {}", out.body));
        assert!(
            notice[..notice.find("</p>").unwrap()].contains(why),
            "{fields:?}: {why:?} in {notice}"
        );
        assert!(!out.body.contains(BYPASS), "{}", out.body);
        let (out, next, _) = open(&app, &next).await;
        assert!(
            !out.body.contains("Not switched"),
            "shown once: {}",
            out.body
        );
        admin = next;
    }
}

#[actix_rt::test]
async fn an_app_template_replaces_the_default_page() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(
            routes::STATUS_TEMPLATE_NAME,
            r#"<p>Ours: {{state}} by {{change.by}} via {{change.via}}{{#if flash.bypass_link}} link {{flash.bypass_link}}{{/if}}</p><form method="post"><input type="hidden" name="csrf_token" value="{{csrf_token}}"></form>"#,
        )
        .unwrap();
    let maint = MaintenanceMode::builder(memory())
        .templates(templates)
        .build()
        .unwrap();
    let app = start(&maint).await;
    let admin = app.login("superuser").await;
    let (out, admin, token) = open(&app, &admin).await;
    assert!(
        out.body.starts_with("<p>Ours: off by  via </p>"),
        "{}",
        out.body
    );
    let admin = switch(
        &app,
        &admin,
        &token,
        &[("state", "on"), ("with_secret", "on")],
    )
    .await;
    let (out, _, _) = open(&app, &admin).await;
    assert!(
        out.body
            .starts_with("<p>Ours: on by superuser via route link /maintenance-mode/bypass/"),
        "{}",
        out.body
    );
    assert!(
        !out.body.contains("Last change"),
        "the default page: {}",
        out.body
    );
}

// --- the public JSON -------------------------------------------------------------

/// `GET /maintenance-mode/status` as `session` (anonymous when `None`):
/// checked to be served (not the maintenance response), JSON, never cached,
/// with exactly the four public keys.
async fn public_status(app: &TestApp, session: Option<&Cookie<'static>>) -> Value {
    let mut req = test::TestRequest::get().uri(STATUS);
    if let Some(session) = session {
        req = req.cookie(session.clone());
    }
    let out = app.call(req).await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    assert!(!out.marked, "{out:?}");
    assert!(
        out.content_type().starts_with("application/json"),
        "{out:?}"
    );
    assert_no_store(&out);
    let json = out.json();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {json}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["end", "maintenance", "read_only", "reason"],
        "{json}"
    );
    json
}

#[actix_rt::test]
async fn the_public_json_has_four_keys_for_every_state() {
    let app = start_memory().await;
    let off = json!({"maintenance": false, "read_only": false, "end": null, "reason": null});
    assert_eq!(public_status(&app, None).await, off);

    app.maint.set_maintenance_mode(true).await.unwrap();
    assert_eq!(
        public_status(&app, None).await,
        json!({"maintenance": true, "read_only": false, "end": null, "reason": null})
    );

    let end = in_seconds(3600);
    app.maint
        .set(scheduled(
            Schedule::new(None, Some(end))
                .with_reason("Database \"upgrade\"")
                .with_read_only(true),
        ))
        .await
        .unwrap();
    assert_eq!(
        public_status(&app, None).await,
        json!({
            "maintenance": true, "read_only": true,
            "end": end.to_string(), "reason": "Database \"upgrade\"",
        })
    );
    let end_read: Timestamp = public_status(&app, None).await["end"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(end_read, end);

    // A window still to open is not maintenance yet: nothing to announce.
    app.maint
        .set(scheduled(
            Schedule::new(Some(in_seconds(3600)), Some(in_seconds(7200)))
                .with_reason("later")
                .with_read_only(true),
        ))
        .await
        .unwrap();
    assert_eq!(public_status(&app, None).await, off);

    app.maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(public_status(&app, None).await, off);
}

#[actix_rt::test]
async fn the_public_json_is_served_to_anyone_during_maintenance() {
    for settings in [
        memory(),
        memory().response_type(maint_actix::settings::ResponseType::Json),
        memory().redirect_url("/maintenance/"),
    ] {
        let app = start(&app::build(settings)).await;
        let user = app.login("user").await;
        app.maint.set_maintenance_mode(true).await.unwrap();
        let home = app.get("/").await;
        assert!(home.marked && !home.ran, "{home:?}");
        for session in [None, Some(&user)] {
            let json = public_status(&app, session).await;
            assert_eq!(json["maintenance"], true, "{json}");
        }
    }
}

#[actix_rt::test]
async fn other_methods_on_the_public_json_during_maintenance_get_the_maintenance_response() {
    let app = start_memory().await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    for req in [
        test::TestRequest::post().uri(STATUS),
        test::TestRequest::put().uri(STATUS),
        test::TestRequest::delete().uri(STATUS),
    ] {
        app.call(req).await.assert_maintenance();
    }
    // In read-only mode the reads are served, the writes are not.
    app.maint
        .set(scheduled(Schedule::default().with_read_only(true)))
        .await
        .unwrap();
    assert_eq!(public_status(&app, None).await["read_only"], true);
    app.call(test::TestRequest::post().uri(STATUS))
        .await
        .assert_maintenance();
}

#[actix_rt::test]
async fn the_public_json_never_says_who_or_the_secret() {
    let app = start_memory().await;
    let secret = BypassSecret::new(TOKEN).unwrap();
    let digest = secret.to_stored();
    app.maint
        .set_with_change(
            scheduled(
                Schedule::new(None, Some(in_seconds(3600)))
                    .with_reason("upgrade")
                    .with_bypass(secret),
            ),
            Change::new("agent-ada@ops-host", Via::Command),
        )
        .await
        .unwrap();
    let out = app.get(STATUS).await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    for secret in [
        "agent-ada",
        "ops-host",
        "command",
        TOKEN,
        &digest,
        "bypass",
        "changed",
        "via",
    ] {
        assert!(!out.body.contains(secret), "{secret:?} in {}", out.body);
    }
    assert_eq!(public_status(&app, None).await["reason"], "upgrade");
}
