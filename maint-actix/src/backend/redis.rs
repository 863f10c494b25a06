//! The `redis` backend: one switch for every instance of a site.
//!
//! The state is stored under `{prefix}:state` in django-maintenance-mode's
//! text format (`redis-cli GET maint:default:state` prints `0`, `1` or the
//! schedule JSON). A `set` writes the key and publishes on `{prefix}:changes`
//! in one transaction; every instance subscribes to that channel and re-reads
//! the key when told, so a change reaches all of them at once, while requests
//! keep reading the in-memory snapshot and never wait on Redis. A periodic
//! re-read covers missed messages, and a re-established subscription triggers
//! one at once.
//!
//! A missing key is not "off": a Redis restarted without persistence (or
//! flushed) has lost the state, and reading that as off would end a
//! maintenance by accident. So "off" is stored explicitly (`0`), and a
//! missing key reads as [`BackendError::Missing`]: the handle keeps the last
//! state it knew (the fallback value when it knew none) until the state is set.
//!
//! The change that made the state (who, when, how) is kept under
//! `{prefix}:change`, written in the same transaction; the state key itself
//! stays in Django's format. Hosts with a state of their own are the fields of
//! the hash `{prefix}:hosts` (host → `{"state": …, "change": …}`), written
//! with a publish on the same channel.
//!
//! A value is measured (`STRLEN`) before it is fetched: one over
//! [`MAX_STATE_TEXT_LEN`] bytes is refused without being transferred. Errors
//! quote at most a short prefix of a bad value, and never the URL's password.
//!
//! A `rediss://` URL connects over TLS (rustls): with the system's root
//! certificates, or only the CA certificates of `redis_ca_file`
//! ([`RedisBackend::with_ca_pem`]). The subscription uses the same client, so
//! it goes over TLS with the same trust. A server whose certificate is not
//! trusted is unreachable like any other: the fallback rules apply, and the
//! reason (the TLS error) is logged once.
//!
//! All Redis I/O runs on a thread of the backend's own, so the backend works
//! from any runtime (actix-web's workers, the refresher, a blocking command).

use std::{fmt, time::Duration};

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, watch};

use super::{
    BackendError, StateBackend,
    remote::{Remote, Reply},
};
use crate::{
    change::{self, StateRecord},
    host,
    redact::{Secrets, redacted},
    state::{MAX_STATE_TEXT_LEN, MaintenanceState, StateFormatError, preview},
};

/// How long one Redis operation may take before it counts as a failure.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest pause between attempts to re-subscribe while Redis is away.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// Keeps the state in Redis and pushes changes to every instance.
///
/// ```no_run
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, backend::RedisBackend};
///
/// let backend = RedisBackend::new("redis://127.0.0.1:6379", "maint:shop").unwrap();
/// let maint = MaintenanceMode::builder(MaintenanceSettings::default())
///     .backend(backend)
///     .build()
///     .unwrap();
/// ```
///
/// With settings alone: `state_backend = "redis"`, `redis_url`, `redis_key_prefix`,
/// and for a `rediss://` server with a CA of its own, `redis_ca_file`.
pub struct RedisBackend {
    /// Without its password.
    url: String,
    key: String,
    /// Its thread, which holds the connections.
    remote: Remote<Request>,
}

/// A read's answer: the state's value and its change's, or why not.
type ReadReply = Reply<(Fetched, Option<Vec<u8>>)>;

enum Request {
    Get(ReadReply),
    /// The state's text and its change's.
    Set(String, Option<String>, Reply<()>),
    /// Every host's field of the hosts' hash.
    GetHosts(HostsReply),
    /// One host's record (`None`: remove the host's field).
    SetHost(String, Option<String>, Reply<()>),
}

/// The hosts' hash, field by field, or why not.
type HostsReply = Reply<Vec<(Vec<u8>, Vec<u8>)>>;

