//! The soak run (`bench/run --only soak`): not a figure and not in CI, but a
//! long run of hostile traffic against the release `example-site` on Redis,
//! while maintenance is toggled and Redis is killed and restarted.
//!
//! - a `redis-server` of its own on a free loopback port (append-only file
//!   synced on every write, so the state survives `SIGKILL`), killed with
//!   `SIGKILL` and restarted on the same port every ~30 s (25–35 s, down 1–3 s);
//! - the release `example-site` with `state_backend = "redis"` on it,
//!   `response_type = "auto"`, `trusted_proxies = ["127.0.0.1"]`,
//!   `ignore_ip_addresses = ["^10\.1\."]` and `ignore_staff = true`, so that
//!   forwarded addresses, `Accept` and session cookies all change the answer;
//!   its log at `warn`, without actix's line per malformed request or bad
//!   session cookie ([`SITE_LOG_FILTER`]);
//! - its `maintenance_mode on|off` command, alternating every 3 s;
//! - 20 clients on raw TCP (keep-alive, sometimes `Connection: close`), each
//!   request with a random method (standard, random tokens, long ones,
//!   invalid ones), path (known routes, long, percent-encoded, `..`, raw
//!   UTF-8, odd forms), cookies (none, the staff / admin session, truncated or
//!   corrupted sessions, garbage), `Accept`, `X-Forwarded-For` and `Forwarded`.
//!
//! It counts every answer by class, a `503` carrying `Retry-After` being the
//! maintenance response (the library adds it to every maintenance page,
//! `retry_after` being 3600 by default) and any other `5xx` an error; a
//! request with no complete answer within 10 s is hung. The example-site's
//! RSS (`VmRSS` of `/proc/PID/status`) is read after the warm-up (30 s, or
//! half a shorter run) and at the end. The run fails on any `5xx` other than
//! the maintenance page, any hung request, the site exiting, or a panic in
//! its log.

use std::{
    fs,
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use crate::{
    harness::{
        example_site,
        http_client::cookie_pair,
        process::{Proc, free_port},
        redis_server::{self, Persistence},
    },
    stats::nearest_rank,
};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How many example requests are kept per kind of failure.
const EXAMPLES: usize = 8;
/// The site's log filter: warnings, without actix's one line per malformed
/// request or bad session cookie (hundreds of thousands a minute here, most
/// of the log's size); panics are printed whatever the filter.
const SITE_LOG_FILTER: &str = "warn,actix_http::h1::dispatcher=off,actix_session::middleware=error";
/// The key prefix of the site's state in its Redis.
const KEY_PREFIX: &str = "maint:soak";

/// What to run; [`Options::new`] gives the defaults of the issue.
#[derive(Debug, Clone)]
pub struct Options {
    /// The release `example-site` binary.
    pub site: PathBuf,
    /// The `redis-server` executable.
    pub redis_server: String,
    /// Scratch directory (config, Redis data, logs).
    pub workdir: PathBuf,
    /// How long the load runs, warm-up included.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: usize,
    /// Time between two `maintenance_mode` commands.
    pub toggle_every: Duration,
    /// Mean time between two Redis kills (±5 s).
    pub redis_kill_every: Duration,
    /// A request with no complete answer within this is hung.
    pub hang_timeout: Duration,
    /// Seed of the request generators.
    pub seed: u64,
}

impl Options {
    /// 20 clients, a toggle every 3 s, Redis killed every ~30 s, 10 s to answer.
    pub fn new(site: PathBuf, redis_server: &str, workdir: PathBuf, seconds: u64) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64);
        Self {
            site,
            redis_server: redis_server.to_owned(),
            workdir,
            duration: Duration::from_secs(seconds),
            clients: 20,
            toggle_every: Duration::from_secs(3),
            redis_kill_every: Duration::from_secs(30),
            hang_timeout: Duration::from_secs(10),
            seed,
        }
    }

    /// When the first RSS is read: 30 s in, or half-way through a shorter run.
    pub fn warmup(&self) -> Duration {
        Duration::from_secs(30).min(self.duration / 2)
    }
}

/// What a soak run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The seed of the request generators.
    pub seed: u64,
    /// How long the load ran.
    pub elapsed: Duration,
    /// Counts and examples of the clients, merged.
    pub counts: Counts,
    /// `maintenance_mode` commands that succeeded / failed (failures are
    /// expected while Redis is down).
    pub toggles_ok: u64,
    /// See `toggles_ok`.
    pub toggles_failed: u64,
    /// The first few command failures.
    pub toggle_errors: Vec<String>,
    /// Redis kills, and restarts that answered `PING`.
    pub redis_kills: u64,
    /// See `redis_kills`.
    pub redis_restarts: u64,
    /// Problems restarting Redis.
    pub redis_errors: Vec<String>,
    /// The site's RSS in KiB after the warm-up, at the end, and the highest seen.
    pub rss_start_kib: Option<u64>,
    /// See `rss_start_kib`.
    pub rss_end_kib: Option<u64>,
    /// See `rss_start_kib`.
    pub rss_peak_kib: Option<u64>,
    /// `None` while the site runs to the end; else how it ended.
    pub site_exit: Option<String>,
    /// Lines of the site's log with `panicked`, and the first few of them.
    pub panics: usize,
    /// See `panics`.
    pub panic_lines: Vec<String>,
    /// `ERROR` / `WARN` lines in the site's log (Redis outages log some).
    pub error_lines: usize,
    /// See `error_lines`.
    pub warn_lines: usize,
    /// The most frequent `ERROR` / `WARN` messages (digits blanked), with counts.
    pub top_log_messages: Vec<(usize, String)>,
    /// The site's log file.
    pub site_log: PathBuf,
}

