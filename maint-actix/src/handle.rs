//! [`MaintenanceMode`], the cheap-to-clone handle: read and set the state,
//! decide for a request, build the middleware.

use std::{fmt, sync::Arc};

use actix_web::{HttpRequest, HttpResponse};
use jiff::Timestamp;

use crate::{
    backend::{BackendError, StateBackend},
    builder::MaintenanceModeBuilder,
    bypass::{BypassKey, VerifiedCookies},
    change::{Change, StateRecord},
    decision::{Exemptions, InEffect},
    facts::{ActixFacts, FactSources},
    host::{HostError, MAX_HOSTS},
    marked::MarkerCache,
    response::Responder,
    settings::{MaintenanceSettings, SettingsError},
    state::{MaintenanceState, ScheduleError},
    store::StateStore,
    user::MaintenanceUser,
};

/// Why the state could not be changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The `mode` setting fixes the state (Django raises `ImproperlyConfigured`).
    #[error(
        "maintenance mode is fixed to {} by the `mode` setting and cannot be changed; remove `mode` to use the state backend",
        if *.0 { "on" } else { "off" }
    )]
    FixedBySettings(bool),
    /// The requested schedule is not valid.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// `--host` / [`MaintenanceMode::set_host`] was given something that is
    /// not a host name.
    #[error("invalid host: {0}")]
    Host(#[from] HostError),
    /// As many hosts as a store keeps ([`MAX_HOSTS`]) already have a state
    /// of their own.
    #[error(
        "{MAX_HOSTS} hosts already have a state of their own; remove one first (`off --host HOST`)"
    )]
    TooManyHosts,
    /// The backend failed to store the state.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The maintenance-mode handle: cheap to clone (an `Arc`), shared by the
/// middleware, handlers, routes and commands of one app.
///
/// - [`is_on`](Self::is_on) is Django's `get_maintenance_mode()`: it reads an
///   in-memory snapshot, never the backend.
/// - [`set`](Self::set) / [`set_maintenance_mode`](Self::set_maintenance_mode) /
///   [`schedule`](Self::schedule) are `set_maintenance_mode(...)`.
/// - [`middleware`](Self::middleware) gives the actix-web middleware.
/// - Handlers extract it as an argument (it implements [`FromRequest`](actix_web::FromRequest)).
///
/// ```
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// assert!(!maint.is_on());
/// maint.set_maintenance_mode_blocking(true)?;
/// assert!(maint.is_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MaintenanceMode {
    inner: Arc<Inner>,
}

/// What one worker (one middleware service) remembers between requests.
#[derive(Debug, Default)]
pub(crate) struct WorkerCaches {
    /// Lookups of handler markings.
    pub(crate) markers: MarkerCache,
    /// The last bypass cookie found valid.
    pub(crate) cookies: VerifiedCookies,
}

/// Everything a handle holds; built once by [`MaintenanceModeBuilder::build`].
pub(crate) struct Inner {
    pub(crate) settings: MaintenanceSettings,
    pub(crate) store: Arc<StateStore>,
    pub(crate) exemptions: Exemptions,
    pub(crate) facts: FactSources,
    pub(crate) responder: Responder,
}

impl fmt::Debug for MaintenanceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaintenanceMode")
            .field("backend", &self.backend().describe())
            .field("state", &self.inner.store.snapshot().global.state)
            .finish_non_exhaustive()
    }
}

impl MaintenanceMode {
    /// A handle for `settings` with no hooks. See [`builder`](Self::builder) for hooks.
    pub fn new(settings: MaintenanceSettings) -> Result<Self, SettingsError> {
        Self::builder(settings).build()
    }

