//! Harness of the end-to-end tests (`tests/tests/e2e_*.rs`): they drive the
//! real `example-site` binary, as `/work/shared/example-site-contract.md`
//! describes it, over real HTTP on loopback ports.
//!
//! - [`binary`] builds `example-site` once per test process (`cargo build -p
//!   example-site`, from the workspace root) and returns the executable.
//! - [`Site`] is a fresh temporary directory holding a config file (and the
//!   state file); it runs `maintenance_mode` commands and starts servers there.
//! - [`Server`] is a running `example-site` on a free `127.0.0.1` port, killed
//!   on drop; [`Client`] is a cookie-keeping HTTP client that never follows
//!   redirects.
//!
//! Every wait is bounded. Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    fmt,
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Condvar, Mutex, OnceLock},
    thread,
    time::{Duration, Instant},
};

/// How long a server may take to log `listening on`.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a `maintenance_mode` command (or a failing start) may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The contract's bound on how fast a server sees a state change made elsewhere.
pub const PROPAGATION_LIMIT: Duration = Duration::from_secs(1);
/// How long a test polls for something that should happen within [`PROPAGATION_LIMIT`].
pub const POLL_LIMIT: Duration = Duration::from_secs(5);

/// The default maintenance page says this (case-insensitively).
pub const MAINTENANCE_WORD: &str = "maintenance";
/// The banner of the `maintenance_mode` Handlebars helper on the home page.
pub const BANNER: &str = "Maintenance mode is on";

/// The workspace root (`tests/..`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The `example-site` executable, built once per test process with
/// `cargo build -p example-site` from the workspace root. Its path comes from
/// cargo's JSON messages, so `CARGO_TARGET_DIR` and `build.target-dir` are respected.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_binary)
}

fn build_binary() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "example-site",
            "--bin",
            "example-site",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo to build example-site");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`cargo build -p example-site` failed ({}):\n{stderr}",
        output.status
    );
    let executable = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == "example-site")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo named no example-site executable:\n{stdout}\n{stderr}"));
    assert!(
        executable.is_file(),
        "{} does not exist",
        executable.display()
    );
    executable
}

/// A `Command` running `example-site` with a clean environment for what it
/// reads: no `RUST_LOG` (its default log level applies) and no `MAINT_TESTING`.
pub fn example_site() -> Command {
    let mut command = Command::new(binary());
    command.env_remove("RUST_LOG").env_remove("MAINT_TESTING");
    command
}

/// Standard output, standard error and exit status of a finished process.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
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

/// Runs `command` to completion within [`COMMAND_TIMEOUT`] (killing it after),
/// with stdin closed.
pub fn run_bounded(mut command: Command) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {COMMAND_TIMEOUT:?}; stderr so far:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A TOML basic string holding `path` (for the config file).
pub fn toml_path(path: &Path) -> String {
    toml::Value::String(path.to_str().expect("UTF-8 temp path").to_owned()).to_string()
}

/// A fresh temporary directory with a config file (`example-site.toml`), the
/// working directory of the commands and servers started from it.
pub struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    state_file: PathBuf,
}

impl Site {
    /// A site whose config is `[maintenance]` with `settings` (TOML lines),
    /// plus `state_file_path` pointing at `state.txt` in the directory unless
    /// `settings` sets `state_file_path` or `state_backend` itself.
    pub fn new(settings: &str) -> Self {
        let dir = tempdir();
        let state_file = dir.path().join("state.txt");
        let mut text = String::from("[maintenance]\n");
        let keys: toml::Table = settings.parse().unwrap_or_default();
        if !keys.contains_key("state_file_path") && !keys.contains_key("state_backend") {
            text.push_str(&format!("state_file_path = {}\n", toml_path(&state_file)));
        }
        text.push_str(settings);
        text.push('\n');
        Self::in_dir(dir, &text, state_file)
    }

