//! Child processes: started under a name and stopped when dropped (SIGTERM,
//! then SIGKILL); commands run to their end within a time limit; a free
//! loopback port for a server about to be started.

use std::{
    fmt,
    io::Read,
    net::TcpListener,
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

/// How long a started server (bench-server, gunicorn, example-site,
/// redis-server) may take to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a process gets between SIGTERM and SIGKILL when dropped.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    /// The process.
    child: Child,
    /// What messages call it.
    name: String,
}

impl Proc {
    /// Starts `command`; `name` is what messages call it.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self, String> {
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        self.exit_status().is_some()
    }

    /// How it exited, once it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout, when it was piped and is not taken yet.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// `SIGKILL` now, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "bench-driver: {} did not stop on SIGTERM; killing it",
            self.name
        );
        self.kill();
    }
}

/// What a command run by [`run_bounded`] printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
    /// How it exited.
    pub status: ExitStatus,
}

/// Why [`run_bounded`] has no [`Finished`] to give.
#[derive(Debug)]
pub enum RunError {
    /// The command could not be started or waited for.
    Failed(String),
    /// The command ran past its limit and was killed.
    TimedOut {
        /// The command, as `Debug` shows it.
        command: String,
        /// The limit it ran past.
        limit: Duration,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(message) => f.write_str(message),
            Self::TimedOut { command, limit } => {
                write!(f, "{command} did not finish within {limit:?}")
            }
        }
    }
}

impl From<RunError> for String {
    fn from(error: RunError) -> Self {
        error.to_string()
    }
}

/// Runs `command` to its end within `limit` (killed after), stdin closed,
/// stdout and stderr captured.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Result<Finished, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RunError::Failed(format!("cannot start {command:?}: {e}")))?;
    let stdout = read_in_thread(child.stdout.take());
    let stderr = read_in_thread(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| RunError::Failed(e.to_string()))?
        {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::TimedOut {
                command: format!("{command:?}"),
                limit,
            });
        }
        thread::sleep(Duration::from_millis(2));
    };
    Ok(Finished {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        status,
    })
}

/// Reads a child's pipe to its end on a thread of its own, so that neither
/// pipe can fill up and stall the child.
fn read_in_thread(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
