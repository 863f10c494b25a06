//! maint in one small app: the middleware inside the session middleware, staff
//! let through, a health check exempt by hand, a page marked with an attribute,
//! and the superuser toggle routes.
//!
//! ```sh
//! cargo run -p maint-actix --example basic       # http://127.0.0.1:8080
//! echo 1 > maintenance_mode_state.txt            # from another terminal: 503 for everyone but staff
//! ```

use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::{App, HttpResponse, HttpServer, cookie::Key, get, web};
use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceUser, maintenance_off, marked};

/// Served even during maintenance.
#[maintenance_off]
#[get("/about")]
async fn about() -> HttpResponse {
    HttpResponse::Ok().body("About this site")
}

/// A demo login: whoever calls it (before maintenance starts) is staff from now on.
#[get("/login-as-staff")]
async fn login_as_staff(
    session: Session,
    maint: MaintenanceMode,
) -> actix_web::Result<HttpResponse> {
    let user = MaintenanceUser::authenticated("ada").staff();
    maint_actix::user::login(&session, &maint.settings().session_user_key, &user)?;
    Ok(HttpResponse::Ok().body("You are staff: maintenance lets you through"))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // django-maintenance-mode's settings, by their Django names.
    let settings = MaintenanceSettings::default().ignore_staff(true);
    let maint = MaintenanceMode::new(settings).map_err(std::io::Error::other)?;
    let key = Key::generate();
    HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("Home") }),
            )
            .route("/health", web::get().to(HttpResponse::Ok))
            .service(marked::off("/health"))
            .service(about)
            .service(login_as_staff)
            .service(maint_actix::routes::routes())
            .wrap(maint.middleware())
            .wrap(SessionMiddleware::new(
                CookieSessionStore::default(),
                key.clone(),
            ))
    })
    .bind("127.0.0.1:8080")?
    .run()
    .await
}
