//! What maint logs, captured for the checks of issue 12's audit line
//! ("maintenance state changed"): one global subscriber for this test
//! binary, since the line of an instance that sees a change comes from its
//! refresher thread, which a thread-local subscriber would not hear. Tests
//! run in parallel, so a check picks its own lines by something only it
//! logs (a unique `by`).

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

/// Everything logged (at INFO and above) by any thread of this binary.
#[derive(Clone, Default)]
pub struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    /// The lines logged so far that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The capture, installed as the global subscriber on first use: plain
/// lines (no colours) with the thread's name, so a check can tell the
/// writer's line from a refresher's (`maint-refresher`).
pub fn capture() -> &'static Sink {
    SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_thread_names(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        sink
    })
}
