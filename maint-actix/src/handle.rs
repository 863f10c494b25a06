//! [`MaintenanceMode`], the cheap-to-clone handle: read and set the state, build the middleware.

use std::{
    fmt,
    future::{Ready, ready},
    sync::{Arc, Weak},
    time::Duration,
};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use arc_swap::ArcSwap;
use jiff::Timestamp;

use crate::{
    backend::{BackendError, LocalFileBackend, MemoryBackend, StateBackend},
    builder::MaintenanceModeBuilder,
    client_ip::TrustedProxies,
    decision::Exemptions,
    response::Responder,
    settings::{MaintenanceSettings, SettingsError, StateBackendKind},
    state::{MaintenanceState, ScheduleError},
    user::MaintenanceUser,
};

/// Why the state could not be changed.
#[derive(Debug, thiserror::Error)]
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
    /// The backend failed to store the state.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Hook: the client IP as text, replacing the built-in peer/proxy resolution
/// (Django's `MAINTENANCE_MODE_GET_CLIENT_IP_ADDRESS`).
pub type ClientIpHook = Arc<dyn Fn(&HttpRequest) -> Option<String> + Send + Sync>;
/// Hook: the request's user, replacing the session lookup; `None` falls back to the
/// session (Django's `MAINTENANCE_MODE_GET_AUTHENTICATED_USER`).
pub type UserHook = Arc<dyn Fn(&HttpRequest) -> Option<MaintenanceUser> + Send + Sync>;

/// The state as the middleware sees it: what the backend last said (or the fallback).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) state: MaintenanceState,
    /// Why the backend could not be read, when `state` is the fallback value
    /// or a state kept from before.
    pub(crate) problem: Option<String>,
    /// The last state the backend said (or that was set): what a
    /// [`BackendError::Missing`] keeps. `None` until one is known.
    known: Option<MaintenanceState>,
    /// Bodies rendered for this state, reused until the state changes.
    pub(crate) rendered: crate::response::RenderedBodies,
}

impl Snapshot {
    /// The state the backend said (or that was just set), with no problem.
    fn known(state: MaintenanceState) -> Self {
        Self::with(state.clone(), None, Some(state))
    }

    fn with(
        state: MaintenanceState,
        problem: Option<String>,
        known: Option<MaintenanceState>,
    ) -> Self {
        Self {
            state,
            problem,
            known,
            rendered: Default::default(),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) settings: MaintenanceSettings,
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) snapshot: ArcSwap<Snapshot>,
    /// Serializes backend reads and writes so a refresh that read before a `set`
    /// cannot overwrite the newer snapshot.
    io_lock: tokio::sync::Mutex<()>,
    pub(crate) exemptions: Exemptions,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) client_ip_hook: Option<ClientIpHook>,
    pub(crate) user_hook: Option<UserHook>,
    pub(crate) responder: Responder,
    /// Dropped with the handle, which tells the refresher thread to end.
    _stop_refresher: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The maintenance-mode handle: cheap to clone (an `Arc`), shared by the
