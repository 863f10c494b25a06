//! Issue 11, the maintenance day: read-only mode, the bypass link (cookie and
//! header), `health_urls`, the `Refresh` header, the JSON fields `read_only`,
//! `reason` and `end`, the template helper `maintenance_read_only`, and the
//! settings checks of `health_urls`, `bypass_cookie_ttl` and `refresh`.
//!
//! The app here answers every method on every path (its default service),
//! so a request that is not answered by the middleware is served with a 200
//! and counted in [`Hits`]. It mounts the library's routes (the bypass link
//! under `/maintenance-mode/bypass/{token}`), one `#[maintenance_off]` route
//! for `GET` and `POST`, and one `#[maintenance_on]` route.

use actix_web::{
    App, HttpRequest, HttpResponse, get,
    http::{Method, StatusCode},
    route, test as actix_test, web,
};
use handlebars::Handlebars;
use jiff::Timestamp;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, SettingsError,
    bypass::{BypassSecret, COOKIE_NAME},
    maintenance_off, maintenance_on,
    settings::{DEFAULT_HEALTH_URLS, ResponseType},
    state::Schedule,
    template::{READ_ONLY_HELPER_NAME, register_helper},
};
use maint_test_support::app::{self, Hits, Outcome, TestApp, build, memory};
use serde_json::{Map, Value, json};

const READS: [Method; 3] = [Method::GET, Method::HEAD, Method::OPTIONS];
const WRITES: [Method; 4] = [Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// A bypass token (20 characters of the URL-safe alphabet).
const TOKEN: &str = "let-me-in-0123456789";
const OTHER_TOKEN: &str = "another-token-987654";
const BYPASS: &str = "/maintenance-mode/bypass/";

/// Served for `GET` and `POST` during maintenance.
#[maintenance_off]
#[route("/open/", method = "GET", method = "POST")]
async fn open(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("open")
}

/// Always the maintenance response.
#[maintenance_on]
#[get("/legacy/")]
async fn legacy(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("legacy")
}

/// Every other path and method: `METHOD path`.
async fn anything(hits: web::Data<Hits>, req: HttpRequest) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body(format!("{} {}", req.method(), req.path()))
}

async fn start(maint: &MaintenanceMode) -> TestApp {
    let hits = Hits::default();
    let service = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .service(open)
            .service(legacy)
            .service(maint_actix::routes::routes())
            .route("/test-login/{kind}", web::get().to(app::test_login))
            .default_service(web::to(anything))
            .wrap(maint.middleware())
            .wrap(app::sessions()),
    )
    .await;
    TestApp::new(service, actix_test::TestRequest::to_request, maint, &hits)
}

async fn start_in(settings: MaintenanceSettings, state: MaintenanceState) -> TestApp {
    let maint = build(settings);
    maint.set(state).await.expect("a valid state");
    start(&maint).await
}

fn scheduled(schedule: Schedule) -> MaintenanceState {
    MaintenanceState::Scheduled(schedule)
}

fn read_only() -> MaintenanceState {
    scheduled(Schedule::default().with_read_only(true))
}

fn secret(token: &str) -> BypassSecret {
    BypassSecret::new(token).expect("a valid token")
}

/// Full maintenance with a bypass secret for `token`.
fn with_bypass(token: &str) -> MaintenanceState {
    scheduled(Schedule::default().with_bypass(secret(token)))
}

/// A whole-second instant `seconds` from now.
fn in_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second() + seconds).expect("a valid timestamp")
}

fn request(method: &Method, path: &str) -> actix_test::TestRequest {
    actix_test::TestRequest::default()
        .method(method.clone())
        .uri(path)
}

fn with_cookie(path: &str, value: &str) -> actix_test::TestRequest {
    actix_test::TestRequest::get()
        .uri(path)
        .insert_header(("cookie", format!("{COOKIE_NAME}={value}")))
}

/// The `Set-Cookie` header values of a response.
fn set_cookies(out: &Outcome) -> Vec<String> {
    out.headers
        .get_all("set-cookie")
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .collect()
}

/// Opens the bypass link with `token`, expecting the redirect and the
/// cookie; returns the cookie's value and the whole response.
#[track_caller]
fn assert_let_in(out: &Outcome) -> String {
    assert_eq!(out.status, StatusCode::FOUND, "{out:?}");
    assert_eq!(out.header("location"), Some("/"), "{out:?}");
    assert!(!out.marked, "{out:?}");
    let cookie = out
        .cookie(COOKIE_NAME)
        .unwrap_or_else(|| panic!("no {COOKIE_NAME} cookie: {out:?}"));
    assert!(!cookie.value().is_empty());
    cookie.value().to_owned()
}

