//! End-to-end: the real `example-site` binary on the `redis` backend
//! (`[maintenance] state_backend = "redis"`): several instances on one Redis
//! switched by the command from another process, Redis killed under load,
//! Redis absent at start-up, and setting the state while Redis is down.
//! Over TLS (`rediss://`, a TLS-only server of the test's own with a CA
//! generated in the run): with `redis_ca_file`, with the system's roots
//! (`SSL_CERT_FILE`), and a bad `redis_ca_file` failing at start.
//!
//! The multi-instance test uses the shared server (`MAINT_REDIS_URL`, a key
//! prefix of its own); the tests that kill Redis start a `redis-server` of
//! their own (see `maint_test_support::redis`). Every wait and loop is bounded.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use maint_test_support::{
    poll::poll_until,
    process::free_port,
    redis::{self, OwnRedis, state_key, unique_prefix},
    redis_tls::TlsRedis,
    site::{Agent, Server, Site, agent, toml_path, toml_string},
};

use crate::EXAMPLE_SITE;

/// The product's bound: every instance answers accordingly this soon after the command exits.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// The bound after Redis came back, while reconnections may still be settling.
const AFTER_RECOVERY_LIMIT: Duration = Duration::from_secs(1);
/// How long an instance may take to notice Redis arriving or coming back.
const RECONNECT_LIMIT: Duration = Duration::from_secs(5);
/// How long a polling loop goes on before it gives up (and the test fails).
const POLL_DEADLINE: Duration = Duration::from_secs(3);
/// Says the example site's maintenance page.
const MAINTENANCE_PAGE: &str = "Down for maintenance";

const TOGGLE_ON: &str = "/maintenance-mode/on/";

/// The `[maintenance]` lines of a site on `url` under `prefix`.
fn redis_config(url: &str, prefix: &str) -> String {
    format!(
        "state_backend = \"redis\"\nredis_url = {}\nredis_key_prefix = {}",
        toml_string(url),
        toml_string(prefix)
    )
}

/// A keep-alive HTTP client for polling and load (no cookies, no redirects, no proxy).
fn client() -> Agent {
    agent(Duration::from_secs(5))
}

/// What an anonymous `GET /` got.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    /// The home page.
    Served,
    /// The maintenance page, 503.
    Maintenance,
    /// Anything else: the status and the start of the body.
    Other(u16, String),
    /// No HTTP answer at all.
    ConnectionError(String),
}

fn get_home(agent: &Agent, server: &Server) -> Answer {
    get(agent, &server.url("/"))
}

fn get(agent: &Agent, url: &str) -> Answer {
    match agent.get(url).call() {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            match status {
                200 => Answer::Served,
                503 if body.contains(MAINTENANCE_PAGE) => Answer::Maintenance,
                _ => Answer::Other(status, body.chars().take(200).collect()),
            }
        }
        Err(error) => Answer::ConnectionError(error.to_string()),
    }
}

/// Polls `server` (every millisecond, at most [`POLL_DEADLINE`]) until it
/// answers `wanted`; the time from `since` until it did, `None` on timeout.
fn time_until(server: &Server, wanted: &Answer, since: Instant) -> Option<Duration> {
    let agent = client();
    poll_until(POLL_DEADLINE.saturating_sub(since.elapsed()), || {
        let answer = get_home(&agent, server);
        if let Answer::ConnectionError(_) | Answer::Other(..) = answer {
            panic!("{}: unexpected answer {answer:?}", server.url("/"));
        }
        answer == *wanted
    })
    .map(|_| since.elapsed())
}

/// [`time_until`] for every server at once (a thread each), in order.
#[track_caller]
fn times_until(servers: &[Server], wanted: &Answer, since: Instant) -> Vec<Duration> {
    let times: Vec<Option<Duration>> = thread::scope(|scope| {
        let polls: Vec<_> = servers
            .iter()
            .map(|server| scope.spawn(move || time_until(server, wanted, since)))
            .collect();
        polls
            .into_iter()
            .map(|poll| poll.join().expect("poller"))
            .collect()
    });
    times
        .into_iter()
        .zip(servers)
        .map(|(time, server)| {
            time.unwrap_or_else(|| {
                panic!(
                    "{} did not answer {wanted:?} within {POLL_DEADLINE:?}; its stderr:\n{}",
                    server.url("/"),
                    server.stderr()
                )
            })
        })
        .collect()
}

