//! The site: templates, the app, the server.

use actix_session::{SessionMiddleware, config::PersistentSession, storage::CookieSessionStore};
use actix_web::{
    App, HttpServer,
    cookie::{Key, time::Duration},
    web,
};
use handlebars::Handlebars;
use maint_actix::{MaintenanceMode, MaintenanceSettings};

use crate::{auth, config::SiteConfig, pages, ticker};

/// Templates of the maintenance response, built into the binary so it runs from any directory.
const MAINTENANCE_TEMPLATES: &[(&str, &str)] = &[
    ("503.html", include_str!("../templates/503.html")),
    (
        "errors/503.html",
        include_str!("../templates/errors/503.html"),
    ),
];

/// Templates of the site's own pages.
const PAGE_TEMPLATES: &[(&str, &str)] = &[
    ("base_style", include_str!("../templates/base_style.html")),
    (
        "layout_header",
        include_str!("../templates/layout_header.html"),
    ),
    ("home.html", include_str!("../templates/home.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("admin.html", include_str!("../templates/admin.html")),
];

fn registry(templates: &[(&str, &str)]) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    for (name, source) in templates {
        registry
            .register_template_string(name, source)
            .expect("the site's templates compile");
    }
    registry
}

/// The maintenance handle for `settings`, with the site's maintenance pages.
pub fn maintenance_mode(settings: MaintenanceSettings) -> Result<MaintenanceMode, String> {
    MaintenanceMode::builder(settings)
        .templates(registry(MAINTENANCE_TEMPLATES))
        .build()
        .map_err(|e| e.to_string())
}

/// The page registry, with the `maintenance_mode` helper reading `maint`.
fn page_templates(maint: &MaintenanceMode) -> Handlebars<'static> {
    let mut templates = registry(PAGE_TEMPLATES);
    maint_actix::template::register_helper(&mut templates, maint);
    templates
}

fn session_key(site: &SiteConfig) -> Key {
    match &site.session_secret {
        Some(secret) => Key::derive_from(secret.as_bytes()),
        None => Key::generate(),
    }
}

/// How long a login lasts in the browser.
const SESSION_TTL_HOURS: i64 = 8;

/// Sessions stored in a signed cookie, which expires [`SESSION_TTL_HOURS`]
/// after the last change. A cookie session cannot be revoked: a copy of the
/// cookie taken before logout still works until it expires or the key
/// changes. A production site uses a server-side store instead (README,
/// "Sessions"), where logout deletes the session itself.
fn session_middleware(key: Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_secure(false)
        .session_lifecycle(
            PersistentSession::default().session_ttl(Duration::hours(SESSION_TTL_HOURS)),
        )
        .build()
}

/// Serves the site on `bind` until stopped, with the background ticker
/// ([`ticker::run`]) on the same runtime.
pub fn serve(maint: MaintenanceMode, site: &SiteConfig, bind: &str) -> std::io::Result<()> {
    let session_key = session_key(site);
    let templates = web::Data::new(page_templates(&maint));
    let ticker_every = site.ticker_every();
    actix_web::rt::System::new().block_on(async move {
        // Background work on the server's runtime, paused during maintenance.
        actix_web::rt::spawn(ticker::run(maint.clone(), ticker_every));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(templates.clone())
                .service(pages::home)
                .service(pages::about)
                .service(pages::legacy)
                .service(pages::api_status)
                .service(pages::create_item)
                .service(pages::healthz)
                .configure(pages::ping_routes)
                .service(auth::login_form)
                .service(auth::login)
                .service(auth::logout)
                .service(auth::whoami)
                .service(auth::admin)
                .service(maint_actix::routes::routes())
                .wrap(maint.middleware())
                .wrap(session_middleware(session_key.clone()))
        })
        .bind(bind)?;
        for addr in server.addrs() {
            tracing::info!("listening on {addr}");
        }
        server.run().await
    })
}
