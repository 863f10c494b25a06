//! The site itself: templates, routes and the server.

use actix_session::{SessionMiddleware, storage::CookieSessionStore};
use actix_web::{App, HttpResponse, HttpServer, cookie::Key, get, web};
use handlebars::Handlebars;
use maint_actix::{MaintenanceMode, MaintenanceSettings, maintenance_off, maintenance_on};

/// The site's templates, built into the binary so it runs from any directory.
const TEMPLATES: &[(&str, &str)] = &[
    ("503.html", include_str!("../templates/503.html")),
    (
        "errors/503.html",
        include_str!("../templates/errors/503.html"),
    ),
    ("home.html", include_str!("../templates/home.html")),
];

/// The site's Handlebars registry.
pub fn templates() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    for (name, source) in TEMPLATES {
        registry
            .register_template_string(name, source)
            .expect("the site's templates compile");
    }
    registry
}

/// The maintenance handle for `settings`, with the site's templates.
pub fn maintenance_mode(settings: MaintenanceSettings) -> Result<MaintenanceMode, String> {
    MaintenanceMode::builder(settings)
        .templates(templates())
        .build()
        .map_err(|e| e.to_string())
}

#[get("/")]
async fn home(templates: web::Data<Handlebars<'static>>) -> HttpResponse {
    match templates.render("home.html", &()) {
        Ok(page) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page),
        Err(error) => HttpResponse::InternalServerError().body(error.to_string()),
    }
}

/// The about page stays up during maintenance (Django's `@force_maintenance_mode_off`).
#[maintenance_off]
#[get("/about/")]
async fn about() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!DOCTYPE html><title>About</title><h1>About</h1><p>This page is served even during maintenance.</p>")
}

/// A retired page: always the maintenance response (Django's `@force_maintenance_mode_on`).
#[maintenance_on]
#[get("/legacy/")]
async fn legacy() -> HttpResponse {
    HttpResponse::Ok().body("Legacy")
}

/// Serves the site on `bind` until stopped.
pub fn serve(maint: MaintenanceMode, bind: &str) -> std::io::Result<()> {
    let session_key = Key::generate();
    let templates = web::Data::new(templates());
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(templates.clone())
                .service(home)
                .service(about)
                .service(legacy)
                .wrap(maint.middleware())
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                        .cookie_secure(false)
                        .build(),
                )
        })
        .bind(bind)?;
        for addr in server.addrs() {
            tracing::info!("listening on {addr}");
        }
        server.run().await
    })
}
