//! The `postgres` backend: one switch for every instance of a site, for sites
//! that run PostgreSQL and no Redis.
//!
//! The state lives in one table, created if missing (in the first schema of
//! the connection's `search_path`, `public` by default):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS maint_state (
//!     host       text PRIMARY KEY,   -- '' is the global state; otherwise a host's own
//!     state      text NOT NULL,      -- django-maintenance-mode's text: 0, 1 or the schedule JSON
//!     change     text,               -- who changed it, when and how (JSON), or NULL
//!     updated_at timestamptz NOT NULL DEFAULT now()
//! );
//! ```
//!
//! A `set` upserts the row and sends `NOTIFY maint_state` (the payload is the
//! row's host) in one transaction, so the notification goes out when the row
//! is committed and never without it. Every instance holds one connection of
//! its own that `LISTEN`s on that channel and re-reads the state when told,
//! so a change reaches all of them at once while requests keep reading the
//! in-memory snapshot and never wait on the database. A periodic re-read
//! covers missed notifications, and a re-established `LISTEN` triggers one at
//! once. Reads and writes use a second connection; neither is pooled.
//!
//! A missing row is not "off": the table is created again if it is dropped,
//! and a database restored from an older dump may lack the row, and reading
//! that as off would end a maintenance by accident. So "off" is stored
//! explicitly (`0`), and a missing global row reads as
//! [`BackendError::Missing`]: the handle keeps the last state it knew (the
//! fallback value when it knew none) until the state is set.
//!
//! A value is measured (`octet_length`) in the query that reads it: one over
//! [`MAX_STATE_TEXT_LEN`] bytes is refused without being transferred, and at
//! most 1,000 (`MAX_HOSTS`) hosts are read. Errors quote at most a short prefix of
//! a bad value, and never the URL's password.
//!
//! Faults follow the Redis backend's rules: a server unreachable at start
//! gives `state_backend_fallback_value`; a server lost while running keeps
//! the last state read (see [`PostgresBackend::keep_last_state`]); a `set`
//! while it is down fails with [`BackendError::Unavailable`] within a few
//! seconds (connects and queries are timed out); the backend reconnects on
//! its own.
//!
//! All database I/O runs on a thread of the backend's own, so the backend
//! works from any runtime (actix-web's workers, the refresher, a blocking
//! command).

use std::{fmt, str::FromStr, time::Duration};

use async_trait::async_trait;
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, config::SslMode, error::SqlState};

use super::{
    BackendError, StateBackend,
    remote::{Remote, Reply},
};
use crate::{
    change::{self, StateRecord},
    host::MAX_HOSTS,
    redact::{Secrets, redacted},
    state::{MAX_STATE_TEXT_LEN, MaintenanceState, StateFormatError},
};

/// The table holding the state, and the channel its changes are announced on.
const TABLE: &str = "maint_state";
/// The longest host name stored, in bytes (a DNS name is at most 253).
const MAX_HOST_LEN: usize = 255;

/// How long one query (or transaction) may take before it counts as a failure.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long opening a connection (TCP and authentication) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Longest pause between attempts to `LISTEN` again while the server is away.
const MAX_RELISTEN_DELAY: Duration = Duration::from_secs(1);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS maint_state (\
    host text PRIMARY KEY, \
    state text NOT NULL, \
    change text, \
    updated_at timestamptz NOT NULL DEFAULT now())";

/// One row, with the texts over the limit left on the server.
const READ_ONE: &str = "SELECT octet_length(state), \
    CASE WHEN octet_length(state) <= $1 THEN state END, \
    CASE WHEN octet_length(change) <= $1 THEN change END \
    FROM maint_state WHERE host = $2";

/// Every host's row, one more than 1,000 (`MAX_HOSTS`) to tell that there are too many.
const READ_HOSTS: &str = "SELECT host, octet_length(state), \
    CASE WHEN octet_length(state) <= $1 THEN state END, \
    CASE WHEN octet_length(change) <= $1 THEN change END \
    FROM maint_state WHERE host <> '' ORDER BY host LIMIT $2";

const UPSERT: &str = "INSERT INTO maint_state (host, state, change, updated_at) \
    VALUES ($1, $2, $3, now()) \
    ON CONFLICT (host) DO UPDATE \
    SET state = excluded.state, change = excluded.change, updated_at = excluded.updated_at";

const DELETE: &str = "DELETE FROM maint_state WHERE host = $1";

const OTHER_HOSTS: &str = "SELECT count(*) FROM maint_state WHERE host <> '' AND host <> $1";

const NOTIFY: &str = "SELECT pg_notify('maint_state', $1)";

