//! Background threads with a runtime of their own.

use std::{future::Future, io, thread};

/// Runs the future made by `make` on a new thread with a single-threaded tokio
/// runtime, so the work goes on whichever runtime (or none) the app uses.
/// The future is made on the new thread, so it need not be `Send`.
pub(crate) fn spawn_with_runtime<F, Fut>(name: &str, make: F) -> io::Result<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let thread_name = name.to_owned();
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(make()),
                Err(error) => {
                    tracing::error!(%error, thread = %thread_name, "cannot start a runtime")
                }
            }
        })?;
    Ok(())
}

/// Log capture for the crate's unit tests.
#[cfg(test)]
pub(crate) mod test_log {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    /// A `tracing` writer collecting what is logged.
    #[derive(Clone, Default)]
    pub(crate) struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        /// A subscriber writing plain lines here.
        pub(crate) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
            let writer = self.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish()
        }

        /// Everything logged so far.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Log lines written while `f` runs on this thread.
    pub(crate) fn logged(f: impl FnOnce()) -> String {
        let sink = Sink::default();
        tracing::subscriber::with_default(sink.subscriber(), f);
        sink.text()
    }
}
