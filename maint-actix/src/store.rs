//! The state as requests see it: an in-memory snapshot of the backend, kept
//! current by a background refresher, and the one place the state is written.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use arc_swap::{ArcSwap, Guard};

use crate::{
    backend::{BackendError, StateBackend},
    bypass::BypassKey,
    change::{Change, StateRecord},
    response::RenderedBodies,
    state::MaintenanceState,
};

/// The state as the middleware sees it: what the backend last said (or the fallback).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) state: MaintenanceState,
    /// The change that made `state`, when known.
    pub(crate) change: Option<Change>,
    /// Why the backend could not be read, when `state` is the fallback value
    /// or a state kept from before.
    pub(crate) problem: Option<String>,
    /// The last state the backend said (or that was set): what a
    /// [`BackendError::Missing`] keeps. `None` until one is known.
    known: Option<MaintenanceState>,
    /// Bodies rendered for this state, reused until the state changes.
    pub(crate) rendered: RenderedBodies,
    /// The bypass secret keyed for the request path, when one is set.
    pub(crate) bypass: Option<BypassKey>,
}

impl Snapshot {
    /// The record the backend said (or that was just set), with no problem.
    fn known(record: StateRecord) -> Self {
        Self::with(record.clone(), None, Some(record.state))
    }

    fn with(record: StateRecord, problem: Option<String>, known: Option<MaintenanceState>) -> Self {
        Self {
            bypass: record.state.bypass().map(BypassKey::new),
            state: record.state,
            change: record.change,
            problem,
            known,
            rendered: Default::default(),
        }
    }

    /// The state and its change, as subscribers get them.
    pub(crate) fn record(&self) -> StateRecord {
        StateRecord {
            state: self.state.clone(),
            change: self.change.clone(),
        }
    }
}

/// The snapshot and the backend behind it. Reads never wait on the backend;
/// writes and refreshes are serialized so that a refresh that read before a
/// write cannot overwrite the newer snapshot.
pub(crate) struct StateStore {
    backend: Arc<dyn StateBackend>,
    snapshot: ArcSwap<Snapshot>,
    io_lock: tokio::sync::Mutex<()>,
    /// The `mode` setting: a fixed state the backend never overrides.
    fixed: Option<bool>,
    /// `state_backend_fallback_value`.
    fallback: bool,
    /// Every state this instance sees, for [`subscribe`](Self::subscribe).
    events: tokio::sync::watch::Sender<StateRecord>,
    /// Dropped with the store, which tells the refresher thread to end.
    _stop_refresher: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StateStore {
    /// Reads the initial state and, unless the state is fixed, starts the refresher.
    pub(crate) fn start(
        backend: Arc<dyn StateBackend>,
        fixed: Option<bool>,
        fallback: bool,
    ) -> Arc<Self> {
        let initial = initial_snapshot(fixed, fallback, &*backend);
        let watches =
            fixed.is_none() && (backend.poll_interval().is_some() || backend.subscribe().is_some());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let events = tokio::sync::watch::Sender::new(initial.record());
        let store = Arc::new(Self {
            backend,
            events,
            snapshot: ArcSwap::from_pointee(initial),
            io_lock: tokio::sync::Mutex::new(()),
            fixed,
            fallback,
            _stop_refresher: watches.then_some(stop),
        });
        if watches {
            spawn_refresher(Arc::downgrade(&store), stopped);
        }
        store
    }

    /// The current snapshot; a lock-free load.
    #[inline]
    pub(crate) fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    pub(crate) fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.backend
    }

    /// Stores `record` in the backend and makes it the snapshot at once.
    pub(crate) async fn write(&self, record: StateRecord) -> Result<(), BackendError> {
        let _io = self.io_lock.lock().await;
        self.backend.set_record(&record).await?;
        // What the store kept: a backend may store the state without its
        // change (a change file it could not write, a backend without records).
        let stored = match self.backend.get_record().await {
            Ok(stored) if stored.state == record.state => stored,
            _ => record,
        };
        self.replace(Snapshot::known(stored));
        Ok(())
    }

    /// A receiver of every state this instance sees from now on (it holds
    /// the current one).
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<StateRecord> {
        self.events.subscribe()
    }

