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
//! - [`StateBackend`]: where the state lives ([`LocalFileBackend`] reads and
//!   writes Django's state file, [`MemoryBackend`], or your own).
//! - [`MaintenanceUser`] and [`user`]: the session user that `ignore_staff` and
//!   friends look at.
//! - Process-wide [`get_maintenance_mode`] / [`set_maintenance_mode`] for
//!   Django-like use.
//! - `#[maintenance_off]` / `#[maintenance_on]` on handlers (feature `macros`),
//!   Django's `@force_maintenance_mode_off` / `_on`; [`marked`] marks routes
//!   registered by hand.
//! - [`guard`]: `maintenance_on()` / `maintenance_off()` scoped guards.
//! - [`routes`]: the superuser toggle routes, with a CSRF-protected confirmation page.
//! - [`command`]: the `maintenance_mode on|off|status` command (feature `command`).
//! - [`template`]: the Handlebars helper `{{#if (maintenance_mode)}}`.
//! - `RedisBackend` (feature `redis`): one switch for many instances, with push updates.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let maint = MaintenanceMode::new(
//!     MaintenanceSettings::default()
//!         .state_backend(StateBackendKind::Memory)
//!         .ignore_urls(["/health$"]),
//! )?;
//! let app = test::init_service(
//!     App::new()
//!         .route("/", web::get().to(|| async { HttpResponse::Ok().body("Home") }))
//!         .route("/health", web::get().to(|| async { HttpResponse::Ok().body("ok") }))
//!         .wrap(maint.middleware()),
//! )
//! .await;
//!
//! maint.set_maintenance_mode(true).await?;
//! let home = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//! assert_eq!(home.status(), 503);
//! let health = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
//! assert_eq!(health.status(), 200);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! [actix-web]: https://docs.rs/actix-web

#![warn(missing_docs)]

pub mod backend;
mod builder;
mod client_ip;
#[cfg(feature = "command")]
pub mod command;
mod decision;
mod global;
pub mod guard;
mod handle;
pub mod marked;
mod middleware;
mod response;
pub mod routes;
mod runtime;
pub mod settings;
pub mod state;
pub mod template;
mod testing;
pub mod user;

#[cfg(test)]
mod proptests;

#[cfg(feature = "redis")]
pub use backend::RedisBackend;
pub use backend::{BackendError, LocalFileBackend, MemoryBackend, StateBackend};
pub use builder::MaintenanceModeBuilder;
pub use decision::Force;
pub use global::{
    GlobalError, default_handle, get_maintenance_mode, install, installed, set_maintenance_mode,
    set_maintenance_state,
};
pub use guard::{
    MaintenanceGuard, maintenance_off, maintenance_on, with_maintenance_off, with_maintenance_on,
};
pub use handle::{ClientIpHook, MaintenanceMode, StateError, UserHook};
pub use middleware::{
    MaintenanceFuture, MaintenanceMiddleware, MaintenanceService, TOGGLE_OFF_ROUTE_NAME,
};
pub use response::{
    ContextHook, DEFAULT_TEMPLATE, DEFAULT_TEMPLATE_NAME, MaintenanceResponse, ResponseTypeHook,
};
pub use settings::{MaintenanceSettings, ResponseType, SettingsError, StateBackendKind};
pub use state::{MaintenanceState, Schedule, ScheduleError};
pub use testing::{TESTING_ENV_VAR, running_tests};
pub use user::MaintenanceUser;

#[cfg(feature = "macros")]
pub use maint_macros::{maintenance_off, maintenance_on};

/// What the handler attributes expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use actix_web::{
        HttpRequest, HttpResponse,
        dev::{AppService, HttpServiceFactory},
    };

    use crate::{Force, MaintenanceMode};

    /// Registers the marker routes of a handler marked above its route macros:
    /// each `(pattern, methods)` of its routes.
    pub fn register_markers(config: &mut AppService, force: Force, routes: &[(&str, &[&str])]) {
        for (pattern, methods) in routes {
            let mut marked = match force {
                Force::Off => crate::marked::off(*pattern),
                Force::On => crate::marked::on(*pattern),
            };
            for method in *methods {
                // The route macro has already refused a method that is not a token.
                if let Ok(method) = actix_web::http::Method::from_bytes(method.as_bytes()) {
                    marked = marked.method(method);
                }
            }
            marked.register(config);
        }
    }

    /// The whole of a `#[maintenance_on]` handler.
    pub fn forced_on_response(req: &HttpRequest) -> HttpResponse {
        match MaintenanceMode::for_request(req) {
            Some(handle) => handle.maintenance_response(req),
            // No app data and nothing installed: Django's decorator uses the
            // default settings, and so does this.
            None => match crate::default_handle() {
                Ok(handle) => handle.maintenance_response(req),
                Err(error) => {
                    tracing::error!(%error, "no maintenance handle for a #[maintenance_on] handler");
                    HttpResponse::ServiceUnavailable().body("Down for maintenance")
                }
            },
        }
    }
}