/// What a read found under the key.
enum Fetched {
    /// No key.
    Missing,
    /// A value of this many bytes, over [`MAX_STATE_TEXT_LEN`]: not fetched.
    TooLarge(u64),
    /// The value.
    Value(Vec<u8>),
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.url)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A backend on the server at `url`, keeping the state under `{key_prefix}:state`.
    /// Nothing connects yet: an unreachable server is an error of the first read
    /// or write, not of construction.
    ///
    /// A `rediss://` URL connects over TLS and trusts the system's root
    /// certificates (managed Redis with a public certificate); for a server
    /// whose certificate a CA of your own signed, see [`with_ca_pem`](Self::with_ca_pem).
    ///
    /// Errors (and [`describe`](StateBackend::describe)) name the URL without
    /// its password, even a URL that does not parse.
    pub fn new(url: &str, key_prefix: &str) -> Result<Self, BackendError> {
        Self::connect(url, key_prefix, None)
    }

    /// A backend on the `rediss://` server at `url` that trusts only the CA
    /// certificates in `ca_pem` (PEM, one or more certificates; setting
    /// `redis_ca_file`), for the command connection and the subscription alike.
    ///
    /// PEM without a certificate, a certificate that does not parse, or a
    /// URL that is not `rediss://` is an error here, not at the first read.
    ///
    /// ```no_run
    /// use maint_actix::backend::RedisBackend;
    ///
    /// let ca = std::fs::read("/etc/maint/redis-ca.pem").unwrap();
    /// let backend =
    ///     RedisBackend::with_ca_pem("rediss://:secret@redis.internal:6380", "maint:shop", &ca).unwrap();
    /// ```
    pub fn with_ca_pem(url: &str, key_prefix: &str, ca_pem: &[u8]) -> Result<Self, BackendError> {
        Self::connect(url, key_prefix, Some(ca_pem))
    }

    fn connect(url: &str, key_prefix: &str, ca_pem: Option<&[u8]>) -> Result<Self, BackendError> {
        let secrets = Secrets::of(url);
        let shown = redacted(url);
        let client = client(url, ca_pem).map_err(|reason| BackendError::Unavailable {
            backend: format!("redis {shown}"),
            reason: secrets.hide(reason),
        })?;
        let key = format!("{key_prefix}:state");
        let change_key = format!("{key_prefix}:change");
        let hosts_key = format!("{key_prefix}:hosts");
        let channel = format!("{key_prefix}:changes");
        let described = format!("redis {shown} key {key}");
        let worker_key = key.clone();
        let remote = Remote::start(
            "maint-redis",
            described,
            secrets,
            move |requests, changes| {
                let worker = Worker {
                    client,
                    key: worker_key,
                    change_key,
                    hosts_key,
                    channel,
                    changes,
                };
                worker.run(requests)
            },
        )?;
        Ok(Self {
            url: shown,
            key,
            remote,
        })
    }

    /// How often the state is re-read even without a message (default 5 s).
    #[must_use]
    pub fn with_resync_interval(mut self, interval: Duration) -> Self {
        self.remote.resync_interval = interval;
        self
    }

    /// Whether a lost server keeps the last state read (the default) or
    /// switches to `state_backend_fallback_value`.
    #[must_use]
    pub fn keep_last_state(mut self, keep: bool) -> Self {
        self.remote.keep_last_state = keep;
        self
    }

    /// The key holding the state.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn corrupted(&self, source: StateFormatError) -> BackendError {
        BackendError::Corrupted {
            location: self.describe(),
            source,
        }
    }
}