/// Waits (bounded) until `server` has logged `needle` at least `times` times.
#[track_caller]
fn await_log(server: &Server, needle: &str, times: usize) {
    poll_until(RECONNECT_LIMIT, || {
        server.stderr().matches(needle).count() >= times
    })
    .unwrap_or_else(|| {
        panic!(
            "{} did not log {needle:?} {times} time(s) within {RECONNECT_LIMIT:?}; stderr:\n{}",
            server.url("/"),
            server.stderr()
        )
    });
}

fn start_three(site: &Site) -> Vec<Server> {
    (0..3).map(|_| site.start()).collect()
}

/// "three example-site processes on one Redis, toggled by the command from
/// a fourth process: all three answer 503 within 100 ms, then 200 within
/// 100 ms of `off`", measured from the command's exit.
#[test]
fn three_instances_follow_the_command_from_a_fourth_process() {
    let Some(redis) = redis::shared("e2e::redis_backend::three_instances") else {
        return;
    };
    let site = EXAMPLE_SITE.site(&redis_config(&redis.url, &redis.prefix));
    let servers = start_three(&site);
    redis.raw.await_subscribers(&redis.prefix, 3);
    times_until(&servers, &Answer::Served, Instant::now());

    for round in 0..2 {
        for (word, wanted, stored) in [
            ("on", Answer::Maintenance, "1"),
            ("off", Answer::Served, "0"),
        ] {
            let run = site.command(&[word]);
            run.assert_success();
            let times = times_until(&servers, &wanted, run.exited);
            println!(
                "round {round}, `maintenance_mode {word}`: instances answered {wanted:?} after {times:?} from the command's exit"
            );
            for (time, server) in times.iter().zip(&servers) {
                assert!(
                    *time < PROPAGATION_LIMIT,
                    "{} took {time:?} after `{word}` (limit {PROPAGATION_LIMIT:?})",
                    server.url("/")
                );
            }
            assert_eq!(redis.raw.get(&redis.key()).as_deref(), Some(stored));
            assert_eq!(site.status(), word);
        }
    }
}

/// Counts of what the load threads got.
#[derive(Debug, Default)]
struct Tally {
    answers: BTreeMap<Answer, usize>,
    /// Answers received while Redis was down.
    while_down: usize,
}

/// Threads requesting `GET /` from every server in a loop until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    redis_down: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    /// Also stops by itself after `limit`, whatever happens.
    fn start(servers: &[Server], threads_per_server: usize, limit: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let redis_down = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut threads = Vec::new();
        for server in servers {
            for _ in 0..threads_per_server {
                let url = server.url("/");
                let (stop, redis_down, tally) = (stop.clone(), redis_down.clone(), tally.clone());
                threads.push(thread::spawn(move || {
                    let agent = client();
                    let started = Instant::now();
                    while !stop.load(Ordering::SeqCst) && started.elapsed() < limit {
                        let answer = get(&agent, &url);
                        let down = redis_down.load(Ordering::SeqCst);
                        let mut tally = tally.lock().expect("tally");
                        *tally.answers.entry(answer).or_default() += 1;
                        if down {
                            tally.while_down += 1;
                        }
                    }
                }));
            }
        }
        Self {
            stop,
            redis_down,
            tally,
            threads,
        }
    }

    fn redis_down(&self, down: bool) {
        self.redis_down.store(down, Ordering::SeqCst);
    }

    fn finish(self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().expect("load thread");
        }
        Arc::try_unwrap(self.tally)
            .expect("the threads are done")
            .into_inner()
            .expect("tally")
    }
}

