//! PostgreSQL for the tests of the `postgres` backend and of the example
//! site on it.
//!
//! - [`shared`]: a database of the test's own (`CREATE DATABASE`, dropped
//!   when it drops) on the server `MAINT_DATABASE_URL` names (`.ci/run`
//!   starts one), so tests running at the same time never see each other's
//!   rows or notifications.
//! - [`OwnPostgres`]: a cluster of the test's own (`initdb`, then
//!   `postgres` on a free loopback port, in a temporary directory removed
//!   when it drops), for tests that stop and restart the server (never the
//!   shared one). As root, it runs as the `postgres` user (or `nobody`):
//!   PostgreSQL refuses to run as root.
//! - [`Raw`]: a plain client, for what `psql` (or another program) sees and
//!   writes, bypassing the backend.
//!
//! Skipping: without `MAINT_DATABASE_URL` (or without PostgreSQL's
//! programs, for [`OwnPostgres`]) a test prints a loud `SKIPPED` line to
//! stderr and returns, unless `CI` is set ([`in_ci`]): then it fails, so CI
//! never skips these tests silently.
//!
//! Every wait is bounded.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    str::FromStr,
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use postgres::{Client, Config, NoTls};

use crate::{
    in_ci,
    poll::poll_until,
    process::{find_on_path, run_bounded, signal, with_free_port},
};

/// The variable naming the shared test server (a database a test may
/// `CREATE DATABASE` from, e.g. `postgres://maint@127.0.0.1:5439/postgres`).
pub const URL_VAR: &str = "MAINT_DATABASE_URL";
/// The table the backend keeps its state in.
pub const TABLE: &str = "maint_state";
/// How long one raw statement (or a connection) may take.
const RAW_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fresh cluster may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a fast shutdown may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `initdb` may take.
const INITDB_TIMEOUT: Duration = Duration::from_secs(60);

/// Reports that `test` cannot run for `reason`: a loud line on stderr outside
/// CI, a failure in CI.
#[track_caller]
pub fn unavailable(test: &str, reason: &str) {
    if in_ci() {
        panic!(
            "{test}: {reason}; CI is set, so the PostgreSQL tests must run (.ci/run starts a server and sets {URL_VAR})"
        );
    }
    // Straight to the stderr stream, not through `eprintln!`, which the test
    // harness captures: a skip must be seen even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {reason}. Set {URL_VAR} (e.g. postgres://maint@127.0.0.1:5439/postgres) \
         and install PostgreSQL (initdb, postgres) to run it; .ci/run does both. !!!!!!!!\n"
    );
}

/// A database name no other test (nor another run) uses: `maint_t_{pid}_{n}_{nanos}`.
pub fn unique_database() -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .subsec_nanos();
    format!(
        "maint_t_{}_{}_{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database replaced by `dbname` (URL form only).
pub fn with_database(url: &str, dbname: &str) -> String {
    let authority_start = url.find("://").map_or(0, |scheme| scheme + 3);
    let (base, query) = match url.find('?') {
        Some(mark) => (&url[..mark], &url[mark..]),
        None => (url, ""),
    };
    // The path starts at the first `/` after the userinfo (which may hold `/`).
    let host_start = base[authority_start..]
        .rfind('@')
        .map_or(authority_start, |at| authority_start + at + 1);
    let path_start = base[host_start..]
        .find('/')
        .map_or(base.len(), |slash| host_start + slash);
    format!("{}/{dbname}{query}", &base[..path_start])
}

/// A database of the test's own on the shared server; `None` (after
/// [`unavailable`]) without one.
#[track_caller]
pub fn shared(test: &str) -> Option<TestDatabase> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(TestDatabase::create(&url)),
        _ => {
            unavailable(test, &format!("{URL_VAR} is not set"));
            None
        }
    }
}

/// A database created for one test, dropped (with its connections) when it drops.
pub struct TestDatabase {
    /// The backend's `database_url`.
    pub url: String,
    /// The database's name.
    pub name: String,
    admin: Raw,
}

impl TestDatabase {
    /// Creates a new database on the server `admin_url` names.
    #[track_caller]
    pub fn create(admin_url: &str) -> Self {
        let admin = Raw::new(admin_url);
        let name = unique_database();
        admin.execute(&format!("CREATE DATABASE {name}"));
        Self {
            url: with_database(admin_url, &name),
            name,
            admin,
        }
    }

