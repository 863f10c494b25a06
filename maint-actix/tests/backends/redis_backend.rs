//! The `redis` backend against a real Redis, beyond the shared suite
//! (`suite.rs`): the stored text and the change channel, changes made
//! by other tools, the periodic resync, independent prefixes, and what happens
//! when Redis is away: at start-up, lost while running, during a `set`.
//! Finally, that requests never talk to Redis (`INFO commandstats`).
//!
//! Tests that only read and write use the shared server (`MAINT_REDIS_URL`,
//! a prefix of their own); tests that stop Redis start a `redis-server` of
//! their own (see `maint_test_support::redis`).

use std::{
    process::Command,
    thread,
    time::{Duration, Instant},
};

use actix_web::http::StatusCode;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, backend::RedisBackend,
    settings::StateBackendKind, state::Schedule,
};
use maint_test_support::{
    app::{self, build},
    poll::poll_until,
    process::{find_on_path, free_port, signal},
    redis::{
        self, OwnRedis, changes_channel, command_calls_diff, message_during, state_key,
        unique_prefix,
    },
};

/// The product's bound on how fast an instance sees a change.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// How fast a server that comes (back) must be noticed without any request.
const RECONNECT_LIMIT: Duration = Duration::from_secs(3);
/// How long a `set` against a dead or frozen server may take to fail.
const FAILURE_LIMIT: Duration = Duration::from_secs(5);

/// Settings of the `redis` backend on `url` under `prefix`.
fn redis_settings(url: &str, prefix: &str) -> MaintenanceSettings {
    MaintenanceSettings::default()
        .state_backend(StateBackendKind::Redis)
        .redis_url(url)
        .redis_key_prefix(prefix)
}

/// Polls (every millisecond, bounded) until `handle.is_on()` is `on`; the time it took.
#[track_caller]
fn await_on(handle: &MaintenanceMode, on: bool, limit: Duration, what: &str) -> Duration {
    poll_until(limit, || handle.is_on() == on).unwrap_or_else(|| {
        panic!(
            "{what}: is_on() did not become {on} within {limit:?} (problem: {:?})",
            handle.backend_problem()
        )
    })
}

/// Polls (bounded) until the handle reports no backend problem.
#[track_caller]
fn await_no_problem(handle: &MaintenanceMode, limit: Duration, what: &str) -> Duration {
    poll_until(limit, || handle.backend_problem().is_none()).unwrap_or_else(|| {
        panic!(
            "{what}: the backend problem did not clear within {limit:?}: {:?}",
            handle.backend_problem()
        )
    })
}

/// A schedule active now, ending in an hour, to whole seconds.
fn window(reason: &str) -> MaintenanceState {
    let end = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 3600)
        .expect("a valid timestamp");
    MaintenanceState::Scheduled(Schedule::new(None, Some(end)).with_reason(reason))
}

/// `redis-cli -u URL GET key`'s output, `None` without `redis-cli` on PATH.
fn redis_cli_get(url: &str, key: &str) -> Option<String> {
    let program = find_on_path("redis-cli")?;
    let output = Command::new(program)
        .args(["-u", url, "--raw", "GET", key])
        .output()
        .expect("run redis-cli");
    assert!(output.status.success(), "redis-cli failed: {output:?}");
    Some(
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned(),
    )
}

// ---------------------------------------------------------------------------
// On the shared server.

/// "store Django's text ("0"/"1"/schedule JSON) so `redis-cli GET {prefix}:state` shows it".
#[actix_web::test]
async fn stored_text_is_djangos_and_redis_cli_shows_it() {
    let Some(redis) = redis::shared("backends::redis_backend::stored_text_is_djangos") else {
        return;
    };
    let backend = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
    assert_eq!(backend.key(), format!("{}:state", redis.prefix));
    let maint = build(redis_settings(&redis.url, &redis.prefix));

    let scheduled = window("redis-cli check");
    for (state, text) in [
        (MaintenanceState::On, "1".to_owned()),
        (MaintenanceState::Off, "0".to_owned()),
        (scheduled.clone(), scheduled.to_text()),
    ] {
        maint.set(state.clone()).await.unwrap();
        assert_eq!(redis.raw.get(&redis.key()).as_deref(), Some(&*text));
        match redis_cli_get(&redis.url, &redis.key()) {
            Some(shown) => assert_eq!(shown, text, "redis-cli GET {}", redis.key()),
            None => println!("redis-cli is not on PATH: checked with the redis crate only"),
        }
    }
    let json: serde_json::Value = serde_json::from_str(&scheduled.to_text()).unwrap();
    assert!(json["start"].is_null() && json["end"].is_string(), "{json}");
    // Nothing but the state and its last change (issue 12) is stored under
    // the prefix; the state key keeps Django's text alone.
    let change_key = format!("{}:change", redis.prefix);
    let mut keys = redis.raw.keys(&format!("{}*", redis.prefix)).unwrap();
    keys.sort_unstable();
    assert_eq!(keys, [change_key.clone(), redis.key()]);
    let change = redis.raw.get(&change_key).expect("the change");
    let change: serde_json::Value = serde_json::from_str(&change).unwrap();
    assert_eq!(change["by"], "api", "{change}");
    assert_eq!(change["via"], "api", "{change}");
    assert_eq!(change["state"], scheduled.to_text(), "{change}");
}