/// Counts of the clients.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests sent (each answered, hung, dropped or not connected).
    pub requests: u64,
    /// Answers by class: index 1 to 5 for 1xx to 5xx (5xx without the maintenance 503).
    pub by_class: [u64; 6],
    /// Answers by status (the maintenance 503 included).
    pub statuses: std::collections::BTreeMap<u16, u64>,
    /// `503` with `Retry-After`: the maintenance response.
    pub maintenance: u64,
    /// `5xx` other than the maintenance response.
    pub server_errors: u64,
    /// No complete answer within the hang timeout.
    pub hung: u64,
    /// A fresh connection closed (or reset) without an answer, or mid-answer.
    pub dropped: u64,
    /// Connections refused or timed out.
    pub connect_failed: u64,
    /// Answer times in microseconds (for the percentiles).
    pub latencies_us: Vec<u32>,
    /// Requests that got a `5xx` other than the maintenance page, and the answer.
    pub server_error_examples: Vec<String>,
    /// Requests that hung.
    pub hung_examples: Vec<String>,
    /// Requests whose connection was dropped without an answer.
    pub dropped_examples: Vec<String>,
}

impl Counts {
    fn merge(&mut self, other: Counts) {
        self.requests += other.requests;
        for (a, b) in self.by_class.iter_mut().zip(other.by_class) {
            *a += b;
        }
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.maintenance += other.maintenance;
        self.server_errors += other.server_errors;
        self.hung += other.hung;
        self.dropped += other.dropped;
        self.connect_failed += other.connect_failed;
        self.latencies_us.extend(other.latencies_us);
        for (mine, theirs) in [
            (&mut self.server_error_examples, other.server_error_examples),
            (&mut self.hung_examples, other.hung_examples),
            (&mut self.dropped_examples, other.dropped_examples),
        ] {
            mine.extend(theirs);
            mine.truncate(EXAMPLES);
        }
    }

    fn percentile_ms(&self, sorted: &[u32], q: f64) -> f64 {
        nearest_rank(sorted, q).map_or(f64::NAN, |us| f64::from(us) / 1000.0)
    }
}

fn keep(examples: &mut Vec<String>, example: String) {
    if examples.len() < EXAMPLES {
        examples.push(example);
    }
}

impl Outcome {
    /// Whether the run passed: no `5xx` but the maintenance page, nothing
    /// hung, the site alive to the end, no panic in its log.
    pub fn passed(&self) -> bool {
        self.counts.server_errors == 0
            && self.counts.hung == 0
            && self.site_exit.is_none()
            && self.panics == 0
    }

