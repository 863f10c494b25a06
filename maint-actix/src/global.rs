//! Process-wide functions over a default handle, for Django-like use
//! (`maintenance_mode.core.get_maintenance_mode()` and friends).

use std::{
    future::{Ready, ready},
    sync::OnceLock,
};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};

use crate::{
    handle::{MaintenanceMode, StateError},
    settings::{MaintenanceSettings, SettingsError},
    state::MaintenanceState,
};

static DEFAULT: OnceLock<MaintenanceMode> = OnceLock::new();

/// Makes `handle` the process-wide default used by the free functions. Only
/// the first call takes effect; later ones return the handle they could not install.
///
/// ```
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
///
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// ).unwrap();
/// maint_actix::global::install(maint.clone()).unwrap();
/// maint_actix::global::set_maintenance_mode(true).unwrap();
/// assert!(maint.is_on());
/// assert!(maint_actix::global::get_maintenance_mode());
/// ```
pub fn install(handle: MaintenanceMode) -> Result<(), MaintenanceMode> {
    DEFAULT.set(handle)
}

/// The installed default handle, if any.
pub fn installed() -> Option<&'static MaintenanceMode> {
    DEFAULT.get()
}

/// The default handle: the installed one, or else one built from
/// [`MaintenanceSettings::default()`] (the state file `maintenance_mode_state.txt`
/// in the working directory), as Django uses its default settings.
pub fn default_handle() -> Result<&'static MaintenanceMode, SettingsError> {
    if let Some(handle) = DEFAULT.get() {
        return Ok(handle);
    }
    // Two first callers may both build one; the one installed first wins.
    let built = MaintenanceMode::new(MaintenanceSettings::default())?;
    Ok(DEFAULT.get_or_init(|| built))
}

/// Django's `get_maintenance_mode()` over the default handle. If the default
/// handle cannot be built, this is the fallback `false` (and the reason is logged).
pub fn get_maintenance_mode() -> bool {
    match default_handle() {
        Ok(handle) => handle.is_on(),
        Err(error) => {
            tracing::warn!(%error, "no default maintenance handle; reporting off");
            false
        }
    }
}

/// Django's `set_maintenance_mode(value)` over the default handle; blocks until stored.
pub fn set_maintenance_mode(on: bool) -> Result<(), GlobalError> {
    default_handle()?.set_maintenance_mode_blocking(on)?;
    Ok(())
}

/// Stores `state` through the default handle; blocks until stored.
pub fn set_maintenance_state(state: MaintenanceState) -> Result<(), GlobalError> {
    default_handle()?.set_blocking(state)?;
    Ok(())
}

/// Why a free function could not act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalError {
    /// The default handle could not be built.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The state could not be set.
    #[error(transparent)]
    State(#[from] StateError),
}

impl MaintenanceMode {
    /// The handle serving `req`: the one in its app data (put there by the
    /// middleware or `.app_data()`), else the installed process-wide one.
    pub fn for_request(req: &HttpRequest) -> Option<Self> {
        req.app_data::<MaintenanceMode>()
            .cloned()
            .or_else(|| {
                req.app_data::<web::Data<MaintenanceMode>>()
                    .map(|data| data.get_ref().clone())
            })
            .or_else(|| installed().cloned())
    }
}

/// Handlers take the handle as an argument. It is found in the app data
/// (`.app_data(maint.clone())` or `web::Data<MaintenanceMode>`); the middleware
/// also provides it to every request it sees.
impl FromRequest for MaintenanceMode {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::for_request(req).ok_or_else(|| {
            actix_web::error::ErrorInternalServerError(
                "MaintenanceMode is not available: wrap the app in its middleware or add it with .app_data()",
            )
        }))
    }
}

/// The maintenance response for `req`, from the handle serving it, else the
/// default handle, as Django's decorator uses the default settings: the whole
/// of a `#[maintenance_on]` handler.
#[doc(hidden)]
pub fn maintenance_response_for(req: &HttpRequest) -> HttpResponse {
    if let Some(handle) = MaintenanceMode::for_request(req) {
        return handle.maintenance_response(req);
    }
    match default_handle() {
        Ok(handle) => handle.maintenance_response(req),
        Err(error) => {
            tracing::error!(%error, "no maintenance handle for a #[maintenance_on] handler");
            HttpResponse::ServiceUnavailable().body("Down for maintenance")
        }
    }
}