/// A `set` writes and announces in one go: a plain subscriber gets the text,
/// and another instance sees the change within 100 ms.
#[actix_web::test]
async fn set_announces_the_change_and_other_instances_follow() {
    let Some(redis) = redis::shared("backends::redis_backend::set_announces") else {
        return;
    };
    let writer = build(redis_settings(&redis.url, &redis.prefix));
    let reader = build(redis_settings(&redis.url, &redis.prefix).redis_resync_seconds(3600.0));
    redis.raw.await_subscribers(&redis.prefix, 2);

    let mut set_done = None;
    let message = message_during(
        &redis.raw,
        &changes_channel(&redis.prefix),
        Duration::from_secs(2),
        || {
            writer.set_maintenance_mode_blocking(true).unwrap();
            set_done = Some(Instant::now());
        },
    );
    assert_eq!(
        message.as_deref(),
        Some("1"),
        "the announcement carries the text"
    );
    let on = set_done.unwrap().elapsed().min(await_on(
        &reader,
        true,
        Duration::from_secs(2),
        "reader, on",
    ));
    writer.set_maintenance_mode(false).await.unwrap();
    let off = await_on(&reader, false, Duration::from_secs(2), "reader, off");
    println!("another instance followed a set: on {on:?}, off {off:?}");
    assert!(on < PROPAGATION_LIMIT && off < PROPAGATION_LIMIT);
}

/// A change written by another tool (`SET` + `PUBLISH`, as the backend does)
/// reaches a running instance at once.
#[actix_web::test]
async fn raw_set_and_publish_is_seen_at_once() {
    let Some(redis) = redis::shared("backends::redis_backend::raw_set_and_publish") else {
        return;
    };
    let maint = build(redis_settings(&redis.url, &redis.prefix).redis_resync_seconds(3600.0));
    redis.raw.await_subscribers(&redis.prefix, 1);
    let channel = changes_channel(&redis.prefix);
    let mut times = Vec::new();
    for (text, on) in [("1", true), ("0", false), (&*window("raw").to_text(), true)] {
        redis.raw.set(&redis.key(), text);
        assert_eq!(redis.raw.publish(&channel, text), 1, "one subscriber");
        let took = await_on(&maint, on, Duration::from_secs(2), text);
        times.push(took);
        assert!(took < PROPAGATION_LIMIT, "{text:?} took {took:?}");
    }
    assert_eq!(maint.backend_problem(), None);
    println!("raw SET + PUBLISH seen after {times:?}");
}

/// A `SET` without announcement (a Django site, a person) is picked up by
/// the periodic re-read (`redis_resync_seconds`), and only by it.
#[actix_web::test]
async fn raw_set_without_publish_is_picked_up_by_the_resync() {
    let Some(redis) = redis::shared("backends::redis_backend::raw_set_without_publish") else {
        return;
    };
    let resyncing = build(redis_settings(&redis.url, &redis.prefix).redis_resync_seconds(0.2));
    let not_resyncing =
        build(redis_settings(&redis.url, &redis.prefix).redis_resync_seconds(3600.0));
    redis.raw.await_subscribers(&redis.prefix, 2);
    // Each (re)subscription triggers one read, just after the server has
    // counted it: let those happen before the SET, or they would see it.
    thread::sleep(Duration::from_millis(300));
    assert!(!resyncing.is_on() && !not_resyncing.is_on());

    redis.raw.set(&redis.key(), "1");
    let took = await_on(&resyncing, true, Duration::from_secs(1), "resync of 0.2 s");
    println!("a raw SET without PUBLISH was picked up after {took:?} (resync 0.2 s)");
    thread::sleep(Duration::from_millis(300));
    assert!(
        !not_resyncing.is_on(),
        "without an announcement, only the periodic re-read sees the change"
    );

    redis.raw.set(&redis.key(), "0");
    await_on(&resyncing, false, Duration::from_secs(1), "resync, off");
}