    /// A site whose config file is exactly `text`; its state file is
    /// `maintenance_mode_state.txt` in the directory (the default path, relative
    /// to the working directory) unless `text` says otherwise.
    pub fn with_config(text: &str) -> Self {
        let dir = tempdir();
        let state_file = dir.path().join("maintenance_mode_state.txt");
        Self::in_dir(dir, text, state_file)
    }

    fn in_dir(dir: tempfile::TempDir, text: &str, state_file: PathBuf) -> Self {
        let config = dir.path().join("example-site.toml");
        std::fs::write(&config, text).expect("write the config file");
        Self {
            dir,
            config,
            state_file,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The state file this site's config points at (see [`new`](Self::new)).
    pub fn state_file(&self) -> &Path {
        &self.state_file
    }

    /// The state file's bytes, `None` when it does not exist.
    pub fn state_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.state_file).ok()
    }

    /// Writes `text` into the state file (as another process, or a person, would).
    pub fn write_state(&self, text: &str) {
        std::fs::write(&self.state_file, text).expect("write the state file");
    }

    /// `example-site --config CONFIG maintenance_mode ARGS...` in the site's directory.
    pub fn command(&self, args: &[&str]) -> Run {
        let mut command = example_site();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("maintenance_mode")
            .args(args)
            .current_dir(self.dir());
        run_bounded(command)
    }

    /// `maintenance_mode on` / `off`, which must succeed.
    #[track_caller]
    pub fn set(&self, on: bool) {
        self.command(&[if on { "on" } else { "off" }])
            .assert_success();
    }

    /// The first word of `maintenance_mode status` (`on` / `off`), which must succeed.
    #[track_caller]
    pub fn status(&self) -> String {
        let run = self.command(&["status"]);
        run.assert_success();
        run.first_word().to_owned()
    }

    /// Starts a server with this config on a free loopback port.
    pub fn start(&self) -> Server {
        self.start_with_env(&[])
    }

