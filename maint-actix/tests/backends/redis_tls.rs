//! The `redis` backend over TLS (`rediss://`), against a real TLS-only
//! `redis-server` with a CA generated in the test run (see
//! `maint_test_support::redis_tls`): the state round-trips and a change is
//! pushed to another instance through a subscription that is itself on TLS
//! (the server has no plain port); a server signed by another CA is refused
//! and the fallback applies, logged once; a bad `redis_ca_file` fails at
//! start naming the key. The shared suite also runs over TLS (`suite.rs`,
//! `redis_tls_backend`).

use std::time::{Duration, Instant};

use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, backend::RedisBackend,
    settings::StateBackendKind,
};
use maint_test_support::{
    app::build,
    poll::poll_until,
    redis::{state_key, unique_prefix},
    redis_tls::TlsRedis,
};

/// The product's bound on how fast an instance sees a change.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// How long refusing an untrusted server may take, at start or on a `set`.
const FAILURE_LIMIT: Duration = Duration::from_secs(5);

/// Settings of the `redis` backend on `url` under `prefix`, trusting `ca_file`.
fn tls_settings(url: &str, prefix: &str, ca_file: &std::path::Path) -> MaintenanceSettings {
    MaintenanceSettings::default()
        .state_backend(StateBackendKind::Redis)
        .redis_url(url)
        .redis_key_prefix(prefix)
        .redis_ca_file(ca_file)
}

/// `rediss://` + `redis_ca_file`: a set is stored (as Django's text) and
/// pushed to another instance within 100 ms; both instances' subscriptions
/// are on the TLS port, the server's only one.
#[actix_web::test]
async fn rediss_with_a_ca_file_round_trips_and_pushes_changes() {
    let Some(redis) = TlsRedis::start_new("backends::redis_tls::round_trips") else {
        return;
    };
    let prefix = unique_prefix("redis_tls_round_trips");
    let settings = tls_settings(&redis.url(), &prefix, &redis.ca().cert);
    let writer = build(settings.clone());
    // No resync for an hour: only the push can bring the change in time.
    let reader = build(settings.redis_resync_seconds(3600.0));
    let raw = redis.raw();
    raw.await_subscribers(&prefix, 2);
    // Reached over TLS: the only problem is that nothing is stored yet.
    let problem = reader.backend_problem().unwrap_or_default();
    assert!(problem.contains("no maintenance state stored"), "{problem}");

    writer.set_maintenance_mode(true).await.unwrap();
    let on = poll_until(Duration::from_secs(2), || reader.is_on())
        .unwrap_or_else(|| panic!("the reader did not follow: {:?}", reader.backend_problem()));
    assert_eq!(raw.get(&state_key(&prefix)).as_deref(), Some("1"));
    assert_eq!(
        pollster::block_on(writer.backend().get()).unwrap(),
        MaintenanceState::On
    );
    writer.set_maintenance_mode(false).await.unwrap();
    let off =
        poll_until(Duration::from_secs(2), || !reader.is_on()).expect("the reader follows off");
    assert_eq!(raw.get(&state_key(&prefix)).as_deref(), Some("0"));
    println!("over TLS another instance followed the set within {on:?} (on), {off:?} (off)");
    assert!(
        on < PROPAGATION_LIMIT && off < PROPAGATION_LIMIT,
        "{on:?} {off:?}"
    );
}

/// A server whose certificate another CA signed is refused: the handle
/// starts at once on the fallback value, names the TLS reason (never the
/// URL's password), logs it once however often it retries, and a `set`
/// fails within seconds. Without `redis_ca_file` the system's roots are
/// used, which do not hold the test's CA: refused the same way.
#[actix_web::test]
async fn a_server_signed_by_another_ca_is_refused_and_the_fallback_applies() {
    let Some(redis) = TlsRedis::start_new("backends::redis_tls::another_ca") else {
        return;
    };
    let log = crate::logs::capture();
    let other = redis.other_ca("other-ca");
    let url = format!("rediss://:secret@127.0.0.1:{}", redis.port());
    for (what, ca_file) in [("another CA", Some(&other.cert)), ("system roots", None)] {
        let prefix = unique_prefix("redis_tls_another_ca");
        let mut settings = tls_settings(&url, &prefix, &other.cert)
            .state_backend_fallback_value(true)
            .redis_resync_seconds(0.1);
        settings.redis_ca_file = ca_file.cloned();
        let started = Instant::now();
        let maint = build(settings);
        assert!(
            started.elapsed() < FAILURE_LIMIT,
            "{what}: {:?}",
            started.elapsed()
        );
        assert!(maint.is_on(), "{what}: the fallback value applies");
        let problem = maint.backend_problem().expect("the server is refused");
        println!("{what}: {problem}");
        assert!(
            problem.contains("certificate"),
            "{what}: the TLS reason: {problem}"
        );
        assert!(!problem.contains("secret"), "{what}: {problem}");

        let set = Instant::now();
        let error = maint.set_maintenance_mode(false).await.unwrap_err();
        assert!(set.elapsed() < FAILURE_LIMIT, "{what}: {:?}", set.elapsed());
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(maint.is_on(), "{what}: still the fallback value");

        // Several resyncs (every 100 ms) fail the same way: still one line.
        std::thread::sleep(Duration::from_millis(600));
        let lines = log.lines_with(&state_key(&prefix));
        assert_eq!(lines.len(), 1, "{what}: logged once: {lines:#?}");
        assert!(
            lines[0].contains("WARN") && lines[0].contains("certificate"),
            "{lines:?}"
        );
        assert!(!lines[0].contains("secret"), "{lines:?}");
    }
    assert!(
        redis.raw().get(&state_key("never-written")).is_none(),
        "the server itself was fine all along"
    );
}

/// A `redis_ca_file` that cannot be used fails at start, in one line naming
/// the key (and never the URL's password): a missing file, a file without a
/// certificate, a certificate that does not parse, a CA for a `redis://` URL.
#[test]
fn a_bad_redis_ca_file_fails_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let key_only = dir.path().join("key.pem");
    std::fs::write(
        &key_only,
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ6yNQ==\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let garbled = dir.path().join("garbled.pem");
    std::fs::write(
        &garbled,
        "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let tls = "rediss://:secret@127.0.0.1:6380";
    for (url, file, expected) in [
        (tls, &missing, "missing.pem"),
        (tls, &empty, "no PEM certificate"),
        (tls, &key_only, "no PEM certificate"),
        (tls, &garbled, "not a PEM certificate"),
        ("redis://:secret@127.0.0.1:6379", &garbled, "not rediss://"),
    ] {
        let error = MaintenanceMode::new(tls_settings(url, "maint:test:ca", file))
            .expect_err("a bad redis_ca_file");
        let message = error.to_string();
        println!("{}: {message}", file.display());
        assert!(message.contains("redis_ca_file"), "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
    // The library call refuses the same PEM, and a CA without TLS.
    let garbled_pem = std::fs::read(&garbled).unwrap();
    for url in [tls, "redis://127.0.0.1:6379"] {
        let error = RedisBackend::with_ca_pem(url, "maint:test:ca", &garbled_pem).unwrap_err();
        assert!(error.to_string().contains("redis_ca_file"), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
