//! What the networked backends (Redis, PostgreSQL) share: a thread of the
//! backend's own owns the connections and answers requests sent over a
//! channel (so the backend works from any runtime), its subscription signals
//! changes, and the backend re-reads every resync interval and keeps the last
//! state while the server is away.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::BackendError;
use crate::redact::Secrets;

/// The answer to one request: the value, or why not (secrets not yet hidden).
pub(super) type Reply<T> = oneshot::Sender<Result<T, String>>;

/// The backend's side of its thread.
pub(super) struct Remote<R> {
    /// What the backend is, for logs and errors (no password).
    described: String,
    /// The URL's secrets, hidden in any error text that might quote them.
    secrets: Secrets,
    requests: mpsc::UnboundedSender<R>,
    /// Signalled by the thread when the state may have changed.
    changes: watch::Sender<()>,
    pub(super) resync_interval: Duration,
    pub(super) keep_last_state: bool,
}

impl<R: Send + 'static> Remote<R> {
    /// Starts the thread `name`, which runs the future `serve` makes of the
    /// requests' receiver and the change signal.
    pub(super) fn start<F>(
        name: &str,
        described: String,
        secrets: Secrets,
        serve: impl FnOnce(mpsc::UnboundedReceiver<R>, watch::Sender<()>) -> F + Send + 'static,
    ) -> Result<Self, BackendError>
    where
        F: Future<Output = ()> + 'static,
    {
        let (requests, received) = mpsc::unbounded_channel();
        let (changes, _) = watch::channel(());
        let signal = changes.clone();
        crate::runtime::spawn_with_runtime(name, move || serve(received, signal)).map_err(
            |error| BackendError::Unavailable {
                backend: described.clone(),
                reason: format!("cannot start its thread: {error}"),
            },
        )?;
        Ok(Self {
            described,
            secrets,
            requests,
            changes,
            resync_interval: Duration::from_secs(5),
            keep_last_state: true,
        })
    }

    /// Sends the request `request` makes of a reply channel to the thread
    /// and waits for its answer.
    pub(super) async fn ask<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> R,
    ) -> Result<T, BackendError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .map_err(|_| self.unavailable("its thread has stopped"))?;
        answer
            .await
            .map_err(|_| self.unavailable("its thread has stopped"))?
            .map_err(|reason| self.unavailable(reason))
    }

    /// The server could not be used, for `reason` (its secrets hidden).
    pub(super) fn unavailable(&self, reason: impl Into<String>) -> BackendError {
        BackendError::Unavailable {
            backend: self.described.clone(),
            reason: self.secrets.hide(reason.into()),
        }
    }

    /// A new receiver of the change signal.
    pub(super) fn subscribe(&self) -> watch::Receiver<()> {
        self.changes.subscribe()
    }

    pub(super) fn describe(&self) -> String {
        self.described.clone()
    }
}
