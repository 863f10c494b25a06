//! Maintenance mode for [actix-web]: django-maintenance-mode's switch, for
//! Rust services and for many instances behind one load balancer.
//!
//! Flip the switch and every visitor gets a clean `503` page, while staff,
//! chosen IPs and chosen URLs still get through. The decision runs on every
//! request, so it is built to cost nearly nothing: the state is an in-memory
//! snapshot (a background refresher watches the backend), and when maintenance
//! is off no session, regex or header is looked at.
//!
//! - [`MaintenanceSettings`]: every django-maintenance-mode setting, with the
//!   same names (serde, with unknown keys refused).
//! - [`MaintenanceMode`]: the cheap-to-clone handle: `is_on()`, `set(...)`,
//!   `.middleware()`; handlers take it as an argument.
//! - [`backend`]: where the state lives ([`backend::LocalFileBackend`] reads and
//!   writes Django's state file, [`backend::MemoryBackend`], `RedisBackend`
//!   (feature `redis`), PostgreSQL (feature `postgres`), or your own [`backend::StateBackend`]).
//! - [`MaintenanceUser`] and [`user`]: the session user that `ignore_staff` and
//!   friends look at.
//! - [`global`]: process-wide [`global::get_maintenance_mode`] /
//!   [`global::set_maintenance_mode`] for Django-like use.
//! - [`middleware`], [`response`]: the middleware's service and the maintenance
//!   response ([`response::MaintenanceResponse`] marks it for loggers).
//! - `#[maintenance_off]` / `#[maintenance_on]` on handlers (feature `macros`),
//!   Django's `@force_maintenance_mode_off` / `_on`; [`marked`] marks routes
//!   registered by hand.
//! - [`guard`]: `maintenance_on()` / `maintenance_off()` scoped guards.
//! - [`routes`]: the superuser toggle routes, with a CSRF-protected confirmation
//!   page, and the bypass link of [`bypass`] (Laravel's `down --secret`).
//! - [`command`]: the `maintenance_mode on|off|status` command (feature `command`).
//! - [`template`]: the Handlebars helper `{{#if (maintenance_mode)}}`.
//! - [`settings`], [`state`], [`testing`]: the setting types, the state and its
//!   schedule, the test-run switch of `ignore_tests`.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let maint = MaintenanceMode::new(
//!     MaintenanceSettings::default()
//!         .state_backend(StateBackendKind::Memory)
//!         .ignore_urls(["/static/"]),
//! )?;
//! let app = test::init_service(
//!     App::new()
//!         .route("/", web::get().to(|| async { HttpResponse::Ok().body("Home") }))
//!         .route("/static/app.css", web::get().to(|| async { HttpResponse::Ok().body("body {}") }))
//!         .wrap(maint.middleware()),
//! )
//! .await;
//!
//! maint.set_maintenance_mode(true).await?;
//! let home = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//! assert_eq!(home.status(), 503);
//! let css = test::call_service(&app, test::TestRequest::get().uri("/static/app.css").to_request()).await;
//! assert_eq!(css.status(), 200);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! [actix-web]: https://docs.rs/actix-web

#![warn(missing_docs)]

pub mod backend;
mod builder;
pub mod bypass;
pub mod change;
mod client_ip;
#[cfg(feature = "command")]
pub mod command;
mod decision;
mod facts;
pub mod global;
pub mod guard;
mod handle;
pub mod host;
mod ip_ranges;
pub mod marked;
pub mod middleware;
mod redact;
pub mod response;
pub mod routes;
mod runtime;
pub mod settings;
pub mod state;
mod store;
pub mod template;
pub mod testing;
pub mod user;

#[cfg(test)]
mod proptests;

pub use builder::MaintenanceModeBuilder;
pub use handle::{MaintenanceMode, StateError};
#[cfg(feature = "macros")]
pub use maint_macros::{maintenance_off, maintenance_on};
pub use middleware::MaintenanceMiddleware;
pub use settings::{MaintenanceSettings, SettingsError};
pub use state::MaintenanceState;
pub use user::MaintenanceUser;

/// What the handler attributes expand to; not a public API: items with no
/// logic of their own.
#[doc(hidden)]
pub mod __private {
    pub use actix_web::{
        HttpRequest, HttpResponse,
        dev::{AppService, HttpServiceFactory},
    };

    pub use crate::{
        global::maintenance_response_for as forced_on_response, marked::register_markers,
    };
}
