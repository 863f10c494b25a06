//! Where the maintenance state lives.
//!
//! A [`StateBackend`] stores one [`MaintenanceState`]. Requests never call it:
//! the [`MaintenanceMode`](crate::MaintenanceMode) handle keeps an in-memory
//! snapshot that a background refresher updates, either by polling
//! ([`StateBackend::poll_interval`]) or when the backend pushes a change
//! ([`StateBackend::subscribe`]).

use std::{io, path::PathBuf, sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{
    change::StateRecord,
    settings::{MaintenanceSettings, SettingsError, StateBackendKind},
    state::{MaintenanceState, StateFormatError},
};

mod file_watch;
mod local_file;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod remote;

pub use local_file::LocalFileBackend;
pub use memory::MemoryBackend;
#[cfg(feature = "postgres")]
pub use postgres::PostgresBackend;
#[cfg(feature = "redis")]
pub use redis::RedisBackend;

/// A store for the maintenance state. Implement it to keep the state somewhere
/// of your own; the crate ships [`LocalFileBackend`] and [`MemoryBackend`].
///
/// Both methods are async and fallible so that networked stores fit; a failing
/// `get` makes the handle fall back to `state_backend_fallback_value` (or keep
/// the last known state, for [`BackendError::Missing`] and, when the backend
/// asks for it, [`BackendError::Unavailable`]), a failing `set` is returned to
/// the caller.
///
/// ```
/// use async_trait::async_trait;
/// use maint_actix::{backend::BackendError, MaintenanceState, backend::StateBackend};
/// use std::sync::Mutex;
///
/// #[derive(Debug, Default)]
/// struct Mine(Mutex<MaintenanceState>);
///
/// #[async_trait]
/// impl StateBackend for Mine {
///     async fn get(&self) -> Result<MaintenanceState, BackendError> {
///         Ok(self.0.lock().unwrap().clone())
///     }
///     async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
///         *self.0.lock().unwrap() = state.clone();
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait StateBackend: Send + Sync + std::fmt::Debug + 'static {
    /// Reads the stored state.
    ///
    /// What a store holding nothing reads as is the backend's rule, and
    /// depends on whether the state can vanish without anyone setting it:
    ///
    /// - [`MaintenanceState::Off`] where nothing stored means off: no state
    ///   file ([`LocalFileBackend`], Django's rule), a new [`MemoryBackend`];
    /// - [`BackendError::Missing`] where the store can lose its data (a
    ///   `RedisBackend` restarted without persistence, or
    ///   flushed): the state is unknown, so the handle keeps the last state it
    ///   knew (the fallback value when it knew none) until the state is set.
    ///   Such a backend stores "off" explicitly.
    ///
    /// Content that is not a state is [`BackendError::Corrupted`]; an
    /// implementation never copies more than a short prefix of it into an
    /// error (see [`preview`](crate::state::preview)), and refuses content over
    /// [`MAX_STATE_TEXT_LEN`](crate::state::MAX_STATE_TEXT_LEN) bytes unread.
    async fn get(&self) -> Result<MaintenanceState, BackendError>;

    /// Stores `state`, replacing what was there. It must be visible to `get` once this returns.
    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError>;

    /// Reads the state and the change that made it. The default reads
    /// [`get`](Self::get) and knows no change; the crate's backends keep
    /// the change next to the state (see each backend).
    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        self.get().await.map(StateRecord::new)
    }

    /// Stores the state and the change that made it. The default stores the
    /// state alone with [`set`](Self::set), so the change is lost: a backend
    /// that can keep it (as the crate's do) overrides both record methods.
    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        self.set(&record.state).await
    }

    /// Reads every host's own state (per-host maintenance): host names as
    /// stored (lower-case, without a port), each with its record. The default:
    /// no host has a state of its own.
    async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
        Ok(Vec::new())
    }

    /// Stores `host`'s own state (`Some`), or removes it (`None`) so that the
    /// host follows the global state again. The default refuses: the backend
    /// keeps no per-host state.
    async fn set_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        let _ = (host, record);
        Err(BackendError::Unavailable {
            backend: self.describe(),
            reason: "this backend keeps no per-host state".to_owned(),
        })
    }

    /// How often the refresher re-reads the store to see changes made elsewhere
    /// (`None`: never, all changes arrive through [`subscribe`](Self::subscribe)).
    fn poll_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(50))
    }

    /// A channel the store signals on when the state may have changed (a push,
    /// such as a pub/sub message), so the refresher reads it at once. Each call
    /// returns a new receiver. `None` (the default): the store never pushes.
    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        None
    }

    /// When the store is [`Unavailable`](BackendError::Unavailable): keep the
    /// state last read (`true`, for a server that is away for a while) or switch
    /// to `state_backend_fallback_value` (`false`, the default). Content that is
    /// not a state always gives the fallback value; a [`Missing`](BackendError::Missing)
    /// state always keeps the last known one.
    fn keeps_last_state_on_error(&self) -> bool {
        false
    }

    /// A short human description for logs and errors, e.g. the file path. It
    /// must not hold secrets (a URL's password).
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// Creates the backend that `state_backend` names.
pub(crate) fn from_settings(
    settings: &MaintenanceSettings,
) -> Result<Arc<dyn StateBackend>, SettingsError> {
    match settings.state_backend {
        StateBackendKind::LocalFile => Ok(Arc::new(LocalFileBackend::new(
            settings.state_file_path.clone(),
        ))),
        StateBackendKind::Memory => Ok(Arc::new(MemoryBackend::new())),
        StateBackendKind::Redis => redis_backend(settings),
        StateBackendKind::Postgres => postgres_backend(settings),
    }
}

