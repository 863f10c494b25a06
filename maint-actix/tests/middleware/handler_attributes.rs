//! `#[maintenance_off]` / `#[maintenance_on]` on handlers.
//!
//! Ported from django-maintenance-mode's `test_decorators`:
//! - `test_force_maintenance_mode_off_view` → `*_off_*_is_served_during_maintenance`
//! - `test_force_maintenance_mode_on_view` → `*_on_*_answers_maintenance_*`
//! - the decorated views without the middleware → `maintenance_on_works_without_the_middleware`
//!
//! And the actix-web forms: above the route macro (`#[get]`, `#[route]`),
//! `marked::off` / `marked::on` for routes registered by
//! hand, in scopes, with an explicit name, with extractors.

use actix_web::{App, HttpRequest, HttpResponse, get, http::Method, post, route, test, web};
use maint_actix::{MaintenanceMode, maintenance_off, maintenance_on};
use maint_test_support::app::{Hits, TestApp, build, memory, sessions};

/// About, marked above its route macro.
#[maintenance_off]
#[get("/about/")]
async fn about(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("About")
}

/// About, marked above `#[route]` with several methods.
#[maintenance_off]
#[route("/about-any/", method = "GET", method = "PUT")]
async fn about_any(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("About")
}

/// Registered by hand; `marked::off` marks its route.
async fn about_by_hand(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("About")
}

#[maintenance_on]
#[get("/legacy/")]
async fn legacy(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("Legacy")
}

#[get("/legacy-below/")]
#[maintenance_on]
async fn legacy_below(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("Legacy")
}

#[maintenance_on]
async fn legacy_by_hand(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("Legacy")
}

/// Served during maintenance, with its own resource name.
#[maintenance_off]
#[get("/named/", name = "custom_name")]
async fn named(hits: web::Data<Hits>, req: HttpRequest) -> HttpResponse {
    hits.hit();
    let url = req
        .url_for_static("custom_name")
        .expect("the name resolves");
    HttpResponse::Ok().body(url.path().to_owned())
}

/// Its own name is the function name.
#[maintenance_off]
#[get("/self-url/")]
async fn self_url(hits: web::Data<Hits>, req: HttpRequest) -> HttpResponse {
    hits.hit();
    let url = req.url_for_static("self_url").expect("the name resolves");
    HttpResponse::Ok().body(url.path().to_owned())
}

#[maintenance_off]
#[get("/form/")]
async fn form_get(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("form")
}

#[post("/form/")]
async fn form_post(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("posted")
}

#[derive(serde::Deserialize)]
struct Query {
    q: String,
}

/// Extractors of every kind, including a destructuring pattern.
#[maintenance_off]
#[get("/items/{a}/{b}/")]
async fn items(
    hits: web::Data<Hits>,
    path: web::Path<(u32, u32)>,
    web::Query(query): web::Query<Query>,
    mut _unused: web::Header<actix_web::http::header::Date>,
) -> HttpResponse {
    hits.hit();
    let (a, b) = path.into_inner();
    HttpResponse::Ok().body(format!("{} {}", a + b, query.q))
}

/// Two handlers called `page` in two scopes; only the one in `a` is marked.
mod a {
    use super::*;

    #[maintenance_off]
    #[get("/page/")]
    pub async fn page(hits: web::Data<Hits>) -> HttpResponse {
        hits.hit();
        HttpResponse::Ok().body("a")
    }
}

mod b {
    use super::*;

    #[get("/page/")]
    pub async fn page(hits: web::Data<Hits>) -> HttpResponse {
        hits.hit();
        HttpResponse::Ok().body("b")
    }
}

async fn plain(hits: web::Data<Hits>) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body("plain")
}

async fn start(maint: &MaintenanceMode) -> TestApp {
    let hits = Hits::default();
    let app = App::new()
        .app_data(web::Data::new(hits.clone()))
        .service(about)
        .service(about_any)
        .service(web::resource("/about-by-hand/").route(web::get().to(about_by_hand)))
        .service(maint_actix::marked::off("/about-by-hand/").method(Method::GET))
        .service(legacy)
        .service(legacy_below)
        .route("/legacy-by-hand/", web::get().to(legacy_by_hand))
        .service(named)
        .service(self_url)
        .service(form_get)
        .service(form_post)
        .service(items)
        .service(web::scope("/a").service(a::page))
        .service(web::scope("/b").service(b::page))
        .route("/plain/", web::get().to(plain))
        .wrap(maint.middleware())
        .wrap(sessions());
    let service = test::init_service(app).await;
    TestApp::new(service, test::TestRequest::to_request, maint, &hits)
}

fn maint(on: bool) -> MaintenanceMode {
    let maint = build(memory());
    maint.set_maintenance_mode_blocking(on).unwrap();
    maint
}

#[actix_rt::test]
async fn maintenance_off_above_the_route_is_served_during_maintenance() {
    let app = start(&maint(true)).await;
    app.get("/about/").await.assert_served();
    app.get("/plain/").await.assert_maintenance();
}