#[async_trait]
impl StateBackend for RedisBackend {
    /// A missing key is [`BackendError::Missing`] (unknown), not off: a
    /// Redis that lost its data must not end a maintenance. "Off" is stored as `0`.
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        self.get_record().await.map(|record| record.state)
    }

    async fn set(&self, state: &MaintenanceState) -> Result<(), BackendError> {
        self.set_record(&StateRecord::new(state.clone())).await
    }

    async fn get_record(&self) -> Result<StateRecord, BackendError> {
        let (fetched, change) = self.remote.ask(Request::Get).await?;
        let state = match fetched {
            Fetched::Missing => {
                return Err(BackendError::Missing {
                    location: self.describe(),
                });
            }
            Fetched::TooLarge(len) => {
                return Err(self.corrupted(StateFormatError::TooLarge { len }));
            }
            Fetched::Value(bytes) => match String::from_utf8(bytes) {
                Ok(text) if text.trim().is_empty() => MaintenanceState::Off,
                Ok(text) => MaintenanceState::parse(&text).map_err(|e| self.corrupted(e))?,
                Err(error) => {
                    return Err(self.corrupted(StateFormatError::NotAState(preview(
                        &String::from_utf8_lossy(error.as_bytes()),
                    ))));
                }
            },
        };
        let change = change
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| change::change_for(&state, &text));
        Ok(StateRecord { state, change })
    }

    async fn set_record(&self, record: &StateRecord) -> Result<(), BackendError> {
        let text = record.state.to_text();
        let change = change::change_text(record);
        self.remote
            .ask(|reply| Request::Set(text, change, reply))
            .await
    }

    async fn get_hosts(&self) -> Result<Vec<(String, StateRecord)>, BackendError> {
        let fields = self.remote.ask(Request::GetHosts).await?;
        let mut hosts = Vec::with_capacity(fields.len());
        for (host, text) in fields {
            let host = String::from_utf8_lossy(&host).into_owned();
            let text = String::from_utf8_lossy(&text);
            let record = host::record_from(&text).map_err(|e| self.corrupted(e))?;
            hosts.push((host, record));
        }
        Ok(hosts)
    }

    async fn set_host(&self, host: &str, record: Option<&StateRecord>) -> Result<(), BackendError> {
        let host = host.to_owned();
        let text = record.map(host::record_text);
        self.remote
            .ask(|reply| Request::SetHost(host, text, reply))
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

/// The backend's thread: answers reads and writes, and listens for changes.
struct Worker {
    client: redis::Client,
    key: String,
    change_key: String,
    hosts_key: String,
    channel: String,
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
        let mut connection = None;
        while let Some(request) = requests.recv().await {
            match request {
                Request::Get(reply) => {
                    let _ = reply.send(self.read(&mut connection).await);
                }
                Request::Set(text, change, reply) => {
                    let written = self.write(&mut connection, &text, change.as_deref());
                    let _ = reply.send(written.await);
                }
                Request::GetHosts(reply) => {
                    let _ = reply.send(self.read_hosts(&mut connection).await);
                }
                Request::SetHost(host, record, reply) => {
                    let written = self.write_host(&mut connection, &host, record.as_deref());
                    let _ = reply.send(written.await);
                }
            }
        }
    }

    /// The connection, opened when there is none. One that failed is dropped
    /// by [`forget_on_error`], so the next request connects afresh.
    async fn connection<'c>(
        &self,
        connection: &'c mut Option<MultiplexedConnection>,
    ) -> Result<&'c mut MultiplexedConnection, String> {
        if connection.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(OPERATION_TIMEOUT));
            let opened = within_timeout(
                self.client
                    .get_multiplexed_async_connection_with_config(&config),
            )
            .await?;
            *connection = Some(opened);
        }
        Ok(connection.as_mut().expect("just opened"))
    }

    async fn read(
        &self,
        connection: &mut Option<MultiplexedConnection>,
    ) -> Result<(Fetched, Option<Vec<u8>>), String> {
        let result = match self.connection(connection).await {
            Ok(open) => self.fetch(open).await,
            Err(error) => Err(error),
        };
        forget_on_error(connection, result)
    }

    /// The state and its change, measured first so that a huge value is
    /// never transferred (and checked again, should it have grown in between);
    /// a change that is too large is no change.
    async fn fetch(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<(Fetched, Option<Vec<u8>>), String> {
        let limit = MAX_STATE_TEXT_LEN as u64;
        // TYPE first: STRLEN or GET of a key of another type (a list left
        // there by hand) fails, and a bad record must never fail the state.
        let (len, change_type): (u64, String) = within_timeout(
            redis::pipe()
                .strlen(&self.key)
                .cmd("TYPE")
                .arg(&self.change_key)
                .query_async(connection),
        )
        .await?;
        if len > limit {
            return Ok((Fetched::TooLarge(len), None));
        }
        let change_len = match change_type.as_str() {
            "string" => within_timeout(
                redis::cmd("STRLEN")
                    .arg(&self.change_key)
                    .query_async(connection),
            )
            .await
            .unwrap_or(u64::MAX),
            // Fetched anyway (a missing key reads as nil): a write landing
            // after TYPE must not leave its state without its change.
            "none" => 0,
            _ => u64::MAX,
        };
        let mut fetch = redis::pipe();
        fetch.atomic().get(&self.key);
        if change_len <= limit {
            fetch.get(&self.change_key);
        }
        let (value, change): (Option<Vec<u8>>, Option<Vec<u8>>) = if change_len <= limit {
            within_timeout(fetch.query_async(connection)).await?
        } else {
            let (value,): (Option<Vec<u8>>,) =
                within_timeout(fetch.query_async(connection)).await?;
            (value, None)
        };
        let change = change.filter(|bytes| bytes.len() as u64 <= limit);
        Ok(match value {
            None => (Fetched::Missing, None),
            Some(bytes) if bytes.len() as u64 > limit => {
                (Fetched::TooLarge(bytes.len() as u64), None)
            }
            Some(bytes) => (Fetched::Value(bytes), change),
        })
    }

    /// Stores the state and announces it in one transaction, so no instance
    /// can read the key between the two.
    async fn write(
        &self,
        connection: &mut Option<MultiplexedConnection>,
        text: &str,
        change: Option<&str>,
    ) -> Result<(), String> {
        let mut transaction = redis::pipe();
        transaction.atomic().set(&self.key, text).ignore();
        match change {
            Some(change) => transaction.set(&self.change_key, change).ignore(),
            None => transaction.del(&self.change_key).ignore(),
        };
        transaction.publish(&self.channel, text).ignore();
        let result = match self.connection(connection).await {
            Ok(open) => within_timeout(transaction.query_async::<()>(open)).await,
            Err(error) => Err(error),
        };
        forget_on_error(connection, result)
    }

    /// The hosts' hash: counted first, so a hash holding more than
    /// [`MAX_HOSTS`](host::MAX_HOSTS) fields is refused unread; a field whose
    /// record is too long is left out.
    async fn read_hosts(
        &self,
        connection: &mut Option<MultiplexedConnection>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        let result = match self.connection(connection).await {
            Ok(open) => self.fetch_hosts(open).await,
            Err(error) => Err(error),
        };
        forget_on_error(connection, result)
    }

    async fn fetch_hosts(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        // TYPE first, as for the change: a key of another type is no hosts
        // (HLEN of it would fail the read).
        let kind: String = within_timeout(
            redis::cmd("TYPE")
                .arg(&self.hosts_key)
                .query_async(connection),
        )
        .await?;
        if kind != "hash" {
            return Ok(Vec::new());
        }
        let count: u64 = within_timeout(
            redis::cmd("HLEN")
                .arg(&self.hosts_key)
                .query_async(connection),
        )
        .await?;
        if count > host::MAX_HOSTS as u64 {
            return Err(format!(
                "{} holds {count} hosts, over the limit of {}",
                self.hosts_key,
                host::MAX_HOSTS
            ));
        }
        let fields: Vec<(Vec<u8>, Vec<u8>)> = within_timeout(
            redis::cmd("HGETALL")
                .arg(&self.hosts_key)
                .query_async(connection),
        )
        .await?;
        let limit = MAX_STATE_TEXT_LEN;
        Ok(fields
            .into_iter()
            .filter(|(host, text)| host.len() <= limit && text.len() <= limit)
            .collect())
    }

    /// Sets or removes one host's field and announces it in one transaction.
    async fn write_host(
        &self,
        connection: &mut Option<MultiplexedConnection>,
        host: &str,
        record: Option<&str>,
    ) -> Result<(), String> {
        let mut transaction = redis::pipe();
        transaction.atomic();
        match record {
            Some(record) => transaction.hset(&self.hosts_key, host, record).ignore(),
            None => transaction.hdel(&self.hosts_key, host).ignore(),
        };
        transaction.publish(&self.channel, host).ignore();
        let result = match self.connection(connection).await {
            Ok(open) => within_timeout(transaction.query_async::<()>(open)).await,
            Err(error) => Err(error),
        };
        forget_on_error(connection, result)
    }

    /// Subscribes to the change channel for good, re-subscribing whenever the
    /// connection drops. Every (re)subscription and message signals a change,
    /// so the refresher re-reads the key at once.
    async fn listen(&self) {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.subscribe().await {
                Ok(mut pubsub) => {
                    delay = Duration::from_millis(50);
                    self.changes.send_replace(());
                    let mut messages = pubsub.on_message();
                    while messages.next().await.is_some() {
                        self.changes.send_replace(());
                    }
                    tracing::debug!("redis subscription lost");
                    // The read that follows fails and reports the loss, once.
                    self.changes.send_replace(());
                }
                Err(error) => tracing::debug!(%error, "cannot subscribe to redis"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
        }
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, String> {
        let mut pubsub = within_timeout(self.client.get_async_pubsub()).await?;
        within_timeout(pubsub.subscribe(&self.channel)).await?;
        Ok(pubsub)
    }
}

/// The client for `url`: with `ca_pem`, one that trusts only those CAs.
/// The same client opens the command connection and the subscription, so
/// both go over TLS with the same trust.
fn client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, String> {
    if is_tls(url) {
        ensure_crypto_provider();
    }
    let Some(pem) = ca_pem else {
        return redis::Client::open(url).map_err(|error| format!("invalid redis_url: {error}"));
    };
    if !is_tls(url) {
        return Err("redis_ca_file needs a rediss:// redis_url".to_owned());
    }
    check_ca_certificates(pem).map_err(|reason| format!("redis_ca_file: {reason}"))?;
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    };
    redis::Client::build_with_tls(url, certificates)
        .map_err(|error| format!("invalid redis_url or redis_ca_file: {error}"))
}

/// Whether `url` asks for TLS.
pub(crate) fn is_tls(url: &str) -> bool {
    url.trim_start()
        .get(..9)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("rediss://"))
}