    /// The report: a markdown table, then the examples of failures.
    pub fn report_lines(&self, options: &Options) -> Vec<String> {
        let c = &self.counts;
        let secs = self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let mut sorted = c.latencies_us.clone();
        sorted.sort_unstable();
        let mib = |kib: Option<u64>| {
            kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        let ratio = match (self.rss_start_kib, self.rss_end_kib) {
            (Some(start), Some(end)) if start > 0 => format!("{:.2}", end as f64 / start as f64),
            _ => "?".to_owned(),
        };
        let verdict = |ok: bool| if ok { "ok" } else { "**FAIL**" };
        let mut lines = vec![
            "| what | value | |".to_owned(),
            "|---|---|---|".to_owned(),
            format!(
                "| duration | {:.0} s ({} clients, RSS warm-up {} s, seed {}) | |",
                secs,
                options.clients,
                options.warmup().as_secs(),
                self.seed
            ),
            format!(
                "| requests | **{}** ({:.0}/s) | |",
                c.requests,
                c.requests as f64 / secs
            ),
            format!(
                "| answers | 2xx {}, 3xx {}, 4xx {}, maintenance 503 {}, 1xx {} | |",
                c.by_class[2], c.by_class[3], c.by_class[4], c.maintenance, c.by_class[1]
            ),
            format!(
                "| by status | {} | |",
                c.statuses
                    .iter()
                    .map(|(status, n)| format!("{status}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "| answer time | p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms | |",
                c.percentile_ms(&sorted, 0.5),
                c.percentile_ms(&sorted, 0.99),
                c.percentile_ms(&sorted, 1.0)
            ),
            format!(
                "| 5xx other than the maintenance 503 | **{}** | {} |",
                c.server_errors,
                verdict(c.server_errors == 0)
            ),
            format!(
                "| hung (no answer within {} s) | **{}** | {} |",
                options.hang_timeout.as_secs(),
                c.hung,
                verdict(c.hung == 0)
            ),
            format!(
                "| connections closed without an answer | {} (connect failures {}) | |",
                c.dropped, c.connect_failed
            ),
            format!(
                "| `maintenance_mode on/off` every {} s | {} ok, {} failed (Redis down) | |",
                options.toggle_every.as_secs(),
                self.toggles_ok,
                self.toggles_failed
            ),
            format!(
                "| Redis `SIGKILL` + restart every ~{} s | {} kills, {} restarts | |",
                options.redis_kill_every.as_secs(),
                self.redis_kills,
                self.redis_restarts
            ),
            format!(
                "| site | {} | {} |",
                self.site_exit.as_deref().unwrap_or("alive to the end"),
                verdict(self.site_exit.is_none())
            ),
            format!(
                "| site log | {} panics, {} ERROR, {} WARN lines | {} |",
                self.panics,
                self.error_lines,
                self.warn_lines,
                verdict(self.panics == 0)
            ),
            format!(
                "| RSS after warm-up → end (peak) | {} → {} ({}) | |",
                mib(self.rss_start_kib),
                mib(self.rss_end_kib),
                mib(self.rss_peak_kib)
            ),
            format!("| RSS end / start | **{ratio}** | |"),
        ];
        let mut examples = |title: &str, list: &[String]| {
            if !list.is_empty() {
                lines.push(String::new());
                lines.push(format!("{title}:"));
                lines.push(String::new());
                for example in list {
                    lines.push(format!("- `{}`", example.replace('`', "'")));
                }
            }
        };
        examples(
            "Requests answered with a 5xx other than the maintenance page",
            &c.server_error_examples,
        );
        examples("Requests that hung", &c.hung_examples);
        examples(
            "Requests whose connection closed without an answer",
            &c.dropped_examples,
        );
        examples("Site log lines with `panicked`", &self.panic_lines);
        let top: Vec<String> = self
            .top_log_messages
            .iter()
            .map(|(n, message)| format!("{n} × {message}"))
            .collect();
        examples("Most frequent ERROR / WARN messages of the site", &top);
        examples("`maintenance_mode` command failures", &self.toggle_errors);
        examples("Redis restart problems", &self.redis_errors);
        lines
    }
}

/// Runs the soak; `Err` when it cannot be set up (Redis or the site do not start).
pub fn run(options: &Options) -> Result<Outcome, String> {
    let dir = options.workdir.join("soak");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let redis_port = free_port()?;
    let redis = start_redis(&options.redis_server, redis_port, &dir)?;
    let config = dir.join("example-site.toml");
    fs::write(&config, site_config(redis_port)).map_err(|e| e.to_string())?;
    let site_log = dir.join("site.log");
    let mut site = example_site::start(&options.site, &config, &site_log, SITE_LOG_FILTER)?;
    let addr = site.addr;
    let site_pid = site.proc.pid();
    example_site::set_maintenance(&options.site, &config, false)
        .map_err(|e| format!("maintenance_mode off: {e}"))?;
    let sessions = Arc::new(log_in(addr, options.hang_timeout));
    eprintln!(
        "bench-driver: soak on {addr} for {} s: {} clients, redis on port {redis_port}, seed {}, {} session cookie(s)",
        options.duration.as_secs(),
        options.clients,
        options.seed,
        sessions.len()
    );

    let started = Instant::now();
    let deadline = started + options.duration;
    let stop = Arc::new(AtomicBool::new(false));

    let clients: Vec<_> = (0..options.clients)
        .map(|i| {
            let sessions = Arc::clone(&sessions);
            let stop = Arc::clone(&stop);
            let seed = options
                .seed
                .wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let hang = options.hang_timeout;
            thread::Builder::new()
                .name(format!("soak-client-{i}"))
                .spawn(move || client(addr, deadline, &stop, &sessions, hang, seed))
                .map_err(|e| format!("cannot start a client thread: {e}"))
        })
        .collect::<Result<_, _>>()?;

    let toggler = {
        let (site, config, stop) = (options.site.clone(), config.clone(), Arc::clone(&stop));
        let every = options.toggle_every;
        thread::spawn(move || toggle(&site, &config, every, deadline, &stop))
    };
    let killer = {
        let stop = Arc::clone(&stop);
        let (every, seed) = (options.redis_kill_every, options.seed);
        let (server, dir) = (options.redis_server.clone(), dir.clone());
        thread::spawn(move || {
            kill_redis_repeatedly(
                redis, &server, redis_port, &dir, every, deadline, &stop, seed,
            )
        })
    };

    // Watch the site: its RSS after the warm-up, the peak, the end; its exit.
    let mut outcome = Outcome {
        seed: options.seed,
        site_log: site_log.clone(),
        ..Outcome::default()
    };
    let warmed_up = started + options.warmup();
    while Instant::now() < deadline {
        thread::sleep(
            Duration::from_millis(250).min(deadline.saturating_duration_since(Instant::now())),
        );
        if let Some(status) = site.proc.exit_status() {
            outcome.site_exit = Some(format!("exited during the run: {status}"));
            stop.store(true, Ordering::Relaxed);
            break;
        }
        let rss = rss_kib(site_pid);
        if let Some(kib) = rss {
            outcome.rss_peak_kib = Some(outcome.rss_peak_kib.unwrap_or(0).max(kib));
        }
        if outcome.rss_start_kib.is_none() && Instant::now() >= warmed_up {
            outcome.rss_start_kib = rss;
        }
    }
    outcome.rss_end_kib = rss_kib(site_pid);
    outcome.elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);

    for handle in clients {
        match handle.join() {
            Ok(counts) => outcome.counts.merge(counts),
            Err(_) => return Err("a soak client panicked".to_owned()),
        }
    }
    let toggles = toggler.join().map_err(|_| "the toggler panicked")?;
    (
        outcome.toggles_ok,
        outcome.toggles_failed,
        outcome.toggle_errors,
    ) = toggles;
    let kills = killer.join().map_err(|_| "the Redis killer panicked")?;
    (
        outcome.redis_kills,
        outcome.redis_restarts,
        outcome.redis_errors,
    ) = kills;

    if outcome.site_exit.is_none()
        && let Some(status) = site.proc.exit_status()
    {
        outcome.site_exit = Some(format!("exited at the end: {status}"));
    }
    drop(site);
    let log = fs::read(&site_log).unwrap_or_default();
    let mut kinds: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&log).lines() {
        if line.contains("panicked") {
            outcome.panics += 1;
            keep(&mut outcome.panic_lines, shorten(line, 300));
        }
        let level = if line.contains(" ERROR ") {
            outcome.error_lines += 1;
            " ERROR "
        } else if line.contains(" WARN ") {
            outcome.warn_lines += 1;
            " WARN "
        } else {
            continue;
        };
        let message = line.split_once(level).map_or(line, |(_, rest)| rest);
        let kind: String = message
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        *kinds
            .entry(format!(
                "{}{}",
                level.trim(),
                shorten(&format!(" {kind}"), 160)
            ))
            .or_default() += 1;
    }
    let mut kinds: Vec<(usize, String)> = kinds.into_iter().map(|(k, n)| (n, k)).collect();
    kinds.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    kinds.truncate(6);
    outcome.top_log_messages = kinds;
    Ok(outcome)
}

fn site_config(redis_port: u16) -> String {
    format!(
        r#"[maintenance]
state_backend = "redis"
redis_url = "redis://127.0.0.1:{redis_port}"
redis_key_prefix = "{KEY_PREFIX}"
response_type = "auto"
trusted_proxies = ["127.0.0.1"]
ignore_ip_addresses = ["^10\\.1\\."]
ignore_staff = true

[site]
session_secret = "maint-soak-session-secret-not-a-secret-0123456789"
"#
    )
}

// ---------------------------------------------------------------------------
// Redis and the toggler

/// A `redis-server` on `port` keeping its data in `dir` (append-only file,
/// synced on every write, so the state survives `SIGKILL`).
fn start_redis(server: &str, port: u16, dir: &Path) -> Result<Proc, String> {
    redis_server::start(server, port, dir, Persistence::AppendOnlyFsyncAlways)
}

/// The toggler: `on`, `off`, ... every `every` until `deadline`.
fn toggle(
    site: &Path,
    config: &Path,
    every: Duration,
    deadline: Instant,
    stop: &AtomicBool,
) -> (u64, u64, Vec<String>) {
    let (mut ok, mut failed, mut errors) = (0, 0, Vec::new());
    let mut on = true;
    while sleep_until(Instant::now() + every, deadline, stop) {
        match example_site::set_maintenance(site, config, on) {
            Ok(_) => ok += 1,
            Err(error) => {
                failed += 1;
                keep(
                    &mut errors,
                    format!(
                        "maintenance_mode {}: {}",
                        if on { "on" } else { "off" },
                        shorten(&error, 300)
                    ),
                );
            }
        }
        on = !on;
    }
    (ok, failed, errors)
}

/// Kills Redis with `SIGKILL` every `every` ± 5 s and restarts it on the
/// same port after 1–3 s; stops it at the end.
#[allow(clippy::too_many_arguments)]
fn kill_redis_repeatedly(
    mut redis: Proc,
    server: &str,
    port: u16,
    dir: &Path,
    every: Duration,
    deadline: Instant,
    stop: &AtomicBool,
    seed: u64,
) -> (u64, u64, Vec<String>) {
    let mut rng = Rng::new(seed ^ 0x0bad_5eed);
    let (mut kills, mut restarts, mut errors) = (0, 0, Vec::new());
    loop {
        let jitter = Duration::from_millis(rng.below(10_001) as u64);
        let next = Instant::now() + every.saturating_sub(Duration::from_secs(5)) + jitter;
        if !sleep_until(next, deadline, stop) {
            break;
        }
        redis.kill(); // SIGKILL
        kills += 1;
        let down = Duration::from_millis(1000 + rng.below(2001) as u64);
        if !sleep_until(Instant::now() + down, deadline, stop) {
            break;
        }
        // The port may linger for a moment; try for a while.
        let mut restarted = None;
        let until = Instant::now() + Duration::from_secs(20);
        while restarted.is_none() && Instant::now() < until {
            match start_redis(server, port, dir) {
                Ok(proc) => restarted = Some(proc),
                Err(error) => {
                    keep(&mut errors, error);
                    thread::sleep(Duration::from_millis(500));
                }
            }
        }
        match restarted {
            Some(proc) => {
                redis = proc;
                restarts += 1;
            }
            None => {
                keep(
                    &mut errors,
                    format!("redis-server could not be restarted on port {port}"),
                );
                break;
            }
        }
    }
    drop(redis);
    (kills, restarts, errors)
}

/// Sleeps until `until` (or `deadline`, or a stop); `false` when the run is over.
fn sleep_until(until: Instant, deadline: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

/// `VmRSS` of `/proc/PID/status`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

// ---------------------------------------------------------------------------
// HTTP over raw TCP

/// A request as bytes, and what the report shows of it.
struct Request {
    bytes: Vec<u8>,
    head_only: bool,
    close: bool,
}

impl Request {
    /// The request line and headers, escaped and shortened, for the report.
    fn describe(&self) -> String {
        let head_end = find(&self.bytes, b"\r\n\r\n").unwrap_or(self.bytes.len());
        let head = &self.bytes[..head_end];
        let text = head
            .split(|&b| b == b'\n')
            .map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                shorten(&line.escape_ascii().to_string(), 160)
            })
            .collect::<Vec<_>>()
            .join(" | ");
        shorten(&text, 700)
    }
}