#[actix_rt::test]
async fn maintenance_off_is_served_outside_maintenance_too() {
    let app = start(&maint(false)).await;
    app.get("/about/").await.assert_served();
    app.get("/about-any/").await.assert_served();
    app.get("/about-by-hand/").await.assert_served();
}

/// Every marking is registered with the app, so an app that starts during
/// maintenance serves its `#[maintenance_off]` routes from the first request,
/// for the marked methods only.
#[actix_rt::test]
async fn every_form_of_maintenance_off_is_served_from_the_first_request() {
    let app = start(&maint(true)).await;
    app.get("/about-any/").await.assert_served();
    app.call(test::TestRequest::put().uri("/about-any/"))
        .await
        .assert_served();
    app.get("/about-by-hand/").await.assert_served();
    app.call(test::TestRequest::post().uri("/about-by-hand/"))
        .await
        .assert_maintenance();
    app.get("/plain/").await.assert_maintenance();
}

#[actix_rt::test]
async fn maintenance_on_answers_maintenance_when_maintenance_is_off() {
    let app = start(&maint(false)).await;
    for path in ["/legacy/", "/legacy-below/", "/legacy-by-hand/"] {
        app.get(path).await.assert_maintenance();
    }
    app.get("/plain/").await.assert_served();
}

#[actix_rt::test]
async fn maintenance_on_answers_maintenance_during_maintenance() {
    let app = start(&maint(true)).await;
    for path in ["/legacy/", "/legacy-below/", "/legacy-by-hand/"] {
        app.get(path).await.assert_maintenance();
    }
}

#[actix_rt::test]
async fn maintenance_on_beats_every_exemption() {
    let maint = build(
        memory()
            .ignore_urls(["/legacy"])
            .ignore_anonymous_user(true),
    );
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start(&maint).await;
    app.get("/legacy/").await.assert_maintenance();
    app.get("/legacy-below/").await.assert_maintenance();
    app.get("/plain/").await.assert_served();
}

#[actix_rt::test]
async fn maintenance_on_uses_the_configured_response() {
    let maint = build(
        memory()
            .response_type(maint_actix::settings::ResponseType::Json)
            .status_code(502),
    );
    let app = start(&maint).await;
    let outcome = app.get("/legacy/").await;
    outcome.assert_maintenance_status(actix_web::http::StatusCode::BAD_GATEWAY);
    assert_eq!(outcome.json()["maintenance"], true);

    let redirecting = build(memory().redirect_url("/maintenance/"));
    let app = start(&redirecting).await;
    let outcome = app.get("/legacy/").await;
    outcome.assert_maintenance_status(actix_web::http::StatusCode::FOUND);
    assert_eq!(outcome.header("location"), Some("/maintenance/"));
}

#[actix_rt::test]
async fn maintenance_on_works_without_the_middleware() {
    let maint = maint(false);
    let hits = Hits::default();
    let service = test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(maint.clone())
            .service(legacy)
            .route("/legacy-by-hand/", web::get().to(legacy_by_hand)),
    )
    .await;
    let app = TestApp::new(service, test::TestRequest::to_request, &maint, &hits);
    app.get("/legacy/").await.assert_maintenance();
    app.get("/legacy-by-hand/").await.assert_maintenance();
}

#[actix_rt::test]
async fn same_function_name_in_two_scopes_only_the_marked_one_is_served() {
    let app = start(&maint(true)).await;
    let a = app.get("/a/page/").await;
    a.assert_served();
    assert_eq!(a.body, "a");
    app.get("/b/page/").await.assert_maintenance();
}

#[actix_rt::test]
async fn get_marked_post_unmarked_on_one_path() {
    let app = start(&maint(true)).await;
    app.get("/form/").await.assert_served();
    app.call(
        test::TestRequest::default()
            .method(Method::POST)
            .uri("/form/"),
    )
    .await
    .assert_maintenance();
}

#[actix_rt::test]
async fn explicit_name_is_kept_for_url_for() {
    let app = start(&maint(true)).await;
    let outcome = app.get("/named/").await;
    outcome.assert_served();
    assert_eq!(outcome.body, "/named/");
    let outcome = app.get("/self-url/").await;
    outcome.assert_served();
    assert_eq!(outcome.body, "/self-url/");
}

#[actix_rt::test]
async fn extractors_still_work() {
    let app = start(&maint(true)).await;
    let outcome = app
        .call(
            test::TestRequest::get()
                .uri("/items/2/3/?q=x")
                .insert_header(("date", "Sat, 21 Nov 2026 10:00:00 GMT")),
        )
        .await;
    outcome.assert_served();
    assert_eq!(outcome.body, "5 x");
}

#[actix_rt::test]
async fn marker_routes_are_never_routed_to() {
    let app = start(&maint(false)).await;
    for path in ["/about//__maint__/GET", "/a/page//__maint__/GET"] {
        let outcome = app.get(path).await;
        assert_eq!(outcome.status, 404, "{path}: {outcome:?}");
        assert!(!outcome.ran);
    }
}