/// What a maintenance request and an answer to compare it with share.
#[track_caller]
fn assert_same_answer(got: &Outcome, plain: &Outcome) {
    plain.assert_maintenance();
    assert_eq!(got.status, plain.status, "{got:?}");
    assert_eq!(got.body, plain.body, "{got:?}");
    assert!(got.marked, "{got:?}");
    assert!(!got.ran, "{got:?}");
    for name in ["content-type", "cache-control", "retry-after"] {
        assert_eq!(got.header(name), plain.header(name), "{name}: {got:?}");
    }
    assert!(
        set_cookies(got).is_empty(),
        "no cookie for a wrong token: {got:?}"
    );
    assert!(got.cookies.is_empty(), "{got:?}");
}

// --- read-only mode ------------------------------------------------------------

#[actix_web::test]
async fn read_only_mode_serves_reads_and_answers_writes() {
    let app = start_in(memory(), read_only()).await;
    for method in READS {
        for path in ["/", "/items/1", "/api/items"] {
            let out = app.call(request(&method, path)).await;
            out.assert_served();
            assert_eq!(out.body, format!("{method} {path}"), "{out:?}");
        }
    }
    for method in WRITES {
        for path in ["/", "/items/1", "/api/items"] {
            app.call(request(&method, path)).await.assert_maintenance();
        }
    }
    // The answer to a write says it is read-only mode, not full maintenance.
    let page = app.call(request(&Method::POST, "/items")).await;
    assert!(
        page.body.contains("Read-only for maintenance"),
        "{}",
        page.body
    );
}

#[actix_web::test]
async fn full_maintenance_answers_reads_and_no_maintenance_serves_writes() {
    // Full maintenance: reads get the maintenance response too.
    let app = start_in(memory(), MaintenanceState::On).await;
    for method in READS.iter().chain(&WRITES) {
        app.call(request(method, "/items"))
            .await
            .assert_maintenance();
    }
    // The same schedule without read-only mode: full maintenance.
    app.maint
        .set(scheduled(Schedule::default().with_reason("upgrade")))
        .await
        .unwrap();
    app.call(request(&Method::GET, "/items"))
        .await
        .assert_maintenance();

    // Off: every method is served.
    app.maint.set_maintenance_mode(false).await.unwrap();
    for method in READS.iter().chain(&WRITES) {
        app.call(request(method, "/items")).await.assert_served();
    }

    // A read-only window that has not started serves writes.
    app.maint
        .set(scheduled(
            Schedule::new(Some(in_seconds(3600)), None).with_read_only(true),
        ))
        .await
        .unwrap();
    for method in WRITES {
        app.call(request(&method, "/items")).await.assert_served();
    }
}

#[actix_web::test]
async fn exemptions_apply_to_writes_in_read_only_mode() {
    let maint = build(
        memory()
            .ignore_urls(["/api/"])
            .ignore_staff(true)
            .ignore_ip_addresses([r"192\.0\.2\."]),
    );
    let app = start(&maint).await;
    let staff = app.login("staff").await;
    let user = app.login("user").await;
    maint.set(read_only()).await.unwrap();

    for method in WRITES {
        app.call(request(&method, "/api/items"))
            .await
            .assert_served();
        app.call(request(&method, "/items").cookie(staff.clone()))
            .await
            .assert_served();
        app.call(request(&method, "/items").peer_addr(app::peer("192.0.2.7")))
            .await
            .assert_served();
        // Not exempt: answered.
        app.call(request(&method, "/items").cookie(user.clone()))
            .await
            .assert_maintenance();
        app.call(request(&method, "/items").peer_addr(app::peer("198.51.100.7")))
            .await
            .assert_maintenance();
    }
}

#[actix_web::test]
async fn a_served_read_keeps_the_session_a_write_logs_out() {
    let maint = build(memory().logout_authenticated_user(true));
    let app = start(&maint).await;
    let user = app.login("user").await;
    maint.set(read_only()).await.unwrap();
    let read = app
        .call(request(&Method::GET, "/items").cookie(user.clone()))
        .await;
    read.assert_served();
    assert!(
        !read.clears_session(),
        "a served read does not log out: {read:?}"
    );
    let write = app
        .call(request(&Method::POST, "/items").cookie(user))
        .await;
    write.assert_maintenance();
    assert!(
        write.clears_session(),
        "a write is answered as in full maintenance: {write:?}"
    );
}