    /// Makes `next` the snapshot; a new state (or the same state made by a
    /// new change) is logged, one line with the old and the new state, who
    /// and how, and sent to subscribers.
    fn replace(&self, next: Snapshot) {
        let current = Arc::new(next);
        let previous = self.snapshot.swap(Arc::clone(&current));
        if previous.state == current.state && previous.change == current.change {
            return;
        }
        let change = current.change.as_ref();
        tracing::info!(
            old = %previous.state,
            new = %current.state,
            // Debug-quoted: a name cannot forge a log line.
            by = change.map(|change| tracing::field::debug(&change.by)),
            via = change.map(|change| change.via.as_str()),
            at = change.map(|change| change.at.to_string()),
            backend = %self.backend.describe(),
            "maintenance state changed"
        );
        self.events.send_replace(current.record());
    }

    /// Reads the backend now.
    pub(crate) async fn refresh(&self) {
        if self.fixed.is_some() {
            return;
        }
        let _io = self.io_lock.lock().await;
        let read = self.backend.get_record().await;
        self.apply_read(read);
    }

    /// Replaces the snapshot when what the backend says changed, logging each
    /// change once: a corrupted file is reported when it appears, not per poll.
    pub(crate) fn apply_read(&self, read: Result<StateRecord, BackendError>) {
        let current = self.snapshot.load();
        let fallback = StateRecord::new(MaintenanceState::from_bool(self.fallback));
        let kept = |state: &MaintenanceState| StateRecord {
            state: state.clone(),
            change: current.change.clone().filter(|_| *state == current.state),
        };
        let missing = matches!(read, Err(BackendError::Missing { .. }));
        let (record, problem, known) = match read {
            Ok(mut record) => {
                // A store that keeps the change apart from the state (a file
                // next to the state file) can be read between the two writes:
                // the old state with the new state's change, which reads as
                // none. The state did not change, so neither did its change.
                if record.change.is_none() && record.state == current.state {
                    record.change = current.change.clone();
                }
                let known = Some(record.state.clone());
                (record, None, known)
            }
            // Nothing stored is unknown, not off: keep what was known.
            Err(error @ BackendError::Missing { .. }) => (
                current.known.as_ref().map(kept).unwrap_or(fallback),
                Some(error.to_string()),
                current.known.clone(),
            ),
            // A server that is away has not changed the state: keep the last one.
            Err(error @ BackendError::Unavailable { .. })
                if self.backend.keeps_last_state_on_error() =>
            {
                (
                    kept(&current.state),
                    Some(error.to_string()),
                    current.known.clone(),
                )
            }
            Err(error) => (fallback, Some(error.to_string()), current.known.clone()),
        };
        if current.state == record.state
            && current.change == record.change
            && current.problem == problem
        {
            return;
        }
        match (&problem, &current.problem) {
            (Some(problem), _) if missing => tracing::warn!(
                error = %problem,
                state = %record.state,
                "no maintenance state stored; keeping the last known state until one is set"
            ),
            (Some(problem), _) => tracing::warn!(
                error = %problem,
                state = %record.state,
                "maintenance state unreadable; using the last state read or state_backend_fallback_value"
            ),
            (None, Some(_)) => {
                tracing::info!(state = %record.state, "maintenance state readable again")
            }
            (None, None) => {}
        }
        self.replace(Snapshot::with(record, problem, known));
    }
}

/// The snapshot to start with: the fixed `mode`, or the backend's state now.
fn initial_snapshot(fixed: Option<bool>, fallback: bool, backend: &dyn StateBackend) -> Snapshot {
    if let Some(mode) = fixed {
        return Snapshot::known(StateRecord::new(MaintenanceState::from_bool(mode)));
    }
    let fallback = MaintenanceState::from_bool(fallback);
    match pollster::block_on(backend.get_record()) {
        Ok(record) => {
            tracing::debug!(state = %record.state, backend = %backend.describe(), "maintenance state read");
            Snapshot::known(record)
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
            Snapshot::with(StateRecord::new(fallback), Some(error.to_string()), None)
        }
    }
}