/// An error when a certificate of `pem` does not parse or there is none (a
/// key file, an empty file): an empty trust store would refuse every server,
/// so it is refused at start instead.
pub(crate) fn check_ca_certificates(pem: &[u8]) -> Result<(), String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|error| format!("not a PEM certificate: {error}"))?;
        count += 1;
    }
    if count == 0 {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(())
}

/// rustls picks its crypto provider from its crate features. When another
/// crate of the application enables a second one (aws-lc-rs), it picks none
/// and every TLS connection would panic; then ring, the one maint enables,
/// becomes the default. An application that installed its own keeps it.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err: another thread installed one in between, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Drops the connection after a failure: the next request opens a new one.
fn forget_on_error<T>(
    connection: &mut Option<MultiplexedConnection>,
    result: Result<T, String>,
) -> Result<T, String> {
    if result.is_err() {
        *connection = None;
    }
    result
}

async fn within_timeout<T>(
    operation: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        // A command already sent may still be carried out when the server wakes up.
        Err(_) => Err(format!(
            "no answer within {OPERATION_TIMEOUT:?} (a write may still take effect)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redacted("redis://user:secret@127.0.0.1:6379/0"),
            "redis://user:***@127.0.0.1:6379/0"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    /// Issue 9: a URL that does not parse (the port is out of range) kept its password.
    #[test]
    fn passwords_are_hidden_textually_even_in_urls_that_do_not_parse() {
        for (url, shown) in [
            (
                "redis://user:secret@127.0.0.1:99999",
                "redis://user:***@127.0.0.1:99999",
            ),
            ("redis://:secret@[::1", "redis://:***@[::1"),
            ("rediss://secret@host:6379/0", "rediss://***@host:6379/0"),
            ("redis://u:se/cr@et@host/0", "redis://u:***@host/0"),
            ("user:secret@host:6379", "user:***@host:6379"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=secret",
                "redis+unix:///run/redis.sock?db=1&pass=***",
            ),
            (
                "redis+unix:///run/redis.sock?PASSWORD=secret&db=1",
                "redis+unix:///run/redis.sock?PASSWORD=***&db=1",
            ),
            (
                "redis://host:6379/0?protocol=resp3",
                "redis://host:6379/0?protocol=resp3",
            ),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
            let secrets = Secrets::of(url);
            assert!(
                !secrets.hide(format!("it was {url}!")).contains("secret"),
                "{url}"
            );
        }
        let error = RedisBackend::new("redis://user:secret@127.0.0.1:99999", "maint").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(
            error.to_string().contains("user:***@127.0.0.1:99999"),
            "{error}"
        );
    }

    #[test]
    fn tls_is_the_rediss_scheme_in_any_case() {
        assert!(is_tls("rediss://host:6380"));
        assert!(is_tls(" REDISS://:pw@host"));
        assert!(!is_tls("redis://host:6379"));
        assert!(!is_tls("redis+unix:///run/redis.sock"));
        assert!(!is_tls("rediss"));
    }

    #[test]
    fn invalid_url_is_an_error_naming_it() {
        let error = RedisBackend::new("http://nope", "maint").unwrap_err();
        assert!(error.to_string().contains("redis_url"), "{error}");
    }

    #[test]
    fn unreachable_server_is_an_error_not_a_hang() {
        // Port 1 on loopback refuses connections at once.
        let backend = RedisBackend::new("redis://127.0.0.1:1", "maint:test").unwrap();
        let started = std::time::Instant::now();
        let error = pollster::block_on(backend.get()).unwrap_err();
        assert!(matches!(error, BackendError::Unavailable { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let error = pollster::block_on(backend.set(&MaintenanceState::On)).unwrap_err();
        assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    }
}