/// Two sites on one server, told apart by `redis_key_prefix`.
#[actix_web::test]
async fn two_prefixes_on_one_server_are_independent() {
    let Some(redis) = redis::shared("backends::redis_backend::two_prefixes") else {
        return;
    };
    let (first, second) = (redis.other_prefix("first"), redis.other_prefix("second"));
    let shop = build(redis_settings(&redis.url, &first));
    let blog = build(redis_settings(&redis.url, &second));
    let blog_too = build(redis_settings(&redis.url, &second));
    redis.raw.await_subscribers(&first, 1);
    redis.raw.await_subscribers(&second, 2);

    shop.set_maintenance_mode(true).await.unwrap();
    await_on(&blog_too, false, Duration::from_secs(1), "other prefix");
    thread::sleep(Duration::from_millis(200));
    assert!(
        !blog.is_on() && !blog_too.is_on(),
        "the other site is not in maintenance"
    );
    assert_eq!(redis.raw.get(&state_key(&second)), None);

    let scheduled = window("blog only");
    blog.set(scheduled.clone()).await.unwrap();
    await_on(&blog_too, true, Duration::from_secs(1), "same prefix");
    assert_eq!(blog_too.state(), scheduled);
    assert_eq!(shop.state(), MaintenanceState::On);
    assert_eq!(redis.raw.get(&state_key(&first)).as_deref(), Some("1"));
    assert_eq!(
        redis.raw.get(&state_key(&second)),
        Some(scheduled.to_text())
    );
}

// ---------------------------------------------------------------------------
// On a server of the test's own, stopped and started by it.

/// "Redis unreachable at start-up → the server starts, uses
/// state_backend_fallback_value, keeps retrying and picks up the state once
/// Redis is there", without any request or write.
#[actix_web::test]
async fn unreachable_at_startup_uses_the_fallback_then_picks_up_the_state() {
    let Some(mut redis) = OwnRedis::not_started("backends::redis_backend::unreachable_at_startup")
    else {
        return;
    };
    let prefix = unique_prefix("unreachable_at_startup");
    let started = Instant::now();
    let off = build(redis_settings(&redis.url(), &prefix));
    let on = build(redis_settings(&redis.url(), &prefix).state_backend_fallback_value(true));
    assert!(
        started.elapsed() < FAILURE_LIMIT,
        "building took {:?}",
        started.elapsed()
    );
    assert!(!off.is_on(), "state_backend_fallback_value false");
    assert!(on.is_on(), "state_backend_fallback_value true");
    for handle in [&off, &on] {
        let problem = handle.backend_problem().expect("the problem is reported");
        assert!(
            problem.contains("redis") && problem.contains(&format!("127.0.0.1:{}", redis.port())),
            "the problem names the server: {problem}"
        );
    }

    redis.seed(&state_key(&prefix), "1");
    redis.start();
    let arrived = Instant::now();
    let took = await_on(&off, true, RECONNECT_LIMIT, "after Redis arrived");
    await_no_problem(&off, RECONNECT_LIMIT, "fallback false");
    await_no_problem(&on, RECONNECT_LIMIT, "fallback true");
    assert!(on.is_on());
    assert_eq!(off.state(), MaintenanceState::On);
    println!(
        "the state stored in Redis was picked up {took:?} after it started ({:?} until both were clean)",
        arrived.elapsed()
    );
}

/// "Redis lost while running → keeps the last state, recovers on return."
#[actix_web::test]
async fn lost_redis_keeps_the_last_state_and_recovers() {
    let Some(mut redis) = OwnRedis::start_new("backends::redis_backend::lost_keeps_last_state")
    else {
        return;
    };
    let prefix = unique_prefix("lost_keeps_last_state");
    let maint = build(redis_settings(&redis.url(), &prefix));
    let other = build(redis_settings(&redis.url(), &prefix));
    redis.raw().await_subscribers(&prefix, 2);
    maint.set_maintenance_mode(true).await.unwrap();
    await_on(&other, true, Duration::from_secs(1), "before the loss");

    redis.kill();
    // Sample every millisecond: never off, while the loss gets reported.
    let lost = Instant::now();
    let mut problem = None;
    while lost.elapsed() < Duration::from_millis(1500) {
        assert!(
            maint.is_on() && other.is_on(),
            "the last state was not kept"
        );
        if problem.is_none() {
            problem = other.backend_problem();
        }
        thread::sleep(Duration::from_millis(1));
    }
    let problem = problem.expect("the loss is reported within 1.5 s");
    assert!(
        problem.contains("redis") && problem.contains(&redis.url()),
        "{problem}"
    );

    redis.start();
    let took = await_no_problem(&other, RECONNECT_LIMIT, "after the restart");
    await_no_problem(&maint, RECONNECT_LIMIT, "after the restart");
    assert!(other.is_on() && maint.is_on());
    println!("recovered {took:?} after Redis came back");

    maint.set_maintenance_mode(false).await.unwrap();
    await_on(
        &other,
        false,
        Duration::from_secs(1),
        "a set after recovery",
    );
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("0"));
}