#[actix_web::test]
async fn handler_markings_hold_in_read_only_mode() {
    let app = start_in(memory(), read_only()).await;
    // `#[maintenance_off]`: its writes are served.
    app.call(request(&Method::POST, "/open/"))
        .await
        .assert_served();
    app.call(request(&Method::GET, "/open/"))
        .await
        .assert_served();
    // `#[maintenance_on]`: even a read gets the maintenance response.
    app.get("/legacy/").await.assert_maintenance();
    // Unmarked writes next to them are answered.
    app.call(request(&Method::PUT, "/open/"))
        .await
        .assert_maintenance();
}

// --- the bypass link -------------------------------------------------------------

#[actix_web::test]
async fn the_bypass_link_sets_a_strict_cookie_and_redirects_home() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    let before = Timestamp::now().as_second();
    let out = app.get(&format!("{BYPASS}{TOKEN}")).await;
    let value = assert_let_in(&out);
    let cookie = out.cookie(COOKIE_NAME).unwrap();
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(
        cookie.same_site(),
        Some(actix_web::cookie::SameSite::Lax),
        "{cookie}"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie}");
    assert_ne!(
        cookie.secure(),
        Some(true),
        "plain HTTP: not Secure: {cookie}"
    );
    let max_age = cookie.max_age().expect("Max-Age").whole_seconds();
    let ttl = MaintenanceSettings::default().bypass_cookie_ttl;
    assert_eq!(ttl, 43_200);
    assert!(
        (ttl as i64 - 2..=ttl as i64).contains(&max_age),
        "Max-Age {max_age}"
    );
    let header = set_cookies(&out).join("\n");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(header.contains(attribute), "{attribute} in {header}");
    }
    assert!(!header.contains("Secure"), "{header}");
    assert!(
        !header.contains(TOKEN),
        "the cookie is not the token: {header}"
    );
    // `EXPIRY.MAC`, the expiry being now + Max-Age.
    let (expiry, mac) = value.split_once('.').expect("EXPIRY.MAC");
    let expiry: i64 = expiry.parse().expect("Unix seconds");
    assert!(
        (before + max_age..=Timestamp::now().as_second() + max_age).contains(&expiry),
        "{value} with Max-Age {max_age}"
    );
    assert_eq!(mac.len(), 43, "an HMAC-SHA256, base64url: {value}");
    assert_eq!(out.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn the_cookie_is_secure_behind_https() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    let out = app
        .call(
            actix_test::TestRequest::get()
                .uri(&format!("{BYPASS}{TOKEN}"))
                .insert_header(("X-Forwarded-Proto", "https")),
        )
        .await;
    assert_let_in(&out);
    assert_eq!(out.cookie(COOKIE_NAME).unwrap().secure(), Some(true));
    assert!(set_cookies(&out).join("\n").contains("Secure"), "{out:?}");
}

#[actix_web::test]
async fn the_cookie_lets_its_browser_through_and_nobody_else() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    let value = assert_let_in(&app.get(&format!("{BYPASS}{TOKEN}")).await);
    for method in READS.iter().chain(&WRITES) {
        let req =
            request(method, "/items").insert_header(("cookie", format!("{COOKIE_NAME}={value}")));
        app.call(req).await.assert_served();
    }
    // Among other cookies, in any place.
    let out = app
        .call(
            actix_test::TestRequest::get()
                .uri("/")
                .insert_header(("cookie", format!("a=1; {COOKIE_NAME}={value}; b=2"))),
        )
        .await;
    out.assert_served();
    // Without it, or with another cookie: maintenance.
    app.get("/").await.assert_maintenance();
    app.call(with_cookie("/", "")).await.assert_maintenance();
    app.call(
        actix_test::TestRequest::get()
            .uri("/")
            .insert_header(("cookie", format!("x{COOKIE_NAME}={value}"))),
    )
    .await
    .assert_maintenance();
    // `#[maintenance_on]` beats the cookie.
    app.call(with_cookie("/legacy/", &value))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn the_header_token_lets_a_client_through() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    for method in READS.iter().chain(&WRITES) {
        let req = request(method, "/api/items").insert_header(("X-Maintenance-Bypass", TOKEN));
        app.call(req).await.assert_served();
    }
    for wrong in [OTHER_TOKEN, "", "short", &format!("{TOKEN}x"), &TOKEN[1..]] {
        let req = actix_test::TestRequest::get()
            .uri("/api/items")
            .insert_header(("X-Maintenance-Bypass", wrong));
        app.call(req).await.assert_maintenance();
    }
    // A token is not a cookie, nor a cookie a token.
    app.call(with_cookie("/", TOKEN)).await.assert_maintenance();
}