    /// A plain client on this database.
    pub fn raw(&self) -> Raw {
        Raw::new(&self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort; FORCE ends the connections of backends still alive.
        let _ = self.admin.try_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// A plain client: one short-lived connection per call, every call bounded.
///
/// Each call runs on a thread of its own: the blocking client starts a
/// runtime, which cannot happen inside the test's runtime.
#[derive(Clone)]
pub struct Raw {
    url: String,
}

impl Raw {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `work` on a new connection, on a thread of its own.
    pub fn with_client<T: Send>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, String> {
        let url = &self.url;
        thread::scope(|scope| {
            scope
                .spawn(move || {
                    let mut config =
                        Config::from_str(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
                    config.connect_timeout(RAW_TIMEOUT);
                    let mut client = config
                        .connect(NoTls)
                        .map_err(|e| format!("connect to {url}: {e}"))?;
                    client
                        .batch_execute(&format!(
                            "SET statement_timeout = {}",
                            RAW_TIMEOUT.as_millis()
                        ))
                        .map_err(|e| format!("on {url}: {e}"))?;
                    work(&mut client).map_err(|e| match e.as_db_error() {
                        Some(db) => format!("on {url}: {db}"),
                        None => format!("on {url}: {e}"),
                    })
                })
                .join()
                .expect("the client's thread does not panic")
        })
    }

    /// Whether the server answers.
    pub fn ping(&self) -> Result<(), String> {
        self.with_client(|client| client.batch_execute("SELECT 1"))
    }

    pub fn try_execute(&self, sql: &str) -> Result<(), String> {
        self.with_client(|client| client.batch_execute(sql))
    }

    /// Runs `sql` (one or more statements), panicking on failure.
    #[track_caller]
    pub fn execute(&self, sql: &str) {
        self.try_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The state text of `host`'s row (`""`: the global one); `None`
    /// without a row (or without the table).
    #[track_caller]
    pub fn state(&self, host: &str) -> Option<String> {
        self.column("state", host)
    }

    /// The change text of `host`'s row; `None` without one.
    #[track_caller]
    pub fn change(&self, host: &str) -> Option<String> {
        self.column("change", host)
    }

    #[track_caller]
    fn column(&self, column: &str, host: &str) -> Option<String> {
        let sql = format!("SELECT {column} FROM {TABLE} WHERE host = $1");
        self.with_client(|client| {
            if !table_exists(client)? {
                return Ok(None);
            }
            Ok(client
                .query_opt(&sql, &[&host])?
                .and_then(|row| row.get::<_, Option<String>>(0)))
        })
        .unwrap_or_else(|e| panic!("read {column} of {host:?}: {e}"))
    }

    /// Writes the state text of `host`'s row as another program would: no
    /// notification, the change column left as it is (the row and the
    /// table created when missing).
    #[track_caller]
    pub fn set_state(&self, host: &str, text: &str) {
        self.upsert("state", host, text);
    }

    /// Writes the change text of `host`'s row (which must exist), no notification.
    #[track_caller]
    pub fn set_change(&self, host: &str, text: &str) {
        let updated = self
            .with_client(|client| {
                client.execute(
                    &format!("UPDATE {TABLE} SET change = $2 WHERE host = $1"),
                    &[&host, &text],
                )
            })
            .unwrap_or_else(|e| panic!("write the change: {e}"));
        assert_eq!(updated, 1, "the row exists");
    }

    #[track_caller]
    fn upsert(&self, column: &str, host: &str, text: &str) {
        let sql = format!(
            "INSERT INTO {TABLE} (host, {column}) VALUES ($1, $2) \
             ON CONFLICT (host) DO UPDATE SET {column} = excluded.{column}"
        );
        self.with_client(|client| {
            client.batch_execute(CREATE_TABLE)?;
            client.execute(&sql, &[&host, &text])
        })
        .unwrap_or_else(|e| panic!("write {column}: {e}"));
    }

    /// How many sessions `LISTEN` on `channel` in this database (0 when the
    /// server does not answer).
    pub fn listeners(&self) -> i64 {
        // A session that LISTENs shows it as its last statement, and waits idle.
        self.with_client(|client| {
            client.query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN maint_state%' \
                 AND pid <> pg_backend_pid()",
                &[],
            )
        })
        .map(|row| row.get(0))
        .unwrap_or(0)
    }

    /// Waits (at most 5 s) until `count` sessions `LISTEN` for the backend's changes.
    #[track_caller]
    pub fn await_listeners(&self, count: i64) {
        let limit = Duration::from_secs(5);
        poll_until(limit, || self.listeners() >= count).unwrap_or_else(|| {
            panic!(
                "{count} listeners expected, {} after {limit:?}",
                self.listeners()
            )
        });
    }
}

/// The backend's table, as the backend creates it.
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS maint_state (\
    host text PRIMARY KEY, \
    state text NOT NULL, \
    change text, \
    updated_at timestamptz NOT NULL DEFAULT now())";

fn table_exists(client: &mut Client) -> Result<bool, postgres::Error> {
    let row = client.query_one(&format!("SELECT to_regclass('{TABLE}') IS NOT NULL"), &[])?;
    Ok(row.get(0))
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: on `PATH`, or
/// the newest `/usr/lib/postgresql/*/bin` (Debian keeps them there).
pub fn bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| ["initdb", "postgres"].iter().all(|p| dir.join(p).is_file());
    if let Some(dir) = find_on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && complete(&dir)
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// The user and group to run PostgreSQL as: none (this one) unless root.
fn run_as() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    ["postgres", "nobody"]
        .iter()
        .find_map(|user| Some((id(&["-u", user])?, id(&["-g", user])?)))
}

/// A PostgreSQL cluster of one test, on a loopback port and a temporary
/// directory of its own, stopped when dropped. [`stop`](Self::stop) then
/// [`start`](Self::start) restarts it on the same port with the same data.
pub struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    user: Option<(u32, u32)>,
    child: Option<Child>,
}

impl OwnPostgres {
    /// A running cluster; `None` (after [`unavailable`]) without PostgreSQL.
    #[track_caller]
    pub fn start_new(test: &str) -> Option<Self> {
        let mut cluster = Self::not_started(test)?;
        let port = with_free_port("postgres", 5, |port| {
            cluster.port = port;
            cluster.try_start().map(|()| port)
        });
        assert_eq!(cluster.port, port);
        Some(cluster)
    }

    /// A cluster made (`initdb`) on a free port, not started; `None` (after
    /// [`unavailable`]) without PostgreSQL.
    #[track_caller]
    pub fn not_started(test: &str) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            unavailable(test, "PostgreSQL's initdb and postgres are not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("maint-postgres-")
            .tempdir()
            .expect("create a temp dir");
        let user = run_as();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("give the cluster's directory to its user");
        }
        let cluster = Self {
            bin,
            dir,
            port: crate::process::free_port(),
            user,
            child: None,
        };
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(cluster.data()).args([
            "-A",
            "trust",
            "-U",
            "maint",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run_bounded(initdb, INITDB_TIMEOUT).assert_success();
        Some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `dbname` (`postgres` always exists).
    pub fn url(&self, dbname: &str) -> String {
        format!("postgres://maint@127.0.0.1:{}/{dbname}", self.port)
    }

    /// A plain client on the `postgres` database.
    pub fn raw(&self) -> Raw {
        Raw::new(&self.url("postgres"))
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server (again) on its port and data, waiting until it answers.
    #[track_caller]
    pub fn start(&mut self) {
        if let Err(failure) = self.try_start() {
            panic!("{failure}");
        }
    }

    fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "postgres is already running");
        let log = std::fs::File::create(self.dir.path().join("postgres.log"))
            .map_err(|e| format!("create the log: {e}"))?;
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(
            command
                .spawn()
                .map_err(|e| format!("cannot start {command:?}: {e}"))?,
        );
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
                let log = std::fs::read_to_string(self.dir.path().join("postgres.log"))
                    .unwrap_or_default();
                return Err(format!(
                    "postgres on port {} {} within {START_TIMEOUT:?}; its log:\n{log}",
                    self.port,
                    match exited {
                        Some(status) => format!("exited ({status})"),
                        None => "did not answer".to_owned(),
                    }
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (a fast shutdown: its sessions are ended) and waits
    /// until it is gone.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(child.id(), "INT");
        let gone = poll_until(STOP_TIMEOUT, || child.try_wait().ok().flatten().is_some());
        if gone.is_none() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }

    /// Creates a database of the test's own on this server.
    #[track_caller]
    pub fn create_database(&self) -> String {
        let name = unique_database();
        self.raw().execute(&format!("CREATE DATABASE {name}"));
        self.url(&name)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
