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
//!
//! A read never blocks and never grows with what is at the path: only a
//! regular file is read (it is opened without blocking, so a FIFO, a device
//! or a socket there is an error at once), at most
//! [`MAX_STATE_TEXT_LEN`] bytes of it, and a file whose metadata has not
//! changed since the last read is not read again.
//!
//! Changes made by other processes arrive through the OS's file
//! notifications (inotify on Linux) on the file's directory, with a slow
//! safety poll for those no notification reports (a file changed on another
//! machine over NFS); without notifications, the backend polls every 50 ms.

use std::{
    collections::BTreeMap,
    fmt, fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;

use super::{BackendError, StateBackend, file_watch::FileWatch};
use crate::{
    change::{self, Change, StateRecord},
    host,
    state::{MAX_STATE_TEXT_LEN, MaintenanceState, StateFormatError, preview},
};

/// What the file of a state's last change is called, after the state file's
/// own name: `maintenance_mode_state.txt.change.json`.
const CHANGE_FILE_SUFFIX: &str = ".change.json";

/// Suffix of the file of the hosts' own states, next to the state file.
const HOSTS_FILE_SUFFIX: &str = ".hosts.json";

/// How often the refresher re-reads a watched file anyway: a safety net for
/// changes that no notification reports (a file changed on another machine
/// over NFS), while an idle refresher wakes at most once a second.
const DEFAULT_SAFETY_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often the refresher re-reads a file whose directory cannot be
/// watched: polling often is cheap because a read is one tiny local file.
const FALLBACK_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Makes a temp file left by a crash recognisable next to the state file.
const TEMP_FILE_PREFIX: &str = ".maintenance_mode_state.";

/// Readable by the other processes (and users) that serve the site, writable by its owner.
#[cfg(unix)]
const NEW_FILE_MODE: u32 = 0o644;

/// How old a file's last change must be before its metadata alone vouches for
/// its content. A filesystem stamps times at a coarse tick (a few ms on Linux,
/// 1 or 2 s on some), so a file changed in place within the tick of the last
/// read can keep its length and times: such a file is read again until its
/// change is this old (git calls it "racily clean").
const STAMP_TRUSTED_AFTER: Duration = Duration::from_secs(2);

/// Keeps the state in a text file in django-maintenance-mode's format.
///
/// A missing or empty file reads as [`MaintenanceState::Off`] (and, unlike
/// Django, is not created by reading). Writes replace the file atomically, so
/// another process never reads a half-written state.
///
/// Anything but a regular file at the path (a directory, a FIFO, a device) is
/// a [`BackendError::Read`], at once: the read never blocks. A file over
/// [`MAX_STATE_TEXT_LEN`] bytes is
/// [`Corrupted`](BackendError::Corrupted) without being read, and errors quote
/// at most a short prefix of a bad file. The file is read and parsed only when
/// its metadata (length, modification and change times, inode) changed since
/// the last read; otherwise the last result is returned.
///
/// Other processes' changes are seen at once: the refresher re-reads the file
/// when the OS reports a change to it, its change file or its hosts file in their
/// directory (inotify on Linux), and every [`poll_interval`](Self::with_poll_interval)
/// (1 s) anyway, for changes no notification reports (a file changed on
/// another machine over NFS, or a state file that is a symlink to another
/// directory). When the directory cannot be watched (it does not exist when
/// the refresher starts, or the OS's watch limit is reached), the backend
/// says so once and polls every 50 ms instead, for as long as it lives.
///
/// The change that made the state (who, when, how) is kept in a second file
/// next to it, `{name}.change.json`, so the state file itself stays in
/// Django's format. It is written before the state file and names the state it
/// was written for: a state written by another tool (Django, `echo 1 >`) shows
/// no change rather than an older one.
///
/// ```
/// use maint_actix::{backend::LocalFileBackend, MaintenanceState, backend::StateBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let backend = LocalFileBackend::new(dir.path().join("maintenance_mode_state.txt"));
///
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::Off);
/// pollster::block_on(backend.set(&MaintenanceState::On)).unwrap();
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::On);
/// assert_eq!(std::fs::read_to_string(backend.path()).unwrap(), "1");
/// ```
#[derive(Clone)]
pub struct LocalFileBackend {
    path: PathBuf,
    poll_interval: Duration,
    /// The last file read and what it said, shared by clones (same path).
    last_read: Arc<Mutex<Option<LastRead>>>,
    /// The watch on the file's directory, started on first use and shared by
    /// clones: `None` when it could not be set up.
    watch: Arc<OnceLock<Option<FileWatch>>>,
    /// How many times the file's content was read (for the tests).
    #[cfg(test)]
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl fmt::Debug for LocalFileBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalFileBackend")
            .field("path", &self.path)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// What identifies a version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Unix: device, inode and change time (which no one can set back).
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Self {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            identity: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }

