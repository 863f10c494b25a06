//! The maintenance response: redirect, HTML page (templates), JSON, status code,
//! `Retry-After`, `Cache-Control`, context.
//!
//! Counterparts in django-maintenance-mode's tests:
//! - `test_middleware.py::test_middleware_redirect_url` → `redirect_url_relative_*`,
//!   `redirect_url_absolute_*`.
//! - `test_http.py::test_redirect` (302 to an absolute URL elsewhere) →
//!   `redirect_url_to_another_site`.
//! - `test_http.py::test_no_context` / `test_custom_context` (the page, `max-age=0`) →
//!   `html_page_by_default`, `cache_control_*`, `get_context_*`.
//! - `test_middleware.py::test_middleware_get_template_context` → `get_context_*`.
//! - `test_middleware.py::test_middleware_response_type` (json / html; the invalid
//!   value is refused by serde here, see `settings_validation`) →
//!   `json_response`, `html_page_by_default`, `auto_*`.
//! - `test_middleware.py::test_middleware_response_type_function` →
//!   `response_type_fn_*`.
//! - `MAINTENANCE_MODE_TEMPLATE`, `MAINTENANCE_MODE_STATUS_CODE`,
//!   `MAINTENANCE_MODE_RETRY_AFTER` → `template_*`, `status_code_*`, `retry_after_*`.

use actix_web::{HttpRequest, http::StatusCode, test::TestRequest};
use handlebars::Handlebars;
use jiff::{SignedDuration, Timestamp};
use maint_actix::{
    MaintenanceMode, MaintenanceModeBuilder, MaintenanceSettings, settings::ResponseType,
};
use maint_test_support::app::{self, TestApp, memory, start, start_with};
use serde_json::{Map, Value, json};

async fn on(settings: MaintenanceSettings) -> TestApp {
    let app = start_with(settings).await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app
}

async fn on_built(builder: MaintenanceModeBuilder) -> TestApp {
    let maint = builder.build().unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    start(&maint).await
}

fn accept(path: &str, value: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("Accept", value.to_owned()))
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[track_caller]
fn assert_never_cached(out: &app::Outcome) {
    let cache_control = out.header("cache-control").unwrap_or_default();
    for directive in ["max-age=0", "no-cache", "no-store", "must-revalidate"] {
        assert!(
            cache_control.contains(directive),
            "Cache-Control {cache_control:?} lacks {directive}"
        );
    }
}

#[track_caller]
fn assert_html(out: &app::Outcome) {
    assert!(
        out.content_type().starts_with("text/html"),
        "content type {:?}",
        out.content_type()
    );
}

#[track_caller]
fn assert_json(out: &app::Outcome) -> Value {
    assert_eq!(out.content_type(), "application/json");
    let body = out.json();
    assert_eq!(body["maintenance"], json!(true), "{body}");
    body
}

// --- redirect ----------------------------------------------------------------

#[actix_web::test]
async fn redirect_url_relative_redirects_and_serves_the_target() {
    let app = on(memory().redirect_url("/maintenance/")).await;
    for path in ["/", "/api/status", "/maintenance/x", "/maintenance"] {
        let out = app.get(path).await;
        out.assert_maintenance_status(StatusCode::FOUND);
        assert_eq!(out.header("location"), Some("/maintenance/"), "{path}");
        assert_never_cached(&out);
    }
    let target = app.get("/maintenance/").await;
    target.assert_served();
    assert_eq!(target.body, "page /maintenance/");
}

#[actix_web::test]
async fn redirect_url_unset_answers_the_page() {
    let app = on(memory()).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert_eq!(out.header("location"), None);
}

