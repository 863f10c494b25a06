//! Handler attributes for [maint-actix](https://docs.rs/maint-actix):
//! `#[maintenance_off]` and `#[maintenance_on]`, django-maintenance-mode's
//! `@force_maintenance_mode_off` / `@force_maintenance_mode_on` for actix-web
//! handlers. Use them through `maint_actix` (they are re-exported there).
//!
//! Written above the handler's route macros (`#[get(..)]`, `#[route(..)]`,
//! `#[routes]`), an attribute keeps the service's name and registration
//! (`.service(handler)`, in a scope, with an explicit `name`) and registers,
//! next to each route, an unreachable *marker* route, so the middleware knows
//! from the first request, for the exact scope and method, that a request is
//! for a marked handler.
//!
//! - `#[maintenance_on]`: the handler answers with the maintenance response;
//!   its extractors and body never run. It also works on a handler registered
//!   by hand (`web::get().to(handler)`), which then answers for itself.
//! - `#[maintenance_off]`: the handler runs; the middleware lets its requests
//!   through during maintenance. It must be written above a route macro: below
//!   one, or on a handler registered by hand, the middleware could not know the
//!   route before routing, so that is a compile error. Mark a route registered
//!   by hand with `maint_actix::marked::off("/path")` instead.
//!
//! Parsing the route macros is in `route.rs`, the expansion in `expand.rs`.

use proc_macro::TokenStream;

mod expand;
mod route;

/// The handler is always served, even during maintenance, whatever the
/// exemptions (Django's `@force_maintenance_mode_off`).
///
/// Write it above the route macro; below one, or on a handler registered by
/// hand, it is a compile error (the middleware could not know the route before
/// routing): mark such a route with `maint_actix::marked::off("/path")`.
///
/// ```
/// use actix_web::{App, HttpResponse, get, test, web};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind, maintenance_off};
///
/// #[maintenance_off]
/// #[get("/about/")]
/// async fn about() -> HttpResponse {
///     HttpResponse::Ok().body("About")
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// let app = test::init_service(
///     App::new()
///         .service(about)
///         .route("/", web::get().to(|| async { HttpResponse::Ok().body("Home") }))
///         .wrap(maint.middleware()),
/// )
/// .await;
///
/// maint.set_maintenance_mode(true).await?;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/about/").to_request()).await;
/// assert_eq!(res.status(), 200);
/// let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
/// assert_eq!(res.status(), 503);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[proc_macro_attribute]
pub fn maintenance_off(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Force::Off, args.into(), item.into()).into()
}

/// The handler always gets the maintenance response, even when maintenance is
/// off; its extractors and body never run (Django's `@force_maintenance_mode_on`).
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind, maintenance_on};
///
/// #[maintenance_on]
/// #[get("/legacy/")]
/// async fn legacy() -> HttpResponse {
///     unreachable!("never runs")
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// // Maintenance is off and there is no middleware: the handler still answers
/// // with the maintenance response, built from the handle in the app data.
/// assert!(!maint.is_on());
/// let app = test::init_service(App::new().app_data(maint.clone()).service(legacy)).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/legacy/").to_request()).await;
/// assert_eq!(res.status(), 503);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[proc_macro_attribute]
pub fn maintenance_on(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Force::On, args.into(), item.into()).into()
}