/// "with `redis_keep_last_state = false` the fallback", and back to the
/// stored state on return.
#[actix_web::test]
async fn lost_redis_without_keep_last_state_uses_the_fallback() {
    let Some(mut redis) = OwnRedis::start_new("backends::redis_backend::lost_uses_fallback") else {
        return;
    };
    let prefix = unique_prefix("lost_uses_fallback");
    let settings = redis_settings(&redis.url(), &prefix).redis_keep_last_state(false);
    let to_off = build(settings.clone());
    let to_on = build(settings.state_backend_fallback_value(true));
    redis.raw().await_subscribers(&prefix, 2);
    to_off.set_maintenance_mode(true).await.unwrap();
    await_on(&to_on, true, Duration::from_secs(1), "before the loss");
    redis.kill();
    let took = await_on(&to_off, false, Duration::from_secs(2), "fallback false");
    assert!(to_off.backend_problem().unwrap().contains("redis"));
    println!("fell back {took:?} after Redis was killed");
    assert!(to_on.is_on(), "fallback true");

    redis.start();
    await_on(&to_off, true, RECONNECT_LIMIT, "the stored state is back");
    await_no_problem(&to_off, RECONNECT_LIMIT, "after the restart");
    await_no_problem(&to_on, RECONNECT_LIMIT, "after the restart");

    let scheduled = window("fallback check");
    to_on.set(scheduled.clone()).await.unwrap();
    poll_until(Duration::from_secs(1), || to_off.state() == scheduled)
        .expect("the schedule reaches the other instance");
}

/// "`set` while Redis is down is a clear error to the caller ... never a
/// silent drop": an error naming Redis, at once, and nothing changes.
#[actix_web::test]
async fn set_while_redis_is_down_is_an_error_and_changes_nothing() {
    let Some(mut redis) = OwnRedis::start_new("backends::redis_backend::set_while_down") else {
        return;
    };
    let prefix = unique_prefix("set_while_down");
    let maint = build(redis_settings(&redis.url(), &prefix));
    maint.set_maintenance_mode(true).await.unwrap();

    redis.kill();
    for attempt in ["set", "schedule", "guard"] {
        let started = Instant::now();
        let error = match attempt {
            "set" => maint.set_maintenance_mode(false).await.unwrap_err(),
            "schedule" => maint.set(window("down")).await.unwrap_err(),
            _ => maint.maintenance_off().unwrap_err(),
        };
        let took = started.elapsed();
        let message = error.to_string();
        println!("{attempt} while Redis is down failed after {took:?}: {message}");
        assert!(took < FAILURE_LIMIT, "{attempt} took {took:?}");
        assert!(
            message.contains("redis") && message.contains(&redis.url()),
            "{attempt}: the error names Redis: {message}"
        );
        assert!(!message.contains('\n'), "one line: {message:?}");
        assert_eq!(
            maint.state(),
            MaintenanceState::On,
            "{attempt} changed the state"
        );
    }

    redis.start();
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("1"));
    await_no_problem(&maint, RECONNECT_LIMIT, "after the restart");
    assert!(maint.is_on());
}

/// A server that accepts connections but never answers (here: stopped with
/// `SIGSTOP`) makes a `set` fail within seconds, not hang.
#[actix_web::test]
async fn set_against_a_frozen_redis_fails_within_seconds() {
    let Some(redis) = OwnRedis::start_new("backends::redis_backend::frozen") else {
        return;
    };
    let prefix = unique_prefix("frozen");
    let maint = build(redis_settings(&redis.url(), &prefix));
    maint.set_maintenance_mode(true).await.unwrap();

    signal(redis.pid(), "STOP");
    let started = Instant::now();
    let result = maint.set_maintenance_mode(false).await;
    let took = started.elapsed();
    // Looked at while the server is still frozen: once it resumes, the
    // timed-out write may be applied and announced, and the instance then
    // rightly follows it (checked below).
    let on_after_failure = maint.is_on();
    signal(redis.pid(), "CONT");
    let error = result.expect_err("a frozen server cannot store the state");
    println!("set against a frozen Redis failed after {took:?}: {error}");
    assert!(took < FAILURE_LIMIT, "took {took:?}");
    assert!(error.to_string().contains("redis"), "{error}");
    assert!(
        on_after_failure,
        "the snapshot is unchanged by a failed set"
    );
    // Whatever the server ends up holding (the timed-out write may still be
    // applied once it resumes: a timeout cannot tell), the instance follows it.
    thread::sleep(Duration::from_millis(300));
    let stored = redis.raw().get(&state_key(&prefix));
    println!(
        "after SIGCONT the server holds {stored:?}; the instance is_on() = {}",
        maint.is_on()
    );
    let stored_on = stored.as_deref() == Some("1");
    await_on(
        &maint,
        stored_on,
        RECONNECT_LIMIT,
        "following the stored state",
    );
}

