//! Scoped guards: Django's `maintenance_mode_on()` / `maintenance_mode_off()`
//! context managers (and decorators) as values that restore the state on drop.
//!
//! A guard stores the new state when created and, when dropped (also during a
//! panic's unwinding), stores back exactly the value that was stored before,
//! schedule included. Nested guards restore in reverse order of creation.
//!
//! ```
//! use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
//!
//! let maint = MaintenanceMode::new(
//!     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
//! ).unwrap();
//! {
//!     let _on = maint.maintenance_on().unwrap();
//!     assert!(maint.is_on());
//!     {
//!         let _off = maint.maintenance_off().unwrap();
//!         assert!(!maint.is_on());
//!     }
//!     assert!(maint.is_on());
//! }
//! assert!(!maint.is_on());
//! ```

use crate::{
    backend::BackendError,
    change::{Change, StateRecord},
    handle::{MaintenanceMode, StateError},
    state::MaintenanceState,
};

/// Sets the maintenance state while it lives; see the [module docs](self).
///
/// It is `Send`, so it can be held across `.await`. Dropping it restores the
/// previous state by blocking the thread for the backend write; in async code
/// prefer [`restore`](Self::restore), which awaits it.
#[must_use = "the state is restored as soon as the guard is dropped"]
#[derive(Debug)]
pub struct MaintenanceGuard {
    handle: MaintenanceMode,
    /// `None` once restored.
    previous: Option<MaintenanceState>,
}

impl MaintenanceGuard {
    /// Stores `state` and remembers what the backend held before. A store
    /// that lost its state ([`BackendError::Missing`]) gets back the state the
    /// handle kept meanwhile (the last known one, or the fallback value).
    pub(crate) async fn enter(
        handle: &MaintenanceMode,
        state: MaintenanceState,
    ) -> Result<Self, StateError> {
        handle.refuse_when_fixed()?;
        let previous = match handle.backend().get().await {
            Ok(previous) => previous,
            Err(BackendError::Missing { .. }) => handle.state(),
            Err(error) => return Err(error.into()),
        };
        handle.store(api_change(state)).await?;
        Ok(Self {
            handle: handle.clone(),
            previous: Some(previous),
        })
    }

    /// Restores the previous state now, reporting a failure instead of logging it.
    pub async fn restore(mut self) -> Result<(), StateError> {
        match self.previous.take() {
            Some(previous) => self.handle.store(api_change(previous)).await,
            None => Ok(()),
        }
    }

    /// The state that is restored on drop.
    pub fn previous(&self) -> Option<&MaintenanceState> {
        self.previous.as_ref()
    }
}

impl Drop for MaintenanceGuard {
    fn drop(&mut self) {
        let Some(previous) = self.previous.take() else {
            return;
        };
        if let Err(error) = pollster::block_on(self.handle.store(api_change(previous))) {
            tracing::error!(%error, "cannot restore the maintenance state after a guard");
        }
    }
}

/// `state`, set by code.
fn api_change(state: MaintenanceState) -> StateRecord {
    StateRecord::new(state).with_change(Change::api())
}

impl MaintenanceMode {
    /// Sets maintenance to `on` until the guard drops (Django's
    /// `override_maintenance_mode(value)`).
    pub fn override_maintenance_mode(&self, on: bool) -> Result<MaintenanceGuard, StateError> {
        pollster::block_on(MaintenanceGuard::enter(
            self,
            MaintenanceState::from_bool(on),
        ))
    }

    /// Turns maintenance on until the guard drops (Django's `maintenance_mode_on()`).
    /// With `mode` fixed in settings this is an error, as Django raises `ImproperlyConfigured`.
    pub fn maintenance_on(&self) -> Result<MaintenanceGuard, StateError> {
        pollster::block_on(self.maintenance_on_async())
    }

    /// Turns maintenance off until the guard drops (Django's `maintenance_mode_off()`).
    pub fn maintenance_off(&self) -> Result<MaintenanceGuard, StateError> {
        pollster::block_on(self.maintenance_off_async())
    }

    /// [`maintenance_on`](Self::maintenance_on) for async code.
    pub async fn maintenance_on_async(&self) -> Result<MaintenanceGuard, StateError> {
        MaintenanceGuard::enter(self, MaintenanceState::On).await
    }

    /// [`maintenance_off`](Self::maintenance_off) for async code.
    pub async fn maintenance_off_async(&self) -> Result<MaintenanceGuard, StateError> {
        MaintenanceGuard::enter(self, MaintenanceState::Off).await
    }

    /// Runs `f` with maintenance on, then restores the state, also if `f` panics
    /// (the decorator form of Django's `maintenance_mode_on`).
    ///
    /// ```
    /// # use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
    /// # let maint = MaintenanceMode::new(
    /// #     MaintenanceSettings::default().state_backend(StateBackendKind::Memory)).unwrap();
    /// let seen = maint.with_maintenance_on(|| maint.is_on()).unwrap();
    /// assert!(seen);
    /// assert!(!maint.is_on());
    /// ```
    pub fn with_maintenance_on<T>(&self, f: impl FnOnce() -> T) -> Result<T, StateError> {
        let guard = self.maintenance_on()?;
        let result = f();
        drop(guard);
        Ok(result)
    }

    /// Runs `f` with maintenance off, then restores the state, also if `f` panics.
    pub fn with_maintenance_off<T>(&self, f: impl FnOnce() -> T) -> Result<T, StateError> {
        let guard = self.maintenance_off()?;
        let result = f();
        drop(guard);
        Ok(result)
    }
}

/// [`MaintenanceMode::maintenance_on`] over the process-wide default handle.
pub fn maintenance_on() -> Result<MaintenanceGuard, crate::global::GlobalError> {
    Ok(crate::global::default_handle()?.maintenance_on()?)
}

/// [`MaintenanceMode::maintenance_off`] over the process-wide default handle.
pub fn maintenance_off() -> Result<MaintenanceGuard, crate::global::GlobalError> {
    Ok(crate::global::default_handle()?.maintenance_off()?)
}

/// [`MaintenanceMode::with_maintenance_on`] over the process-wide default handle.
pub fn with_maintenance_on<T>(f: impl FnOnce() -> T) -> Result<T, crate::global::GlobalError> {
    Ok(crate::global::default_handle()?.with_maintenance_on(f)?)
}

/// [`MaintenanceMode::with_maintenance_off`] over the process-wide default handle.
pub fn with_maintenance_off<T>(f: impl FnOnce() -> T) -> Result<T, crate::global::GlobalError> {
    Ok(crate::global::default_handle()?.with_maintenance_off(f)?)
}