#[actix_web::test]
async fn a_wrong_token_gets_exactly_the_maintenance_response() {
    for response_type in [ResponseType::Html, ResponseType::Json] {
        let app = start_in(memory().response_type(response_type), with_bypass(TOKEN)).await;
        let plain = app.get("/").await;
        for wrong in [
            OTHER_TOKEN.to_owned(),
            format!("{TOKEN}x"),
            TOKEN[..TOKEN.len() - 1].to_owned(),
            TOKEN.to_uppercase(),
            "short".to_owned(),
            "x".repeat(300),
            "not%20url%20safe%20at%20all".to_owned(),
        ] {
            let out = app.get(&format!("{BYPASS}{wrong}")).await;
            assert_same_answer(&out, &plain);
        }
        // No secret set: the right token is wrong too.
        app.maint.set_maintenance_mode(true).await.unwrap();
        let plain = app.get("/").await;
        let out = app.get(&format!("{BYPASS}{TOKEN}")).await;
        assert_same_answer(&out, &plain);
    }
}

#[actix_web::test]
async fn the_bypass_link_is_a_404_when_maintenance_is_off() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    assert_let_in(&app.get(&format!("{BYPASS}{TOKEN}")).await);
    app.maint.set_maintenance_mode(false).await.unwrap();
    for token in [TOKEN, OTHER_TOKEN, "short"] {
        let out = app.get(&format!("{BYPASS}{token}")).await;
        assert_eq!(out.status, StatusCode::NOT_FOUND, "{out:?}");
        assert!(!out.marked && !out.ran, "{out:?}");
        assert!(set_cookies(&out).is_empty(), "{out:?}");
    }
}

/// Once a window that has a bypass secret has ended, maintenance is off and
/// the link is a 404 for every token, as when the state is plain off: no
/// `302` with a `Set-Cookie` whose `Max-Age` is negative (its expiry, the
/// past end), no answer that tells a right token from a wrong one.
#[actix_web::test]
async fn the_bypass_link_is_a_404_once_the_window_has_ended() {
    let ended = scheduled(Schedule::new(None, Some(in_seconds(-60))).with_bypass(secret(TOKEN)));
    let backend = std::sync::Arc::new(maint_actix::backend::MemoryBackend::with_state(ended));
    let maint = MaintenanceMode::builder(memory())
        .shared_backend(backend)
        .build()
        .unwrap();
    assert!(!maint.is_on());
    let app = start(&maint).await;
    for token in [OTHER_TOKEN, TOKEN] {
        let out = app.get(&format!("{BYPASS}{token}")).await;
        assert_eq!(out.status, StatusCode::NOT_FOUND, "{token}: {out:?}");
        assert!(set_cookies(&out).is_empty(), "{token}: {out:?}");
    }
}

#[actix_web::test]
async fn a_new_secret_ends_the_old_cookies() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    let old = assert_let_in(&app.get(&format!("{BYPASS}{TOKEN}")).await);
    app.call(with_cookie("/", &old)).await.assert_served();

    // Another secret: the old cookie and the old token are refused.
    app.maint.set(with_bypass(OTHER_TOKEN)).await.unwrap();
    app.call(with_cookie("/", &old)).await.assert_maintenance();
    let plain = app.get("/").await;
    assert_same_answer(&app.get(&format!("{BYPASS}{TOKEN}")).await, &plain);
    let new = assert_let_in(&app.get(&format!("{BYPASS}{OTHER_TOKEN}")).await);
    app.call(with_cookie("/", &new)).await.assert_served();

    // Off and on again with the very same token: a new salt, old cookies end.
    app.maint.set_maintenance_mode(false).await.unwrap();
    app.maint.set(with_bypass(OTHER_TOKEN)).await.unwrap();
    app.call(with_cookie("/", &new)).await.assert_maintenance();
    app.call(with_cookie("/", &old)).await.assert_maintenance();
    let newest = assert_let_in(&app.get(&format!("{BYPASS}{OTHER_TOKEN}")).await);
    assert_ne!(newest, new);
    app.call(with_cookie("/", &newest)).await.assert_served();

    // On without a secret: no cookie passes.
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.call(with_cookie("/", &newest))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn a_cookie_with_any_byte_changed_is_refused() {
    let app = start_in(memory(), with_bypass(TOKEN)).await;
    let value = assert_let_in(&app.get(&format!("{BYPASS}{TOKEN}")).await);
    // The worker remembers the valid cookie: a changed one must not pass for it.
    app.call(with_cookie("/", &value)).await.assert_served();
    let hits = app.hits.count();
    let mut tried = 0;
    for index in 0..value.len() {
        for byte in b' '..=b'~' {
            let mut changed = value.clone().into_bytes();
            if changed[index] == byte {
                continue;
            }
            changed[index] = byte;
            let changed = String::from_utf8(changed).expect("ASCII");
            let out = app.call(with_cookie("/", &changed)).await;
            assert!(
                out.status == StatusCode::SERVICE_UNAVAILABLE && out.marked && !out.ran,
                "byte {index} changed to {:?}: {changed:?} was let through: {out:?}",
                byte as char
            );
            tried += 1;
        }
    }
    assert!(tried > 50 * 90, "{tried}");
    assert_eq!(
        app.hits.count(),
        hits,
        "no changed cookie reached a handler"
    );
    // The cookie itself still passes (the rejections poisoned nothing).
    app.call(with_cookie("/", &value)).await.assert_served();
}