/// "Measure that requests issue no Redis commands": `INFO commandstats`
/// before and after 1,000 requests through the middleware, with maintenance
/// on and with it off, shows no command but the `INFO` itself.
#[actix_web::test]
async fn requests_issue_no_redis_commands() {
    let Some(redis) = OwnRedis::start_new("backends::redis_backend::requests_issue_no_commands")
    else {
        return;
    };
    let raw = redis.raw();
    let prefix = unique_prefix("requests_issue_no_commands");
    // A long resync, so the refresher's periodic GET cannot fall in the window.
    let maint = build(redis_settings(&redis.url(), &prefix).redis_resync_seconds(3600.0));
    raw.await_subscribers(&prefix, 1);
    let app = app::start(&maint).await;

    for on in [true, false] {
        maint.set_maintenance_mode(on).await.unwrap();
        // Let the echo of our own announcement (one GET) settle.
        let mut before = raw.command_calls();
        poll_until(Duration::from_secs(2), || {
            thread::sleep(Duration::from_millis(100));
            let now = raw.command_calls();
            let settled = command_calls_diff(&before, &now)
                .keys()
                .all(|c| c == "info");
            before = now;
            settled
        })
        .expect("the server's command counts settle");

        let before = raw.command_calls();
        let started = Instant::now();
        for i in 0..1_000 {
            let path = ["/", "/api/status", "/admin/", "/state"][i % 4];
            let out = app.get(path).await;
            let expected = if on {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            assert_eq!(out.status, expected, "{path}: {out:?}");
        }
        let elapsed = started.elapsed();
        let after = raw.command_calls();
        let issued = command_calls_diff(&before, &after);
        println!(
            "maintenance {}: 1,000 requests in {elapsed:?}; GET calls before {:?}, after {:?}; commands issued meanwhile: {issued:?}",
            if on { "on" } else { "off" },
            before.get("get"),
            after.get("get"),
        );
        assert_eq!(before.get("get"), after.get("get"), "requests issued GETs");
        assert!(
            issued.keys().all(|command| command == "info"),
            "requests issued Redis commands: {issued:?}"
        );
    }

    // The measure sees a read when there is one, and exactly its commands:
    // one pipeline measuring the state (STRLEN) and asking the change key's
    // TYPE; the change's STRLEN only when that key is a string; then one
    // atomic fetch (MULTI, GET state, [GET change], EXEC); then the TYPE of
    // the hosts' hash (issue 13), which is all while no host has a state of
    // its own. Nothing else, and nothing written.
    let change_key = format!("{prefix}:change");
    async fn reload_commands(
        maint: &MaintenanceMode,
        raw: &redis::Raw,
        what: &str,
    ) -> std::collections::BTreeMap<String, u64> {
        let before = raw.command_calls();
        maint.reload().await;
        let issued = command_calls_diff(&before, &raw.command_calls());
        println!("a reload with {what} issued {issued:?}");
        assert!(
            issued
                .keys()
                .all(|command| ["info", "strlen", "type", "multi", "get", "exec"]
                    .contains(&command.as_str())),
            "{what}: {issued:?}"
        );
        assert_eq!(issued.get("type"), Some(&2), "{what}: {issued:?}");
        assert_eq!(issued.get("multi"), Some(&1), "{what}: {issued:?}");
        assert_eq!(issued.get("exec"), Some(&1), "{what}: {issued:?}");
        issued
    }
    // The last `set` stored a change: a string.
    let issued = reload_commands(&maint, &raw, "a change record").await;
    assert_eq!(issued.get("strlen"), Some(&2), "{issued:?}");
    assert_eq!(issued.get("get"), Some(&2), "{issued:?}");
    // No change key: not measured, but fetched in the transaction (a nil),
    // so a write landing after TYPE cannot leave its state without its change.
    raw.del(&change_key).unwrap();
    let issued = reload_commands(&maint, &raw, "no change key").await;
    assert_eq!(issued.get("strlen"), Some(&1), "{issued:?}");
    assert_eq!(issued.get("get"), Some(&2), "{issued:?}");
    // A change key of another type: neither measured nor fetched either.
    let _: u64 = raw
        .query(::redis::cmd("RPUSH").arg(&change_key).arg("x"))
        .unwrap();
    let issued = reload_commands(&maint, &raw, "a list under the change key").await;
    assert_eq!(issued.get("strlen"), Some(&1), "{issued:?}");
    assert_eq!(issued.get("get"), Some(&1), "{issued:?}");
    assert!(!maint.is_on() && maint.backend_problem().is_none());
    raw.del(&change_key).unwrap();
}

// ---------------------------------------------------------------------------
// Issue 9: hardening.

/// A 2 MB value in Redis is refused by size (without fetching it), and no
/// message copies it: the error and the handle's problem are short.
#[actix_web::test]
async fn huge_value_is_refused_and_never_copied_into_messages() {
    let Some(redis) = redis::shared("backends::redis_backend::huge_value") else {
        return;
    };
    let garbage = "garbage-".repeat(2 * 1024 * 1024 / 8);
    redis.raw.set(&redis.key(), &garbage);
    let backend = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
    let error = maint_actix::backend::StateBackend::get(&backend)
        .await
        .unwrap_err();
    let message = error.to_string();
    println!("{message}");
    assert!(
        matches!(error, maint_actix::backend::BackendError::Corrupted { .. }),
        "{error:.300}"
    );
    assert!(
        message.len() < 300,
        "{} bytes: {message:.400}",
        message.len()
    );
    assert!(message.contains("65536"), "names the limit: {message}");
    assert!(!message.contains(&"garbage-".repeat(6)), "{message:.400}");

    let maint = build(redis_settings(&redis.url, &redis.prefix).state_backend_fallback_value(true));
    assert!(maint.is_on(), "the fallback value");
    let problem = maint.backend_problem().expect("the problem is reported");
    assert!(
        problem.len() < 300,
        "{} bytes: {problem:.400}",
        problem.len()
    );

    // Under the limit but not a state: a short, escaped prefix.
    redis
        .raw
        .set(&redis.key(), &format!("bad\n{}", "y".repeat(60_000)));
    let message = maint_actix::backend::StateBackend::get(&backend)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.len() < 300,
        "{} bytes: {message:.400}",
        message.len()
    );
    assert!(message.contains(r"bad\n"), "{message}");
    assert!(!message.contains(&"y".repeat(60)), "{message:.400}");
}

