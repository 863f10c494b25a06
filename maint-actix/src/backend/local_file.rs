//! The `local_file` backend: Django's state file.
//!
//! The file holds `0`, `1` or a JSON schedule, exactly as django-maintenance-mode
//! writes it, so a Django site and this crate can share one file during a migration.
//!
//! The backend uses blocking `std::fs` inside its async methods on purpose: the
//! file is a few bytes on a local disk, so a read or a write takes microseconds,
//! far less than handing it to a blocking thread pool would cost; and it keeps
//! the backend usable from any executor (or from `pollster::block_on` in a CLI)
//! without requiring a tokio runtime. Requests never wait on it either: only the
//! state refresher and the admin calls touch the store.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use async_trait::async_trait;

use super::{BackendError, StateBackend};
use crate::state::MaintenanceState;

/// Polling often is cheap because a read is one tiny local file.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Makes a temp file left by a crash recognisable next to the state file.
const TEMP_FILE_PREFIX: &str = ".maintenance_mode_state.";

/// Readable by the other processes (and users) that serve the site, writable by its owner.
#[cfg(unix)]
const NEW_FILE_MODE: u32 = 0o644;

/// Keeps the state in a text file in django-maintenance-mode's format.
///
/// A missing or empty file reads as [`MaintenanceState::Off`] (and, unlike
/// Django, is not created by reading). Writes replace the file atomically, so
/// another process never reads a half-written state.
///
/// ```
/// use maint_actix::{LocalFileBackend, MaintenanceState, StateBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let backend = LocalFileBackend::new(dir.path().join("maintenance_mode_state.txt"));
///
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::Off);
/// pollster::block_on(backend.set(&MaintenanceState::On)).unwrap();
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::On);
/// assert_eq!(std::fs::read_to_string(backend.path()).unwrap(), "1");
/// ```
#[derive(Debug, Clone)]
pub struct LocalFileBackend {
    path: PathBuf,
    poll_interval: Duration,
}

impl LocalFileBackend {
    /// A backend over the file at `path`, polled every 50 ms.
    ///
    /// A relative `path` is joined onto the current directory now, so the
    /// backend keeps using the same file if the process later changes
    /// directory, and every error names the full path.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: absolute(path.into()),
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Sets how often the refresher re-reads the file to see changes made by
    /// other processes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use maint_actix::{LocalFileBackend, StateBackend};
    ///
    /// let backend = LocalFileBackend::new("/var/run/maintenance_mode_state.txt")
    ///     .with_poll_interval(Duration::from_secs(1));
    /// assert_eq!(backend.poll_interval(), Some(Duration::from_secs(1)));
    /// ```
    #[must_use = "the builder returns the changed backend"]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// The file's path (absolute unless the current directory was unknown).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_state(&self) -> Result<MaintenanceState, BackendError> {
        match self.read_text()? {
            Some(text) => self.parse_state(&text),
            None => Ok(MaintenanceState::Off),
        }
    }

    /// The file's text, or `None` when there is no file.
    fn read_text(&self) -> Result<Option<String>, BackendError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BackendError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn parse_state(&self, text: &str) -> Result<MaintenanceState, BackendError> {
        // Django reads the file with `read_file(...) or default`, so an empty file is "0".
        if text.trim().is_empty() {
            return Ok(MaintenanceState::Off);
        }
        MaintenanceState::parse(text).map_err(|source| BackendError::Corrupted {
            location: self.path.display().to_string(),
            source,
        })
    }

    fn write_state(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.replace_contents(state.to_text().as_bytes())
            .map_err(|source| BackendError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Writes a sibling temp file and renames it over the target: a rename
    /// within one directory is atomic, so readers see the old or the new
    /// state, never a truncated one. The temp file is deleted on any failure.
    fn replace_contents(&self, contents: &[u8]) -> io::Result<()> {
        let permissions = permissions_for_replacing(&self.path)?;
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_FILE_PREFIX)
            .tempfile_in(self.directory())
            .map_err(without_temp_path)?;
        temp.write_all(contents)?;
        if let Some(permissions) = permissions {
            temp.as_file().set_permissions(permissions)?;
        }
        temp.flush()?;
        // Without this a crash shortly after the rename can leave an empty file.
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|error| error.error)?;
        Ok(())
    }

    /// The directory holding the file: the temp file must be on the same
    /// filesystem for the rename to be atomic.
    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }
}