#[actix_web::test]
async fn the_cookie_lives_at_most_the_ttl_and_never_past_the_end() {
    // The ttl.
    let app = start_in(memory().bypass_cookie_ttl(600), with_bypass(TOKEN)).await;
    let out = app.get(&format!("{BYPASS}{TOKEN}")).await;
    assert_let_in(&out);
    let max_age = out.cookie(COOKIE_NAME).unwrap().max_age().unwrap();
    assert_eq!(max_age.whole_seconds(), 600);

    // The end of the maintenance, when it comes first.
    let end = in_seconds(120);
    let app = start_in(
        memory(),
        scheduled(Schedule::new(None, Some(end)).with_bypass(secret(TOKEN))),
    )
    .await;
    let out = app.get(&format!("{BYPASS}{TOKEN}")).await;
    let value = assert_let_in(&out);
    let max_age = out
        .cookie(COOKIE_NAME)
        .unwrap()
        .max_age()
        .unwrap()
        .whole_seconds();
    assert!((110..=120).contains(&max_age), "Max-Age {max_age}");
    let expiry: i64 = value.split_once('.').unwrap().0.parse().unwrap();
    assert_eq!(expiry, end.as_second(), "{value}");

    // The ttl, when it comes first.
    let app = start_in(
        memory().bypass_cookie_ttl(60),
        scheduled(Schedule::new(None, Some(in_seconds(3600))).with_bypass(secret(TOKEN))),
    )
    .await;
    let out = app.get(&format!("{BYPASS}{TOKEN}")).await;
    assert_let_in(&out);
    let max_age = out.cookie(COOKIE_NAME).unwrap().max_age().unwrap();
    assert_eq!(max_age.whole_seconds(), 60);
}

#[actix_web::test]
async fn bypass_and_read_only_together() {
    let app = start_in(
        memory(),
        scheduled(
            Schedule::default()
                .with_read_only(true)
                .with_bypass(secret(TOKEN)),
        ),
    )
    .await;
    let value = assert_let_in(&app.get(&format!("{BYPASS}{TOKEN}")).await);
    app.call(request(&Method::POST, "/items"))
        .await
        .assert_maintenance();
    app.call(
        request(&Method::POST, "/items")
            .insert_header(("cookie", format!("{COOKIE_NAME}={value}"))),
    )
    .await
    .assert_served();
    app.call(request(&Method::DELETE, "/items").insert_header(("X-Maintenance-Bypass", TOKEN)))
        .await
        .assert_served();
}

// --- health_urls -------------------------------------------------------------

const NOT_HEALTH: [&str; 9] = [
    "/healthz/",
    "/healthz/deep",
    "/Healthz",
    "/healthzz",
    "/health/z",
    "/up2",
    "/api/up",
    "//healthz",
    "/",
];

#[actix_web::test]
async fn default_health_urls_are_served_during_maintenance() {
    assert_eq!(
        DEFAULT_HEALTH_URLS,
        ["/health", "/healthz", "/livez", "/readyz", "/up"]
    );
    assert_eq!(
        MaintenanceSettings::default().health_urls,
        DEFAULT_HEALTH_URLS.map(str::to_owned)
    );
    let app = start_in(memory(), MaintenanceState::On).await;
    for path in DEFAULT_HEALTH_URLS {
        let out = app.get(path).await;
        out.assert_served();
        assert_eq!(out.body, format!("GET {path}"));
        // The query is not part of the path.
        app.get(&format!("{path}?probe=1")).await.assert_served();
        app.call(request(&Method::HEAD, path)).await.assert_served();
    }
}

#[actix_web::test]
async fn health_urls_match_exactly() {
    let app = start_in(memory(), MaintenanceState::On).await;
    for path in NOT_HEALTH {
        app.get(path).await.assert_maintenance();
    }
}

#[actix_web::test]
async fn empty_health_urls_turn_it_off() {
    let app = start_in(
        memory().health_urls(Vec::<String>::new()),
        MaintenanceState::On,
    )
    .await;
    for path in DEFAULT_HEALTH_URLS {
        app.get(path).await.assert_maintenance();
    }
    let settings: MaintenanceSettings = toml::from_str(
        r#"
        state_backend = "memory"
        health_urls = []
        "#,
    )
    .unwrap();
    let app = start_in(settings, MaintenanceState::On).await;
    app.get("/healthz").await.assert_maintenance();
}

