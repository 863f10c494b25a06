//! The driver of the real `example-site` binary, as
//! `/work/shared/example-site-contract.md` describes it, over real HTTP on
//! loopback ports.
//!
//! - [`ExampleSite`] is the executable: the tests of the `example-site`
//!   package name it with `env!("CARGO_BIN_EXE_example-site")`, so cargo
//!   builds it before them.
//! - [`Site`] is a fresh temporary directory holding a config file (and the
//!   state file); it runs `maintenance_mode` commands and starts servers there.
//! - [`Server`] is a running `example-site` on a free `127.0.0.1` port, killed
//!   on drop; [`Client`] is a cookie-keeping HTTP client that never follows
//!   redirects; [`Reply`] is what it got.
//!
//! Every wait is bounded.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::{
    login::csrf_token,
    poll::poll_every,
    process::{Output, Run, Watched, free_port, run_bounded, with_free_port},
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

/// The `example-site` executable.
#[derive(Debug, Clone, Copy)]
pub struct ExampleSite {
    binary: &'static str,
}

impl ExampleSite {
    /// The executable at `binary`: `env!("CARGO_BIN_EXE_example-site")`.
    pub const fn new(binary: &'static str) -> Self {
        Self { binary }
    }

    pub fn binary(&self) -> &'static Path {
        Path::new(self.binary)
    }

    /// A `Command` running `example-site` with a clean environment for what
    /// it reads: no `RUST_LOG` (its default log level applies) and no `MAINT_TESTING`.
    pub fn command(&self) -> Command {
        let mut command = Command::new(self.binary());
        command.env_remove("RUST_LOG").env_remove("MAINT_TESTING");
        command
    }

    /// A site whose config is `[maintenance]` with `settings` (TOML lines),
    /// plus `state_file_path` pointing at `state.txt` in the directory unless
    /// `settings` sets `state_file_path` or `state_backend` itself.
    pub fn site(&self, settings: &str) -> Site {
        let dir = tempdir();
        let state_file = dir.path().join("state.txt");
        let mut text = String::from("[maintenance]\n");
        let keys: toml::Table = settings.parse().unwrap_or_default();
        if !keys.contains_key("state_file_path") && !keys.contains_key("state_backend") {
            text.push_str(&format!("state_file_path = {}\n", toml_path(&state_file)));
        }
        text.push_str(settings);
        text.push('\n');
        Site::in_dir(*self, dir, &text, state_file)
    }

    /// A site whose config file is exactly `text`; its state file is
    /// `maintenance_mode_state.txt` in the directory (the default path, relative
    /// to the working directory) unless `text` says otherwise.
    pub fn site_with_config(&self, text: &str) -> Site {
        let dir = tempdir();
        let state_file = dir.path().join("maintenance_mode_state.txt");
        Site::in_dir(*self, dir, text, state_file)
    }

    /// A [`site`](Self::site) with `settings`, started, in maintenance
    /// (switched on by the command, and seen by the server).
    pub fn in_maintenance(&self, settings: &str) -> (Site, Server) {
        let site = self.site(settings);
        let server = site.start();
        site.switch(true, &server);
        (site, server)
    }
}

/// `text` as a TOML basic string (for a config file).
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A TOML basic string holding `path` (for a config file).
pub fn toml_path(path: &Path) -> String {
    toml_string(path.to_str().expect("UTF-8 temp path"))
}

/// A fresh temporary directory with a config file (`example-site.toml`), the
/// working directory of the commands and servers started from it.
pub struct Site {
    example: ExampleSite,
    dir: tempfile::TempDir,
    config: PathBuf,
    state_file: PathBuf,
}

impl Site {
    fn in_dir(
        example: ExampleSite,
        dir: tempfile::TempDir,
        text: &str,
        state_file: PathBuf,
    ) -> Self {
        let config = dir.path().join("example-site.toml");
        std::fs::write(&config, text).expect("write the config file");
        Self {
            example,
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

    /// The state file this site's config points at (see [`ExampleSite::site`]).
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

    /// `example-site --config CONFIG maintenance_mode ARGS...` in the site's
    /// directory, within [`COMMAND_TIMEOUT`].
    pub fn command(&self, args: &[&str]) -> Run {
        let mut command = self.example.command();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("maintenance_mode")
            .args(args)
            .current_dir(self.dir());
        run_bounded(command, COMMAND_TIMEOUT)
    }

    /// [`command`](Self::command) with extra environment variables (`USER`,
    /// say, which the command records as who made a change).
    pub fn command_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.example.command();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("maintenance_mode")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.dir());
        run_bounded(command, COMMAND_TIMEOUT)
    }

