//! Issue 13: the `local_file` backend re-reads the state file when the OS
//! reports a change in its directory (inotify here), with real files and a
//! real watch. The readers here poll only once an hour, so a change seen in
//! milliseconds can only have come through a notification; a wrapper counts
//! the refresher's reads of the real backend.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    thread,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    backend::{BackendError, LocalFileBackend, StateBackend},
    change::StateRecord,
    settings::StateBackendKind,
};

/// Far longer than any test: only a notification explains a fast re-read.
const NO_POLL: Duration = Duration::from_secs(3600);
/// A bound on waits that pass in milliseconds.
const GENEROUS: Duration = Duration::from_secs(5);

/// The real file backend, counting the refresher's reads.
#[derive(Debug)]
struct Counted {
    inner: LocalFileBackend,
    reads: Arc<AtomicUsize>,
}

#[async_trait]
impl StateBackend for Counted {
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        self.inner.get().await
    }
    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.inner.set(state).await
    }
    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        self.reads.fetch_add(1, SeqCst);
        self.inner.get_record().await
    }
    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        self.inner.set_record(record).await
    }
    fn poll_interval(&self) -> Option<Duration> {
        self.inner.poll_interval()
    }
    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        self.inner.subscribe()
    }
}

fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("maintenance_mode_state.txt")
}

fn file_settings(path: &Path) -> MaintenanceSettings {
    MaintenanceSettings::default()
        .state_backend(StateBackendKind::LocalFile)
        .state_file_path(path)
}

/// A handle over `backend`; the count of its refresher's reads.
fn counted(path: &Path, backend: LocalFileBackend) -> (MaintenanceMode, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let maint = MaintenanceMode::builder(file_settings(path))
        .backend(Counted {
            inner: backend,
            reads: Arc::clone(&reads),
        })
        .build()
        .unwrap();
    (maint, reads)
}

/// A handle that polls its file once an hour.
fn notified_only(path: &Path) -> MaintenanceMode {
    let maint = MaintenanceMode::builder(file_settings(path))
        .backend(LocalFileBackend::new(path).with_poll_interval(NO_POLL))
        .build()
        .unwrap();
    assert!(
        maint.backend().subscribe().is_some(),
        "the directory is watched"
    );
    maint
}

/// How long until `maint` says `on`, checked every 100 µs; `None` after [`GENEROUS`].
fn time_until(maint: &MaintenanceMode, on: bool, since: Instant) -> Option<Duration> {
    while maint.is_on() != on {
        if since.elapsed() > GENEROUS {
            return None;
        }
        thread::sleep(Duration::from_micros(100));
    }
    Some(since.elapsed())
}

/// Writes `contents` in place, as Django and `echo 1 >` do (truncate, write, close).
fn write_in_place(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
}

/// Writes `contents` in place from another process.
fn write_from_another_process(path: &Path, contents: &str) {
    let status = Command::new("sh")
        .args(["-c", "printf '%s' \"$1\" > \"$2\"", "sh", contents])
        .arg(path)
        .status()
        .expect("run sh");
    assert!(status.success());
}

/// A sibling file renamed over `path`, as deploy tools do.
fn rename_into_place(path: &Path, contents: &str) {
    let temp = path.with_extension("tmp-by-test");
    fs::write(&temp, contents).unwrap();
    fs::rename(&temp, path).unwrap();
}

/// The median and the largest of `times`.
fn median_and_max(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

/// Every way of writing the file reaches a handle that never polls, within
/// milliseconds: another handle's write (a rename of the change file, then
/// of the state file), a rename by hand, and in-place writes by this process
/// and by another.
#[test]
fn changes_reach_a_handle_through_notifications_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    let writer = MaintenanceMode::new(file_settings(&path)).unwrap();
    let reader = notified_only(&path);
    let flag = |on: bool| if on { "1" } else { "0" };
    let ways: [(&str, &dyn Fn(bool)); 4] = [
        ("another handle", &|on| {
            writer.set_maintenance_mode_blocking(on).unwrap()
        }),
        ("a rename", &|on| rename_into_place(&path, flag(on))),
        ("an in-place write", &|on| write_in_place(&path, flag(on))),
        ("another process", &|on| {
            write_from_another_process(&path, flag(on))
        }),
    ];
    for (way, write) in ways {
        let mut times = Vec::new();
        for round in 0..20 {
            let on = round % 2 == 0;
            write(on);
            let written = Instant::now();
            let took = time_until(&reader, on, written)
                .unwrap_or_else(|| panic!("{way}: the change never arrived (on: {on})"));
            times.push(took);
        }
        let (median, max) = median_and_max(times);
        // The reader polls hourly: anything under a second is a notification.
        // The median, not the max, holds the speed: the machine may be busy.
        assert!(
            median < Duration::from_millis(10),
            "{way}: median {median:?}"
        );
        assert!(max < Duration::from_secs(1), "{way}: max {max:?}");
    }
}