#[actix_web::test]
async fn a_custom_health_url_list_replaces_the_defaults() {
    let app = start_in(
        memory().health_urls(["/ping", "/status/ready"]),
        MaintenanceState::On,
    )
    .await;
    app.get("/ping").await.assert_served();
    app.get("/status/ready").await.assert_served();
    for path in ["/ping/", "/status", "/status/ready/x"]
        .into_iter()
        .chain(DEFAULT_HEALTH_URLS)
    {
        app.get(path).await.assert_maintenance();
    }
}

/// The steps that serve (health checks, the bypass cookie, header and link)
/// come before the user step, which may log the user out.
#[actix_web::test]
async fn serving_steps_come_before_the_logout() {
    let maint = build(memory().logout_authenticated_user(true));
    let app = start(&maint).await;
    let user = app.login("user").await;
    maint.set(with_bypass(TOKEN)).await.unwrap();
    let link = app.get_with(&format!("{BYPASS}{TOKEN}"), &user).await;
    let value = assert_let_in(&link);
    assert!(!link.clears_session(), "{link:?}");
    let health = app.get_with("/healthz", &user).await;
    health.assert_served();
    assert!(!health.clears_session(), "{health:?}");
    let cookies = format!("id={}; {COOKIE_NAME}={value}", user.value());
    let through = app
        .call(
            actix_test::TestRequest::get()
                .uri("/items")
                .insert_header(("cookie", cookies)),
        )
        .await;
    through.assert_served();
    assert!(!through.clears_session(), "{through:?}");
    let header = app
        .call(
            request(&Method::POST, "/items")
                .cookie(user.clone())
                .insert_header(("X-Maintenance-Bypass", TOKEN)),
        )
        .await;
    header.assert_served();
    assert!(!header.clears_session(), "{header:?}");
    // Without any of them: answered, and logged out.
    let plain = app.get_with("/items", &user).await;
    plain.assert_maintenance();
    assert!(plain.clears_session(), "{plain:?}");
}

// --- Refresh -------------------------------------------------------------------

#[actix_web::test]
async fn refresh_is_on_the_html_page_only() {
    let app = start_in(
        memory().refresh(30).response_type(ResponseType::Auto),
        MaintenanceState::On,
    )
    .await;
    let html = app.get("/").await;
    html.assert_maintenance();
    assert!(html.content_type().starts_with("text/html"), "{html:?}");
    assert_eq!(html.header("refresh"), Some("30"));

    let json = app
        .call(
            actix_test::TestRequest::get()
                .uri("/")
                .insert_header(("Accept", "application/json")),
        )
        .await;
    json.assert_maintenance();
    assert_eq!(json.content_type(), "application/json");
    assert_eq!(json.header("refresh"), None, "{json:?}");

    // Not on what is served.
    app.get("/healthz").await.assert_served();
    assert_eq!(app.get("/healthz").await.header("refresh"), None);

    // Nor on a redirect.
    let app = start_in(
        memory()
            .refresh(30)
            .redirect_url("https://status.example.com/"),
        MaintenanceState::On,
    )
    .await;
    let redirect = app.get("/").await;
    redirect.assert_maintenance_status(StatusCode::FOUND);
    assert_eq!(redirect.header("refresh"), None, "{redirect:?}");
}

#[actix_web::test]
async fn refresh_is_absent_by_default() {
    assert_eq!(MaintenanceSettings::default().refresh, 0);
    let app = start_in(memory(), MaintenanceState::On).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert_eq!(out.header("refresh"), None, "{out:?}");
    let app = start_in(memory().refresh(0), read_only()).await;
    assert_eq!(
        app.call(request(&Method::POST, "/"))
            .await
            .header("refresh"),
        None
    );
}

// --- JSON fields -----------------------------------------------------------------

fn json_request(method: &Method, path: &str) -> actix_test::TestRequest {
    request(method, path).insert_header(("Accept", "application/json"))
}