/// Keeps the state in a PostgreSQL table and pushes changes to every
/// instance with `LISTEN`/`NOTIFY`.
///
/// ```no_run
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, backend::PostgresBackend};
///
/// let backend = PostgresBackend::new("postgres://maint:secret@127.0.0.1/shop").unwrap();
/// let maint = MaintenanceMode::builder(MaintenanceSettings::default())
///     .backend(backend)
///     .build()
///     .unwrap();
/// ```
///
/// With settings alone: `state_backend = "postgres"`, `database_url`.
pub struct PostgresBackend {
    /// Its thread, which holds the connections; described by the server,
    /// user and database, without the password.
    remote: Remote<Request>,
}

enum Request {
    /// The row of this host (`""`: the global state).
    Get(String, Reply<Option<Stored>>),
    /// Every host's row.
    GetHosts(Reply<Vec<(String, Stored)>>),
    /// Stores a row (the state's text and its change's), or deletes it (`None`).
    Set(String, Option<(String, Option<String>)>, Reply<()>),
}

/// A row as read: the state's length, the state when within the limit, the
/// change when within the limit.
struct Stored {
    len: i32,
    state: Option<String>,
    change: Option<String>,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("server", &self.remote.describe())
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// A backend on the database at `url` (`postgres://user:pass@host:port/db`,
    /// or libpq's `host=... dbname=...` form). Nothing connects yet: an
    /// unreachable server is an error of the first read or write, not of
    /// construction; the table is created on first connection.
    ///
    /// Errors (and [`describe`](StateBackend::describe)) never show the password.
    ///
    /// ```
    /// use maint_actix::backend::{PostgresBackend, StateBackend};
    ///
    /// let backend = PostgresBackend::new("postgres://maint:secret@db.internal:5433/shop").unwrap();
    /// assert_eq!(backend.describe(), "postgres maint@db.internal:5433/shop table maint_state");
    /// assert!(PostgresBackend::new("postgres://maint:secret@db:99999/shop").is_err());
    /// // No TLS: a URL that requires it is refused at once.
    /// assert!(PostgresBackend::new("postgres://maint@db/shop?sslmode=require").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, BackendError> {
        let mut secrets = Secrets::of(url);
        let invalid = |reason: String| BackendError::Unavailable {
            backend: format!("postgres {}", redacted(url)),
            reason: format!("invalid database_url: {reason}"),
        };
        let mut config = Config::from_str(url).map_err(|error| invalid(chain(&error)))?;
        if let Some(password) = config.get_password() {
            secrets.add(String::from_utf8_lossy(password).into_owned());
        }
        if config.get_hosts().is_empty() {
            return Err(invalid("it names no host".to_owned()));
        }
        // The backend connects without TLS (a small dependency tree); a URL
        // that demands it would only fail at every connection.
        if config.get_ssl_mode() == SslMode::Require {
            return Err(invalid(
                "sslmode=require: the postgres backend connects without TLS (use a private network, or a TLS-terminating proxy such as PgBouncer on the instance's host)".to_owned(),
            ));
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("maint");
        }
        let shown = format!("postgres {} table {TABLE}", server(&config));
        let remote = Remote::start(
            "maint-postgres",
            shown,
            secrets,
            move |requests, changes| Worker { config, changes }.run(requests),
        )?;
        Ok(Self { remote })
    }

    /// How often the state is re-read even without a notification (default 5 s).
    #[must_use]
    pub fn with_resync_interval(mut self, interval: Duration) -> Self {
        self.remote.resync_interval = interval;
        self
    }

    /// Whether a lost server keeps the last state read (the default, as for
    /// Redis) or switches to `state_backend_fallback_value`.
    #[must_use]
    pub fn keep_last_state(mut self, keep: bool) -> Self {
        self.remote.keep_last_state = keep;
        self
    }

    /// The record of a row read at `location`.
    fn record(&self, location: String, stored: Stored) -> Result<StateRecord, BackendError> {
        let corrupted = |source| BackendError::Corrupted {
            location: location.clone(),
            source,
        };
        let Some(text) = stored.state else {
            let len = u64::try_from(stored.len).unwrap_or_default();
            return Err(corrupted(StateFormatError::TooLarge { len }));
        };
        let state = if text.trim().is_empty() {
            MaintenanceState::Off
        } else {
            MaintenanceState::parse(&text).map_err(corrupted)?
        };
        let change = stored
            .change
            .and_then(|text| change::change_for(&state, &text));
        Ok(StateRecord { state, change })
    }

    /// Where a host's own state is, for errors.
    fn host_location(&self, host: &str) -> String {
        format!("{} host {host:?}", self.describe())
    }
}

