//! The state as requests see it: an in-memory snapshot of the backend, kept
//! current by a background refresher, and the one place the state is written.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use actix_web::HttpRequest;
use arc_swap::{ArcSwap, Guard};

use crate::{
    backend::{BackendError, StateBackend},
    bypass::BypassKey,
    change::{Change, StateRecord},
    host,
    response::RenderedBodies,
    state::MaintenanceState,
};

/// One state as requests see it: the global state, or one host's own.
#[derive(Debug)]
pub(crate) struct StateView {
    pub(crate) state: MaintenanceState,
    /// The change that made `state`, when known.
    pub(crate) change: Option<Change>,
    /// Bodies rendered for this state, reused until the state changes.
    pub(crate) rendered: RenderedBodies,
    /// The bypass secret keyed for the request path, when one is set.
    pub(crate) bypass: Option<BypassKey>,
}

impl StateView {
    fn new(record: StateRecord) -> Self {
        Self {
            bypass: record.state.bypass().map(BypassKey::new),
            state: record.state,
            change: record.change,
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

    fn same_as(&self, other: &Self) -> bool {
        self.state == other.state && self.change == other.change
    }
}

/// A host with a state of its own.
#[derive(Debug)]
pub(crate) struct HostView {
    /// Lower-case, without a port ([`host::normalize`]).
    pub(crate) host: Box<str>,
    pub(crate) view: StateView,
}

/// The hosts with a state of their own, sorted by name; shared between
/// snapshots while they do not change.
pub(crate) type HostViews = Arc<[HostView]>;

/// The state as the middleware sees it: what the backend last said (or the fallback).
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The global state: every request whose host has no state of its own.
    pub(crate) global: StateView,
    /// Why the backend could not be read, when `state` is the fallback value
    /// or a state kept from before.
    pub(crate) problem: Option<String>,
    /// The last state the backend said (or that was set): what a
    /// [`BackendError::Missing`] keeps. `None` until one is known.
    known: Option<MaintenanceState>,
    /// Hosts with a state of their own; empty for most sites.
    pub(crate) hosts: HostViews,
    /// Why the hosts' states could not be read (the last ones read are kept).
    hosts_problem: Option<String>,
}

impl Snapshot {
    /// The record the backend said (or that was just set), with no problem.
    fn known(record: StateRecord, hosts: HostViews) -> Self {
        let known = Some(record.state.clone());
        Self::with(record, None, known, hosts)
    }

    fn with(
        record: StateRecord,
        problem: Option<String>,
        known: Option<MaintenanceState>,
        hosts: HostViews,
    ) -> Self {
        Self {
            global: StateView::new(record),
            problem,
            known,
            hosts,
            hosts_problem: None,
        }
    }

    /// The same global state with other hosts.
    fn with_hosts(&self, hosts: HostViews, hosts_problem: Option<String>) -> Self {
        Self {
            global: StateView::new(self.global.record()),
            problem: self.problem.clone(),
            known: self.known.clone(),
            hosts,
            hosts_problem,
        }
    }

    /// The state `req` follows: its host's own, else the global one. While no
    /// host has a state of its own, `Host` is not looked at.
    #[inline]
    pub(crate) fn for_request(&self, req: &HttpRequest) -> &StateView {
        if self.hosts.is_empty() {
            return &self.global;
        }
        self.for_request_host(req)
    }

    /// [`for_request`](Self::for_request) once some host has a state of its
    /// own; kept out of line so that the common case stays small where it is
    /// inlined.
    #[inline(never)]
    fn for_request_host(&self, req: &HttpRequest) -> &StateView {
        host::of_request(req)
            .and_then(|name| self.for_host_bytes(name))
            .unwrap_or(&self.global)
    }

    /// `name`'s own state (any case), when it has one.
    pub(crate) fn for_host(&self, name: &str) -> Option<&StateView> {
        self.for_host_bytes(name.as_bytes())
    }

    /// A few hosts are compared one by one, length first; many are searched.
    fn for_host_bytes(&self, name: &[u8]) -> Option<&StateView> {
        const SCANNED: usize = 8;
        let found = if self.hosts.len() <= SCANNED {
            self.hosts.iter().find(|entry| {
                entry.host.len() == name.len() && entry.host.as_bytes().eq_ignore_ascii_case(name)
            })
        } else {
            let lower = |b: &u8| b.to_ascii_lowercase();
            self.hosts
                .binary_search_by(|entry| entry.host.bytes().cmp(name.iter().map(lower)))
                .ok()
                .map(|at| &self.hosts[at])
        };
        found.map(|entry| &entry.view)
    }
}

/// The hosts' views for what the backend read: normalized, sorted, at most
/// [`host::MAX_HOSTS`], names that are not hosts left out.
fn host_views(read: Vec<(String, StateRecord)>) -> HostViews {
    let mut views: Vec<HostView> = read
        .into_iter()
        .filter_map(|(name, record)| {
            let host = host::normalize(&name).ok()?;
            Some(HostView {
                host: host.into_boxed_str(),
                view: StateView::new(record),
            })
        })
        .take(host::MAX_HOSTS)
        .collect();
    views.sort_by(|a, b| a.host.cmp(&b.host));
    views.dedup_by(|a, b| a.host == b.host);
    views.into()
}

fn no_hosts() -> HostViews {
    Arc::from(Vec::new())
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
        let events = tokio::sync::watch::Sender::new(initial.global.record());
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
        let hosts = Arc::clone(&self.snapshot.load().hosts);
        self.replace(Snapshot::known(stored, hosts));
        Ok(())
    }

