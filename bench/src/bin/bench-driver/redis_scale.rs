//! Issue 13's "Instances × connections": what the Redis connections of many
//! maint instances cost the Redis server, so users can size it.
//!
//! One process simulates [`INSTANCES`] instances: each is a real
//! `MaintenanceMode` handle on a real `RedisBackend`, so it holds what a
//! running instance holds (one multiplexed command connection, one pub/sub
//! connection subscribed to `{prefix}:changes`) and re-reads the key when
//! told, as maint does. `INFO memory` / `INFO clients` are read before and
//! after; then state changes are made through one handle and timed until
//! every handle answers the new state.
//!
//! The instances share two cores with the server here, so the fan-out time
//! is an upper bound: 1,000 machines would each wake only their own
//! threads. The server's part of it is `PUBLISH`'s own time (`INFO
//! commandstats`).

use std::{
    fs,
    time::{Duration, Instant},
};

use maint_actix::{MaintenanceMode, MaintenanceSettings, backend::RedisBackend};
use tokio::sync::watch;

use crate::{
    cli::Cli,
    harness::{
        process::free_port,
        redis_server::{self, Persistence},
    },
    report::Report,
    stats::{median, quantile},
};

/// Simulated instances.
pub const INSTANCES: usize = 1000;
/// Files each instance holds open in this process: two sockets, and its two
/// threads' runtimes (an epoll and a waker each).
const FILES_PER_INSTANCE: u64 = 6;
/// How long all instances may take to connect and subscribe.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one change may take to reach every instance before the round counts as lost.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two sweeps over the handles while a change spreads.
const SWEEP_PAUSE: Duration = Duration::from_micros(100);
const PREFIX: &str = "maint:bench:scale";

/// Which times of a round a row of the fan-out table shows.
type TimesOf = fn(&Round) -> Vec<Duration>;

/// What `INFO` says of the server at one moment.
#[derive(Debug, Clone, Copy)]
struct Info {
    used_memory: u64,
    used_memory_rss: u64,
    mem_clients_normal: u64,
    connected_clients: u64,
}

/// One change: when each instance got the message and answered the new
/// state, since the change was made.
struct Round {
    messages: Vec<Duration>,
    arrivals: Vec<Duration>,
    /// How long the `set` call took (its transaction answered).
    set_took: Duration,
}

/// Runs the job and writes its section (saying why when it cannot run).
pub fn run(cli: &Cli, report: &mut Report) -> Result<(), String> {
    report.line("## Issue 13: Redis cost per instance");
    report.line("");
    let rounds = if cli.quick { 6 } else { 20 };
    match measure(cli, rounds) {
        Ok(measured) => measured.write(cli, report),
        Err(error) => report.line(&format!("Skipped: {error}")),
    }
    report.line("");
    Ok(())
}

struct Measured {
    before: Info,
    after: Info,
    rounds: Vec<Round>,
    publish_usec_per_call: Option<f64>,
    /// The server's CPU seconds per change: the `PUBLISH` and every instance's re-read.
    cpu_per_change: f64,
    connect_took: Duration,
    open_files_limit: u64,
}

fn measure(cli: &Cli, rounds: usize) -> Result<Measured, String> {
    let open_files_limit = open_files_limit()?;
    let needed = INSTANCES as u64 * FILES_PER_INSTANCE + 100;
    if open_files_limit < needed {
        return Err(format!(
            "{INSTANCES} instances need about {needed} open files, and `ulimit -n` is {open_files_limit} \
             (bench/run raises it to the hard limit; raise that)"
        ));
    }
    let dir = cli.workdir.join("redis-scale");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = free_port()?;
    let _server = redis_server::start(&cli.redis_server, port, &dir, Persistence::None)?;
    let url = format!("redis://127.0.0.1:{port}");
    let raw = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
    let mut raw = raw
        .get_connection_with_timeout(Duration::from_secs(2))
        .map_err(|e| format!("connect to {url}: {e}"))?;
    let before = info(&mut raw)?;

    let started = Instant::now();
    let handles = (0..INSTANCES)
        .map(|_| instance(&url))
        .collect::<Result<Vec<_>, _>>()?;
    handles[0]
        .set_maintenance_mode_blocking(false)
        .map_err(|e| e.to_string())?;
    await_subscribers(&mut raw, INSTANCES as u64)?;
    let connect_took = started.elapsed();
    // Let the first reads after subscribing settle before measuring.
    std::thread::sleep(Duration::from_secs(1));
    let after = info(&mut raw)?;

    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut raw)
        .map_err(|e| e.to_string())?;
    let cpu_before = server_cpu_seconds(&mut raw)?;
    let rounds = (0..rounds)
        .map(|round| change(&handles, round % 2 == 0))
        .collect::<Result<Vec<_>, _>>()?;
    let cpu_per_change = (server_cpu_seconds(&mut raw)? - cpu_before) / rounds.len() as f64;
    let publish_usec_per_call = publish_usec_per_call(&mut raw)?;
    Ok(Measured {
        before,
        after,
        rounds,
        publish_usec_per_call,
        cpu_per_change,
        connect_took,
        open_files_limit,
    })
}