    /// `maintenance_mode on` / `off`, which must succeed.
    #[track_caller]
    pub fn set(&self, on: bool) {
        self.command(&[if on { "on" } else { "off" }])
            .assert_success();
    }

    /// `maintenance_mode on` / `off`, which must succeed, then waits (at
    /// most [`POLL_LIMIT`]) until `server` sees it ([`Server::await_maintenance`]).
    #[track_caller]
    pub fn switch(&self, on: bool, server: &Server) {
        self.set(on);
        server.await_maintenance(on);
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
        with_free_port("example-site", 5, |port| {
            match Server::spawn(self, port, env) {
                Ok(server) => Ok(server),
                // Someone else took the port between our probe and the bind: retry.
                Err(stderr) if stderr.contains("cannot serve on") => Err(stderr),
                Err(stderr) => panic!("example-site did not start:\n{stderr}"),
            }
        })
    }

    /// Runs `example-site --config CONFIG --bind 127.0.0.1:PORT` (serve mode)
    /// expecting it to exit by itself (a startup error) within [`COMMAND_TIMEOUT`].
    pub fn serve_expecting_exit(&self) -> Run {
        let mut command = self.example.command();
        command
            .arg("--config")
            .arg(&self.config)
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", free_port()))
            .current_dir(self.dir());
        run_bounded(command, COMMAND_TIMEOUT)
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("maint-e2e-")
        .tempdir()
        .expect("create a temp dir")
}

/// A running `example-site`, killed when dropped.
pub struct Server {
    process: Watched,
    port: u16,
}

impl Server {
    /// Starts the server on `port` and waits for its `listening on` line; on
    /// failure returns what it wrote to stderr.
    fn spawn(site: &Site, port: u16, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut command = site.example.command();
        command
            .arg("--config")
            .arg(site.config())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .current_dir(site.dir());
        let needle = format!("listening on 127.0.0.1:{port}");
        let process = Watched::start(&mut command, Output::Stderr, &needle, START_TIMEOUT)?;
        Ok(Self { process, port })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
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
        self.process.output()
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
        poll_every(Duration::from_millis(5), POLL_LIMIT, || {
            self.anonymous_sees_maintenance() == on
        })
        .unwrap_or_else(|| {
            panic!(
                "the server did not see maintenance {} within {POLL_LIMIT:?}; stderr:\n{}",
                if on { "on" } else { "off" },
                self.stderr()
            )
        })
    }
}

/// The blocking HTTP agent of [`agent`] (and of [`Client`]).
pub use ureq::Agent;

/// A blocking HTTP agent that never follows redirects, never uses a proxy,
/// answers every status as a response, and gives up on a request after `timeout`.
pub fn agent(timeout: Duration) -> Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into()
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

    /// Whether `Content-Type` starts with `mime` (`text/html`, `application/json`).
    pub fn has_content_type(&self, mime: &str) -> bool {
        self.header("content-type")
            .is_some_and(|content_type| content_type.starts_with(mime))
    }

    /// `Content-Type` starts with `mime`.
    #[track_caller]
    pub fn assert_content_type(&self, mime: &str) -> &Self {
        assert!(self.has_content_type(mime), "not {mime}: {self:?}");
        self
    }

    /// The values of the `Set-Cookie` headers.
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
        Self {
            agent: agent(Duration::from_secs(20)),
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

    /// `METHOD path` (`HEAD`, `OPTIONS`, `PUT`, `DELETE`, ...) without a
    /// body, with extra request headers.
    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(cookies) = self.cookie_header() {
            request = request.header("cookie", cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(())
            .unwrap_or_else(|e| panic!("cannot build {method} {path}: {e}"));
        let result = self.agent.run(request);
        self.finish(&format!("{method} {path}"), result)
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