    /// Stores `host`'s own record (`None`: removes it) in the backend and
    /// makes the hosts the backend then holds part of the snapshot at once.
    pub(crate) async fn write_host(
        &self,
        host: &str,
        record: Option<StateRecord>,
    ) -> Result<(), BackendError> {
        let _io = self.io_lock.lock().await;
        self.backend.set_host(host, record.as_ref()).await?;
        let read = self.backend.get_hosts().await;
        self.apply_hosts(read);
        Ok(())
    }

    /// A receiver of every state this instance sees from now on (it holds
    /// the current one).
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<StateRecord> {
        self.events.subscribe()
    }

    /// Makes `next` the snapshot; a new state (or the same state made by a
    /// new change) is logged, one line with the old and the new state, who
    /// and how, and sent to subscribers. Logged before the snapshot is
    /// replaced: whoever sees the new state can count on its audit line.
    /// Callers hold `io_lock` (or own the store), so nothing replaces the
    /// snapshot between the load and the store.
    fn replace(&self, next: Snapshot) {
        let previous = self.snapshot.load_full();
        if !Arc::ptr_eq(&previous.hosts, &next.hosts) {
            self.log_host_changes(&previous.hosts, &next.hosts);
        }
        let changed = !previous.global.same_as(&next.global);
        if changed {
            self.log_change(None, &previous.global.state, &next.global);
        }
        let record = changed.then(|| next.global.record());
        self.snapshot.store(Arc::new(next));
        if let Some(record) = record {
            self.events.send_replace(record);
        }
    }

    /// One line per host whose own state appeared, changed or went.
    fn log_host_changes(&self, previous: &[HostView], current: &[HostView]) {
        fn find<'a>(views: &'a [HostView], host: &str) -> Option<&'a StateView> {
            views
                .iter()
                .find(|entry| &*entry.host == host)
                .map(|entry| &entry.view)
        }
        for entry in current {
            match find(previous, &entry.host) {
                Some(before) if before.same_as(&entry.view) => {}
                before => self.log_change(
                    Some(&entry.host),
                    &before.map_or_else(|| "global".to_owned(), |view| view.state.to_string()),
                    &entry.view,
                ),
            }
        }
        for gone in previous
            .iter()
            .filter(|entry| find(current, &entry.host).is_none())
        {
            tracing::info!(
                host = %gone.host,
                old = %gone.view.state,
                new = "global",
                backend = %self.backend.describe(),
                "maintenance state changed"
            );
        }
    }

    /// The audit line: old and new state, who, how and when.
    fn log_change(&self, host: Option<&str>, old: &dyn std::fmt::Display, new: &StateView) {
        let change = new.change.as_ref();
        tracing::info!(
            host,
            old = %old,
            new = %new.state,
            // Debug-quoted: a name cannot forge a log line.
            by = change.map(|change| tracing::field::debug(&change.by)),
            via = change.map(|change| change.via.as_str()),
            at = change.map(|change| change.at.to_string()),
            backend = %self.backend.describe(),
            "maintenance state changed"
        );
    }

    /// Reads the backend now.
    pub(crate) async fn refresh(&self) {
        if self.fixed.is_some() {
            return;
        }
        let _io = self.io_lock.lock().await;
        let read = self.backend.get_record().await;
        self.apply_read(read);
        let hosts = self.backend.get_hosts().await;
        self.apply_hosts(hosts);
    }

    /// Replaces the hosts' states when what the backend says changed. When
    /// they cannot be read, the last ones read are kept, and that is logged
    /// once.
    pub(crate) fn apply_hosts(&self, read: Result<Vec<(String, StateRecord)>, BackendError>) {
        let current = self.snapshot.load();
        let (hosts, problem) = match read {
            Ok(read) => (host_views(read), None),
            Err(error) => (Arc::clone(&current.hosts), Some(error.to_string())),
        };
        let same = hosts.len() == current.hosts.len()
            && hosts
                .iter()
                .zip(current.hosts.iter())
                .all(|(a, b)| a.host == b.host && a.view.same_as(&b.view));
        if same && problem == current.hosts_problem {
            return;
        }
        // A backend that cannot be read at all says so once, for the global
        // state; the hosts' own line is for a problem of the hosts alone.
        let global_readable = current.problem.is_none();
        match (&problem, &current.hosts_problem) {
            (Some(problem), None) if global_readable => tracing::warn!(
                error = %problem,
                "per-host maintenance states unreadable; keeping the last ones read"
            ),
            (None, Some(_)) if global_readable => {
                tracing::info!("per-host maintenance states readable again")
            }
            _ => {}
        }
        let hosts = if same {
            Arc::clone(&current.hosts)
        } else {
            hosts
        };
        self.replace(current.with_hosts(hosts, problem));
    }

    /// Replaces the snapshot when what the backend says changed, logging each
    /// change once: a corrupted file is reported when it appears, not per poll.
    pub(crate) fn apply_read(&self, read: Result<StateRecord, BackendError>) {
        let current = self.snapshot.load();
        let fallback = StateRecord::new(MaintenanceState::from_bool(self.fallback));
        let kept = |state: &MaintenanceState| StateRecord {
            state: state.clone(),
            change: current
                .global
                .change
                .clone()
                .filter(|_| *state == current.global.state),
        };
        let missing = matches!(read, Err(BackendError::Missing { .. }));
        let (record, problem, known) = match read {
            Ok(mut record) => {
                // A store that keeps the change apart from the state (a file
                // next to the state file) can be read between the two writes:
                // the old state with the new state's change, which reads as
                // none. The state did not change, so neither did its change.
                if record.change.is_none() && record.state == current.global.state {
                    record.change = current.global.change.clone();
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
                    kept(&current.global.state),
                    Some(error.to_string()),
                    current.known.clone(),
                )
            }
            Err(error) => (fallback, Some(error.to_string()), current.known.clone()),
        };
        if current.global.state == record.state
            && current.global.change == record.change
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
        self.replace(Snapshot::with(
            record,
            problem,
            known,
            Arc::clone(&current.hosts),
        ));
    }
}

