//! Child processes: run to completion with a time bound ([`run_bounded`]),
//! start and wait for a line of output ([`Watched`]), on a free loopback port
//! ([`with_free_port`]).

use std::{
    fmt,
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Condvar, Mutex},
    thread,
    time::{Duration, Instant},
};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Calls `start` with a free loopback port until it succeeds, at most
/// `attempts` times: someone else may take the port between the probe and
/// the bind. Panics with the last failure, naming `what`.
#[track_caller]
pub fn with_free_port<T>(
    what: &str,
    attempts: usize,
    mut start: impl FnMut(u16) -> Result<T, String>,
) -> T {
    let mut last_failure = String::new();
    for _attempt in 0..attempts {
        match start(free_port()) {
            Ok(started) => return started,
            Err(failure) => last_failure = failure,
        }
    }
    panic!("{what} did not start in {attempts} attempts:\n{last_failure}");
}

/// The executable `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Sends the signal `name` (`STOP`, `CONT`, ...) to a process, through `sh`,
/// whose `kill` is a builtin.
#[track_caller]
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("sh")
        .args(["-c", "kill -s \"$1\" \"$2\"", "sh", name, &pid.to_string()])
        .status()
        .expect("run sh");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// Makes a FIFO (named pipe) at `path` with `mkfifo`: a file whose
/// `open()` for reading blocks until someone writes.
#[track_caller]
pub fn mkfifo(path: &std::path::Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Standard output, standard error and exit status of a finished process.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// When the process was seen to exit (within a millisecond).
    pub exited: Instant,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}---",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Exit code 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "expected success: {self:?}");
        self
    }

    /// A non-zero exit and exactly one non-empty line on stderr; returns that line.
    #[track_caller]
    pub fn assert_one_line_failure(&self) -> &str {
        assert!(!self.status.success(), "expected a failure: {self:?}");
        assert!(
            self.status.code().is_some(),
            "expected an exit code, not a signal: {self:?}"
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr: {self:?}"
        );
        assert!(
            !lines[0].trim().is_empty(),
            "the stderr line is empty: {self:?}"
        );
        lines[0]
    }

    /// The first word of stdout (`on` / `off` for `status`).
    pub fn first_word(&self) -> &str {
        self.stdout.split_whitespace().next().unwrap_or("")
    }
}

/// Runs `command` to completion with stdin closed, killing it and panicking
/// if it is still running after `limit`. Its exit is seen within a
/// millisecond ([`Run::exited`]).
#[track_caller]
pub fn run_bounded(mut command: Command, limit: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let (status, exited) = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break (status, Instant::now());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {limit:?}; stderr so far:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(1));
    };
    Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        exited,
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Text a child writes to a pipe, read by a thread as it comes.
#[derive(Clone, Default)]
pub struct Captured(Arc<(Mutex<CapturedText>, Condvar)>);

#[derive(Default)]
struct CapturedText {
    text: String,
    /// The pipe reached its end (the child closed it, usually by exiting).
    closed: bool,
}

impl Captured {
    /// Starts a thread appending `pipe`'s lines until it closes.
    pub fn spawn(pipe: impl Read + Send + 'static) -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            let (state, changed) = &*writer.0;
            loop {
                line.clear();
                let done = !matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0);
                let mut state = state.lock().expect("capture lock");
                state.text.push_str(&String::from_utf8_lossy(&line));
                state.closed = done;
                changed.notify_all();
                if done {
                    break;
                }
            }
        });
        captured
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        self.0.0.lock().expect("capture lock").text.clone()
    }

    /// Waits (at most `limit`, looking at `stop` at least every 50 ms) until
    /// the text contains `needle`; `stop` or the end of the pipe end the wait early.
    pub fn wait_for(&self, needle: &str, limit: Duration, mut stop: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let (state, changed) = &*self.0;
        let mut guard = state.lock().expect("capture lock");
        loop {
            if guard.text.contains(needle) {
                return true;
            }
            let now = Instant::now();
            if guard.closed || now >= deadline || stop() {
                return false;
            }
            let step = (deadline - now).min(Duration::from_millis(50));
            guard = changed.wait_timeout(guard, step).expect("capture lock").0;
        }
    }

    /// Waits (at most `limit`) until the pipe is closed, so the text is complete.
    pub fn wait_closed(&self, limit: Duration) {
        let (state, changed) = &*self.0;
        let guard = state.lock().expect("capture lock");
        let _ = changed
            .wait_timeout_while(guard, limit, |state| !state.closed)
            .expect("capture lock");
    }
}

/// Which output of a child [`Watched`] captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

/// A running child whose stdout or stderr is captured (the other one and
/// stdin are null); killed when dropped.
pub struct Watched {
    child: Child,
    output: Captured,
}

impl Watched {
    /// Starts `command`, capturing `output`, and waits (at most `limit`)
    /// until that output contains `needle`. On failure (the child exited, or
    /// `limit` passed) the child is killed and the error says what happened
    /// and quotes the output.
    pub fn start(
        command: &mut Command,
        output: Output,
        needle: &str,
        limit: Duration,
    ) -> Result<Self, String> {
        let (stdout, stderr) = match output {
            Output::Stdout => (Stdio::piped(), Stdio::null()),
            Output::Stderr => (Stdio::null(), Stdio::piped()),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let captured = match output {
            Output::Stdout => Captured::spawn(child.stdout.take().expect("piped stdout")),
            Output::Stderr => Captured::spawn(child.stderr.take().expect("piped stderr")),
        };
        let mut watched = Self {
            child,
            output: captured,
        };
        let mut exited = None;
        let seen = watched.output.wait_for(needle, limit, || {
            exited = watched.child.try_wait().ok().flatten();
            exited.is_some()
        });
        if seen {
            return Ok(watched);
        }
        if exited.is_none() {
            exited = watched.child.try_wait().ok().flatten();
        }
        if exited.is_some() {
            // Collect the last words of the dead process.
            watched.output.wait_closed(Duration::from_secs(2));
        }
        Err(format!(
            "{command:?}: {} within {limit:?} without writing {needle:?}; {output:?}:\n{}",
            match exited {
                Some(status) => format!("exited ({status})"),
                None => "still running".to_owned(),
            },
            watched.output.text()
        ))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the child has written to the captured output so far.
    pub fn output(&self) -> String {
        self.output.text()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