/// tempfile's error without the temp file's name: the caller names the state
/// file, and the name of a temp file that was never created misleads.
fn without_temp_path(error: io::Error) -> io::Error {
    if error.get_ref().is_none() {
        return error;
    }
    let text = error.to_string();
    let reason = text.split(" at path ").next().unwrap_or(&text);
    io::Error::new(error.kind(), reason.to_owned())
}

#[async_trait]
impl StateBackend for LocalFileBackend {
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        self.read_state()
    }

    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.write_state(state)
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(self.poll_interval)
    }

    fn describe(&self) -> String {
        format!("local file {}", self.path.display())
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    match std::env::current_dir() {
        Ok(current_dir) => current_dir.join(path),
        Err(_) => path,
    }
}

/// The permissions the replacement file gets: an existing file keeps its own
/// (an operator may have restricted them on purpose), a new one gets sane
/// defaults instead of the temp file's private 0o600. `None`: leave as created.
fn permissions_for_replacing(target: &Path) -> io::Result<Option<fs::Permissions>> {
    match fs::metadata(target) {
        Ok(metadata) => Ok(Some(metadata.permissions())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(new_file_permissions()),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn new_file_permissions() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(NEW_FILE_MODE))
}

#[cfg(not(unix))]
fn new_file_permissions() -> Option<fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::state::Schedule;

    const STATE_FILE: &str = "maintenance_mode_state.txt";

    fn backend_in(dir: &tempfile::TempDir) -> LocalFileBackend {
        LocalFileBackend::new(dir.path().join(STATE_FILE))
    }

    fn get(backend: &LocalFileBackend) -> Result<MaintenanceState, BackendError> {
        pollster::block_on(backend.get())
    }

    fn set(backend: &LocalFileBackend, state: &MaintenanceState) -> Result<(), BackendError> {
        pollster::block_on(backend.set(state))
    }

    fn read_back(contents: &str) -> Result<MaintenanceState, BackendError> {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        fs::write(backend.path(), contents).unwrap();
        get(&backend)
    }

    fn timestamp(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn schedule(start: Option<&str>, end: Option<&str>) -> MaintenanceState {
        MaintenanceState::Scheduled(Schedule {
            start: start.map(timestamp),
            end: end.map(timestamp),
            reason: None,
        })
    }

    fn entries(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn assert_no_temp_files(dir: &Path) {
        let leftovers: Vec<_> = entries(dir)
            .into_iter()
            .filter(|name| name.starts_with(TEMP_FILE_PREFIX))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temp files left behind: {leftovers:?}"
        );
    }

    fn assert_write_error_names(error: BackendError, path: &Path) {
        assert!(
            matches!(&error, BackendError::Write { path: p, .. } if p == path),
            "{error:?}"
        );
        assert!(error.to_string().contains(&path.display().to_string()));
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn missing_file_reads_off_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        assert_eq!(get(&backend).unwrap(), MaintenanceState::Off);
        assert!(!backend.path().exists());
    }

    #[test]
    fn empty_or_blank_file_reads_off() {
        assert_eq!(read_back("").unwrap(), MaintenanceState::Off);
        assert_eq!(read_back(" \n\t").unwrap(), MaintenanceState::Off);
    }

    #[test]
    fn django_flags_read_back() {
        assert_eq!(read_back("0").unwrap(), MaintenanceState::Off);
        assert_eq!(read_back("1").unwrap(), MaintenanceState::On);
        assert_eq!(read_back(" 1\n").unwrap(), MaintenanceState::On);
    }

    #[test]
    fn django_schedule_without_start_reads_back() {
        let state = read_back(r#"{"start": null, "end": "2026-07-14T03:00:00+00:00"}"#).unwrap();
        assert_eq!(state, schedule(None, Some("2026-07-14T03:00:00Z")));
    }

    #[test]
    fn django_schedule_with_start_and_end_reads_back() {
        let state = read_back(
            r#"{"start": "2026-07-14T01:00:00+00:00", "end": "2026-07-14T03:00:00+00:00"}"#,
        )
        .unwrap();
        assert_eq!(
            state,
            schedule(Some("2026-07-14T01:00:00Z"), Some("2026-07-14T03:00:00Z"))
        );
    }

    #[test]
    fn set_then_get_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        let states = [
            MaintenanceState::On,
            MaintenanceState::Off,
            schedule(Some("2026-07-14T01:00:00Z"), Some("2026-07-14T03:00:00Z")),
            schedule(None, Some("2026-07-14T03:00:00Z")),
        ];
        for state in states {
            set(&backend, &state).unwrap();
            assert_eq!(get(&backend).unwrap(), state);
        }
    }

    #[test]
    fn set_overwrites_instead_of_appending() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        let last = schedule(None, Some("2026-07-14T03:00:00Z"));
        set(&backend, &MaintenanceState::On).unwrap();
        set(&backend, &MaintenanceState::Off).unwrap();
        set(&backend, &last).unwrap();
        assert_eq!(fs::read_to_string(backend.path()).unwrap(), last.to_text());
        assert_eq!(get(&backend).unwrap(), last);
        assert_eq!(entries(dir.path()), [STATE_FILE]);
    }

    #[test]
    fn corrupted_content_is_an_error_naming_the_path() {
        for contents in ["test", "2", "{}", r#"{"invalid-key": "1"}"#] {
            let dir = tempfile::tempdir().unwrap();
            let backend = backend_in(&dir);
            fs::write(backend.path(), contents).unwrap();
            let error = get(&backend).unwrap_err();
            assert!(
                matches!(&error, BackendError::Corrupted { .. }),
                "{contents:?}: {error:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains(&backend.path().display().to_string()),
                "{message}"
            );
        }
    }

    #[test]
    fn unreadable_path_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        fs::create_dir(backend.path()).unwrap();
        let error = get(&backend).unwrap_err();
        assert!(
            matches!(&error, BackendError::Read { path, .. } if path == backend.path()),
            "{error:?}"
        );
    }

    #[test]
    fn missing_parent_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalFileBackend::new(dir.path().join("missing").join(STATE_FILE));
        let error = set(&backend, &MaintenanceState::On).unwrap_err();
        assert_write_error_names(error, backend.path());
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        // A non-empty directory cannot be replaced by a file, whoever runs the test.
        fs::create_dir(backend.path()).unwrap();
        fs::write(backend.path().join("keep"), "").unwrap();
        let error = set(&backend, &MaintenanceState::On).unwrap_err();
        assert_write_error_names(error, backend.path());
        assert_no_temp_files(dir.path());
    }

    #[cfg(unix)]
    #[test]
    fn read_only_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let read_only = dir.path().join("read-only");
        fs::create_dir(&read_only).unwrap();
        set_mode(&read_only, 0o555);
        // Root (and CAP_DAC_OVERRIDE) ignores the mode, so there is nothing to test.
        let ignores_permissions = fs::File::create(read_only.join("probe")).is_ok();
        if !ignores_permissions {
            let backend = LocalFileBackend::new(read_only.join(STATE_FILE));
            let error = set(&backend, &MaintenanceState::On).unwrap_err();
            assert_write_error_names(error, backend.path());
            assert!(entries(&read_only).is_empty());
        }
        set_mode(&read_only, 0o755);
    }

    #[cfg(unix)]
    #[test]
    fn new_file_gets_mode_644() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        set(&backend, &MaintenanceState::On).unwrap();
        assert_eq!(mode(backend.path()), 0o644);
    }

    #[cfg(unix)]
    #[test]
    fn existing_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        fs::write(backend.path(), "0").unwrap();
        set_mode(backend.path(), 0o600);
        set(&backend, &MaintenanceState::On).unwrap();
        assert_eq!(mode(backend.path()), 0o600);
        assert_eq!(get(&backend).unwrap(), MaintenanceState::On);
    }

    #[test]
    fn relative_path_is_made_absolute() {
        let backend = LocalFileBackend::new(STATE_FILE);
        assert!(backend.path().is_absolute());
        assert_eq!(
            backend.path(),
            std::env::current_dir().unwrap().join(STATE_FILE)
        );
        assert!(
            backend
                .describe()
                .contains(&backend.path().display().to_string())
        );
    }

    #[test]
    fn poll_interval_defaults_to_50_ms_and_can_be_changed() {
        let backend = LocalFileBackend::new(STATE_FILE);
        assert_eq!(backend.poll_interval(), Some(Duration::from_millis(50)));
        let backend = backend.with_poll_interval(Duration::from_secs(2));
        assert_eq!(backend.poll_interval(), Some(Duration::from_secs(2)));
    }
}