/// The snapshot to start with: the fixed `mode`, or the backend's state now.
fn initial_snapshot(fixed: Option<bool>, fallback: bool, backend: &dyn StateBackend) -> Snapshot {
    if let Some(mode) = fixed {
        let record = StateRecord::new(MaintenanceState::from_bool(mode));
        return Snapshot::known(record, no_hosts());
    }
    let mut snapshot = initial_global(fallback, backend);
    match pollster::block_on(backend.get_hosts()) {
        Ok(read) => snapshot.hosts = host_views(read),
        Err(error) => {
            // An unreadable backend was reported with the global state.
            if snapshot.problem.is_none() {
                tracing::warn!(%error, "per-host maintenance states unreadable; only the global state applies");
            }
            snapshot.hosts_problem = Some(error.to_string());
        }
    }
    snapshot
}

fn initial_global(fallback: bool, backend: &dyn StateBackend) -> Snapshot {
    let fallback = MaintenanceState::from_bool(fallback);
    match pollster::block_on(backend.get_record()) {
        Ok(record) => {
            tracing::debug!(state = %record.state, backend = %backend.describe(), "maintenance state read");
            Snapshot::known(record, no_hosts())
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
            let record = StateRecord::new(fallback);
            Snapshot::with(record, Some(error.to_string()), None, no_hosts())
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

    /// A store with no refresher: what a check applies stays until the next
    /// one (a refresher's first read, landing in the middle of a check, would
    /// replace it).
    fn memory_store(fallback: bool) -> Arc<StateStore> {
        StateStore::start(Arc::new(Unwatched::default()), None, fallback)
    }

    /// A memory store that is neither polled nor pushes.
    #[derive(Debug, Default)]
    struct Unwatched(MemoryBackend);

    #[async_trait::async_trait]
    impl StateBackend for Unwatched {
        async fn get(&self) -> Result<MaintenanceState, BackendError> {
            self.0.get().await
        }
        async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
            self.0.set(state).await
        }
        async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
            self.0.get_hosts().await
        }
        async fn set_host(
            &self,
            host: &str,
            record: Option<&StateRecord>,
        ) -> Result<(), BackendError> {
            self.0.set_host(host, record).await
        }
        fn poll_interval(&self) -> Option<Duration> {
            None
        }
    }

    fn is_on(store: &StateStore) -> bool {
        store.snapshot().global.state.is_active()
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
    fn requests_find_their_hosts_among_few_and_many() {
        for count in [1, 8, 9, 40] {
            let maint = memory_store(false);
            let names: Vec<String> = (0..count)
                .map(|i| format!("site-{i:02}.example.com"))
                .collect();
            for name in &names {
                let record = StateRecord::new(MaintenanceState::On);
                pollster::block_on(maint.write_host(name, Some(record))).unwrap();
            }
            let snapshot = maint.snapshot();
            assert_eq!(snapshot.hosts.len(), count);
            for name in &names {
                let asked = format!("{}:8443", name.to_ascii_uppercase());
                let req = actix_web::test::TestRequest::default()
                    .insert_header(("host", asked.as_str()))
                    .to_http_request();
                assert!(
                    snapshot.for_request(&req).state.is_active(),
                    "{count}: {asked}"
                );
            }
            for other in [
                "site-99.example.com",
                "example.com",
                "site-0.example.com",
                "",
            ] {
                let req = actix_web::test::TestRequest::default()
                    .insert_header(("host", other))
                    .to_http_request();
                assert!(
                    !snapshot.for_request(&req).state.is_active(),
                    "{count}: {other}"
                );
            }
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
        let maint = StateStore::start(Arc::new(MemoryBackend::new()), None, false);
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