    /// A builder, for hooks, templates and custom backends.
    pub fn builder(settings: MaintenanceSettings) -> MaintenanceModeBuilder {
        MaintenanceModeBuilder::new(settings)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Whether maintenance is in effect now (Django's `get_maintenance_mode()`):
    /// the fixed `mode`, else the backend's state, following a schedule's clock.
    /// No I/O: the state is an in-memory snapshot.
    pub fn is_on(&self) -> bool {
        self.inner.store.snapshot().global.state.is_active()
    }

    /// Whether maintenance in read-only mode is in effect now: reads are
    /// served, writes get the maintenance response. No I/O.
    pub fn is_read_only(&self) -> bool {
        let snapshot = self.inner.store.snapshot();
        snapshot.global.state.is_read_only() && snapshot.global.state.is_active()
    }

    /// The stored state as last read (or the fallback when it could not be read).
    pub fn state(&self) -> MaintenanceState {
        self.inner.store.snapshot().global.state.clone()
    }

    /// The state `req` follows: its host's own state ([`set_host`](Self::set_host)),
    /// else the global one. No I/O.
    pub fn state_for(&self, req: &HttpRequest) -> MaintenanceState {
        self.inner.store.snapshot().for_request(req).state.clone()
    }

    /// Whether maintenance is in effect now for `req`: [`is_on`](Self::is_on)
    /// for the state `req` follows ([`state_for`](Self::state_for)). No I/O.
    pub fn is_on_for(&self, req: &HttpRequest) -> bool {
        self.inner
            .store
            .snapshot()
            .for_request(req)
            .state
            .is_active()
    }

    /// The hosts with a state of their own, sorted by name, each with its
    /// state and the change that made it. No I/O.
    pub fn host_states(&self) -> Vec<(String, StateRecord)> {
        self.inner
            .store
            .snapshot()
            .hosts
            .iter()
            .map(|entry| (entry.host.to_string(), entry.view.record()))
            .collect()
    }

    /// Gives `host` a state of its own (`Some`), or removes it (`None`) so
    /// the host follows the global state again. Requests whose `Host` is
    /// `host` (port and case ignored) follow it. The change is recorded as
    /// made by `api`; see [`set_host_with_change`](Self::set_host_with_change).
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceState};
    /// use maint_actix::settings::StateBackendKind;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let maint = MaintenanceMode::new(
    ///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
    /// )?;
    /// pollster::block_on(maint.set_host("Shop.Example.com", Some(MaintenanceState::On)))?;
    /// let shop = TestRequest::default().insert_header(("host", "shop.example.com:443"));
    /// let blog = TestRequest::default().insert_header(("host", "blog.example.com"));
    /// assert!(maint.is_on_for(&shop.to_http_request()));
    /// assert!(!maint.is_on_for(&blog.to_http_request()));
    /// assert!(!maint.is_on());
    ///
    /// pollster::block_on(maint.set_host("shop.example.com", None))?;
    /// assert!(maint.host_states().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn set_host(
        &self,
        host: &str,
        state: Option<MaintenanceState>,
    ) -> Result<(), StateError> {
        self.set_host_with_change(host, state, Change::api()).await
    }

