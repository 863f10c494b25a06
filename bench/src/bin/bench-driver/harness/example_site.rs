//! The release `example-site`: a server on a free loopback port, and its
//! `maintenance_mode on|off` command run as another process (figure 4 and
//! the soak run).

use std::{
    fs,
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use super::{
    http_client::await_http,
    process::{Proc, RunError, free_port, run_bounded},
};

/// How long one `maintenance_mode` command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A running example-site, stopped when dropped.
pub struct Site {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The process.
    pub proc: Proc,
}

/// Starts `binary --config CONFIG --bind 127.0.0.1:PORT` on a free port,
/// stderr to `log`, `RUST_LOG=log_filter`, and waits until `GET /` answers;
/// three tries (another process may take the port first).
pub fn start(binary: &Path, config: &Path, log: &Path, log_filter: &str) -> Result<Site, String> {
    let mut last = String::new();
    for _ in 0..3 {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log = fs::File::create(log).map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(config)
            .arg("--bind")
            .arg(addr.to_string())
            .env("RUST_LOG", log_filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut proc = Proc::spawn("example-site", &mut command)?;
        match await_http(addr, "/", || !proc.exited()) {
            Ok(()) => return Ok(Site { addr, proc }),
            Err(error) => last = error,
        }
    }
    Err(format!("example-site did not start: {last}"))
}

/// Runs `binary --config CONFIG maintenance_mode on|off` to its end (at most
/// [`COMMAND_TIMEOUT`]); how long it took. The error is the exit status and
/// the command's stderr.
pub fn set_maintenance(binary: &Path, config: &Path, on: bool) -> Result<Duration, String> {
    let started = Instant::now();
    let finished = run_bounded(
        Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("maintenance_mode")
            .arg(if on { "on" } else { "off" }),
        COMMAND_TIMEOUT,
    )
    .map_err(|error| match error {
        RunError::Failed(message) => message,
        RunError::TimedOut { limit, .. } => format!("did not finish within {limit:?}"),
    })?;
    if finished.status.success() {
        Ok(started.elapsed())
    } else {
        Err(format!("{}: {}", finished.status, finished.stderr.trim()))
    }
}