/// An answer's status line and headers, and the start of its body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    close: bool,
    body_start: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Exchange {
    Answer(Answer),
    /// No complete answer in time.
    Hung(String),
    /// The connection closed or failed; `bool`: before any byte of an answer.
    Closed(String, bool),
    ConnectFailed,
}

/// Sends `request` on the kept-alive connection (or a new one) and reads the
/// answer; a kept-alive connection found closed before any answer is retried
/// once on a new connection, as every HTTP client does.
fn exchange(
    conn: &mut Option<TcpStream>,
    addr: SocketAddr,
    request: &Request,
    hang: Duration,
) -> Exchange {
    let reused = conn.is_some();
    match attempt(conn, addr, request, hang) {
        Exchange::Closed(_, true) if reused => {
            *conn = None;
            attempt(conn, addr, request, hang)
        }
        other => other,
    }
}

fn attempt(
    conn: &mut Option<TcpStream>,
    addr: SocketAddr,
    request: &Request,
    hang: Duration,
) -> Exchange {
    if conn.is_none() {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_write_timeout(Some(hang));
                *conn = Some(stream);
            }
            Err(_) => return Exchange::ConnectFailed,
        }
    }
    let stream = conn.as_mut().expect("connected");
    let deadline = Instant::now() + hang;
    let result = match stream.write_all(&request.bytes) {
        Ok(()) => read_answer(stream, request.head_only, deadline),
        Err(error) if is_timeout(&error) => Exchange::Hung(format!("write: {error}")),
        Err(error) => Exchange::Closed(format!("write: {error}"), true),
    };
    match &result {
        Exchange::Answer(answer) if !answer.close && !request.close => {}
        _ => *conn = None,
    }
    result
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads bytes into a buffer, each read bounded by the answer's deadline.
struct Reader<'a> {
    stream: &'a mut TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