/// The server's CPU time so far (`used_cpu_sys` + `used_cpu_user`), in seconds.
fn server_cpu_seconds(raw: &mut redis::Connection) -> Result<f64, String> {
    let text: String = redis::cmd("INFO")
        .arg("cpu")
        .query(raw)
        .map_err(|e| format!("INFO cpu: {e}"))?;
    ["used_cpu_sys", "used_cpu_user"]
        .iter()
        .map(|name| {
            info_field(&text, name)
                .and_then(|value| value.parse::<f64>().ok())
                .ok_or_else(|| format!("INFO cpu has no {name}"))
        })
        .sum()
}

/// One simulated instance: a handle on its own backend, as a server builds it.
fn instance(url: &str) -> Result<MaintenanceMode, String> {
    let backend = RedisBackend::new(url, PREFIX).map_err(|e| e.to_string())?;
    MaintenanceMode::builder(MaintenanceSettings::default())
        .backend(backend)
        .build()
        .map_err(|e| e.to_string())
}

/// Sets the state through the first handle (on a thread of its own, since
/// the `set` returns only once its own re-read is answered) and sweeps all
/// handles meanwhile until each answers it.
fn change(handles: &[MaintenanceMode], on: bool) -> Result<Round, String> {
    let mut messages: Vec<_> = handles
        .iter()
        .map(|handle| {
            handle
                .backend()
                .subscribe()
                .expect("the redis backend pushes")
        })
        .collect();
    for receiver in &mut messages {
        receiver.borrow_and_update();
    }
    std::thread::scope(|scope| {
        let started = Instant::now();
        let set = scope.spawn(move || {
            handles[0]
                .set_maintenance_mode_blocking(on)
                .map(|()| started.elapsed())
                .map_err(|e| e.to_string())
        });
        let (messages, arrivals) = sweep(handles, &mut messages, on, started)?;
        let set_took = set.join().map_err(|_| "the set panicked".to_owned())??;
        Ok(Round {
            messages,
            arrivals,
            set_took,
        })
    })
}

/// When each backend first got the change's message, and each handle first
/// answers `on`, since `started`.
fn sweep(
    handles: &[MaintenanceMode],
    receivers: &mut [watch::Receiver<()>],
    on: bool,
    started: Instant,
) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let mut messages: Vec<Option<Duration>> = vec![None; handles.len()];
    let mut arrivals: Vec<Option<Duration>> = vec![None; handles.len()];
    let mut waiting = handles.len();
    while waiting > 0 {
        if started.elapsed() > CHANGE_TIMEOUT {
            return Err(format!(
                "{waiting} of {} instances did not see a change within {CHANGE_TIMEOUT:?}",
                handles.len()
            ));
        }
        for (receiver, message) in receivers.iter().zip(messages.iter_mut()) {
            if message.is_none() && receiver.has_changed().unwrap_or(false) {
                *message = Some(started.elapsed());
            }
        }
        for (handle, arrival) in handles.iter().zip(arrivals.iter_mut()) {
            if arrival.is_none() && handle.is_on() == on {
                *arrival = Some(started.elapsed());
                waiting -= 1;
            }
        }
        std::thread::sleep(SWEEP_PAUSE);
    }
    let done = |times: Vec<Option<Duration>>| times.into_iter().flatten().collect();
    Ok((done(messages), done(arrivals)))
}