    /// When the file last changed: its change time on Unix (which follows any
    /// write and cannot be set back), its modification time elsewhere.
    fn changed(&self) -> Option<SystemTime> {
        #[cfg(unix)]
        {
            let (_, _, seconds, nanos) = self.identity;
            let since_epoch =
                Duration::new(u64::try_from(seconds).ok()?, u32::try_from(nanos).ok()?);
            SystemTime::UNIX_EPOCH.checked_add(since_epoch)
        }
        #[cfg(not(unix))]
        {
            self.modified
        }
    }

    /// Whether this stamp alone can vouch for the content at `now`: the last
    /// change is older than [`STAMP_TRUSTED_AFTER`] (and not in the future).
    fn trusted_at(&self, now: SystemTime) -> bool {
        self.changed()
            .and_then(|changed| now.duration_since(changed).ok())
            .is_some_and(|age| age >= STAMP_TRUSTED_AFTER)
    }
}

/// The last version of the file read, and what its content said.
#[derive(Debug)]
struct LastRead {
    stamp: Stamp,
    /// Whether `stamp` alone identifies the content (see [`Stamp::trusted_at`]).
    trusted: bool,
    parsed: Result<MaintenanceState, StateFormatError>,
    /// The change recorded next to that content.
    change: Option<Change>,
}

