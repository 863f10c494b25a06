//! Redis for the tests of the `redis` backend and of the example site on it.
//!
//! - [`shared`]: the server `MAINT_REDIS_URL` names (`.ci/run` starts one),
//!   with a key prefix unique to the test, so tests running at the same time
//!   never see each other's keys. Its keys are deleted when it drops.
//! - [`OwnRedis`]: a `redis-server` of the test's own, on a free loopback port
//!   in a temporary directory, for tests that kill and restart Redis (never
//!   the shared one). It keeps its data in an append-only file synced on every
//!   write, so the state survives a `SIGKILL` and a restart on the same port.
//! - [`Raw`]: a plain Redis client, for what another tool (or a Django site)
//!   sees and writes, bypassing the backend.
//! - [`TlsRedis`](crate::redis_tls::TlsRedis): a `redis-server` of the
//!   test's own that speaks TLS only, with a CA generated in the test run.
//!
//! Skipping: without `MAINT_REDIS_URL` (or without `redis-server` on `PATH`)
//! a test prints a loud `SKIPPED` line to stderr and returns, unless `CI` is
//! set ([`in_ci`]): then it fails, so CI never skips these tests silently.
//!
//! Every wait is bounded.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use crate::{
    in_ci,
    poll::poll_until,
    process::{find_on_path, free_port, with_free_port},
};