/// An absolute `redirect_url` points to another site as far as maint can tell:
/// the `Host` header is the client's to choose, so a request naming that host
/// is redirected like any other (a page on this site is given as a path).
#[actix_web::test]
async fn redirect_url_absolute_is_never_served_here_whatever_the_host() {
    const TARGET: &str = "http://localhost:8080/maintenance/";
    let app = on(memory().redirect_url(TARGET)).await;
    let on_host = |path: &str, host: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header(("Host", host.to_owned()))
    };
    for (path, host) in [
        ("/maintenance/", "localhost:8080"),
        ("/maintenance/", "example.org"),
        ("/", "localhost:8080"),
    ] {
        let out = app.call(on_host(path, host)).await;
        out.assert_maintenance_status(StatusCode::FOUND);
        assert_eq!(out.header("location"), Some(TARGET));
    }
}

#[actix_web::test]
async fn redirect_url_to_another_site() {
    let app = on(memory().redirect_url("http://redirect.example.cz/")).await;
    let out = app
        .call(
            TestRequest::get()
                .uri("/dummy/")
                .insert_header(("Host", "localhost")),
        )
        .await;
    out.assert_maintenance_status(StatusCode::FOUND);
    assert_eq!(out.header("location"), Some("http://redirect.example.cz/"));
}

// --- HTML / JSON ---------------------------------------------------------------

#[actix_web::test]
async fn html_page_by_default() {
    let app = on(memory()).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert_html(&out);
    assert!(out.body.contains("maintenance"), "{}", out.body);
    assert!(out.body.contains("503"), "{}", out.body);
    assert_never_cached(&out);
}

#[actix_web::test]
async fn json_response() {
    let app = on(memory().response_type(ResponseType::Json)).await;
    let out = app.call(accept("/", BROWSER_ACCEPT)).await;
    out.assert_maintenance();
    let body = assert_json(&out);
    assert_eq!(body["status_code"], json!(503));
    assert_never_cached(&out);
}

#[actix_web::test]
async fn json_response_has_the_static_context() {
    let app = on_built(
        MaintenanceMode::builder(memory().response_type(ResponseType::Json))
            .context(json!({"support_email": "ops@example.com", "eta_minutes": 30})),
    )
    .await;
    let body = assert_json(&app.get("/").await);
    assert_eq!(body["support_email"], json!("ops@example.com"));
    assert_eq!(body["eta_minutes"], json!(30));
}

fn test_context(req: &HttpRequest) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("TEST_MAINTENANCE_MODE_GET_CONTEXT".into(), json!(true));
    map.insert("path".into(), json!(req.path()));
    map.insert("shared".into(), json!("hook"));
    // The hook cannot claim the response is not a maintenance response.
    map.insert("maintenance".into(), json!(false));
    map
}

#[actix_web::test]
async fn get_context_adds_per_request_fields_to_json() {
    let app = on_built(
        MaintenanceMode::builder(memory().response_type(ResponseType::Json))
            .context(json!({"support_email": "ops@example.com", "shared": "static"}))
            .get_context(test_context),
    )
    .await;
    let body = assert_json(&app.get("/api/status").await);
    assert_eq!(body["TEST_MAINTENANCE_MODE_GET_CONTEXT"], json!(true));
    assert_eq!(body["path"], json!("/api/status"));
    assert_eq!(body["support_email"], json!("ops@example.com"));
    assert_eq!(body["shared"], json!("hook"));
    // Per request, not rendered once.
    let body = assert_json(&app.get("/").await);
    assert_eq!(body["path"], json!("/"));
}

#[actix_web::test]
async fn get_context_unset_adds_nothing() {
    let app = on(memory().response_type(ResponseType::Json)).await;
    let body = assert_json(&app.get("/").await);
    assert!(
        body.get("TEST_MAINTENANCE_MODE_GET_CONTEXT").is_none(),
        "{body}"
    );
}

