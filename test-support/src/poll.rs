//! Waiting with a deadline: for a condition (blocking or async) or for a call.

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

/// Polls `condition` every millisecond until it holds or `limit` passes;
/// the time it took to hold, `None` on timeout.
pub fn poll_until(limit: Duration, condition: impl FnMut() -> bool) -> Option<Duration> {
    poll_every(Duration::from_millis(1), limit, condition)
}

/// Polls `condition` every `every` until it holds or `limit` passes; the
/// time it took to hold, `None` on timeout.
pub fn poll_every(
    every: Duration,
    limit: Duration,
    mut condition: impl FnMut() -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if let Some(done) = looked(started, limit, condition()) {
            return done;
        }
        thread::sleep(every);
    }
}

/// Like [`poll_until`], in async code: polls every 10 ms, sleeping on the
/// runtime's timer so the runtime's other tasks (a handle's refresher) go on.
pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if let Some(done) = looked(started, limit, condition()) {
            return done;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One look at a condition, in a poll that began at `started`: `Some` ends
/// the poll, with the time it took to hold (`Some`), or `None` once past `limit`.
fn looked(started: Instant, limit: Duration, holds: bool) -> Option<Option<Duration>> {
    if holds {
        return Some(Some(started.elapsed()));
    }
    (started.elapsed() > limit).then_some(None)
}

/// Runs `f` on a thread of its own and waits for it at most `limit`: `None`
/// when it has not returned by then (a call that blocks for good).
pub fn within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(f());
    });
    receiver.recv_timeout(limit).ok()
}