/// An invalid `redis_url` (a port out of range: the URL does not parse) is
/// named without its password, as is a valid one.
#[test]
fn errors_never_show_the_password_of_the_url() {
    for url in [
        "redis://user:secret@127.0.0.1:99999",
        "redis://user:secret@127.0.0.1:99999/0",
        "redis://:secret@[::1",
        "rediss://secret@127.0.0.1:6379/x/y",
        "user:secret@127.0.0.1:6379",
    ] {
        let error = MaintenanceMode::new(redis_settings(url, "maint:test:password"))
            .expect_err("an invalid redis_url");
        let message = error.to_string();
        println!("{url}: {message}");
        assert!(message.contains("redis_url"), "{message}");
        assert!(!message.contains("secret"), "{url}: {message}");
        let error = RedisBackend::new(url, "maint:test:password").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{url}: {error}");
        assert!(!format!("{error:?}").contains("secret"), "{url}: {error:?}");
    }
    // A valid URL to a server that is not there: the unavailability names it, without the password.
    let url = format!("redis://user:secret@127.0.0.1:{}/0", free_port());
    let maint = build(redis_settings(&url, "maint:test:password"));
    let problem = maint.backend_problem().expect("nobody listens");
    assert!(
        problem.contains("127.0.0.1") && !problem.contains("secret"),
        "{problem}"
    );
    let error = maint.set_maintenance_mode_blocking(true).unwrap_err();
    assert!(!error.to_string().contains("secret"), "{error}");
    assert!(!format!("{maint:?}").contains("secret"), "{maint:?}");
}

/// A Redis that loses its data (`FLUSHALL`, or a restart without
/// persistence) during maintenance must not end it: a missing key is
/// unknown, the instances keep the last known state and say so, until
/// someone sets the state, which stores "off" as `0`.
#[actix_web::test]
async fn lost_data_keeps_the_last_known_state_until_it_is_set() {
    let Some(mut redis) = OwnRedis::start_new("backends::redis_backend::lost_data") else {
        return;
    };
    let prefix = unique_prefix("lost_data");
    let settings = redis_settings(&redis.url(), &prefix).redis_resync_seconds(0.1);
    let maint = build(settings.clone());
    let other = build(settings.clone().redis_keep_last_state(false));
    redis.raw().await_subscribers(&prefix, 2);
    maint.set_maintenance_mode(true).await.unwrap();
    await_on(&other, true, Duration::from_secs(1), "before the loss");

    redis.raw().flushall();
    let flushed = Instant::now();
    let mut problem = None;
    while flushed.elapsed() < Duration::from_millis(1000) {
        assert!(
            maint.is_on() && other.is_on(),
            "a flushed Redis ended maintenance"
        );
        if problem.is_none() {
            problem = other.backend_problem();
        }
        thread::sleep(Duration::from_millis(1));
    }
    let problem = problem.expect("the missing state is reported");
    println!("after FLUSHALL: {problem}");
    assert!(problem.contains("no maintenance state"), "{problem}");
    assert!(
        problem.contains(&state_key(&prefix)),
        "names the key: {problem}"
    );

    // A restart without persistence: the same.
    redis.kill();
    redis.wipe_data();
    redis.start();
    await_problem_about(&other, "no maintenance state", RECONNECT_LIMIT);
    thread::sleep(Duration::from_millis(300));
    assert!(
        maint.is_on() && other.is_on(),
        "an emptied Redis ended maintenance"
    );
    assert_eq!(redis.raw().get(&state_key(&prefix)), None);

    // An instance that never knew a state uses the fallback value.
    let newcomer = build(settings.clone().state_backend_fallback_value(true));
    assert!(newcomer.is_on(), "the fallback value");
    let newcomer_off = build(settings.clone());
    assert!(!newcomer_off.is_on(), "the fallback value");
    assert!(newcomer_off.backend_problem().is_some());

    // Setting the state ends the uncertainty; off is stored as "0".
    maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(redis.raw().get(&state_key(&prefix)).as_deref(), Some("0"));
    for handle in [&maint, &other, &newcomer] {
        await_on(handle, false, Duration::from_secs(1), "after the set");
        await_no_problem(handle, Duration::from_secs(1), "after the set");
    }
}