#[actix_web::test]
async fn get_context_reaches_the_html_template() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(
            "503.html",
            "<p>maintenance {{#if TEST_MAINTENANCE_MODE_GET_CONTEXT}}with context at {{path}}{{/if}}</p>",
        )
        .unwrap();
    let app = on_built(
        MaintenanceMode::builder(memory())
            .templates(templates)
            .get_context(test_context),
    )
    .await;
    let out = app.get("/x").await;
    out.assert_maintenance();
    assert_eq!(out.body, "<p>maintenance with context at /x</p>");
}

#[actix_web::test]
async fn auto_answers_json_to_api_clients_and_html_to_browsers() {
    let app = on(memory().response_type(ResponseType::Auto)).await;
    let api = app.call(accept("/", "application/json")).await;
    api.assert_maintenance();
    assert_json(&api);

    let browser = app.call(accept("/", BROWSER_ACCEPT)).await;
    browser.assert_maintenance();
    assert_html(&browser);

    let no_accept = app.get("/").await;
    no_accept.assert_maintenance();
    assert_html(&no_accept);
}

#[actix_web::test]
async fn response_type_fn_chooses_per_request() {
    let app = on_built(
        MaintenanceMode::builder(memory().response_type(ResponseType::Html)).response_type_fn(
            |req: &HttpRequest| {
                if req.path().starts_with("/api") {
                    ResponseType::Json
                } else {
                    ResponseType::Html
                }
            },
        ),
    )
    .await;
    let api = app.get("/api/test/").await;
    api.assert_maintenance();
    assert_json(&api);
    let page = app.get("/").await;
    page.assert_maintenance();
    assert_html(&page);
}

#[actix_web::test]
async fn response_type_fn_overrides_the_setting() {
    let app = on_built(
        MaintenanceMode::builder(memory().response_type(ResponseType::Json))
            .response_type_fn(|_: &HttpRequest| ResponseType::Html),
    )
    .await;
    assert_html(&app.call(accept("/", "application/json")).await);
}

// --- templates ---------------------------------------------------------------

#[actix_web::test]
async fn template_selects_a_page_of_the_app_registry() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(
            "errors/503.html",
            "<h1>Custom maintenance {{status_code}} - {{support_email}}</h1>",
        )
        .unwrap();
    let app = on_built(
        MaintenanceMode::builder(memory().template("errors/503.html"))
            .templates(templates)
            .context(json!({"support_email": "ops@example.com"})),
    )
    .await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert_html(&out);
    assert_eq!(
        out.body,
        "<h1>Custom maintenance 503 - ops@example.com</h1>"
    );
}

#[actix_web::test]
async fn template_503_html_of_the_app_replaces_the_default() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string("503.html", "our own maintenance page")
        .unwrap();
    let app = on_built(MaintenanceMode::builder(memory()).templates(templates)).await;
    assert_eq!(app.get("/").await.body, "our own maintenance page");
}

#[actix_web::test]
async fn template_default_page_is_kept_in_an_app_registry_without_it() {
    let mut templates = Handlebars::new();
    templates
        .register_template_string("other.html", "unrelated")
        .unwrap();
    let app = on_built(MaintenanceMode::builder(memory()).templates(templates)).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert!(out.body.contains("maintenance"), "{}", out.body);
    assert!(!out.body.contains("unrelated"));
}

#[actix_web::test]
async fn template_unknown_name_is_a_build_error_naming_template() {
    let err = MaintenanceMode::new(memory().template("errors/missing.html")).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`template`"), "{message}");
    assert!(message.contains("errors/missing.html"), "{message}");

    let mut templates = Handlebars::new();
    templates
        .register_template_string("errors/503.html", "x")
        .unwrap();
    let err = MaintenanceMode::builder(memory().template("errors/504.html"))
        .templates(templates)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("`template`"), "{err}");
}

// --- status code, headers ------------------------------------------------------