#[async_trait]
impl StateBackend for PostgresBackend {
    /// A missing row is [`BackendError::Missing`] (unknown), not off: a
    /// table dropped (and created again) or restored without the row must not
    /// end a maintenance. "Off" is stored as `0`.
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        self.get_record().await.map(|record| record.state)
    }

    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.set_record(&StateRecord::new(state.clone())).await
    }

    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        match self
            .remote
            .ask(|reply| Request::Get(String::new(), reply))
            .await?
        {
            Some(stored) => self.record(self.describe(), stored),
            None => Err(BackendError::Missing {
                location: self.describe(),
            }),
        }
    }

    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        let row = (record.state.to_text(), change::change_text(record));
        self.remote
            .ask(|reply| Request::Set(String::new(), Some(row), reply))
            .await
    }

    /// At most 1,000 (`MAX_HOSTS`): more is an error rather than some hosts
    /// silently following the global state. A host row that is not a state
    /// is an error naming the host.
    async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
        let rows = self.remote.ask(Request::GetHosts).await?;
        if rows.len() > MAX_HOSTS {
            return Err(self.remote.unavailable(format!(
                "more than {MAX_HOSTS} hosts have a state of their own"
            )));
        }
        rows.into_iter()
            .map(|(host, stored)| {
                let record = self.record(self.host_location(&host), stored)?;
                Ok((host, record))
            })
            .collect()
    }

    /// Refuses the empty host (that row is the global state), a name over
    /// 255 bytes, and a new host beyond 1,000 (`MAX_HOSTS`).
    async fn set_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        if host.is_empty() || host.len() > MAX_HOST_LEN {
            return Err(self.remote.unavailable(format!(
                "a host name must be 1 to {MAX_HOST_LEN} bytes, not {}",
                host.len()
            )));
        }
        let row = record.map(|record| (record.state.to_text(), change::change_text(record)));
        self.remote
            .ask(|reply| Request::Set(host.to_owned(), row, reply))
            .await
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(self.remote.resync_interval)
    }

    fn subscribe(&self) -> Option<watch::Receiver<()>> {
        Some(self.remote.subscribe())
    }

    fn keeps_last_state_on_error(&self) -> bool {
        self.remote.keep_last_state
    }

    fn describe(&self) -> String {
        self.remote.describe()
    }
}

/// `user@host:port/dbname`, from the parsed configuration: never a password.
fn server(config: &Config) -> String {
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let name = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            // One port for all hosts, or one per host; 5432 when none is given.
            let port = ports.get(index).or(ports.first()).copied().unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    let dbname = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("{user}{}/{dbname}", hosts.join(","))
}

/// The backend's thread: answers reads and writes, and listens for changes.
struct Worker {
    config: Config,
    changes: watch::Sender<()>,
}

impl Worker {
    async fn run(self, requests: mpsc::UnboundedReceiver<Request>) {
        // The requests end when the backend is dropped; so does the thread.
        tokio::select! {
            () = self.answer(requests) => {}
            () = self.listen() => {}
        }
    }

    async fn answer(&self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut client = None;
        while let Some(request) = requests.recv().await {
            match request {
                Request::Get(host, reply) => {
                    let read = self.with_client(&mut client, async |c| read_one(c, &host).await);
                    let _ = reply.send(read.await);
                }
                Request::GetHosts(reply) => {
                    let read = self.with_client(&mut client, async |c| read_hosts(c).await);
                    let _ = reply.send(read.await);
                }
                Request::Set(host, row, reply) => {
                    let written =
                        self.with_client(&mut client, async |c| write(c, &host, row).await);
                    let _ = reply.send(written.await.and_then(|refused| refused));
                }
            }
        }
    }

    /// Runs `operation` on the connection, opened (and the table created)
    /// when there is none, within [`OPERATION_TIMEOUT`]. A connection that
    /// failed is dropped, so the next request connects afresh.
    async fn with_client<T>(
        &self,
        client: &mut Option<Client>,
        operation: impl AsyncFnOnce(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, String> {
        if client.as_ref().is_some_and(Client::is_closed) {
            *client = None;
        }
        if client.is_none() {
            *client = Some(self.open().await?);
        }
        let result = within_timeout(operation(client.as_mut().expect("just opened"))).await;
        if result.is_err() {
            *client = None;
        }
        result
    }

    /// A new connection, driven by a task of this thread, with the table in place.
    async fn open(&self) -> Result<Client, String> {
        let (client, connection) = within_timeout(self.config.connect(NoTls)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %chain(&error), "postgres connection lost");
            }
        });
        within_timeout(create_table(&client)).await?;
        Ok(client)
    }

    /// `LISTEN`s for good on a connection of its own, again whenever the
    /// connection drops. Every (re)established `LISTEN` and every
    /// notification signals a change, so the refresher re-reads at once.
    async fn listen(&self) {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.listening().await {
                Ok((_client, mut messages)) => {
                    delay = Duration::from_millis(50);
                    self.changes.send_replace(());
                    while let Some(Ok(message)) = messages.next().await {
                        if matches!(message, AsyncMessage::Notification(_)) {
                            self.changes.send_replace(());
                        }
                    }
                    tracing::debug!("postgres LISTEN connection lost");
                    // The read that follows fails and reports the loss, once.
                    self.changes.send_replace(());
                }
                Err(error) => tracing::debug!(%error, "cannot LISTEN on postgres"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RELISTEN_DELAY);
        }
    }

    /// A connection that has run `LISTEN maint_state`, and its messages. The
    /// client is returned to keep the connection open.
    async fn listening(
        &self,
    ) -> Result<
        (
            Client,
            impl Stream<Item = Result<AsyncMessage, tokio_postgres::Error>> + Unpin,
        ),
        String,
    > {
        let (client, mut connection) = within_timeout(self.config.connect(NoTls)).await?;
        let mut messages = Box::pin(stream::poll_fn(move |cx| connection.poll_message(cx)));
        // `LISTEN` is answered only while the connection is driven.
        {
            let listen = within_timeout(client.batch_execute("LISTEN maint_state"));
            tokio::pin!(listen);
            loop {
                tokio::select! {
                    listened = &mut listen => break listened?,
                    message = messages.next() => match message {
                        Some(Ok(_)) => {}
                        Some(Err(error)) => return Err(chain(&error)),
                        None => return Err("connection closed".to_owned()),
                    },
                }
            }
        }
        Ok((client, messages))
    }
}