#[actix_web::test]
async fn json_tells_read_only_reason_and_end() {
    let end = in_seconds(7200);
    let reason = "Database upgrade \u{2713}: \"quoted\" & <tagged>";
    let app = start_in(
        memory().response_type(ResponseType::Json),
        scheduled(
            Schedule::new(None, Some(end))
                .with_reason(reason)
                .with_read_only(true),
        ),
    )
    .await;
    let out = app.call(json_request(&Method::POST, "/items")).await;
    out.assert_maintenance();
    let body = out.json();
    assert_eq!(body["maintenance"], json!(true), "{body}");
    assert_eq!(body["read_only"], json!(true), "{body}");
    assert_eq!(body["reason"], json!(reason), "{body}");
    let shown: Timestamp = body["end"].as_str().expect("end").parse().unwrap();
    assert_eq!(shown, end);

    // Plain on: every field is there, unset ones null.
    app.maint.set_maintenance_mode(true).await.unwrap();
    let body = app.get("/").await.json();
    let fields = body.as_object().unwrap();
    for key in ["maintenance", "read_only", "reason", "end"] {
        assert!(fields.contains_key(key), "{key} in {body}");
    }
    assert_eq!(body["read_only"], json!(false), "{body}");
    assert_eq!(body["reason"], Value::Null, "{body}");
    assert_eq!(body["end"], Value::Null, "{body}");

    // A reason without an end.
    app.maint
        .set(scheduled(Schedule::default().with_reason("moving")))
        .await
        .unwrap();
    let body = app.get("/").await.json();
    assert_eq!(body["reason"], json!("moving"), "{body}");
    assert_eq!(body["end"], Value::Null, "{body}");
    assert_eq!(body["read_only"], json!(false), "{body}");
}

#[actix_web::test]
async fn an_apps_reason_and_end_are_kept_when_the_state_has_none() {
    let app_context = |_: &HttpRequest| {
        let mut context = Map::new();
        context.insert("reason".into(), json!("from the app"));
        context.insert("end".into(), json!("tomorrow morning"));
        context.insert("read_only".into(), json!("the app's"));
        context
    };
    let maint = MaintenanceMode::builder(memory().response_type(ResponseType::Json))
        .get_context(app_context)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start(&maint).await;
    let body = app.get("/").await.json();
    assert_eq!(body["reason"], json!("from the app"), "{body}");
    assert_eq!(body["end"], json!("tomorrow morning"), "{body}");
    assert_eq!(body["read_only"], json!(false), "the state's: {body}");

    // The state's own values win.
    let end = in_seconds(600);
    maint
        .set(scheduled(
            Schedule::new(None, Some(end))
                .with_reason("from the state")
                .with_read_only(true),
        ))
        .await
        .unwrap();
    let body = app.call(json_request(&Method::POST, "/")).await.json();
    assert_eq!(body["reason"], json!("from the state"), "{body}");
    let shown: Timestamp = body["end"].as_str().unwrap().parse().unwrap();
    assert_eq!(shown, end);
    assert_eq!(body["read_only"], json!(true), "{body}");

    // The same through the static context.
    let maint = MaintenanceMode::builder(memory().response_type(ResponseType::Json))
        .context(json!({"reason": "static reason"}))
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    let body = start(&maint).await.get("/").await.json();
    assert_eq!(body["reason"], json!("static reason"), "{body}");
    assert_eq!(body["end"], Value::Null, "{body}");
}

#[actix_web::test]
async fn the_html_page_shows_the_reason_escaped() {
    let app = start_in(
        memory(),
        scheduled(Schedule::default().with_reason("Upgrade <b>now</b> & \"then\"")),
    )
    .await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert!(
        out.body.contains("Upgrade &lt;b&gt;now&lt;/b&gt;"),
        "{}",
        out.body
    );
    assert!(!out.body.contains("<b>now</b>"), "{}", out.body);
}

// --- the template helper maintenance_read_only ---------------------------------

const BANNER: &str = "{{#if (maintenance_read_only)}}read-only{{else if (maintenance_mode)}}down{{else}}open{{/if}} {{maintenance_read_only}}";

fn banner_registry(maint: &MaintenanceMode) -> Handlebars<'static> {
    let mut templates = Handlebars::new();
    register_helper(&mut templates, maint);
    templates
        .register_template_string("banner", BANNER)
        .unwrap();
    templates
}

#[test]
fn the_read_only_helper_follows_the_state() {
    assert_eq!(READ_ONLY_HELPER_NAME, "maintenance_read_only");
    let maint = build(memory());
    let templates = banner_registry(&maint);
    let render = || templates.render("banner", &()).unwrap();
    assert_eq!(render(), "open false");
    maint.set_maintenance_mode_blocking(true).unwrap();
    assert_eq!(render(), "down false");
    maint.set_blocking(read_only()).unwrap();
    assert_eq!(render(), "read-only true");
    // A read-only window that has not started: not in effect.
    maint
        .set_blocking(scheduled(
            Schedule::new(Some(in_seconds(3600)), None).with_read_only(true),
        ))
        .unwrap();
    assert_eq!(render(), "open false");
    maint
        .set_blocking(scheduled(Schedule::default().with_reason("x")))
        .unwrap();
    assert_eq!(render(), "down false");
    maint.set_maintenance_mode_blocking(false).unwrap();
    assert_eq!(render(), "open false");
}

