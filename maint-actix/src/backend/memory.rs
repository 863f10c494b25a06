//! The `memory` backend: the state lives in this process only.

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use tokio::sync::watch;

use super::{BackendError, StateBackend};
use crate::{change::StateRecord, state::MaintenanceState};

/// Keeps the state in memory: for tests, and for a single process that is
/// switched through its own admin endpoints. Other processes do not see it.
///
/// Every [`set`](StateBackend::set) signals the receivers from
/// [`subscribe`](StateBackend::subscribe), so the refresher picks the change
/// up at once without polling.
///
/// ```
/// use maint_actix::{MaintenanceState, backend::MemoryBackend, backend::StateBackend};
///
/// let backend = MemoryBackend::new();
/// let mut changes = backend.subscribe().unwrap();
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::Off);
///
/// pollster::block_on(backend.set(&MaintenanceState::On)).unwrap();
/// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::On);
/// assert!(changes.has_changed().unwrap());
/// changes.mark_unchanged();
/// ```
#[derive(Debug)]
pub struct MemoryBackend {
    /// A watch sender is a cheap shared cell whose writes work with or without
    /// receivers, so it needs no lock of our own.
    state: watch::Sender<StateRecord>,
    /// Hosts with a state of their own.
    hosts: watch::Sender<BTreeMap<String, StateRecord>>,
    /// Separate from `state` because the trait's subscription carries no value.
    changes: watch::Sender<()>,
}

impl MemoryBackend {
    /// A backend holding [`MaintenanceState::Off`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A backend holding `state`.
    ///
    /// ```
    /// use maint_actix::{MaintenanceState, backend::MemoryBackend, backend::StateBackend};
    ///
    /// let backend = MemoryBackend::with_state(MaintenanceState::On);
    /// assert_eq!(pollster::block_on(backend.get()).unwrap(), MaintenanceState::On);
    /// ```
    pub fn with_state(state: MaintenanceState) -> Self {
        Self {
            state: watch::Sender::new(StateRecord::new(state)),
            hosts: watch::Sender::new(BTreeMap::new()),
            changes: watch::Sender::new(()),
        }
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::with_state(MaintenanceState::Off)
    }
}

#[async_trait]
impl StateBackend for MemoryBackend {
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        Ok(self.state.borrow().state.clone())
    }

    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.set_record(&StateRecord::new(state.clone())).await
    }

    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        Ok(self.state.borrow().clone())
    }

    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        self.state.send_replace(record.clone());
        self.changes.send_replace(());
        Ok(())
    }

    async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
        let hosts = self.hosts.borrow();
        Ok(hosts
            .iter()
            .map(|(host, record)| (host.clone(), record.clone()))
            .collect())
    }

    async fn set_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        self.hosts.send_modify(|hosts| match record {
            Some(record) => {
                hosts.insert(host.to_owned(), record.clone());
            }
            None => {
                hosts.remove(host);
            }
        });
        self.changes.send_replace(());
        Ok(())
    }

    /// `None`: nothing outside this process can change the state, and every
    /// change made inside it is pushed through [`subscribe`](StateBackend::subscribe).
    fn poll_interval(&self) -> Option<Duration> {
        None
    }

    fn subscribe(&self) -> Option<watch::Receiver<()>> {
        Some(self.changes.subscribe())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(backend: &MemoryBackend) -> MaintenanceState {
        pollster::block_on(backend.get()).unwrap()
    }

    fn set(backend: &MemoryBackend, state: &MaintenanceState) {
        pollster::block_on(backend.set(state)).unwrap();
    }

    #[test]
    fn default_is_off() {
        assert_eq!(get(&MemoryBackend::default()), MaintenanceState::Off);
        assert_eq!(get(&MemoryBackend::new()), MaintenanceState::Off);
    }

    #[test]
    fn with_state_starts_there() {
        let backend = MemoryBackend::with_state(MaintenanceState::On);
        assert_eq!(get(&backend), MaintenanceState::On);
    }

    #[test]
    fn set_then_get_round_trips_without_receivers() {
        let backend = MemoryBackend::new();
        set(&backend, &MaintenanceState::On);
        assert_eq!(get(&backend), MaintenanceState::On);
        set(&backend, &MaintenanceState::Off);
        assert_eq!(get(&backend), MaintenanceState::Off);
    }

    #[test]
    fn subscriber_is_signalled_by_set_only() {
        let backend = MemoryBackend::new();
        let mut changes = backend.subscribe().expect("memory backend pushes changes");
        assert!(!changes.has_changed().unwrap());
        set(&backend, &MaintenanceState::On);
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        assert!(!changes.has_changed().unwrap());
        set(&backend, &MaintenanceState::On);
        assert!(changes.has_changed().unwrap());
    }

    #[test]
    fn is_never_polled() {
        assert_eq!(MemoryBackend::new().poll_interval(), None);
    }
}