#[cfg(feature = "postgres")]
fn postgres_backend(
    settings: &MaintenanceSettings,
) -> Result<Arc<dyn StateBackend>, SettingsError> {
    let missing = || SettingsError::Backend {
        key: "database_url",
        reason: "`state_backend = \"postgres\"` needs it (postgres://user:pass@host/db)".to_owned(),
    };
    let url = settings.database_url.as_deref().ok_or_else(missing)?;
    if url.trim().is_empty() {
        return Err(missing());
    }
    let backend = PostgresBackend::new(url).map_err(|error| SettingsError::Backend {
        key: "database_url",
        reason: error.to_string(),
    })?;
    Ok(Arc::new(backend))
}

#[cfg(not(feature = "postgres"))]
fn postgres_backend(_: &MaintenanceSettings) -> Result<Arc<dyn StateBackend>, SettingsError> {
    Err(SettingsError::Backend {
        key: "state_backend",
        reason: "the postgres backend needs maint-actix's `postgres` feature".to_owned(),
    })
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
    let (url, prefix) = (&settings.redis_url, &settings.redis_key_prefix);
    let backend = match &settings.redis_ca_file {
        None => RedisBackend::new(url, prefix),
        Some(path) => RedisBackend::with_ca_pem(url, prefix, &read_redis_ca_file(settings, path)?),
    };
    let backend = backend
        .map_err(|error| SettingsError::Backend {
            key: "redis_url",
            reason: error.to_string(),
        })?
        .with_resync_interval(Duration::from_secs_f64(resync))
        .keep_last_state(settings.redis_keep_last_state);
    Ok(Arc::new(backend))
}

/// The PEM of `redis_ca_file`, checked here so that every fault of the file
/// (or a CA without TLS) names that key.
#[cfg(feature = "redis")]
fn read_redis_ca_file(
    settings: &MaintenanceSettings,
    path: &std::path::Path,
) -> Result<Vec<u8>, SettingsError> {
    let key = "redis_ca_file";
    if !redis::is_tls(&settings.redis_url) {
        return Err(SettingsError::InvalidValue {
            key,
            reason: format!(
                "a CA applies to TLS only, and redis_url {} is not rediss://",
                crate::redact::redacted(&settings.redis_url)
            ),
        });
    }
    let pem = std::fs::read(path).map_err(|source| SettingsError::UnreadableFile {
        key,
        path: path.to_owned(),
        source,
    })?;
    redis::check_ca_certificates(&pem).map_err(|reason| SettingsError::InvalidValue {
        key,
        reason: format!("{}: {reason}", path.display()),
    })?;
    Ok(pem)
}

#[cfg(not(feature = "redis"))]
fn redis_backend(_: &MaintenanceSettings) -> Result<Arc<dyn StateBackend>, SettingsError> {
    Err(SettingsError::Backend {
        key: "state_backend",
        reason: "the redis backend needs maint-actix's `redis` feature".to_owned(),
    })
}

/// Why a backend could not read or write the state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The state file could not be read.
    #[error("cannot read the maintenance state file {}: {source}", path.display())]
    Read {
        /// Full path of the file.
        path: PathBuf,
        /// The OS reason.
        #[source]
        source: io::Error,
    },
    /// The state file could not be written.
    #[error("cannot write the maintenance state file {}: {source}", path.display())]
    Write {
        /// Full path of the file.
        path: PathBuf,
        /// The OS reason.
        #[source]
        source: io::Error,
    },
    /// The stored text is not a state.
    #[error("corrupted maintenance state in {location}: {source}")]
    Corrupted {
        /// Where the text was read (a path, a key).
        location: String,
        /// What is wrong with it.
        #[source]
        source: StateFormatError,
    },
    /// The store could not be reached (networked backends).
    #[error("maintenance state backend {backend} is unavailable: {reason}")]
    Unavailable {
        /// Which backend (without credentials).
        backend: String,
        /// Why.
        reason: String,
    },
    /// The store holds no state, and for this store that does not mean off:
    /// its data can be lost (a Redis restarted without persistence, or
    /// flushed), so the state is unknown. The handle keeps the last state it
    /// knew (the fallback value when it knew none) and reports this once,
    /// until the state is set; the command's `status` prints `unknown`.
    #[error("no maintenance state stored in {location}")]
    Missing {
        /// Where the state should be (a key, without credentials).
        location: String,
    },
}