/// Waits (bounded) until `count` clients subscribe to the change channel.
fn await_subscribers(raw: &mut redis::Connection, count: u64) -> Result<(), String> {
    let channel = format!("{PREFIX}:changes");
    let started = Instant::now();
    loop {
        let (_, subscribed): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query(raw)
            .map_err(|e| e.to_string())?;
        if subscribed >= count {
            return Ok(());
        }
        if started.elapsed() > CONNECT_TIMEOUT {
            return Err(format!(
                "{subscribed} of {count} instances subscribed within {CONNECT_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn info(raw: &mut redis::Connection) -> Result<Info, String> {
    let text: String = redis::cmd("INFO")
        .arg("memory")
        .arg("clients")
        .query(raw)
        .map_err(|e| format!("INFO: {e}"))?;
    let field = |name: &str| {
        info_field(&text, name)
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| format!("INFO has no {name}"))
    };
    Ok(Info {
        used_memory: field("used_memory")?,
        used_memory_rss: field("used_memory_rss")?,
        mem_clients_normal: field("mem_clients_normal")?,
        connected_clients: field("connected_clients")?,
    })
}

/// `name:value` of an `INFO` text.
fn info_field<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
}

/// `PUBLISH`'s mean time in the server since the last `CONFIG RESETSTAT`.
fn publish_usec_per_call(raw: &mut redis::Connection) -> Result<Option<f64>, String> {
    let text: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(raw)
        .map_err(|e| format!("INFO commandstats: {e}"))?;
    Ok(info_field(&text, "cmdstat_publish").and_then(|fields| {
        fields
            .split(',')
            .find_map(|field| field.strip_prefix("usec_per_call="))
            .and_then(|value| value.parse().ok())
    }))
}

/// The soft limit on open files of this process (`Max open files` in `/proc/self/limits`).
fn open_files_limit() -> Result<u64, String> {
    let limits =
        fs::read_to_string("/proc/self/limits").map_err(|e| format!("/proc/self/limits: {e}"))?;
    limits
        .lines()
        .find_map(|line| {
            line.strip_prefix("Max open files")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| "no `Max open files` in /proc/self/limits".to_owned())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl Measured {
    fn per_instance(&self, field: impl Fn(&Info) -> u64) -> (u64, f64) {
        let delta = field(&self.after).saturating_sub(field(&self.before));
        (delta, delta as f64 / INSTANCES as f64)
    }

    fn write(&self, cli: &Cli, report: &mut Report) {
        report.line(&format!(
            "{INSTANCES} simulated instances in one process, each a `MaintenanceMode` handle on its own \
             `RedisBackend` (one multiplexed command connection + one pub/sub connection subscribed to \
             `{{prefix}}:changes`, as a running instance holds), on a `redis-server` of the job's own \
             (`--save ''`, no append-only file). `INFO` read before the instances connect and 1 s after \
             all {INSTANCES} subscribed (they connected and subscribed in {:.1} s); open files limit \
             of the job: {}.",
            self.connect_took.as_secs_f64(),
            self.open_files_limit
        ));
        report.line("");
        report.line("| `INFO` field | before | after | per instance |");
        report.line("|---|---|---|---|");
        let (clients, per) = self.per_instance(|info| info.connected_clients);
        report.line(&format!(
            "| connected_clients | {} | {} | {per:.2} (+{clients}) |",
            self.before.connected_clients, self.after.connected_clients
        ));
        for (name, field) in [
            (
                "used_memory",
                (|info: &Info| info.used_memory) as fn(&Info) -> u64,
            ),
            ("mem_clients_normal", |info: &Info| info.mem_clients_normal),
            ("used_memory_rss", |info: &Info| info.used_memory_rss),
        ] {
            let (delta, per) = self.per_instance(field);
            report.line(&format!(
                "| {name} (bytes) | {} | {} | {per:.0} (+{delta}) |",
                field(&self.before),
                field(&self.after)
            ));
        }
        report.line("");
        let rows: [(&str, TimesOf); 3] = [
            ("its backend got the `PUBLISH`", |round| {
                round.messages.clone()
            }),
            ("it answers the new state (re-read done)", |round| {
                round.arrivals.clone()
            }),
            ("the `set` call returned", |round| vec![round.set_took]),
        ];
        report.line(&format!(
            "Fan-out: {} changes (on, off, ...) made through one handle; time from the `set` call \
             until, for each of the {INSTANCES} instances, its backend got the message and its \
             handle answers the new state (after its refresher re-read the key), and until the \
             last of them did:",
            self.rounds.len()
        ));
        report.line("");
        report.line("| ms after the `set` call | p50 | p90 | p99 | max | last of 1000 (p50 of changes) | last of 1000 (max) |");
        report.line("|---|---|---|---|---|---|---|");
        for (name, times) in rows {
            let all: Vec<f64> = self.rounds.iter().flat_map(times).map(ms).collect();
            let lasts: Vec<f64> = self
                .rounds
                .iter()
                .map(|r| times(r).into_iter().max().map_or(f64::NAN, ms))
                .collect();
            report.line(&format!(
                "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                median(&all),
                quantile(&all, 0.9),
                quantile(&all, 0.99),
                quantile(&all, 1.0),
                median(&lasts),
                quantile(&lasts, 1.0)
            ));
        }
        report.line("");
        if let Some(usec) = self.publish_usec_per_call {
            report.line(&format!(
                "The server's own time for one `PUBLISH` to {INSTANCES} subscribers: {usec:.0} µs \
                 (`INFO commandstats`, mean over the changes)."
            ));
        }
        report.line(&format!(
            "The server's CPU per change, the `PUBLISH` and the {INSTANCES} re-reads it causes \
             (`INFO cpu`, user + sys, mean over the changes): {:.1} ms.",
            self.cpu_per_change * 1000.0
        ));
        report.line(&format!(
            "Reproduce: `{} --only redis-scale`.",
            cli.reproduce_base()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read_by_exact_name() {
        let text =
            "# Memory\r\nused_memory:1000\r\nused_memory_rss:2000\r\nused_memory_rss_human:2K\r\n";
        assert_eq!(info_field(text, "used_memory"), Some("1000"));
        assert_eq!(info_field(text, "used_memory_rss"), Some("2000"));
        assert_eq!(info_field(text, "used_memory_peak"), None);
    }
}