/// middleware, handlers, routes and commands of one app.
///
/// - [`is_on`](Self::is_on) is Django's `get_maintenance_mode()`: it reads an
///   in-memory snapshot, never the backend.
/// - [`set`](Self::set) / [`set_maintenance_mode`](Self::set_maintenance_mode) /
///   [`schedule`](Self::schedule) are `set_maintenance_mode(...)`.
/// - [`middleware`](Self::middleware) gives the actix-web middleware.
/// - Handlers extract it as an argument (it implements [`FromRequest`]).
///
/// ```
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind};
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
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for MaintenanceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaintenanceMode")
            .field("backend", &self.inner.backend.describe())
            .field("state", &self.inner.snapshot.load().state)
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

    /// Whether maintenance is in effect now (Django's `get_maintenance_mode()`):
    /// the fixed `mode`, else the backend's state, following a schedule's clock.
    /// No I/O: the state is an in-memory snapshot.
    pub fn is_on(&self) -> bool {
        self.inner.snapshot.load().state.is_active()
    }

    /// The stored state as last read (or the fallback when it could not be read).
    pub fn state(&self) -> MaintenanceState {
        self.inner.snapshot.load().state.clone()
    }

    /// Why the backend could not be read, while the fallback value (or, for a
    /// store that lost its state or is away, the last known state) is in use.
    pub fn backend_problem(&self) -> Option<String> {
        self.inner.snapshot.load().problem.clone()
    }

    /// The settings this handle was built from.
    pub fn settings(&self) -> &MaintenanceSettings {
        &self.inner.settings
    }

    /// The state backend, e.g. for its [`describe`](StateBackend::describe).
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.inner.backend
    }

    /// Stores `state` and makes it this process's snapshot at once. Other
    /// processes see it at their next refresh. A schedule is checked as Django
    /// checks one (start before end, end in the future).
    pub async fn set(&self, state: MaintenanceState) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        if let MaintenanceState::Scheduled(schedule) = &state {
            schedule.validate(Timestamp::now())?;
        }
        self.store(state).await
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
        self.store(state).await
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
        self.inner.refresh().await;
    }

    /// Stores `state` without the schedule checks: for restoring a value that
    /// was stored before (a schedule may have ended since).
    pub(crate) async fn store(&self, state: MaintenanceState) -> Result<(), StateError> {
        self.refuse_when_fixed()?;
        let _io = self.inner.io_lock.lock().await;
        self.inner.backend.set(&state).await?;
        tracing::info!(state = %state, backend = %self.inner.backend.describe(), "maintenance state set");
        self.inner.snapshot.store(Arc::new(Snapshot::known(state)));
        Ok(())
    }

    pub(crate) fn refuse_when_fixed(&self) -> Result<(), StateError> {
        match self.inner.settings.mode {
            Some(mode) => Err(StateError::FixedBySettings(mode)),
            None => Ok(()),
        }
    }
}

impl Inner {
    /// The user of `req`: the `get_authenticated_user` hook's, else the session's.
    pub(crate) fn user_of(&self, req: &HttpRequest) -> MaintenanceUser {
        if let Some(user) = self.user_hook.as_ref().and_then(|hook| hook(req)) {
            return user;
        }
        let session = actix_session::SessionExt::get_session(req);
        crate::user::current(&session, &self.settings.session_user_key).unwrap_or_else(|error| {
            tracing::debug!(%error, "unreadable session user; treating the request as anonymous");
            MaintenanceUser::anonymous()
        })
    }

    async fn refresh(&self) {
        if self.settings.mode.is_some() {
            return;
        }
        let _io = self.io_lock.lock().await;
        let read = self.backend.get().await;
        self.apply_read(read);
    }

    /// Replaces the snapshot when what the backend says changed, logging each
    /// change once: a corrupted file is reported when it appears, not per poll.
    fn apply_read(&self, read: Result<MaintenanceState, BackendError>) {
        let current = self.snapshot.load();
        let fallback = MaintenanceState::from_bool(self.settings.state_backend_fallback_value);
        let missing = matches!(read, Err(BackendError::Missing { .. }));
        let (state, problem, known) = match read {
            Ok(state) => (state.clone(), None, Some(state)),
            // Nothing stored is unknown, not off: keep what was known.
            Err(error @ BackendError::Missing { .. }) => (
                current.known.clone().unwrap_or(fallback),
                Some(error.to_string()),
                current.known.clone(),
            ),
            // A server that is away has not changed the state: keep the last one.
            Err(error @ BackendError::Unavailable { .. })
                if self.backend.keeps_last_state_on_error() =>
            {
                (
                    current.state.clone(),
                    Some(error.to_string()),
                    current.known.clone(),
                )
            }
            Err(error) => (fallback, Some(error.to_string()), current.known.clone()),
        };
        if current.state == state && current.problem == problem {
            return;
        }
        match (&problem, &current.problem) {
            (Some(problem), _) if missing => tracing::warn!(
                error = %problem,
                state = %state,
                "no maintenance state stored; keeping the last known state until one is set"
            ),
            (Some(problem), _) => tracing::warn!(
                error = %problem,
                state = %state,
                "maintenance state unreadable; using the last state read or state_backend_fallback_value"
            ),
            (None, Some(_)) => {
                tracing::info!(state = %state, "maintenance state readable again")
            }
            (None, None) => tracing::info!(state = %state, "maintenance state changed"),
        }
        self.snapshot
            .store(Arc::new(Snapshot::with(state, problem, known)));
    }
}