/// The variable naming the shared test server.
pub const URL_VAR: &str = "MAINT_REDIS_URL";
/// How long one raw command (or a connection) may take.
const RAW_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a fresh `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a backend (or a server) may take to subscribe to its changes.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reports that `test` cannot run for `reason`: a loud line on stderr outside
/// CI, a failure in CI.
#[track_caller]
pub fn unavailable(test: &str, reason: &str) {
    if in_ci() {
        panic!(
            "{test}: {reason}; CI is set, so the Redis tests must run (.ci/run starts a server and sets {URL_VAR})"
        );
    }
    // Straight to the stderr stream, not through `eprintln!`, which the test
    // harness captures: a skip must be seen even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {reason}. Set {URL_VAR} (e.g. redis://127.0.0.1:6379) \
         and put redis-server (and openssl, for TLS) on PATH to run it; .ci/run does both. !!!!!!!!\n"
    );
}

/// A key prefix no other test (nor another run) uses: `maint:test:{test}:{pid}:{nanos}`.
pub fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    format!("maint:test:{test}:{}:{nanos}", std::process::id())
}

/// `{prefix}:state`, where the backend keeps the state.
pub fn state_key(prefix: &str) -> String {
    format!("{prefix}:state")
}

/// `{prefix}:changes`, where the backend announces changes.
pub fn changes_channel(prefix: &str) -> String {
    format!("{prefix}:changes")
}

/// The shared server with a prefix of `test`'s own; `None` (after [`unavailable`]) without one.
#[track_caller]
pub fn shared(test: &str) -> Option<Shared> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => {
            let raw = Raw::new(&url);
            raw.ping()
                .unwrap_or_else(|e| panic!("{URL_VAR}={url} does not answer PING: {e}"));
            Some(Shared {
                url,
                prefix: unique_prefix(test),
                raw,
            })
        }
        _ => {
            unavailable(test, &format!("{URL_VAR} is not set"));
            None
        }
    }
}

/// A test's corner of the shared server; deletes its keys when dropped.
pub struct Shared {
    pub url: String,
    pub prefix: String,
    pub raw: Raw,
}

impl Shared {
    /// `{prefix}:state`.
    pub fn key(&self) -> String {
        state_key(&self.prefix)
    }

    /// Another prefix for the same test (also deleted on drop).
    pub fn other_prefix(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Best effort: the keys of this prefix and of `other_prefix`es.
        if let Ok(keys) = self.raw.keys(&format!("{}*", self.prefix)) {
            for key in keys {
                let _ = self.raw.del(&key);
            }
        }
    }
}

/// A plain client: one short-lived connection per command, every call bounded.
#[derive(Clone)]
pub struct Raw {
    url: String,
    client: redis::Client,
}

impl Raw {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            client: redis::Client::open(url)
                .unwrap_or_else(|e| panic!("invalid Redis URL {url}: {e}")),
        }
    }

    /// A client of a `rediss://` server that trusts only the CA certificates in `ca_pem`.
    pub fn with_ca(url: &str, ca_pem: &[u8]) -> Self {
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca_pem.to_vec()),
        };
        Self {
            url: url.to_owned(),
            client: redis::Client::build_with_tls(url, certificates)
                .unwrap_or_else(|e| panic!("invalid TLS Redis URL {url} or CA: {e}")),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let connection = self.client.get_connection_with_timeout(RAW_TIMEOUT)?;
        connection.set_read_timeout(Some(RAW_TIMEOUT))?;
        connection.set_write_timeout(Some(RAW_TIMEOUT))?;
        Ok(connection)
    }

    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> redis::RedisResult<T> {
        command.query(&mut self.connection()?)
    }

    pub fn ping(&self) -> redis::RedisResult<String> {
        self.query(&redis::cmd("PING"))
    }

    /// `GET key`, panicking when the server does not answer.
    #[track_caller]
    pub fn get(&self, key: &str) -> Option<String> {
        self.query(redis::cmd("GET").arg(key))
            .unwrap_or_else(|e| panic!("GET {key} on {}: {e}", self.url))
    }

    /// `SET key text`, without announcing it (as a Django site would write it).
    #[track_caller]
    pub fn set(&self, key: &str, text: &str) {
        let _: () = self
            .query(redis::cmd("SET").arg(key).arg(text))
            .unwrap_or_else(|e| panic!("SET {key} on {}: {e}", self.url));
    }

    /// `PUBLISH channel text`; the number of subscribers that got it.
    #[track_caller]
    pub fn publish(&self, channel: &str, text: &str) -> u64 {
        self.query(redis::cmd("PUBLISH").arg(channel).arg(text))
            .unwrap_or_else(|e| panic!("PUBLISH {channel} on {}: {e}", self.url))
    }

    pub fn del(&self, key: &str) -> redis::RedisResult<u64> {
        self.query(redis::cmd("DEL").arg(key))
    }

    pub fn keys(&self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        self.query(redis::cmd("KEYS").arg(pattern))
    }

    /// `FLUSHALL`: the server loses every key, as after a restart without persistence.
    #[track_caller]
    pub fn flushall(&self) {
        let _: () = self
            .query(&redis::cmd("FLUSHALL"))
            .unwrap_or_else(|e| panic!("FLUSHALL on {}: {e}", self.url));
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`; 0 when the
    /// server does not answer).
    pub fn subscribers(&self, channel: &str) -> u64 {
        self.query::<(String, u64)>(redis::cmd("PUBSUB").arg("NUMSUB").arg(channel))
            .map(|(_, n)| n)
            .unwrap_or(0)
    }

    /// Waits (at most 5 s) until `count` clients (backends, servers)
    /// subscribe to `prefix`'s change channel.
    #[track_caller]
    pub fn await_subscribers(&self, prefix: &str, count: u64) {
        let channel = changes_channel(prefix);
        poll_until(SUBSCRIBE_TIMEOUT, || self.subscribers(&channel) >= count).unwrap_or_else(
            || {
                panic!(
                    "{count} subscribers to {channel} expected, {} after {SUBSCRIBE_TIMEOUT:?}",
                    self.subscribers(&channel)
                )
            },
        );
    }

    /// `INFO commandstats` as command name → calls (`cmdstat_get` → `get`).
    #[track_caller]
    pub fn command_calls(&self) -> BTreeMap<String, u64> {
        let info: String = self
            .query(redis::cmd("INFO").arg("commandstats"))
            .unwrap_or_else(|e| panic!("INFO commandstats on {}: {e}", self.url));
        parse_command_calls(&info)
    }
}

/// `cmdstat_get:calls=3,usec=...` lines as `get` → 3.
pub fn parse_command_calls(info: &str) -> BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = fields
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// The commands whose call counts differ between two [`Raw::command_calls`].
pub fn command_calls_diff(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(name, &calls)| {
            let earlier = before.get(name).copied().unwrap_or(0);
            (calls != earlier).then(|| (name.clone(), calls - earlier))
        })
        .collect()
}

/// Subscribes to `channel`, runs `action`, and returns the first message's
/// payload that arrives within `limit` after it (`None`: none did).
#[track_caller]
pub fn message_during(
    raw: &Raw,
    channel: &str,
    limit: Duration,
    action: impl FnOnce(),
) -> Option<String> {
    let mut connection = raw
        .connection()
        .unwrap_or_else(|e| panic!("connect to {}: {e}", raw.url()));
    let mut pubsub = connection.as_pubsub();
    pubsub
        .subscribe(channel)
        .unwrap_or_else(|e| panic!("SUBSCRIBE {channel}: {e}"));
    pubsub.set_read_timeout(Some(limit)).expect("read timeout");
    action();
    let message = pubsub.get_message().ok()?;
    Some(message.get_payload().expect("a text payload"))
}

/// `redis-server` on `PATH`.
pub fn redis_server_path() -> Option<PathBuf> {
    find_on_path("redis-server")
}

/// A `redis-server` of one test, on a loopback port and a temporary
/// directory of its own, killed when dropped. [`kill`](Self::kill) then
/// [`start`](Self::start) restarts it on the same port with the same data.
pub struct OwnRedis {
    program: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// A running server; `None` (after [`unavailable`]) without `redis-server`.
    #[track_caller]
    pub fn start_new(test: &str) -> Option<Self> {
        let program = program_or_unavailable(test)?;
        Some(with_free_port("redis-server", 5, |port| {
            let mut redis = Self::at(program.clone(), port);
            redis.try_start().map(|()| redis)
        }))
    }

    /// A port and a directory, with nothing listening yet; `None` (after
    /// [`unavailable`]) without `redis-server`.
    #[track_caller]
    pub fn not_started(test: &str) -> Option<Self> {
        let program = program_or_unavailable(test)?;
        Some(Self::at(program, free_port()))
    }

    fn at(program: PathBuf, port: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("maint-redis-")
            .tempdir()
            .expect("create a temp dir");
        Self {
            program,
            dir,
            port,
            child: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn raw(&self) -> Raw {
        Raw::new(&self.url())
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("redis-server is running").id()
    }

    /// Starts the server (again) on its port and directory, waiting until it answers.
    #[track_caller]
    pub fn start(&mut self) {
        if let Err(failure) = self.try_start() {
            panic!("{failure}");
        }
    }

    fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "redis-server is already running");
        self.child = Some(spawn_server(&self.program, self.port, self.dir.path())?);
        let raw = self.raw();
        let started = Instant::now();
        loop {
            if raw.ping().is_ok() {
                return Ok(());
            }
            let child = self.child.as_mut().expect("just started");
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                let log =
                    std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {} {} within {START_TIMEOUT:?}; its log:\n{log}",
                    self.port,
                    match exited {
                        Some(status) => format!("exited ({status})"),
                        None => "did not answer PING".to_owned(),
                    }
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// `SIGKILL`s the server (no shutdown, no save) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Deletes the stopped server's data, so the next [`start`](Self::start)
    /// is a restart without persistence (`--save ''`, no append-only file):
    /// an empty server on the same port.
    #[track_caller]
    pub fn wipe_data(&self) {
        assert!(self.child.is_none(), "wipe the data of a stopped server");
        for entry in std::fs::read_dir(self.dir.path()).expect("read the data directory") {
            let path = entry.expect("a directory entry").path();
            if path.file_name().is_some_and(|name| name == "redis.log") {
                continue;
            }
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
        }
    }

    /// Stores `text` under `key` before this server starts: a helper server
    /// on another port writes it into this directory's data, which this
    /// server loads when it starts.
    #[track_caller]
    pub fn seed(&self, key: &str, text: &str) {
        assert!(self.child.is_none(), "seed before starting");
        with_free_port(
            &format!("the helper redis-server seeding {key}"),
            5,
            |port| {
                let mut helper = spawn_server(&self.program, port, self.dir.path())?;
                let raw = Raw::new(&format!("redis://127.0.0.1:{port}"));
                let exited = |helper: &mut Child| helper.try_wait().ok().flatten().is_some();
                let answered =
                    poll_until(START_TIMEOUT, || raw.ping().is_ok() || exited(&mut helper))
                        .is_some()
                        && raw.ping().is_ok();
                if answered {
                    // appendfsync always: the SET is on disk once it is answered.
                    raw.set(key, text);
                }
                let _ = helper.kill();
                let _ = helper.wait();
                if answered {
                    Ok(())
                } else {
                    Err(format!(
                        "the helper redis-server on port {port} did not answer PING"
                    ))
                }
            },
        );
    }
}

/// `redis-server` on `PATH`; `None` after [`unavailable`] without one.
#[track_caller]
pub(crate) fn program_or_unavailable(test: &str) -> Option<PathBuf> {
    let program = redis_server_path();
    if program.is_none() {
        unavailable(test, "redis-server is not on PATH");
    }
    program
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_server(program: &Path, port: u16, dir: &Path) -> Result<Child, String> {
    let mut command = Command::new(program);
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .args(["--daemonize", "no", "--protected-mode", "yes"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))
}