/// "kill redis-server under load (a client loop of requests) — zero
/// connection errors or 5xx from the sites, state unchanged; restart it,
/// toggle, all instances follow."
#[test]
fn redis_killed_under_load_changes_nothing_and_instances_follow_after_restart() {
    let Some(mut redis) = OwnRedis::start_new("e2e::redis_backend::redis_killed_under_load") else {
        return;
    };
    let prefix = unique_prefix("redis_killed_under_load");
    let site = EXAMPLE_SITE.site(&redis_config(&redis.url(), &prefix));
    let servers = start_three(&site);
    redis.raw().await_subscribers(&prefix, 3);
    site.set(true);
    times_until(&servers, &Answer::Maintenance, Instant::now());

    let load = Load::start(&servers, 2, Duration::from_secs(20));
    thread::sleep(Duration::from_millis(300));
    load.redis_down(true);
    redis.kill();
    thread::sleep(Duration::from_secs(1));
    for server in &servers {
        // Each instance noticed the loss (and logged it), and kept the state.
        await_log(server, "unreadable", 1);
    }
    redis.start();
    load.redis_down(false);
    for server in &servers {
        await_log(server, "readable again", 1);
    }
    assert_eq!(
        redis.raw().get(&state_key(&prefix)).as_deref(),
        Some("1"),
        "the state survived the kill"
    );
    thread::sleep(Duration::from_millis(200));
    let tally = load.finish();
    println!("answers under load: {:?}", tally.answers);
    println!("answers while Redis was down: {}", tally.while_down);
    assert!(
        tally.while_down > 0,
        "no request was made while Redis was down"
    );
    let unexpected: Vec<_> = tally
        .answers
        .iter()
        .filter(|(answer, _)| **answer != Answer::Maintenance)
        .collect();
    assert!(
        unexpected.is_empty(),
        "every answer must be the maintenance page (state unchanged, no errors): {unexpected:?}"
    );

    let run = site.command(&["off"]);
    run.assert_success();
    let times = times_until(&servers, &Answer::Served, run.exited);
    println!("after the restart, `maintenance_mode off` reached the instances after {times:?}");
    for time in &times {
        assert!(*time < AFTER_RECOVERY_LIMIT, "took {time:?}");
    }
    let run = site.command(&["on"]);
    run.assert_success();
    let times = times_until(&servers, &Answer::Maintenance, run.exited);
    println!("after the restart, `maintenance_mode on` reached the instances after {times:?}");
    for time in &times {
        assert!(*time < AFTER_RECOVERY_LIMIT, "took {time:?}");
    }
}

/// "`set` while Redis is down is a clear error to the caller (command exit
/// code non-zero ... naming redis; toggle route POST → 503 with message),
/// never a silent drop", and nothing changes.
#[test]
fn setting_while_redis_is_down_fails_loudly_and_changes_nothing() {
    let Some(mut redis) = OwnRedis::start_new("e2e::redis_backend::setting_while_down") else {
        return;
    };
    let prefix = unique_prefix("setting_while_down");
    let site = EXAMPLE_SITE.site(&redis_config(&redis.url(), &prefix));
    let server = site.start();
    redis.raw().await_subscribers(&prefix, 1);
    let mut admin = server.login("admin");
    let token = admin.toggle_token(TOGGLE_ON);

    redis.kill();
    await_log(&server, "unreadable", 1);

    let started = Instant::now();
    let run = site.command(&["on"]);
    let took = started.elapsed();
    assert!(
        !run.status.success(),
        "`on` succeeded with Redis down: {run:?}"
    );
    assert!(
        run.status.code().is_some(),
        "an exit code, not a signal: {run:?}"
    );
    assert!(took < Duration::from_secs(10), "the command took {took:?}");
    let error = run
        .stderr
        .lines()
        .find(|line| line.starts_with("example-site:"))
        .unwrap_or_else(|| panic!("no error line: {run:?}"));
    assert!(
        error.contains("redis") && error.contains(&redis.url()),
        "the error names Redis: {run:?}"
    );
    println!("`maintenance_mode on` with Redis down: {error}");

    let reply = admin.post(TOGGLE_ON, &[("csrf_token", &token)]);
    reply.assert_status(503);
    assert!(
        !reply.body.contains(MAINTENANCE_PAGE)
            && reply.body.contains("redis")
            && reply.body.contains(&redis.url()),
        "the toggle route says why: {reply:?}"
    );
    println!("toggle POST with Redis down: 503 {}", reply.body.trim());
    assert_eq!(
        get_home(&client(), &server),
        Answer::Served,
        "state unchanged"
    );

    let logged_before = server.stderr().len();
    redis.start();
    // Back, and still holding no state for this (new) prefix: that is what
    // the server reports now, instead of the loss.
    poll_until(RECONNECT_LIMIT, || {
        server.stderr()[logged_before..].contains("no maintenance state stored")
    })
    .unwrap_or_else(|| {
        panic!(
            "the server did not notice Redis was back; stderr:\n{}",
            server.stderr()
        )
    });
    assert_eq!(
        redis.raw().get(&state_key(&prefix)),
        None,
        "nothing was stored"
    );
    assert_eq!(get_home(&client(), &server), Answer::Served);
    // With Redis back, the same form works.
    admin
        .post(TOGGLE_ON, &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("1"));
    time_until(&server, &Answer::Maintenance, Instant::now()).expect("maintenance on");
}