/// Polls (bounded) until the handle's problem is about `needle` (and not, say,
/// an unreachable server).
#[track_caller]
fn await_problem_about(handle: &MaintenanceMode, needle: &str, limit: Duration) {
    poll_until(limit, || {
        handle
            .backend_problem()
            .is_some_and(|problem| problem.contains(needle))
    })
    .unwrap_or_else(|| {
        panic!(
            "the problem did not become {needle:?} within {limit:?}: {:?}",
            handle.backend_problem()
        )
    });
}

/// The command on a key that holds nothing: `status` says it is unknown,
/// and `off` is not "already off": it stores `0`.
#[test]
fn command_on_a_missing_key_says_unknown_and_off_stores_0() {
    use maint_actix::command::MaintenanceModeCommand;

    let Some(redis) = redis::shared("backends::redis_backend::command_on_a_missing_key") else {
        return;
    };
    let maint = build(redis_settings(&redis.url, &redis.prefix));
    let run = |state: &str| {
        let command = MaintenanceModeCommand {
            state: state.to_owned(),
            start: None,
            end: None,
            interactive: false,
            ..Default::default()
        };
        let mut output = Vec::new();
        command
            .run(&maint, &mut std::io::empty(), &mut output)
            .unwrap_or_else(|e| panic!("{state}: {e}"));
        String::from_utf8(output).expect("UTF-8")
    };
    let status = run("status");
    assert!(status.starts_with("unknown ("), "{status}");
    assert!(status.contains(&redis.key()), "{status}");
    assert_eq!(status.lines().count(), 1, "{status}");
    run("off");
    assert_eq!(redis.raw.get(&redis.key()).as_deref(), Some("0"));
    // Issue 12: with the change the command recorded.
    let status = run("status");
    let change = status
        .strip_prefix("off (changed ")
        .and_then(|rest| rest.strip_suffix(" via command)\n"))
        .unwrap_or_else(|| panic!("{status:?}"));
    let (at, by) = change
        .split_once(" by ")
        .unwrap_or_else(|| panic!("{status:?}"));
    let at: jiff::Timestamp = at.parse().unwrap_or_else(|e| panic!("{at:?}: {e}"));
    assert!(
        jiff::Timestamp::now().duration_since(at) < jiff::SignedDuration::from_secs(60),
        "{status:?}"
    );
    assert!(by.contains('@'), "user@host: {status:?}");
}

// ---------------------------------------------------------------------------
// Issue 12: the change kept under `{prefix}:change`.

/// A change key holding another type (a list, a hash: another tool's key)
/// is no change, never an error of the state: the state reads as usual and
/// no problem is reported; the next `set` replaces it. (The read asks the
/// change key's `TYPE` first and measures and fetches it only when it is a
/// string: `STRLEN` or `GET` of a list answers `WRONGTYPE`.)
#[actix_web::test]
async fn a_change_key_of_another_type_is_no_change_never_an_error() {
    use maint_actix::{
        backend::StateBackend,
        change::{Change, StateRecord, Via},
    };

    let Some(redis) = redis::shared("backends::redis_backend::change_key_of_another_type") else {
        return;
    };
    let change_key = format!("{}:change", redis.prefix);
    let maint = build(redis_settings(&redis.url, &redis.prefix));
    maint
        .set_with_change(MaintenanceState::On, Change::new("ada", Via::Route))
        .await
        .unwrap();
    for (kind, command) in [
        (
            "list",
            ::redis::cmd("RPUSH").arg(&change_key).arg("x").clone(),
        ),
        (
            "hash",
            ::redis::cmd("HSET")
                .arg(&change_key)
                .arg("by")
                .arg("mallory")
                .clone(),
        ),
    ] {
        redis.raw.del(&change_key).unwrap();
        let _: u64 = redis
            .raw
            .query(&command)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let backend = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
        let read = backend.get_record().await.unwrap_or_else(|e| {
            panic!("a {kind} under {change_key} made the state unreadable: {e}")
        });
        assert_eq!(read, StateRecord::new(MaintenanceState::On), "{kind}");
        let other = build(redis_settings(&redis.url, &redis.prefix));
        assert!(other.is_on(), "{kind}");
        assert_eq!(other.backend_problem(), None, "{kind}");
        assert_eq!(other.last_change(), None, "{kind}");
    }
    let grace = Change::new("grace", Via::Route);
    maint
        .set_with_change(MaintenanceState::Off, grace.clone())
        .await
        .unwrap();
    let backend = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
    assert_eq!(
        backend.get_record().await.unwrap(),
        StateRecord::new(MaintenanceState::Off).with_change(grace)
    );
}