/// Files the backend does not read (next to the state file, or named like
/// it) cause no read, nor do reads of the state file itself; a change to the
/// state file does, which shows the count can move.
#[test]
fn only_the_state_file_and_its_change_file_cause_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "0").unwrap();
    let (maint, reads) = counted(
        &path,
        LocalFileBackend::new(&path).with_poll_interval(NO_POLL),
    );
    // The refresher's first read.
    thread::sleep(Duration::from_millis(100));
    let before = reads.load(SeqCst);

    for i in 0..10 {
        for name in [
            format!("other-{i}.txt"),
            "maintenance_mode_state.txt.bak".to_owned(),
            "maintenance_mode_state".to_owned(),
            "x.change.json".to_owned(),
        ] {
            let other = dir.path().join(&name);
            write_in_place(&other, "1");
            rename_into_place(&other, "1");
            fs::remove_file(&other).unwrap();
        }
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(
            dir.path().join("sub").join("maintenance_mode_state.txt"),
            "1",
        )
        .unwrap();
        fs::remove_dir_all(dir.path().join("sub")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "0");
    }
    thread::sleep(Duration::from_millis(200));
    assert_eq!(reads.load(SeqCst), before, "read for unrelated files");
    assert!(!maint.is_on());

    rename_into_place(&path, "1");
    assert!(time_until(&maint, true, Instant::now()).is_some());
    assert!(reads.load(SeqCst) > before);

    let change_file = dir.path().join("maintenance_mode_state.txt.change.json");
    let after_state = reads.load(SeqCst);
    write_in_place(&change_file, "{}");
    let deadline = Instant::now() + GENEROUS;
    while reads.load(SeqCst) == after_state {
        assert!(Instant::now() < deadline, "the change file caused no read");
        thread::sleep(Duration::from_millis(1));
    }
}

/// With nothing changing, the refresher wakes for the safety poll alone:
/// once a second (it woke every 50 ms before notifications).
#[test]
fn an_idle_refresher_wakes_at_most_once_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_path(&dir);
    fs::write(&path, "1").unwrap();
    let (maint, reads) = counted(&path, LocalFileBackend::new(&path));
    assert_eq!(
        maint.backend().poll_interval(),
        Some(Duration::from_secs(1))
    );
    thread::sleep(Duration::from_millis(100));
    let before = reads.load(SeqCst);
    thread::sleep(Duration::from_millis(3000));
    let woke = reads.load(SeqCst) - before;
    // Three polls in three seconds; a fourth if the window caught both ends.
    assert!((2..=4).contains(&woke), "woke {woke} times in 3 s");
    assert!(maint.is_on());
}

/// A directory that does not exist when the handle starts cannot be
/// watched: the backend polls every 50 ms, and sees the file once the
/// directory and the file appear.
#[test]
fn a_missing_directory_is_polled_and_its_file_seen_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("later");
    let path = later.join("maintenance_mode_state.txt");
    let maint = MaintenanceMode::new(file_settings(&path)).unwrap();
    assert!(!maint.is_on());
    assert_eq!(maint.backend().subscribe().map(|_| ()), None, "not watched");
    assert_eq!(
        maint.backend().poll_interval(),
        Some(Duration::from_millis(50))
    );

    fs::create_dir(&later).unwrap();
    write_in_place(&path, "1");
    let took = time_until(&maint, true, Instant::now()).expect("the file is seen");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

/// Dropping the handle ends the watch: its thread, which holds the sending
/// half of the refresher's channel, ends, so the channel closes.
#[test]
fn the_watch_ends_with_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    let maint = MaintenanceMode::new(file_settings(&state_path(&dir))).unwrap();
    let changes = maint.backend().subscribe().expect("watched");
    drop(maint);
    let deadline = Instant::now() + GENEROUS;
    while changes.has_changed().is_ok() {
        assert!(Instant::now() < deadline, "the watch outlived the handle");
        thread::sleep(Duration::from_millis(5));
    }
}