/// The snapshot to start with: the fixed `mode`, or the backend's state now.
fn initial_snapshot(settings: &MaintenanceSettings, backend: &dyn StateBackend) -> Snapshot {
    if let Some(mode) = settings.mode {
        return Snapshot::known(MaintenanceState::from_bool(mode));
    }
    let fallback = MaintenanceState::from_bool(settings.state_backend_fallback_value);
    match pollster::block_on(backend.get()) {
        Ok(state) => {
            tracing::debug!(state = %state, backend = %backend.describe(), "maintenance state read");
            Snapshot::known(state)
        }
        Err(error) => {
            if matches!(error, BackendError::Missing { .. }) {
                tracing::warn!(
                    error = %error,
                    fallback = %fallback,
                    "no maintenance state stored; using state_backend_fallback_value until one is set"
                );
            } else {
                tracing::warn!(
                    error = %error,
                    fallback = %fallback,
                    "maintenance state unreadable; using state_backend_fallback_value"
                );
            }
            Snapshot::with(fallback, Some(error.to_string()), None)
        }
    }
}

/// Creates the backend that `state_backend` names.
pub(crate) fn backend_from_settings(
    settings: &MaintenanceSettings,
) -> Result<Arc<dyn StateBackend>, SettingsError> {
    match settings.state_backend {
        StateBackendKind::LocalFile => Ok(Arc::new(LocalFileBackend::new(
            settings.state_file_path.clone(),
        ))),
        StateBackendKind::Memory => Ok(Arc::new(MemoryBackend::new())),
        StateBackendKind::Redis => redis_backend(settings),
    }
}

#[cfg(feature = "redis")]
fn redis_backend(settings: &MaintenanceSettings) -> Result<Arc<dyn StateBackend>, SettingsError> {
    let resync = settings.redis_resync_seconds;
    if !(resync.is_finite() && resync > 0.0) {
        return Err(SettingsError::InvalidValue {
            key: "redis_resync_seconds",
            reason: format!("{resync} is not a positive number of seconds"),
        });
    }
    let backend =
        crate::backend::RedisBackend::new(&settings.redis_url, &settings.redis_key_prefix)
            .map_err(|error| SettingsError::Backend {
                key: "redis_url",
                reason: error.to_string(),
            })?
            .with_resync_interval(Duration::from_secs_f64(resync))
            .keep_last_state(settings.redis_keep_last_state);
    Ok(Arc::new(backend))
}

#[cfg(not(feature = "redis"))]
fn redis_backend(_: &MaintenanceSettings) -> Result<Arc<dyn StateBackend>, SettingsError> {
    Err(SettingsError::Backend {
        key: "state_backend",
        reason: "the redis backend needs maint-actix's `redis` feature".to_owned(),
    })
}

/// Everything [`MaintenanceModeBuilder::build`] has checked and compiled.
pub(crate) struct Parts {
    pub(crate) settings: MaintenanceSettings,
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) exemptions: Exemptions,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) client_ip_hook: Option<ClientIpHook>,
    pub(crate) user_hook: Option<UserHook>,
    pub(crate) responder: Responder,
}