/// Issue 12: a read that races a write sees the old state with the old
/// change or the new state with the new change, never the new state
/// without its change: the write stores both in one transaction, so the
/// read must fetch both in one too. Otherwise an instance logs the change
/// twice, first without who (`old=off new=on`, no `by`), then again
/// (`old=on new=on by=...`), and tells its subscribers twice (seen in
/// `suite::redis_backend::a_change_reaches_another_handle_and_each_instance_logs_it_once`).
///
/// Fails today: the read asks the change key's `TYPE` first and, when the
/// key is missing (`none`), leaves the change out of its `MULTI ... EXEC`;
/// a write landing between the `TYPE` and the `MULTI` is read as the new
/// state with no change. Fetching the change whenever its type is `string`
/// or `none` (a `GET` of a missing key is nil) closes it.
#[actix_web::test]
async fn a_read_racing_a_write_never_sees_the_new_state_without_its_change() {
    use maint_actix::{
        backend::StateBackend,
        change::{Change, StateRecord, Via},
    };

    let Some(redis) = redis::shared("backends::redis_backend::read_racing_a_write") else {
        return;
    };
    let reader = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
    let writer = RedisBackend::new(&redis.url, &redis.prefix).unwrap();
    let mut torn = Vec::new();
    for i in 0..300 {
        // Off, without a change: no change key.
        writer.set(&MaintenanceState::Off).await.unwrap();
        let record = StateRecord::new(MaintenanceState::On)
            .with_change(Change::new(format!("writer-{i}"), Via::Api));
        let write = async { writer.set_record(&record).await.unwrap() };
        let reads = async {
            let mut seen = Vec::new();
            for _ in 0..20 {
                seen.push(reader.get_record().await.unwrap());
            }
            seen
        };
        let ((), seen) = tokio::join!(write, reads);
        torn.extend(
            seen.into_iter()
                .filter(|read| read.state == MaintenanceState::On && read.change.is_none()),
        );
        if !torn.is_empty() {
            println!("round {i}: the new state read without its change");
            break;
        }
    }
    assert_eq!(torn, [], "the new state without its change");
}

/// The keys of `status --json`, exactly (the example-site contract), sorted.
const STATUS_JSON_KEYS: [&str; 8] = [
    "changed_at",
    "changed_by",
    "end",
    "maintenance",
    "read_only",
    "reason",
    "start",
    "via",
];

/// `status --json` on a key that holds nothing: what instances start with
/// (`state_backend_fallback_value`), no change, exactly the contract's keys
/// (no `"problem"`), and why in a warning logged, not printed; once the
/// command sets the state, no warning and its change shows.
#[test]
fn status_json_on_a_missing_key_logs_why_and_shows_the_fallback() {
    use maint_actix::command::MaintenanceModeCommand;

    let Some(redis) = redis::shared("backends::redis_backend::status_json_missing_key") else {
        return;
    };
    let run = |maint: &MaintenanceMode, state: &str, json: bool| {
        let command = MaintenanceModeCommand {
            state: state.to_owned(),
            json,
            ..Default::default()
        };
        let mut output = Vec::new();
        command
            .run(maint, &mut std::io::empty(), &mut output)
            .unwrap_or_else(|e| panic!("{state}: {e}"));
        String::from_utf8(output).expect("UTF-8")
    };
    let parse = |output: &str| -> serde_json::Value {
        assert_eq!(output.lines().count(), 1, "{output:?}");
        let json: serde_json::Value =
            serde_json::from_str(output).unwrap_or_else(|e| panic!("{e}: {output}"));
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap_or_else(|| panic!("an object: {json}"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys, STATUS_JSON_KEYS,
            "exactly the contract's keys: {json}"
        );
        json
    };
    // This test's own warnings: the problem names its key.
    let log = crate::logs::capture();
    let warnings = || {
        log.lines_with("maintenance_mode status --json shows the fallback state")
            .into_iter()
            .filter(|line| line.contains(&redis.key()))
            .collect::<Vec<_>>()
    };
    for (fallback, logged) in [(false, 1), (true, 2)] {
        let maint =
            build(redis_settings(&redis.url, &redis.prefix).state_backend_fallback_value(fallback));
        let json = parse(&run(&maint, "status", true));
        assert_eq!(json["maintenance"], fallback, "{json}");
        assert_eq!(json["read_only"], false, "{json}");
        for key in ["changed_at", "changed_by", "via", "start", "end", "reason"] {
            assert_eq!(json[key], serde_json::Value::Null, "{key}: {json}");
        }
        let warnings = warnings();
        assert_eq!(
            warnings.len(),
            logged,
            "one warning per status --json: {warnings:#?}"
        );
        let warning = warnings.last().unwrap();
        assert!(warning.contains("WARN"), "{warning}");
        assert!(warning.contains("problem="), "{warning}");
        assert!(warning.contains("no maintenance state"), "{warning}");
    }
    let maint = build(redis_settings(&redis.url, &redis.prefix));
    run(&maint, "on", false);
    let json = parse(&run(&maint, "status", true));
    assert_eq!(json["maintenance"], true, "{json}");
    assert_eq!(json["via"], "command", "{json}");
    assert_eq!(warnings().len(), 2, "no warning once the state is stored");
    assert!(
        json["changed_by"]
            .as_str()
            .is_some_and(|by| by.contains('@')),
        "{json}"
    );
}