/// Keeps the snapshot current in a thread of its own, so requests never wait
/// on the backend and the refresher runs whichever runtime the app uses.
fn spawn_refresher(store: Weak<StateStore>, stopped: tokio::sync::oneshot::Receiver<()>) {
    let spawned = crate::runtime::spawn_with_runtime("maint-refresher", move || async move {
        tokio::select! {
            _ = stopped => {}
            _ = refresh_forever(store) => {}
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the maintenance state refresher thread");
    }
}

async fn refresh_forever(weak: Weak<StateStore>) {
    let Some(store) = weak.upgrade() else { return };
    let interval = store.backend.poll_interval();
    let mut changes = store.backend.subscribe();
    // A change made between the initial read and this subscription is caught by this read.
    store.refresh().await;
    drop(store);
    loop {
        wait_for_change(interval, changes.as_mut()).await;
        let Some(store) = weak.upgrade() else { return };
        store.refresh().await;
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

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::{backend::MemoryBackend, runtime::test_log::logged, state::StateFormatError};

    fn memory_store(fallback: bool) -> Arc<StateStore> {
        StateStore::start(Arc::new(MemoryBackend::new()), None, fallback)
    }

    fn is_on(store: &StateStore) -> bool {
        store.snapshot().state.is_active()
    }

    fn problem_of(store: &StateStore) -> Option<String> {
        store.snapshot().problem.clone()
    }

    fn corrupted(text: &str) -> BackendError {
        BackendError::Corrupted {
            location: "/srv/state.txt".into(),
            source: StateFormatError::NotAState(text.into()),
        }
    }

    #[test]
    fn unreadable_state_uses_the_fallback_and_logs_once_per_change() {
        let maint = memory_store(true);
        let log = logged(|| {
            for _ in 0..5 {
                maint.apply_read(Err(corrupted("garbage")));
            }
        });
        assert!(is_on(&maint), "fallback value true");
        assert!(problem_of(&maint).unwrap().contains("/srv/state.txt"));
        assert_eq!(log.matches("unreadable").count(), 1, "{log}");

        let log = logged(|| {
            maint.apply_read(Err(corrupted("other garbage")));
            maint.apply_read(Err(corrupted("other garbage")));
        });
        assert_eq!(
            log.matches("unreadable").count(),
            1,
            "a new problem is logged: {log}"
        );

        let log = logged(|| maint.apply_read(Ok(StateRecord::new(MaintenanceState::Off))));
        assert!(!is_on(&maint));
        assert_eq!(problem_of(&maint), None);
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
        let maint = memory_store(false);
        pollster::block_on(maint.write(StateRecord::new(MaintenanceState::On))).unwrap();
        let log = logged(|| {
            for _ in 0..5 {
                maint.apply_read(Err(missing()));
            }
        });
        assert!(is_on(&maint), "the last known state is kept");
        let problem = problem_of(&maint).expect("reported");
        assert!(problem.contains("no maintenance state stored"), "{problem}");
        assert_eq!(log.lines().count(), 1, "logged once: {log}");
        assert!(log.contains("no maintenance state stored"), "{log}");
        assert!(log.len() < 400, "brief: {log}");

        // Unreadable meanwhile (the fallback), then missing again: still the last known.
        maint.apply_read(Err(corrupted("x")));
        assert!(!is_on(&maint), "the fallback value false");
        maint.apply_read(Err(missing()));
        assert!(is_on(&maint), "the last state known, not the fallback");

        let log = logged(|| maint.apply_read(Ok(StateRecord::new(MaintenanceState::Off))));
        assert!(!is_on(&maint));
        assert_eq!(problem_of(&maint), None);
        assert!(log.contains("readable again"), "{log}");
        maint.apply_read(Err(missing()));
        assert!(!is_on(&maint), "off is now the last known state");
    }

    #[test]
    fn a_missing_state_with_nothing_known_uses_the_fallback() {
        let backend = Arc::new(MissingBackend);
        for fallback in [true, false] {
            let maint = StateStore::start(backend.clone(), None, fallback);
            assert_eq!(is_on(&maint), fallback);
            assert!(problem_of(&maint).is_some());
            maint.apply_read(Err(missing()));
            assert_eq!(is_on(&maint), fallback);
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
        let maint = memory_store(false);
        pollster::block_on(maint.write(StateRecord::new(MaintenanceState::On))).unwrap();
        maint.apply_read(Err(corrupted("x")));
        assert!(!is_on(&maint));
    }

    #[test]
    fn a_change_pushed_by_the_backend_reaches_the_snapshot() {
        let backend = Arc::new(MemoryBackend::new());
        let maint = StateStore::start(backend.clone(), None, false);
        pollster::block_on(backend.set(&MaintenanceState::On)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !is_on(&maint) {
            assert!(std::time::Instant::now() < deadline, "push never arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_refresher_ends_with_the_store() {
        let maint = memory_store(false);
        let weak = Arc::downgrade(&maint);
        drop(maint);
        // A refresh under way holds the store for a moment, never longer.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while weak.upgrade().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the refresher keeps the store alive"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