/// "Redis unreachable at start-up → the server starts, uses
/// state_backend_fallback_value, logs it, keeps retrying and picks up the
/// state once Redis is there."
#[test]
fn site_starts_without_redis_and_picks_up_the_state_when_it_comes() {
    let Some(mut redis) = OwnRedis::not_started("e2e::redis_backend::starts_without_redis") else {
        return;
    };
    let prefix = unique_prefix("starts_without_redis");
    let site = EXAMPLE_SITE.site(&redis_config(&redis.url(), &prefix));
    let server = site.start();
    let log = server.stderr();
    assert!(
        log.contains("state_backend_fallback_value") && log.contains(&redis.url()),
        "the fallback and the server are logged: {log}"
    );
    assert_eq!(
        get_home(&client(), &server),
        Answer::Served,
        "fallback false"
    );

    redis.seed(&state_key(&prefix), "1");
    redis.start();
    let arrived = Instant::now();
    let took = poll_until(RECONNECT_LIMIT, || {
        get_home(&client(), &server) == Answer::Maintenance
    })
    .unwrap_or_else(|| {
        panic!(
            "the site did not pick up the state within {RECONNECT_LIMIT:?}; stderr:\n{}",
            server.stderr()
        )
    });
    println!("the site picked up the state {took:?} after Redis started");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(arrived.elapsed() < RECONNECT_LIMIT);
}

/// The command's failure while Redis is down is "one line naming redis".
#[test]
fn command_while_redis_is_down_writes_exactly_one_line() {
    // Nothing listens on a port that was free a moment ago: no redis-server needed.
    let url = format!("redis://127.0.0.1:{}", free_port());
    let site = EXAMPLE_SITE.site(&redis_config(&url, &unique_prefix("one_line")));
    for args in [&["on"][..], &["off"]] {
        let run = site.command(args);
        let line = run.assert_one_line_failure();
        assert!(
            line.contains("redis") && line.contains(&url),
            "{args:?}: the line names Redis: {run:?}"
        );
    }
}

/// Issue 9: a Redis flushed during maintenance (or restarted without
/// persistence) must not reopen the site. The instance keeps the last known
/// state, logs the missing state once, and `maintenance_mode off` ends it,
/// storing `0`.
#[test]
fn flushed_redis_keeps_the_site_in_maintenance_and_logs_it_once() {
    let Some(redis) = OwnRedis::start_new("e2e::redis_backend::flushed_redis") else {
        return;
    };
    let prefix = unique_prefix("flushed_redis");
    let site = EXAMPLE_SITE.site(&format!(
        "{}\nredis_resync_seconds = 0.1",
        redis_config(&redis.url(), &prefix)
    ));
    let server = site.start();
    redis.raw().await_subscribers(&prefix, 1);
    site.set(true);
    time_until(&server, &Answer::Maintenance, Instant::now()).expect("maintenance on");

    // (A new prefix has no state either: the start-up logged that already.)
    let logged_before = server.stderr().len();
    redis.raw().flushall();
    let flushed = Instant::now();
    // Ten resyncs and more.
    while flushed.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            get_home(&client(), &server),
            Answer::Maintenance,
            "a flushed Redis reopened the site; stderr:\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let log = server.stderr()[logged_before..].to_owned();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("no maintenance state"))
        .collect();
    assert_eq!(warnings.len(), 1, "logged once: {log}");
    assert!(warnings[0].len() < 400, "brief: {}", warnings[0]);
    assert_eq!(site.status(), "unknown", "status says so");

    let run = site.command(&["off"]);
    run.assert_success();
    time_until(&server, &Answer::Served, run.exited).expect("maintenance off");
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("0"));
    assert_eq!(site.status(), "off");
}