impl MaintenanceMode {
    /// Reads the initial state and, unless `mode` fixes it, starts the refresher.
    pub(crate) fn start(parts: Parts) -> Self {
        let initial = initial_snapshot(&parts.settings, &*parts.backend);
        let watches = parts.settings.mode.is_none()
            && (parts.backend.poll_interval().is_some() || parts.backend.subscribe().is_some());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let inner = Arc::new(Inner {
            settings: parts.settings,
            backend: parts.backend,
            snapshot: ArcSwap::from_pointee(initial),
            io_lock: tokio::sync::Mutex::new(()),
            exemptions: parts.exemptions,
            trusted_proxies: parts.trusted_proxies,
            client_ip_hook: parts.client_ip_hook,
            user_hook: parts.user_hook,
            responder: parts.responder,
            _stop_refresher: watches.then_some(stop),
        });
        if watches {
            spawn_refresher(Arc::downgrade(&inner), stopped);
        }
        Self { inner }
    }
}

/// Keeps the snapshot current in a thread of its own, so requests never wait
/// on the backend and the refresher runs whichever runtime the app uses.
fn spawn_refresher(inner: Weak<Inner>, stopped: tokio::sync::oneshot::Receiver<()>) {
    let spawned = crate::runtime::spawn_with_runtime("maint-refresher", move || async move {
        tokio::select! {
            _ = stopped => {}
            _ = refresh_forever(inner) => {}
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the maintenance state refresher thread");
    }
}

async fn refresh_forever(weak: Weak<Inner>) {
    let Some(inner) = weak.upgrade() else { return };
    let interval = inner.backend.poll_interval();
    let mut changes = inner.backend.subscribe();
    // A change made between the initial read and this subscription is caught by this read.
    inner.refresh().await;
    drop(inner);
    loop {
        wait_for_change(interval, changes.as_mut()).await;
        let Some(inner) = weak.upgrade() else { return };
        inner.refresh().await;
    }
}

async fn wait_for_change(
    interval: Option<Duration>,
    changes: Option<&mut tokio::sync::watch::Receiver<()>>,
) {
    let tick = async {
        match interval {
            Some(interval) => tokio::time::sleep(interval).await,
            None => std::future::pending().await,
        }
    };
    let push = async {
        match changes {
            // A closed channel means no more pushes; polling carries on.
            Some(changes) => {
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tick => {}
        _ = push => {}
    }
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
            .or_else(|| crate::global::installed().cloned())
    }

    /// The user of `req` as the maintenance check sees it: the
    /// `get_authenticated_user` hook's, else the one stored in the session.
    pub fn user_of(&self, req: &HttpRequest) -> MaintenanceUser {
        self.inner.user_of(req)
    }

    /// The maintenance response for `req` in the current state: the redirect,
    /// page or JSON the middleware would send.
    pub fn maintenance_response(&self, req: &HttpRequest) -> actix_web::HttpResponse {
        self.inner
            .responder
            .respond(req, &self.inner.snapshot.load())
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{runtime::test_log::logged, state::StateFormatError};

    fn memory() -> MaintenanceSettings {
        MaintenanceSettings::default().state_backend(StateBackendKind::Memory)
    }

    fn corrupted(text: &str) -> BackendError {
        BackendError::Corrupted {
            location: "/srv/state.txt".into(),
            source: StateFormatError::NotAState(text.into()),
        }
    }

    #[test]
    fn unreadable_state_uses_the_fallback_and_logs_once_per_change() {
        let maint = MaintenanceMode::new(memory().state_backend_fallback_value(true)).unwrap();
        let log = logged(|| {
            for _ in 0..5 {
                maint.inner.apply_read(Err(corrupted("garbage")));
            }
        });
        assert!(maint.is_on(), "fallback value true");
        assert!(maint.backend_problem().unwrap().contains("/srv/state.txt"));
        assert_eq!(log.matches("unreadable").count(), 1, "{log}");

        let log = logged(|| {
            maint.inner.apply_read(Err(corrupted("other garbage")));
            maint.inner.apply_read(Err(corrupted("other garbage")));
        });
        assert_eq!(
            log.matches("unreadable").count(),
            1,
            "a new problem is logged: {log}"
        );

        let log = logged(|| maint.inner.apply_read(Ok(MaintenanceState::Off)));
        assert!(!maint.is_on());
        assert_eq!(maint.backend_problem(), None);
        assert!(log.contains("readable again"), "{log}");
    }

    fn missing() -> BackendError {
        BackendError::Missing {
            location: "redis redis://127.0.0.1:6379 key maint:default:state".into(),
        }
    }

    /// Issue 9: a store that lost its state (a Redis restarted without
    /// persistence, or flushed) must not end maintenance: the last known
    /// state is kept, logged once, until the state is set again.
    #[test]
    fn a_missing_state_keeps_the_last_known_one_and_logs_once() {
        let maint = MaintenanceMode::new(memory()).unwrap();
        maint.set_maintenance_mode_blocking(true).unwrap();
        let log = logged(|| {
            for _ in 0..5 {
                maint.inner.apply_read(Err(missing()));
            }
        });
        assert!(maint.is_on(), "the last known state is kept");
        let problem = maint.backend_problem().expect("reported");
        assert!(problem.contains("no maintenance state stored"), "{problem}");
        assert_eq!(log.lines().count(), 1, "logged once: {log}");
        assert!(log.contains("no maintenance state stored"), "{log}");
        assert!(log.len() < 400, "brief: {log}");

        // Unreadable meanwhile (the fallback), then missing again: still the last known.
        maint.inner.apply_read(Err(corrupted("x")));
        assert!(!maint.is_on(), "the fallback value false");
        maint.inner.apply_read(Err(missing()));
        assert!(maint.is_on(), "the last state known, not the fallback");

        let log = logged(|| maint.inner.apply_read(Ok(MaintenanceState::Off)));
        assert!(!maint.is_on());
        assert_eq!(maint.backend_problem(), None);
        assert!(log.contains("readable again"), "{log}");
        maint.inner.apply_read(Err(missing()));
        assert!(!maint.is_on(), "off is now the last known state");
    }

    #[test]
    fn a_missing_state_with_nothing_known_uses_the_fallback() {
        let backend = Arc::new(MissingBackend);
        for fallback in [true, false] {
            let maint = MaintenanceMode::builder(memory().state_backend_fallback_value(fallback))
                .shared_backend(backend.clone())
                .build()
                .unwrap();
            assert_eq!(maint.is_on(), fallback);
            assert!(maint.backend_problem().is_some());
            maint.inner.apply_read(Err(missing()));
            assert_eq!(maint.is_on(), fallback);
        }
    }

    /// A store that never holds a state.
    #[derive(Debug)]
    struct MissingBackend;

    #[async_trait::async_trait]
    impl StateBackend for MissingBackend {
        async fn get(&self) -> Result<MaintenanceState, BackendError> {
            Err(missing())
        }
        async fn set(&self, _: &MaintenanceState) -> Result<(), BackendError> {
            Ok(())
        }
        fn poll_interval(&self) -> Option<Duration> {
            None
        }
    }

    #[test]
    fn fallback_false_reads_as_off() {
        let maint = MaintenanceMode::new(memory()).unwrap();
        maint.set_maintenance_mode_blocking(true).unwrap();
        maint.inner.apply_read(Err(corrupted("x")));
        assert!(!maint.is_on());
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

    #[test]
    fn a_change_pushed_by_the_backend_reaches_the_snapshot() {
        let backend = Arc::new(MemoryBackend::new());
        let maint = MaintenanceMode::builder(memory())
            .shared_backend(backend.clone())
            .build()
            .unwrap();
        pollster::block_on(backend.set(&MaintenanceState::On)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !maint.is_on() {
            assert!(std::time::Instant::now() < deadline, "push never arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_refresher_ends_with_the_last_handle() {
        let maint = MaintenanceMode::new(memory()).unwrap();
        let weak = Arc::downgrade(&maint.inner);
        drop(maint);
        assert!(
            weak.upgrade().is_none(),
            "the refresher keeps no strong reference"
        );
    }
}