impl LocalFileBackend {
    /// A backend over the file at `path`, watched for changes (see above).
    ///
    /// A relative `path` is joined onto the current directory now, so the
    /// backend keeps using the same file if the process later changes
    /// directory, and every error names the full path.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: absolute(path.into()),
            poll_interval: DEFAULT_SAFETY_POLL_INTERVAL,
            last_read: Default::default(),
            watch: Default::default(),
            #[cfg(test)]
            reads: Default::default(),
        }
    }

    /// Sets how often the refresher re-reads a watched file anyway, for
    /// changes no notification reports (1 s unless set). A file that cannot
    /// be watched is polled every 50 ms, or at this interval if it is shorter.
    ///
    /// Asking for the [`poll_interval`](StateBackend::poll_interval) (as the
    /// refresher does) starts the watch.
    ///
    /// ```
    /// use std::time::Duration;
    /// use maint_actix::{backend::LocalFileBackend, backend::StateBackend};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let backend = LocalFileBackend::new(dir.path().join("maintenance_mode_state.txt"))
    ///     .with_poll_interval(Duration::from_secs(10));
    /// let watched = backend.subscribe().is_some();
    /// let polled = if watched { Duration::from_secs(10) } else { Duration::from_millis(50) };
    /// assert_eq!(backend.poll_interval(), Some(polled));
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

    /// The watch on the file's directory, started on the first call; `None`
    /// (said once) when it cannot be set up. The directory is not looked for
    /// again: a backend that could not watch it polls for as long as it lives.
    fn watch(&self) -> Option<&FileWatch> {
        self.watch.get_or_init(|| self.start_watch()).as_ref()
    }

    fn start_watch(&self) -> Option<FileWatch> {
        let names = [&self.path, &self.change_path(), &self.hosts_path()]
            .map(|path| path.file_name().unwrap_or_default().to_owned());
        let directory = self.directory();
        match FileWatch::start(directory, names) {
            Ok(watch) => Some(watch),
            Err(error) => {
                let polled = self.fallback_poll_interval();
                // A missing directory was already reported at start-up.
                if directory.is_dir() {
                    tracing::warn!(directory = %directory.display(), %error, ?polled, "cannot watch the maintenance state file's directory; polling it instead");
                } else {
                    tracing::info!(directory = %directory.display(), %error, ?polled, "cannot watch the maintenance state file's directory; polling it instead");
                }
                None
            }
        }
    }

    fn fallback_poll_interval(&self) -> Duration {
        self.poll_interval.min(FALLBACK_POLL_INTERVAL)
    }

    /// The file of the state's last change.
    fn change_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(CHANGE_FILE_SUFFIX);
        self.path.with_file_name(name)
    }

    fn read_state(&self) -> Result<MaintenanceState, BackendError> {
        self.read_record().map(|record| record.state)
    }

    fn read_record(&self) -> Result<StateRecord, BackendError> {
        let read_error = |source: io::Error| BackendError::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = match open_without_blocking(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(StateRecord::new(MaintenanceState::Off));
            }
            Err(error) => return Err(read_error(error)),
        };
        let metadata = file.metadata().map_err(read_error)?;
        if !metadata.is_file() {
            return Err(read_error(not_a_regular_file(&metadata)));
        }
        let stamp = Stamp::of(&metadata);
        let mut last_read = self.last_read.lock().unwrap_or_else(|e| e.into_inner());
        let (parsed, change) = match &*last_read {
            Some(last) if last.trusted && last.stamp == stamp => {
                (last.parsed.clone(), last.change.clone())
            }
            _ => {
                let parsed = self
                    .read_content(&mut file, stamp.len)
                    .map_err(read_error)?;
                let change = parsed
                    .as_ref()
                    .ok()
                    .and_then(|state| self.read_change(state));
                *last_read = Some(LastRead {
                    trusted: stamp.trusted_at(SystemTime::now()),
                    stamp,
                    parsed: parsed.clone(),
                    change: change.clone(),
                });
                (parsed, change)
            }
        };
        let state = parsed.map_err(|source| BackendError::Corrupted {
            location: self.path.display().to_string(),
            source,
        })?;
        Ok(StateRecord { state, change })
    }

    /// The change recorded for `state`; any trouble with its file only
    /// costs the record.
    fn read_change(&self, state: &MaintenanceState) -> Option<Change> {
        let file = open_without_blocking(&self.change_path()).ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut text = String::new();
        file.take(MAX_STATE_TEXT_LEN as u64 + 1)
            .read_to_string(&mut text)
            .ok()?;
        change::change_for(state, &text)
    }

    /// Reads and parses the open file of `len` bytes, never more than
    /// [`MAX_STATE_TEXT_LEN`] of them. An I/O error is the outer `Err`.
    fn read_content(
        &self,
        file: &mut fs::File,
        len: u64,
    ) -> io::Result<Result<MaintenanceState, StateFormatError>> {
        #[cfg(test)]
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let limit = MAX_STATE_TEXT_LEN as u64;
        if len > limit {
            return Ok(Err(StateFormatError::TooLarge { len }));
        }
        let mut bytes = Vec::new();
        // The file may have grown since its metadata was read.
        file.take(limit + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Ok(Err(StateFormatError::TooLarge {
                len: len.max(bytes.len() as u64),
            }));
        }
        Ok(match String::from_utf8(bytes) {
            Ok(text) => parse_text(&text),
            Err(error) => Err(StateFormatError::NotAState(preview(
                &String::from_utf8_lossy(error.as_bytes()),
            ))),
        })
    }

    /// The file of the hosts' own states.
    fn hosts_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(HOSTS_FILE_SUFFIX);
        self.path.with_file_name(name)
    }

    /// The hosts' own states; no file means no host has one.
    fn read_hosts(&self) -> Result<BTreeMap<String, StateRecord>, BackendError> {
        let path = self.hosts_path();
        let read_error = |source: io::Error| BackendError::Read {
            path: path.clone(),
            source,
        };
        let file = match open_without_blocking(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(error) => return Err(read_error(error)),
        };
        let metadata = file.metadata().map_err(read_error)?;
        if !metadata.is_file() {
            return Err(read_error(not_a_regular_file(&metadata)));
        }
        let mut bytes = Vec::new();
        file.take(host::MAX_HOSTS_TEXT_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        let corrupted = |source| BackendError::Corrupted {
            location: path.display().to_string(),
            source,
        };
        let text = String::from_utf8(bytes).map_err(|error| {
            corrupted(StateFormatError::NotAState(preview(
                &String::from_utf8_lossy(error.as_bytes()),
            )))
        })?;
        host::hosts_from(&text).map_err(corrupted)
    }

    /// Rewrites the hosts' file with `host`'s own state set or removed; the
    /// file goes when no host has one. Concurrent writers of different hosts
    /// (two commands at the same moment) can lose one of the two changes, as
    /// with any read-modify-write of one file; the state file is not touched.
    fn write_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        let path = self.hosts_path();
        let mut hosts = self.read_hosts()?;
        match record {
            Some(record) => hosts.insert(host.to_owned(), record.clone()),
            None => hosts.remove(host),
        };
        let written = if hosts.is_empty() {
            match fs::remove_file(&path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            }
        } else {
            self.replace_contents(&path, host::hosts_text(&hosts).as_bytes())
        };
        written.map_err(|source| BackendError::Write { path, source })
    }

    /// Writes the change's file, then the state file: a reader that sees the
    /// new state finds its change.
    fn write_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        let change_path = self.change_path();
        let written = match change::change_text(record) {
            Some(text) => self.replace_contents(&change_path, text.as_bytes()),
            None => match fs::remove_file(&change_path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            },
        };
        // The state matters more than its record: a change file that cannot
        // be written costs the record (said here), never the switch.
        if let Err(error) = written {
            tracing::warn!(
                path = %change_path.display(),
                %error,
                "cannot write the record of who changed the maintenance state; the state is written without it"
            );
        }
        self.replace_contents(&self.path, record.state.to_text().as_bytes())
            .map_err(|source| BackendError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Writes a sibling temp file and renames it over `target`: a rename
    /// within one directory is atomic, so readers see the old or the new
    /// state, never a truncated one. The temp file is deleted on any failure.
    fn replace_contents(&self, target: &Path, contents: &[u8]) -> io::Result<()> {
        let permissions = permissions_for_replacing(target)?;
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
        temp.persist(target).map_err(|error| error.error)?;
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

/// Django reads the file with `read_file(...) or default`, so an empty file is "0".
fn parse_text(text: &str) -> Result<MaintenanceState, StateFormatError> {
    if text.trim().is_empty() {
        return Ok(MaintenanceState::Off);
    }
    MaintenanceState::parse(text)
}

/// Opens `path` for reading without waiting: on Unix with `O_NONBLOCK`, so a
/// FIFO without a writer (or a device) cannot block the open, and with
/// `O_NOCTTY`, so a terminal there is not made the process's own. A regular
/// file reads as usual.
fn open_without_blocking(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// The error for something at the path that is not a regular file.
fn not_a_regular_file(metadata: &fs::Metadata) -> io::Error {
    let file_type = metadata.file_type();
    let what = if file_type.is_dir() {
        "a directory"
    } else {
        kind_of_special_file(&file_type)
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    )
}

#[cfg(unix)]
fn kind_of_special_file(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of_special_file(_: &fs::FileType) -> &'static str {
    "a special file"
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
        self.write_record(&StateRecord::new(state.clone()))
    }

    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        self.read_record()
    }

    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        self.write_record(record)
    }

    async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
        Ok(self.read_hosts()?.into_iter().collect())
    }

    async fn set_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        self.write_host(host, record)
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(match self.watch() {
            Some(_) => self.poll_interval,
            None => self.fallback_poll_interval(),
        })
    }

    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        self.watch().map(FileWatch::subscribe)
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
    use crate::{runtime::test_log::logged, state::Schedule};

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
            ..Default::default()
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

    /// Issue 9: an unchanged file is not read (nor parsed) again: its stamp
    /// (length, times, inode) answers with the remembered result. A file
    /// changed in place, even to the same length, is read again.
    #[test]
    fn an_unchanged_file_is_not_read_again() {
        use std::sync::atomic::Ordering::SeqCst;
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        fs::write(backend.path(), "garbage").unwrap();
        // A file changed within the last moments is re-read (its times may
        // not have moved yet): wait until the stamp can be trusted.
        std::thread::sleep(Duration::from_millis(2100));
        let first = get(&backend).unwrap_err().to_string();
        let reads = backend.reads.load(SeqCst);
        for _ in 0..20 {
            assert_eq!(get(&backend).unwrap_err().to_string(), first);
        }
        assert_eq!(
            backend.reads.load(SeqCst),
            reads,
            "the unchanged file was read again"
        );

        // Rewritten in place with the same length: read again.
        fs::OpenOptions::new()
            .write(true)
            .open(backend.path())
            .and_then(|mut file| file.write_all(b"1      "))
            .unwrap();
        assert_eq!(get(&backend).unwrap(), MaintenanceState::On);
        assert!(backend.reads.load(SeqCst) > reads);
        fs::OpenOptions::new()
            .write(true)
            .open(backend.path())
            .and_then(|mut file| file.write_all(b"0"))
            .unwrap();
        assert_eq!(
            get(&backend).unwrap(),
            MaintenanceState::Off,
            "a change within the same tick"
        );
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
    fn oversized_file_is_refused_naming_the_limit() {
        let contents = "1".repeat(MAX_STATE_TEXT_LEN + 1);
        let error = read_back(&contents).unwrap_err();
        assert!(
            matches!(
                &error,
                BackendError::Corrupted { source: StateFormatError::TooLarge { len }, .. }
                    if *len == contents.len() as u64
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("65536"), "{error}");
        // Up to the limit, a state padded with whitespace reads.
        let padded = format!("{}1", " ".repeat(MAX_STATE_TEXT_LEN - 1));
        assert_eq!(read_back(&padded).unwrap(), MaintenanceState::On);
    }

    #[test]
    fn invalid_utf8_is_corrupted_content_quoted_briefly() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        let mut bytes = b"\xff\xfe".to_vec();
        bytes.extend(std::iter::repeat_n(b'z', 10_000));
        fs::write(backend.path(), bytes).unwrap();
        let error = get(&backend).unwrap_err();
        assert!(
            matches!(&error, BackendError::Corrupted { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.len() < 300, "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_read_errors_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for (path, what) in [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/null"), "a character device"),
            (dir.path(), "a directory"),
        ] {
            let error = get(&LocalFileBackend::new(path)).unwrap_err();
            assert!(matches!(&error, BackendError::Read { .. }), "{error:?}");
            assert!(
                error
                    .to_string()
                    .contains(&format!("not a regular file ({what})")),
                "{error}"
            );
        }
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
    fn a_watched_file_is_polled_every_second_or_as_set() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend_in(&dir);
        assert_eq!(backend.poll_interval(), Some(Duration::from_secs(1)));
        assert!(backend.subscribe().is_some());
        let backend = backend_in(&dir).with_poll_interval(Duration::from_secs(3));
        assert_eq!(backend.poll_interval(), Some(Duration::from_secs(3)));
    }

    /// Issue 13: a directory that cannot be watched is polled every 50 ms
    /// (or faster, if asked), and said once, by every clone together.
    #[test]
    fn an_unwatchable_directory_is_polled_every_50_ms_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalFileBackend::new(dir.path().join("missing").join(STATE_FILE));
        let clone = backend.clone();
        let log = logged(|| {
            for _ in 0..3 {
                assert_eq!(backend.poll_interval(), Some(Duration::from_millis(50)));
                assert!(clone.subscribe().is_none());
            }
        });
        assert_eq!(log.lines().count(), 1, "said once: {log}");
        assert!(log.contains("cannot watch"), "{log}");
        assert!(log.contains("missing"), "names the directory: {log}");
        let faster = LocalFileBackend::new(dir.path().join("missing").join(STATE_FILE))
            .with_poll_interval(Duration::from_millis(20));
        assert_eq!(faster.poll_interval(), Some(Duration::from_millis(20)));
    }
}