#[actix_web::test]
async fn status_code_is_configurable() {
    let app = on(memory().status_code(502)).await;
    let out = app.get("/").await;
    out.assert_maintenance_status(StatusCode::BAD_GATEWAY);
    assert!(out.body.contains("502"), "{}", out.body);

    let app = on(memory().status_code(502).response_type(ResponseType::Json)).await;
    let out = app.get("/").await;
    out.assert_maintenance_status(StatusCode::BAD_GATEWAY);
    assert_eq!(out.json()["status_code"], json!(502));
}

#[actix_web::test]
async fn status_code_200_is_still_the_maintenance_response() {
    let app = on(memory().status_code(200)).await;
    let out = app.get("/").await;
    // 200, but the handler did not run and the response is marked.
    out.assert_maintenance_status(StatusCode::OK);
    assert!(out.body.contains("maintenance"));
}

#[actix_web::test]
async fn retry_after_defaults_to_3600() {
    let app = on(memory()).await;
    assert_eq!(app.get("/").await.header("retry-after"), Some("3600"));
}

#[actix_web::test]
async fn retry_after_is_configurable() {
    let app = on(memory().retry_after(120)).await;
    assert_eq!(app.get("/").await.header("retry-after"), Some("120"));
}

#[actix_web::test]
async fn retry_after_0_omits_the_header() {
    let app = on(memory().retry_after(0)).await;
    let out = app.get("/").await;
    out.assert_maintenance();
    assert_eq!(out.header("retry-after"), None);
}

#[actix_web::test]
async fn retry_after_counts_down_to_the_end_of_a_schedule() {
    let app = start_with(memory()).await;
    let end = Timestamp::now() + SignedDuration::from_hours(1);
    app.maint.schedule(None, Some(end)).await.unwrap();
    let out = app.get("/").await;
    out.assert_maintenance();
    let seconds: u64 = out
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((3590..=3600).contains(&seconds), "Retry-After {seconds}");
}

#[actix_web::test]
async fn retry_after_0_also_omits_the_header_during_a_schedule() {
    let app = start_with(memory().retry_after(0)).await;
    let end = Timestamp::now() + SignedDuration::from_hours(1);
    app.maint.schedule(None, Some(end)).await.unwrap();
    assert_eq!(app.get("/").await.header("retry-after"), None);
}

#[actix_web::test]
async fn json_context_follows_the_current_schedule() {
    let app = start_with(memory().response_type(ResponseType::Json)).await;
    let first = Timestamp::now() + SignedDuration::from_hours(1);
    app.maint.schedule(None, Some(first)).await.unwrap();
    let body = assert_json(&app.get("/").await);
    let shown: Timestamp = body["end"].as_str().expect("end").parse().unwrap();
    assert_eq!(shown, first);

    // A new state is rendered anew, not served from the previous state's cache.
    let second = first + SignedDuration::from_hours(1);
    app.maint.schedule(None, Some(second)).await.unwrap();
    let body = assert_json(&app.get("/").await);
    let shown: Timestamp = body["end"].as_str().expect("end").parse().unwrap();
    assert_eq!(shown, second);

    app.maint.set_maintenance_mode(true).await.unwrap();
    let body = assert_json(&app.get("/").await);
    assert!(body["end"].is_null(), "{body}");
    assert!(body["reason"].is_null(), "{body}");
    assert_eq!(body["read_only"], false, "{body}");
}

#[actix_web::test]
async fn cache_control_on_every_kind_of_maintenance_response() {
    for settings in [
        memory(),
        memory().response_type(ResponseType::Json),
        memory().redirect_url("/maintenance/"),
        memory().status_code(200),
    ] {
        let app = on(settings).await;
        let out = app.get("/").await;
        assert!(out.marked && !out.ran, "{out:?}");
        assert_never_cached(&out);
    }
}

#[actix_web::test]
async fn served_responses_keep_their_own_headers() {
    let app = start_with(memory()).await;
    let out = app.get("/").await;
    out.assert_served();
    assert_eq!(out.header("retry-after"), None);
    assert_eq!(out.header("cache-control"), None);
}