enum ReadError {
    Timeout,
    Eof,
    Io(String),
}

impl Reader<'_> {
    /// Reads more; `Ok(n)` with `n > 0`.
    fn fill(&mut self) -> Result<usize, ReadError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(error) if is_timeout(&error) => Err(ReadError::Timeout),
            Err(error) if error.kind() == ErrorKind::Interrupted => Ok(0),
            Err(error) => Err(ReadError::Io(error.to_string())),
        }
    }

    /// Makes the buffer hold at least `n` bytes.
    fn want(&mut self, n: usize) -> Result<(), ReadError> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(())
    }

    /// The index just after the next `\r\n` at or after `from`.
    fn line_end(&mut self, from: usize) -> Result<usize, ReadError> {
        loop {
            if let Some(at) = find(&self.buf[from..], b"\r\n") {
                return Ok(from + at + 2);
            }
            self.fill()?;
        }
    }
}

fn read_answer(stream: &mut TcpStream, head_only: bool, deadline: Instant) -> Exchange {
    let mut reader = Reader {
        stream,
        buf: Vec::new(),
        deadline,
    };
    let fail = |reader: &Reader<'_>, error: ReadError, what: &str| {
        let before_any = reader.buf.is_empty();
        match error {
            ReadError::Timeout => Exchange::Hung(format!(
                "{what}: no complete answer in time ({} bytes read)",
                reader.buf.len()
            )),
            ReadError::Eof => Exchange::Closed(
                format!("{what}: connection closed after {} bytes", reader.buf.len()),
                before_any,
            ),
            ReadError::Io(e) => Exchange::Closed(
                format!("{what}: {e} after {} bytes", reader.buf.len()),
                before_any,
            ),
        }
    };
    // Interim 1xx answers are skipped; the final one is read whole.
    let mut start = 0;
    loop {
        let head_end = loop {
            if let Some(at) = find(&reader.buf[start..], b"\r\n\r\n") {
                break start + at + 4;
            }
            if let Err(error) = reader.fill() {
                return fail(&reader, error, "head");
            }
        };
        let head = String::from_utf8_lossy(&reader.buf[start..head_end - 4]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let Some(status) = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
        else {
            return Exchange::Closed(format!("bad status line {status_line:?}"), false);
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        if (100..200).contains(&status) && status != 101 {
            start = head_end;
            continue;
        }
        let mut answer = Answer {
            status,
            close: status_line.starts_with("HTTP/1.0"),
            headers,
            body_start: String::new(),
        };
        if let Some(connection) = answer.header("connection") {
            if connection.eq_ignore_ascii_case("close") {
                answer.close = true;
            } else if connection.eq_ignore_ascii_case("keep-alive") {
                answer.close = false;
            }
        }
        let chunked = answer
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = answer
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        let body_start = head_end;
        let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
        let body_end = if no_body {
            body_start
        } else if chunked {
            let mut at = body_start;
            loop {
                let line_end = match reader.line_end(at) {
                    Ok(end) => end,
                    Err(error) => return fail(&reader, error, "chunk size"),
                };
                let size_text = String::from_utf8_lossy(&reader.buf[at..line_end - 2]).into_owned();
                let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
                let Ok(size) = usize::from_str_radix(&size_text, 16) else {
                    return Exchange::Closed(format!("bad chunk size {size_text:?}"), false);
                };
                if size == 0 {
                    // Trailers, then the empty line.
                    let mut t = line_end;
                    loop {
                        let end = match reader.line_end(t) {
                            Ok(end) => end,
                            Err(error) => return fail(&reader, error, "trailers"),
                        };
                        if end - t == 2 {
                            break;
                        }
                        t = end;
                    }
                    break line_end;
                }
                if let Err(error) = reader.want(line_end + size + 2) {
                    return fail(&reader, error, "chunk");
                }
                at = line_end + size + 2;
            }
        } else if let Some(length) = length {
            if let Err(error) = reader.want(body_start + length) {
                return fail(&reader, error, "body");
            }
            body_start + length
        } else {
            // Until the connection closes.
            answer.close = true;
            loop {
                match reader.fill() {
                    Ok(_) => {}
                    Err(ReadError::Eof) => break reader.buf.len(),
                    Err(error) => return fail(&reader, error, "body to close"),
                }
            }
        };
        let shown = body_end.min(body_start + 200).min(reader.buf.len());
        answer.body_start = String::from_utf8_lossy(&reader.buf[body_start..shown]).into_owned();
        return Exchange::Answer(answer);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// The clients

/// Logs the demo staff and admin users in; their `Cookie` values (`id=...`).
fn log_in(addr: SocketAddr, hang: Duration) -> Vec<String> {
    let mut cookies = Vec::new();
    for user in ["staff", "admin"] {
        let body = format!("username={user}&password={user}");
        let request = Request {
            bytes: format!(
                "POST /login/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
            head_only: false,
            close: true,
        };
        match exchange(&mut None, addr, &request, hang) {
            Exchange::Answer(answer) => {
                let cookie = answer
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
                    .map(|(_, v)| cookie_pair(v).to_owned());
                match cookie {
                    Some(cookie) => cookies.push(cookie),
                    None => eprintln!(
                        "bench-driver: soak: logging in as {user} gave {} without a cookie",
                        answer.status
                    ),
                }
            }
            _ => eprintln!("bench-driver: soak: logging in as {user} failed"),
        }
    }
    cookies
}

fn client(
    addr: SocketAddr,
    deadline: Instant,
    stop: &AtomicBool,
    sessions: &[String],
    hang: Duration,
    seed: u64,
) -> Counts {
    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    let mut conn = None;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        let request = random_request(&mut rng, addr, sessions);
        counts.requests += 1;
        let sent = Instant::now();
        match exchange(&mut conn, addr, &request, hang) {
            Exchange::Answer(answer) => {
                counts
                    .latencies_us
                    .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                let class = usize::from(answer.status / 100).min(5);
                *counts.statuses.entry(answer.status).or_default() += 1;
                if answer.status == 503 && answer.header("retry-after").is_some() {
                    counts.maintenance += 1;
                } else if class == 5 {
                    counts.server_errors += 1;
                    counts.by_class[5] += 1;
                    keep(
                        &mut counts.server_error_examples,
                        format!(
                            "{} → {} {:?}",
                            request.describe(),
                            answer.status,
                            shorten(&answer.body_start, 120)
                        ),
                    );
                } else {
                    counts.by_class[class] += 1;
                }
            }
            Exchange::Hung(why) => {
                counts.hung += 1;
                keep(
                    &mut counts.hung_examples,
                    format!("{} → {why}", request.describe()),
                );
            }
            Exchange::Closed(why, _) => {
                counts.dropped += 1;
                keep(
                    &mut counts.dropped_examples,
                    format!("{} → {why}", request.describe()),
                );
            }
            Exchange::ConnectFailed => {
                counts.connect_failed += 1;
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    counts
}

/// A small, fast generator (SplitMix64); each client has its own.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_bytes<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }

    /// `len` bytes from `alphabet`.
    fn text(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }

    /// Bytes a header value may carry: visible ASCII, space, tab and obs-text.
    fn header_bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.below(10) {
                0 => 0x80 + self.below(0x80) as u8,
                1 => b'\t',
                _ => 0x20 + self.below(0x5f) as u8,
            })
            .collect()
    }
}

const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UNRESERVED: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
const STANDARD_METHODS: &[&str] = &[
    "GET", "GET", "GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
    "TRACE", "CONNECT",
];
const KNOWN_PATHS: &[&str] = &[
    "/",
    "/about/",
    "/legacy/",
    "/api/status",
    "/login/",
    "/logout/",
    "/whoami",
    "/admin/",
    "/maintenance-mode/on/",
    "/maintenance-mode/off/",
    "/missing",
    "/static/app.css",
    "/about",
    "/admin/users/1/",
    "/legacy/__maint__/GET",
];
const UNICODE: &[&str] = &[
    "café",
    "日本語",
    "🦀",
    "\u{202e}gnp.exe",
    "Ω≈ç√",
    "\u{0}",
    "ﬁ",
    "İ",
    "a\u{301}",
    "𝔘𝔫𝔦",
];
const ACCEPTS: &[&str] = &[
    "text/html",
    "application/json",
    "application/json;q=0",
    "application/json;q=0, text/plain",
    "*/*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/problem+json",
    "application/json, text/html;q=0.5",
    "text/html;q=abc",
    ",,,",
    "",
    "*/*;q=0",
    "application/*",
];

fn random_method(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0..=12 => rng.pick(STANDARD_METHODS).as_bytes().to_vec(),
        13..=16 => {
            let len = rng.range(1, 17);
            rng.text(TCHARS, len)
        }
        17 => {
            let len = rng.range(100, 4000);
            rng.text(TCHARS, len)
        }
        18 => rng
            .pick(&["get", "Get", "post", "gEt", "HEAD ", "M-SEARCH", "PROPFIND"])
            .as_bytes()
            .to_vec(),
        _ => rng
            .pick_bytes(&[
                b"GE(T",
                b"G\xc3\xa9T",
                b"",
                b"GET\x00",
                b"\"GET\"",
                b"{}",
                b"G@T",
            ])
            .to_vec(),
    }
}

fn percent_encoded(rng: &mut Rng, bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..bytes {
        match rng.below(12) {
            0 => out.extend_from_slice(b"%zz"),
            1 => out.push(b'%'),
            2 => out.extend_from_slice(b"%4"),
            3 => out.extend_from_slice(
                rng.pick_bytes(&[b"%2F", b"%2e%2e", b"%00", b"%25", b"%C3%A9", b"%FF%FE"]),
            ),
            _ => {
                let byte = rng.below(256) as u8;
                let _ = write!(out, "%{byte:02X}");
            }
        }
        if rng.chance(20) {
            out.push(b'/');
        }
    }
    out
}

fn random_target(rng: &mut Rng) -> Vec<u8> {
    let mut target: Vec<u8> = match rng.below(10) {
        0..=3 => rng.pick(KNOWN_PATHS).as_bytes().to_vec(),
        4 => {
            // Long: usually under the server's head limit, sometimes over.
            let len = if rng.chance(5) {
                rng.range(33_000, 70_000)
            } else {
                rng.range(200, 12_000)
            };
            let mut path = b"/".to_vec();
            while path.len() < len {
                let segment = rng.range(1, 60);
                path.extend(rng.text(UNRESERVED, segment));
                path.push(b'/');
            }
            path
        }
        5 => {
            let n = rng.range(1, 40);
            let mut path = b"/".to_vec();
            path.extend(percent_encoded(rng, n));
            path
        }
        6 => {
            let mut path = Vec::new();
            for _ in 0..rng.range(1, 8) {
                path.push(b'/');
                path.extend_from_slice(rng.pick_bytes(&[
                    b"..", b".", b"%2e%2e", b"%2E.", b"", b"admin", b"about", b"..;", b"...",
                    b"static",
                ]));
            }
            if rng.chance(50) {
                path.extend_from_slice(rng.pick_bytes(&[
                    b"/etc/passwd",
                    b"/",
                    b"/about/",
                    b"/admin/",
                ]));
            }
            path
        }
        7 => {
            let mut path = rng.pick(KNOWN_PATHS).as_bytes().to_vec();
            for _ in 0..rng.range(1, 4) {
                path.extend_from_slice(rng.pick(UNICODE).as_bytes());
                path.push(b'/');
            }
            path
        }
        8 => {
            let mut path = rng.pick(KNOWN_PATHS).as_bytes().to_vec();
            path.push(b'?');
            for _ in 0..rng.range(1, 20) {
                let len = rng.range(0, 30);
                path.extend(rng.text(UNRESERVED, len));
                path.push(*rng.pick(b"=&;%+"));
            }
            path
        }
        _ => match rng.below(8) {
            0 => b"*".to_vec(),
            1 => b"http://127.0.0.1/about/".to_vec(),
            2 => b"//admin//".to_vec(),
            3 => b"/about\\..\\admin".to_vec(),
            4 => b"about/".to_vec(),
            5 => b"/#fragment".to_vec(),
            // Raw bytes, except the space, CR and LF that frame the request line.
            _ => {
                let len = rng.range(1, 60);
                let mut path = b"/".to_vec();
                path.extend((0..len).map(|_| {
                    loop {
                        let b = rng.below(256) as u8;
                        if !matches!(b, b' ' | b'\r' | b'\n') {
                            break b;
                        }
                    }
                }));
                path
            }
        },
    };
    if rng.chance(5) {
        target.extend_from_slice(b"?next=%2F..%2F&x=\xe2\x80\xae");
    }
    target
}

fn random_cookie(rng: &mut Rng, sessions: &[String]) -> Option<Vec<u8>> {
    let session = (!sessions.is_empty()).then(|| rng.pick(sessions).clone());
    Some(match (rng.below(10), session) {
        (0..=3, _) => return None,
        (4, Some(session)) => session.into_bytes(),
        (5, Some(session)) => {
            let cut = rng.range(1, session.len());
            session.as_bytes()[..cut].to_vec()
        }
        (6, Some(session)) => {
            let mut bytes = session.into_bytes();
            let at = rng.range(3.min(bytes.len() - 1), bytes.len());
            bytes[at] = *rng.pick(UNRESERVED);
            bytes
        }
        (7, _) => {
            let len = rng.range(0, 200);
            rng.header_bytes(len)
        }
        (8, session) => {
            let mut bytes = b"a=1; b=; =c; id=".to_vec();
            let len = rng.range(0, 80);
            bytes.extend(rng.text(UNRESERVED, len));
            if let Some(session) = session {
                bytes.extend_from_slice(b"; ");
                bytes.extend_from_slice(session.as_bytes());
            }
            bytes
        }
        _ => {
            let long = format!("id={}", "A".repeat(rng.range(100, 6000)));
            rng.pick(&[
                "id".to_owned(),
                ";;;".to_owned(),
                "=".to_owned(),
                "id=\"unterminated".to_owned(),
                long,
            ])
            .clone()
            .into_bytes()
        }
    })
}

fn random_ip(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => format!("10.1.{}.{}", rng.below(256), rng.below(256)),
        1 => format!("[2001:db8::{:x}]:{}", rng.below(0x10000), rng.below(65536)),
        2 => format!("2001:db8::{:x}", rng.below(0x10000)),
        3 => format!(
            "{}.{}.{}.{}:{}",
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(65536)
        ),
        4 => rng
            .pick(&[
                "unknown",
                "_hidden",
                "::ffff:10.1.2.3",
                "999.1.1.1",
                "127.0.0.1",
            ])
            .to_string(),
        _ => format!(
            "{}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256)
        ),
    }
}

fn random_forwarded_for(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => {
            let len = rng.range(0, 120);
            rng.header_bytes(len)
        }
        1 => {
            let hops = rng.range(20, 200);
            (0..hops)
                .map(|_| random_ip(rng))
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes()
        }
        _ => {
            let hops = rng.range(1, 5);
            (0..hops)
                .map(|_| random_ip(rng))
                .collect::<Vec<_>>()
                .join(", ")
                .into_bytes()
        }
    }
}