    /// Like [`start`](Self::start), with extra environment variables for the server.
    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Server {
        let mut last_failure = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            match Server::spawn(self, port, env) {
                Ok(server) => return server,
                // Someone else took the port between our probe and the bind: retry.
                Err(stderr) if stderr.contains("cannot serve on") => last_failure = stderr,
                Err(stderr) => panic!("example-site did not start:\n{stderr}"),
            }
        }
        panic!("example-site could not bind a free port in 5 attempts:\n{last_failure}");
    }

    /// Runs `example-site --config CONFIG --bind 127.0.0.1:PORT` (serve mode)
    /// expecting it to exit by itself (a startup error) within [`COMMAND_TIMEOUT`].
    pub fn serve_expecting_exit(&self) -> Run {
        let mut command = example_site();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", free_port()))
            .current_dir(self.dir());
        run_bounded(command)
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("maint-e2e-")
        .tempdir()
        .expect("create a temp dir")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Text a child writes to stderr, read by a thread as it comes.
#[derive(Clone, Default)]
pub struct Captured(Arc<(Mutex<CapturedText>, Condvar)>);

#[derive(Default)]
pub struct CapturedText {
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

/// A running `example-site`, killed when dropped.
pub struct Server {
    child: Child,
    port: u16,
    stderr: Captured,
}

impl Server {
    /// Starts the server on `port` and waits for its `listening on` line; on
    /// failure returns what it wrote to stderr.
    fn spawn(site: &Site, port: u16, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut command = example_site();
        command
            .arg("--config")
            .arg(site.config())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .current_dir(site.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stderr = Captured::spawn(child.stderr.take().expect("piped stderr"));
        let mut server = Self {
            child,
            port,
            stderr,
        };
        let needle = format!("listening on 127.0.0.1:{port}");
        let mut exited = None;
        let listening = server.stderr.wait_for(&needle, START_TIMEOUT, || {
            exited = server.child.try_wait().ok().flatten();
            exited.is_some()
        });
        if listening {
            return Ok(server);
        }
        if exited.is_none() {
            exited = server.child.try_wait().ok().flatten();
        }
        if exited.is_some() {
            // Collect the last words of the dead process.
            server.stderr.wait_closed(Duration::from_secs(2));
        }
        Err(format!(
            "{command:?}: {} within {START_TIMEOUT:?} without logging {needle:?}; stderr:\n{}",
            match exited {
                Some(status) => format!("exited ({status})"),
                None => "still running".to_owned(),
            },
            server.stderr.text()
        ))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the server has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// A new client (an empty cookie jar) for this server.
    pub fn client(&self) -> Client {
        Client::new(&self.url(""))
    }

    /// A client logged in as the demo user `name` (password = name) through `POST /login/`.
    #[track_caller]
    pub fn login(&self, name: &str) -> Client {
        let mut client = self.client();
        client.login(name, name);
        client
    }

    /// Whether an anonymous `GET /` meets maintenance: anything but a 200, or
    /// the home page with the banner of the `maintenance_mode` helper (an exempt request).
    pub fn anonymous_sees_maintenance(&self) -> bool {
        let reply = self.client().get("/");
        reply.status != 200 || reply.body.contains(BANNER)
    }

    /// Polls (every 5 ms, at most [`POLL_LIMIT`]) until the server is in
    /// maintenance (`on`) or not; returns how long it took, panicking on timeout.
    #[track_caller]
    pub fn await_maintenance(&self, on: bool) -> Duration {
        let started = Instant::now();
        loop {
            if self.anonymous_sees_maintenance() == on {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < POLL_LIMIT,
                "the server did not see maintenance {} within {POLL_LIMIT:?}; stderr:\n{}",
                if on { "on" } else { "off" },
                self.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response as a test sees it.
pub struct Reply {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        let body: String = self.body.chars().take(3000).collect();
        write!(f, "\n{body}")
    }
}

impl Reply {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
    }

    /// Whether the response sets a (non-empty, not expired) cookie `name`.
    pub fn sets_cookie(&self, name: &str) -> bool {
        self.set_cookies()
            .filter_map(parse_set_cookie)
            .any(|(n, value, removes)| n == name && !value.is_empty() && !removes)
    }

    /// Whether the response removes the cookie `name`.
    pub fn removes_cookie(&self, name: &str) -> bool {
        self.set_cookies()
            .filter_map(parse_set_cookie)
            .any(|(n, value, removes)| n == name && (value.is_empty() || removes))
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status: {self:?}");
        self
    }

    /// A redirect with `status` to exactly `location`.
    #[track_caller]
    pub fn assert_redirect(&self, status: u16, location: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.header("location"),
            Some(location),
            "unexpected Location: {self:?}"
        );
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) -> &Self {
        assert!(self.body.contains(text), "body lacks {text:?}: {self:?}");
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, text: &str) -> &Self {
        assert!(!self.body.contains(text), "body has {text:?}: {self:?}");
        self
    }

    /// A 200 whose body contains `text` (the route's handler answered).
    #[track_caller]
    pub fn assert_served(&self, text: &str) -> &Self {
        self.assert_status(200).assert_contains(text)
    }

    /// Whether `Cache-Control` forbids caching (`no-cache, no-store, must-revalidate`).
    pub fn forbids_caching(&self) -> bool {
        let cache_control = self.header("cache-control").unwrap_or("");
        let directives: Vec<String> = cache_control
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        ["no-cache", "no-store", "must-revalidate"]
            .iter()
            .all(|wanted| directives.iter().any(|d| d == wanted))
    }

    /// The maintenance response with `status`: that status and uncacheable.
    #[track_caller]
    pub fn assert_maintenance_status(&self, status: u16) -> &Self {
        self.assert_status(status);
        assert!(
            self.forbids_caching(),
            "the maintenance response must forbid caching: {self:?}"
        );
        self
    }

    /// The default maintenance response: 503, uncacheable, an HTML page saying `maintenance`.
    #[track_caller]
    pub fn assert_maintenance(&self) -> &Self {
        self.assert_maintenance_status(503);
        assert!(
            self.body.to_lowercase().contains(MAINTENANCE_WORD),
            "the maintenance page does not say {MAINTENANCE_WORD:?}: {self:?}"
        );
        self
    }
}

/// `(name, value, removes)` of a `Set-Cookie` header; `removes` when it expires the cookie.
fn parse_set_cookie(header: &str) -> Option<(String, String, bool)> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let removes = parts.any(|attribute| {
        let attribute = attribute.trim().to_ascii_lowercase();
        attribute == "max-age=0" || attribute.starts_with("max-age=-")
    });
    Some((name.trim().to_owned(), value.trim().to_owned(), removes))
}

/// A blocking HTTP client with a cookie jar (one browser's worth of state)
/// that never follows redirects and never uses a proxy.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    jar: BTreeMap<String, String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            jar: BTreeMap::new(),
        }
    }

    /// The jar's value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    /// Puts a cookie in the jar (to replay an old session, say).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    /// Empties the jar.
    pub fn forget_cookies(&mut self) {
        self.jar.clear();
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            self.jar
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn finish(
        &mut self,
        what: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Reply {
        let mut response = result.unwrap_or_else(|e| panic!("{what} failed: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect::<Vec<_>>();
        let body = response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("{what}: cannot read the body: {e}"));
        let reply = Reply {
            status,
            headers,
            body,
        };
        for (name, value, removes) in reply.set_cookies().filter_map(parse_set_cookie) {
            if value.is_empty() || removes {
                self.jar.remove(&name);
            } else {
                self.jar.insert(name, value);
            }
        }
        reply
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    /// `GET path` with extra request headers.
    pub fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("cookie", cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let result = request.call();
        self.finish(&format!("GET {path}"), result)
    }

    /// `POST path` with an urlencoded form.
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_with(path, fields, &[])
    }

    /// `POST path` with an urlencoded form and extra request headers.
    pub fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("cookie", cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let result = request.send_form(fields.iter().copied());
        self.finish(&format!("POST {path}"), result)
    }

    /// Logs in through `POST /login/`, which must answer 302 to `/` with a session cookie.
    #[track_caller]
    pub fn login(&mut self, username: &str, password: &str) -> Reply {
        let reply = self.post("/login/", &[("username", username), ("password", password)]);
        reply.assert_redirect(302, "/");
        assert!(
            reply.set_cookies().next().is_some(),
            "login sets no cookie: {reply:?}"
        );
        reply
    }

    /// `GET /whoami` as JSON (asserting a 200).
    #[track_caller]
    pub fn whoami(&mut self) -> serde_json::Value {
        let reply = self.get("/whoami");
        reply.assert_status(200);
        reply.json()
    }

    /// `GET path`, expecting the toggle page, and returns its hidden `csrf_token`.
    #[track_caller]
    pub fn toggle_token(&mut self, path: &str) -> String {
        let reply = self.get(path);
        reply.assert_status(200);
        csrf_token(&reply.body).unwrap_or_else(|| panic!("no csrf_token input: {reply:?}"))
    }
}

/// The `value` of the `<input ... name="csrf_token" ...>` of `html`.
pub fn csrf_token(html: &str) -> Option<String> {
    html.split('<')
        .filter(|tag| tag.starts_with("input") && tag.contains("name=\"csrf_token\""))
        .find_map(|tag| attribute(tag, "value"))
}

/// The value of `name="..."` in the tag text `tag`.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_owned())
}

/// The `whoami` JSON expected for the demo user `name` (`None`: anonymous).
pub fn whoami_of(name: Option<&str>) -> serde_json::Value {
    let (staff, superuser) = match name {
        None | Some("user") => (false, false),
        Some("staff") => (true, false),
        Some("admin") => (true, true),
        Some(other) => panic!("not a demo user: {other}"),
    };
    serde_json::json!({ "user": name, "is_staff": staff, "is_superuser": superuser })
}