// ---------------------------------------------------------------------------
// Over TLS.

/// The contract's bound for a serving process to see the command's change.
const CONTRACT_LIMIT: Duration = Duration::from_secs(1);

/// `rediss://` with `redis_ca_file`: the command (another process) switches
/// a serving instance on and off within a second, over TLS both ways (the
/// server has no plain port).
#[test]
fn rediss_with_redis_ca_file_the_command_switches_the_site() {
    let Some(redis) = TlsRedis::start_new("e2e::redis_backend::rediss_with_ca_file") else {
        return;
    };
    let prefix = unique_prefix("e2e_rediss_with_ca_file");
    let config = format!(
        "{}\nredis_ca_file = {}",
        redis_config(&redis.url(), &prefix),
        toml_path(&redis.ca().cert)
    );
    let site = EXAMPLE_SITE.site(&config);
    let server = site.start();
    redis.raw().await_subscribers(&prefix, 1);
    toggle_and_time(&site, &server, &[]);
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("0"));
}

/// `rediss://` without `redis_ca_file` trusts the system's roots, which
/// OpenSSL's `SSL_CERT_FILE` extends here with the test's CA.
#[test]
fn rediss_without_redis_ca_file_trusts_the_system_roots() {
    let Some(redis) = TlsRedis::start_new("e2e::redis_backend::rediss_system_roots") else {
        return;
    };
    let prefix = unique_prefix("e2e_rediss_system_roots");
    let site = EXAMPLE_SITE.site(&redis_config(&redis.url(), &prefix));
    let ca = redis.ca().cert.display().to_string();
    let env = [("SSL_CERT_FILE", ca.as_str())];
    let server = site.start_with_env(&env);
    redis.raw().await_subscribers(&prefix, 1);
    toggle_and_time(&site, &server, &env);

    // Without the variable the test's CA is trusted by nobody: refused, and said so.
    let run = site.command(&["on"]);
    assert!(!run.status.success(), "{run:?}");
    assert!(run.stderr.contains("certificate"), "{run:?}");
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("0"));
}

/// `on` then `off` by the command, each seen by `server` within the contract's second.
fn toggle_and_time(site: &Site, server: &Server, env: &[(&str, &str)]) {
    for (word, wanted) in [("on", Answer::Maintenance), ("off", Answer::Served)] {
        let run = site.command_with_env(&[word], env);
        run.assert_success();
        let took = time_until(server, &wanted, run.exited).unwrap_or_else(|| {
            panic!(
                "`{word}` not seen within {POLL_DEADLINE:?}; stderr:\n{}",
                server.stderr()
            )
        });
        println!("over TLS, `maintenance_mode {word}` was seen after {took:?}");
        assert!(took < CONTRACT_LIMIT, "`{word}` took {took:?}");
    }
}

/// A `redis_ca_file` that does not exist: the server and the command exit
/// at start with one line naming the key.
#[test]
fn a_missing_redis_ca_file_fails_at_start_naming_the_key() {
    let config = format!(
        "{}\nredis_ca_file = \"no-such-ca.pem\"",
        redis_config("rediss://127.0.0.1:6380", "maint:e2e:bad_ca")
    );
    let site = EXAMPLE_SITE.site(&config);
    for run in [site.serve_expecting_exit(), site.command(&["status"])] {
        let line = run.assert_one_line_failure();
        assert!(line.contains("redis_ca_file"), "{line}");
        assert!(line.contains("no-such-ca.pem"), "{line}");
    }
}