fn random_forwarded(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => {
            let len = rng.range(0, 120);
            rng.header_bytes(len)
        }
        _ => {
            let hops = rng.range(1, 4);
            (0..hops)
                .map(|_| {
                    let ip = random_ip(rng);
                    let quoted = if ip.contains(':') {
                        format!("\"{ip}\"")
                    } else {
                        ip
                    };
                    format!("for={quoted};proto=https")
                })
                .collect::<Vec<_>>()
                .join(", ")
                .into_bytes()
        }
    }
}

fn random_request(rng: &mut Rng, addr: SocketAddr, sessions: &[String]) -> Request {
    let method = random_method(rng);
    let target = random_target(rng);
    let mut bytes = Vec::with_capacity(256 + target.len());
    bytes.extend_from_slice(&method);
    bytes.push(b' ');
    bytes.extend_from_slice(&target);
    bytes.extend_from_slice(b" HTTP/1.1\r\n");
    let mut header = |name: &str, value: &[u8]| {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    };
    header("Host", addr.to_string().as_bytes());
    if let Some(cookie) = random_cookie(rng, sessions) {
        header("Cookie", &cookie);
    }
    match rng.below(4) {
        0 => {}
        1 => {
            let len = rng.range(0, 100);
            header("Accept", &rng.header_bytes(len));
        }
        _ => header("Accept", rng.pick(ACCEPTS).as_bytes()),
    }
    if rng.chance(40) {
        header("X-Forwarded-For", &random_forwarded_for(rng));
    }
    if rng.chance(15) {
        header("Forwarded", &random_forwarded(rng));
    }
    let close = rng.chance(10);
    if close {
        header("Connection", b"close");
    }
    let body: Vec<u8> = if method != b"GET" && method != b"HEAD" && rng.chance(50) {
        if rng.chance(30) {
            let user = *rng.pick(&["admin", "staff", "user", "nobody"]);
            format!("username={user}&password={user}").into_bytes()
        } else {
            let len = rng.range(0, 300);
            (0..len).map(|_| rng.below(256) as u8).collect()
        }
    } else {
        Vec::new()
    };
    if !body.is_empty() {
        header("Content-Type", b"application/x-www-form-urlencoded");
        header("Content-Length", body.len().to_string().as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&body);
    Request {
        bytes,
        head_only: method == b"HEAD",
        close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed() {
        let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let mut rng = Rng::new(7);
        let sessions = vec!["id=abcdefghijklmnop".to_owned()];
        for _ in 0..2000 {
            let request = random_request(&mut rng, addr, &sessions);
            let head_end = find(&request.bytes, b"\r\n\r\n").expect("a head") + 4;
            let head = &request.bytes[..head_end];
            // One request line and header lines: no stray CR or LF.
            let lines: Vec<&[u8]> = head[..head_end - 2].split(|&b| b == b'\n').collect();
            assert_eq!(lines.last(), Some(&&b""[..]));
            for line in &lines[..lines.len() - 1] {
                assert!(
                    line.ends_with(b"\r"),
                    "{:?}",
                    line.escape_ascii().to_string()
                );
                assert!(!line[..line.len() - 1].contains(&b'\r'));
            }
            let length = String::from_utf8_lossy(head)
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Content-Length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            assert_eq!(request.bytes.len() - head_end, length);
        }
    }

    #[test]
    fn shorten_keeps_char_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        assert!(shorten("ééé", 3).starts_with('é'));
    }
}