    /// [`set_host`](Self::set_host), recording who made the change and how.
    pub async fn set_host_with_change(
        &self,
        host: &str,
        state: Option<MaintenanceState>,
        change: Change,
    ) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        let host = crate::host::normalize(host)?;
        if let Some(MaintenanceState::Scheduled(schedule)) = &state {
            schedule.validate(Timestamp::now())?;
        }
        let known = self.inner.store.snapshot().for_host(&host).is_some();
        if state.is_some() && !known && self.inner.store.snapshot().hosts.len() >= MAX_HOSTS {
            return Err(StateError::TooManyHosts);
        }
        let record = state.map(|state| StateRecord::new(state).with_change(change));
        Ok(self.inner.store.write_host(&host, record).await?)
    }

    /// Why the backend could not be read, while the fallback value (or, for a
    /// store that lost its state or is away, the last known state) is in use.
    pub fn backend_problem(&self) -> Option<String> {
        self.inner.store.snapshot().problem.clone()
    }

    /// The settings this handle was built from.
    pub fn settings(&self) -> &MaintenanceSettings {
        &self.inner.settings
    }

    /// The state backend, e.g. for its [`describe`](StateBackend::describe).
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        self.inner.store.backend()
    }

    /// Stores `state` and makes it this process's snapshot at once. Other
    /// processes see it at their next refresh. A schedule is checked as Django
    /// checks one (start before end, end in the future). The change is
    /// recorded as made by `api`; see [`set_with_change`](Self::set_with_change)
    /// to name who made it.
    pub async fn set(&self, state: MaintenanceState) -> Result<(), StateError> {
        self.set_with_change(state, Change::api()).await
    }

    /// [`set`](Self::set), recording who made the change and how: shown by
    /// `status`, the status page and every instance's log.
    ///
    /// ```
    /// use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceState};
    /// use maint_actix::{change::{Change, Via}, settings::StateBackendKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let maint = MaintenanceMode::new(
    ///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
    /// )?;
    /// let change = Change::new("deploy-bot", Via::Api);
    /// pollster::block_on(maint.set_with_change(MaintenanceState::On, change))?;
    /// assert_eq!(maint.last_change().unwrap().by, "deploy-bot");
    /// # Ok(()) }
    /// ```
    pub async fn set_with_change(
        &self,
        state: MaintenanceState,
        change: Change,
    ) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        if let MaintenanceState::Scheduled(schedule) = &state {
            schedule.validate(Timestamp::now())?;
        }
        self.store(StateRecord::new(state).with_change(change))
            .await
    }

    /// The change that made the current state (who, when, how), when known.
    pub fn last_change(&self) -> Option<Change> {
        self.inner.store.snapshot().global.change.clone()
    }

    /// Every state this instance sees from now on, whichever process or
    /// backend made it: a [`tokio::sync::watch`] receiver holding the current
    /// state and its change, and marked changed at each new one. See
    /// [`wait_until_off`](Self::wait_until_off) for the usual use.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<StateRecord> {
        self.inner.store.subscribe()
    }

    /// Waits until maintenance is not in effect: at once when it is off now,
    /// else until it is switched off or its window ends. For background
    /// work that pauses during maintenance, as Laravel's queue workers do:
    ///
    /// ```
    /// use std::time::Duration;
    /// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
    ///
    /// async fn worker(maint: MaintenanceMode) {
    ///     loop {
    ///         if maint.is_on() {
    ///             tracing::info!("maintenance: jobs paused");
    ///             maint.wait_until_off().await;
    ///             tracing::info!("maintenance over: jobs resume");
    ///         }
    ///         // ... take a job and run it ...
    ///         # break;
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// # rt.block_on(async {
    /// let maint = MaintenanceMode::new(
    ///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
    /// )?;
    /// maint.set_maintenance_mode(true).await?;
    /// let off_later = maint.clone();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(20)).await;
    ///     off_later.set_maintenance_mode(false).await
    /// });
    /// maint.wait_until_off().await;
    /// assert!(!maint.is_on());
    /// worker(maint).await;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until_off(&self) {
        let mut changes = self.subscribe();
        loop {
            // Marked seen before the snapshot is read: a change that lands
            // after this read is announced after it, so it wakes the wait.
            changes.borrow_and_update();
            let state = self.inner.store.snapshot().global.state.clone();
            let now = Timestamp::now();
            if !state.is_active_at(now) {
                return;
            }
            // A window also ends by the clock, with no change to announce it.
            let ends = state
                .end()
                .and_then(|end| end.duration_since(now).try_into().ok());
            let ended = async {
                match ends {
                    Some(left) => tokio::time::sleep(left).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = ended => {}
            }
        }
    }

    /// Django's `set_maintenance_mode(value)`.
    pub async fn set_maintenance_mode(&self, on: bool) -> Result<(), StateError> {
        self.set(MaintenanceState::from_bool(on)).await
    }

    /// Django's `set_maintenance_mode(True, start=..., end=...)`.
    pub async fn schedule(
        &self,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        let state = MaintenanceState::scheduled(start, end, Timestamp::now())?;
        self.set(state).await
    }

    /// [`set`](Self::set), blocking the calling thread; for synchronous code
    /// such as commands, tests and scripts.
    pub fn set_blocking(&self, state: MaintenanceState) -> Result<(), StateError> {
        pollster::block_on(self.set(state))
    }

    /// [`set_maintenance_mode`](Self::set_maintenance_mode), blocking the calling thread.
    pub fn set_maintenance_mode_blocking(&self, on: bool) -> Result<(), StateError> {
        pollster::block_on(self.set_maintenance_mode(on))
    }

    /// Reads the backend now instead of waiting for the next refresh.
    pub async fn reload(&self) {
        self.inner.store.refresh().await;
    }

    /// Stores `record` without the schedule checks: for restoring a value that
    /// was stored before (a schedule may have ended since).
    pub(crate) async fn store(&self, record: StateRecord) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        Ok(self.inner.store.write(record).await?)
    }

    pub(crate) fn refuse_when_fixed(&self) -> Result<(), StateError> {
        match self.inner.settings.mode {
            Some(mode) => Err(StateError::FixedBySettings(mode)),
            None => Ok(()),
        }
    }

    /// The user of `req` as the maintenance check sees it: the
    /// `get_authenticated_user` hook's, else the one stored in the session.
    pub fn user_of(&self, req: &HttpRequest) -> MaintenanceUser {
        self.inner.facts.user_of(req)
    }

    /// The maintenance response for `req` in the current state: the redirect,
    /// page or JSON the middleware would send.
    pub fn maintenance_response(&self, req: &HttpRequest) -> HttpResponse {
        let snapshot = self.inner.store.snapshot();
        let view = snapshot.for_request(req);
        self.inner
            .responder
            .respond(req, &view.state, &view.rendered)
    }

    /// The middleware's question: the maintenance response `req` gets
    /// instead of its handler, or `None` when it is served.
    #[inline]
    pub(crate) fn answer(&self, req: &HttpRequest, worker: &WorkerCaches) -> Option<HttpResponse> {
        let inner = &*self.inner;
        let snapshot = inner.store.snapshot();
        let view = snapshot.for_request(req);
        let active = view.state.is_active();
        // While maintenance is off a `#[maintenance_on]` handler answers for
        // itself, so the marking only needs looking up when maintenance is on.
        let force = if active {
            worker.markers.force_for(req)
        } else {
            None
        };
        let in_effect = || {
            active.then(|| InEffect {
                read_only: view.state.is_read_only(),
                bypass: view.bypass.as_ref(),
            })
        };
        let need = inner.exemptions.need_maintenance_response(
            force,
            in_effect,
            &mut ActixFacts::new(req, &inner.facts, &worker.cookies),
        );
        need.then(|| inner.responder.respond(req, &view.state, &view.rendered))
    }

    /// The bypass secret of the state `req` follows, keyed, when one is set.
    pub(crate) fn bypass_key_for(&self, req: &HttpRequest) -> Option<BypassKey> {
        self.inner.store.snapshot().for_request(req).bypass.clone()
    }

    /// The template registry of the maintenance page, for pages of the routes.
    pub(crate) fn templates(&self) -> &handlebars::Handlebars<'static> {
        self.inner.responder.templates()
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::{backend::MemoryBackend, settings::StateBackendKind};

    fn memory() -> MaintenanceSettings {
        MaintenanceSettings::default().state_backend(StateBackendKind::Memory)
    }

    #[test]
    fn fixed_mode_overrides_the_backend_and_refuses_changes() {
        let backend = Arc::new(MemoryBackend::with_state(MaintenanceState::Off));
        let maint = MaintenanceMode::builder(memory().mode(true))
            .shared_backend(backend.clone())
            .build()
            .unwrap();
        assert!(maint.is_on());
        let err = maint.set_maintenance_mode_blocking(false).unwrap_err();
        assert!(matches!(err, StateError::FixedBySettings(true)));
        assert!(err.to_string().contains("`mode`"), "{err}");
        let in_a_minute = Timestamp::now() + Duration::from_secs(60);
        assert!(pollster::block_on(maint.schedule(None, Some(in_a_minute))).is_err());
        assert_eq!(
            pollster::block_on(backend.get()).unwrap(),
            MaintenanceState::Off
        );
    }

    #[test]
    fn set_updates_the_snapshot_at_once_and_the_backend() {
        let backend = Arc::new(MemoryBackend::new());
        let maint = MaintenanceMode::builder(memory())
            .shared_backend(backend.clone())
            .build()
            .unwrap();
        maint.set_maintenance_mode_blocking(true).unwrap();
        assert!(maint.is_on());
        assert_eq!(
            pollster::block_on(backend.get()).unwrap(),
            MaintenanceState::On
        );
    }

    #[test]
    fn invalid_schedule_is_refused_and_nothing_changes() {
        let maint = MaintenanceMode::new(memory()).unwrap();
        let past = Timestamp::now() - Duration::from_secs(60);
        let err = pollster::block_on(maint.schedule(None, Some(past))).unwrap_err();
        assert!(matches!(
            err,
            StateError::Schedule(ScheduleError::EndNotInFuture(_))
        ));
        assert_eq!(maint.state(), MaintenanceState::Off);
    }
}