async fn banner_page(
    hits: web::Data<Hits>,
    templates: web::Data<Handlebars<'static>>,
) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body(templates.render("banner", &()).unwrap())
}

#[actix_web::test]
async fn a_page_served_in_read_only_mode_shows_the_read_only_banner() {
    let maint = build(memory());
    let hits = Hits::default();
    let service = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(web::Data::new(banner_registry(&maint)))
            .default_service(web::to(banner_page))
            .wrap(maint.middleware())
            .wrap(app::sessions()),
    )
    .await;
    let app = TestApp::new(service, actix_test::TestRequest::to_request, &maint, &hits);
    let out = app.get("/").await;
    out.assert_served();
    assert_eq!(out.body, "open false");
    maint.set(read_only()).await.unwrap();
    let out = app.get("/").await;
    out.assert_served();
    assert_eq!(out.body, "read-only true");
    app.call(request(&Method::POST, "/"))
        .await
        .assert_maintenance();
}

// --- settings ------------------------------------------------------------------

#[track_caller]
fn build_error(settings: MaintenanceSettings) -> SettingsError {
    match MaintenanceMode::new(settings) {
        Ok(maint) => panic!("settings accepted: {maint:?}"),
        Err(err) => err,
    }
}

#[track_caller]
fn assert_names_key(err: &SettingsError, key: &str, value: &str) {
    assert!(matches!(err, SettingsError::InvalidValue { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("`{key}`")),
        "{message:?} lacks {key}"
    );
    assert!(message.contains(value), "{message:?} lacks {value:?}");
    assert!(!message.contains('\n'), "{message:?}");
}

#[test]
fn health_urls_must_be_paths() {
    for bad in ["healthz", "", "https://example.com/healthz", " /healthz"] {
        let err = build_error(memory().health_urls(["/up", bad]));
        assert_names_key(&err, "health_urls", &format!("{bad:?}"));
    }
    for good in [vec!["/"], vec!["/a", "/b/c"], vec![]] {
        MaintenanceMode::new(memory().health_urls(good.clone()))
            .unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
    }
}

#[test]
fn bypass_cookie_ttl_must_fit_a_cookie() {
    let over = i32::MAX as u64 + 1;
    for bad in [0, over, u64::MAX] {
        let err = build_error(memory().bypass_cookie_ttl(bad));
        assert_names_key(&err, "bypass_cookie_ttl", &bad.to_string());
    }
    for good in [1, 60, i32::MAX as u64] {
        MaintenanceMode::new(memory().bypass_cookie_ttl(good))
            .unwrap_or_else(|e| panic!("{good} refused: {e}"));
    }
}

#[test]
fn refresh_must_fit_32_bits() {
    let over = i32::MAX as u64 + 1;
    for bad in [over, u64::MAX] {
        let err = build_error(memory().refresh(bad));
        assert_names_key(&err, "refresh", &bad.to_string());
    }
    for good in [0, 1, i32::MAX as u64] {
        MaintenanceMode::new(memory().refresh(good))
            .unwrap_or_else(|e| panic!("{good} refused: {e}"));
    }
}

#[test]
fn the_new_settings_load_from_toml_and_their_errors_name_the_key() {
    let settings: MaintenanceSettings = toml::from_str(
        r#"
        state_backend = "memory"
        refresh = 15
        health_urls = ["/ping"]
        bypass_cookie_ttl = 900
        "#,
    )
    .unwrap();
    assert_eq!(settings.refresh, 15);
    assert_eq!(settings.health_urls, ["/ping"]);
    assert_eq!(settings.bypass_cookie_ttl, 900);
    MaintenanceMode::new(settings).unwrap();

    for (text, key) in [
        ("health_urls = [\"ping\"]", "health_urls"),
        ("bypass_cookie_ttl = 0", "bypass_cookie_ttl"),
        ("refresh = 3000000000", "refresh"),
    ] {
        let settings: MaintenanceSettings =
            toml::from_str(&format!("state_backend = \"memory\"\n{text}")).unwrap();
        let err = build_error(settings);
        assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
    }
    for text in [
        "refresh = -1",
        "bypass_cookie_ttl = \"1h\"",
        "health_urls = \"/up\"",
    ] {
        let err = toml::from_str::<MaintenanceSettings>(text).unwrap_err();
        let key = text.split(' ').next().unwrap();
        assert!(err.to_string().contains(key), "{err}");
    }
}
