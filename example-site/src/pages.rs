//! The site's pages.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use handlebars::Handlebars;
use maint_actix::{MaintenanceMode, maintenance_off, maintenance_on};
use serde_json::json;

/// Renders `template` with `context` as an HTML page.
pub fn render(
    templates: &Handlebars<'static>,
    template: &str,
    context: &serde_json::Value,
) -> HttpResponse {
    match templates.render(template, context) {
        Ok(page) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page),
        Err(error) => {
            tracing::error!(%error, template, "page failed to render");
            HttpResponse::InternalServerError().body("the page failed to render")
        }
    }
}

/// The context every page gets: who is logged in.
pub fn page_context(maint: &MaintenanceMode, req: &HttpRequest) -> serde_json::Value {
    let user = maint.user_of(req);
    json!({
        "user": user.name,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    })
}

/// Home; during maintenance an exempt user sees the banner of the Handlebars helper.
#[get("/")]
pub async fn home(
    templates: web::Data<Handlebars<'static>>,
    maint: MaintenanceMode,
    req: HttpRequest,
) -> HttpResponse {
    render(&templates, "home.html", &page_context(&maint, &req))
}

/// Served even during maintenance (Django's `@force_maintenance_mode_off`).
#[maintenance_off]
#[get("/about/")]
pub async fn about() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!DOCTYPE html><title>About</title><h1>About</h1><p>This page is served even during maintenance.</p>")
}

/// A retired page: always the maintenance response (Django's `@force_maintenance_mode_on`).
#[maintenance_on]
#[get("/legacy/")]
pub async fn legacy() -> HttpResponse {
    HttpResponse::Ok().body("Legacy")
}

/// A route registered by hand (`web::resource`, no route macro), exempt from
/// maintenance by the `maint_actix::marked::off` registered next to it.
pub async fn ping() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("pong")
}

/// `GET /ping` with its marking, as a route registered by hand is exempted.
pub fn ping_routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/ping").route(web::get().to(ping)))
        .service(maint_actix::marked::off("/ping").method(actix_web::http::Method::GET));
}

/// A health check for load balancers: served during maintenance through the
/// `health_urls` setting (its default holds `/healthz`), not by a marking.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// A write, for read-only mode: answered with the maintenance response there.
#[post("/api/items")]
pub async fn create_item() -> HttpResponse {
    HttpResponse::Created().json(json!({ "created": true }))
}

/// A status endpoint of the app's own API.
#[get("/api/status")]
pub async fn api_status() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}
