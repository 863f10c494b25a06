//! Process-wide functions over a default handle, for Django-like use
//! (`maintenance_mode.core.get_maintenance_mode()` and friends).

use once_cell::sync::OnceCell;

use crate::{
    handle::{MaintenanceMode, StateError},
    settings::{MaintenanceSettings, SettingsError},
    state::MaintenanceState,
};

static DEFAULT: OnceCell<MaintenanceMode> = OnceCell::new();

/// Makes `handle` the process-wide default used by the free functions. Only
/// the first call takes effect; later ones return the handle they could not install.
///
/// ```
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind};
///
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// ).unwrap();
/// maint_actix::install(maint.clone()).unwrap();
/// maint_actix::set_maintenance_mode(true).unwrap();
/// assert!(maint.is_on());
/// assert!(maint_actix::get_maintenance_mode());
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
    DEFAULT.get_or_try_init(|| MaintenanceMode::new(MaintenanceSettings::default()))
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
pub enum GlobalError {
    /// The default handle could not be built.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The state could not be set.
    #[error(transparent)]
    State(#[from] StateError),
}