/// Creates the table unless it exists. Two instances creating it at once
/// race in PostgreSQL's catalog (a unique violation on the type's name);
/// the loser finds it made. A role that may not create tables in the
/// schema goes on: the table may exist, and the queries say if it does not.
async fn create_table(client: &Client) -> Result<(), tokio_postgres::Error> {
    // Without the NOTICE "relation already exists" on every connection.
    let created = client
        .batch_execute(&format!(
            "SET client_min_messages TO warning; {CREATE_TABLE}"
        ))
        .await;
    match created {
        Err(error)
            if error.code().is_some_and(|code| {
                [
                    SqlState::UNIQUE_VIOLATION,
                    SqlState::DUPLICATE_TABLE,
                    SqlState::INSUFFICIENT_PRIVILEGE,
                ]
                .contains(code)
            }) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// The limit as the database's integer type.
fn text_limit() -> i32 {
    i32::try_from(MAX_STATE_TEXT_LEN).expect("the limit fits in an int4")
}

async fn read_one(
    client: &mut Client,
    host: &str,
) -> Result<Option<Stored>, tokio_postgres::Error> {
    let row = client.query_opt(READ_ONE, &[&text_limit(), &host]).await?;
    Ok(row.map(|row| Stored {
        len: row.get(0),
        state: row.get(1),
        change: row.get(2),
    }))
}

async fn read_hosts(client: &mut Client) -> Result<Vec<(String, Stored)>, tokio_postgres::Error> {
    let limit = i64::try_from(MAX_HOSTS + 1).expect("a small number");
    let rows = client.query(READ_HOSTS, &[&text_limit(), &limit]).await?;
    Ok(rows
        .into_iter()
        // Longer names are none that maint set: not a host.
        .filter(|row| row.get::<_, &str>(0).len() <= MAX_HOST_LEN)
        .map(|row| {
            let stored = Stored {
                len: row.get(1),
                state: row.get(2),
                change: row.get(3),
            };
            (row.get(0), stored)
        })
        .collect())
}

/// Stores (or deletes) the row and announces it in one transaction: the
/// notification is delivered when the row is committed, never before. A
/// new host beyond 1,000 (`MAX_HOSTS`) is refused (the inner error), the
/// transaction rolled back.
async fn write(
    client: &mut Client,
    host: &str,
    row: Option<(String, Option<String>)>,
) -> Result<Result<(), String>, tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    match row {
        Some((state, change)) => {
            if !host.is_empty() {
                let others: i64 = transaction.query_one(OTHER_HOSTS, &[&host]).await?.get(0);
                if others >= i64::try_from(MAX_HOSTS).expect("a small number") {
                    return Ok(Err(format!(
                        "{others} other hosts have a state of their own, the most maint keeps is {MAX_HOSTS}"
                    )));
                }
            }
            transaction
                .execute(UPSERT, &[&host, &state, &change])
                .await?;
        }
        None => {
            transaction.execute(DELETE, &[&host]).await?;
        }
    }
    transaction.execute(NOTIFY, &[&host]).await?;
    transaction.commit().await.map(Ok)
}

/// An error with its causes: tokio-postgres's own text is only the kind
/// ("db error"), the server's message is its source.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn within_timeout<T>(
    operation: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(chain(&error)),
        // A transaction whose COMMIT was sent may still be carried out.
        Err(_) => Err(format!(
            "no answer within {OPERATION_TIMEOUT:?} (a write may still take effect)"
        )),
    }
}
