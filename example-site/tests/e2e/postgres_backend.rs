//! End-to-end: the real `example-site` binary on the `postgres` backend
//! (`[maintenance] state_backend = "postgres"`, `database_url`): two
//! instances switched by the command from another process, and a config
//! without `database_url` refused at start.
//!
//! Each test uses a database of its own on the shared server
//! (`MAINT_DATABASE_URL`; see `maint_test_support::postgres`). Every wait is
//! bounded.

use std::time::{Duration, Instant};

use maint_test_support::{
    poll::poll_until,
    postgres,
    site::{Server, agent, toml_string},
};

use crate::EXAMPLE_SITE;

/// The contract's bound: the serving site sees the command's change this soon.
const CONTRACT_LIMIT: Duration = Duration::from_secs(1);

/// The `[maintenance]` lines of a site on the database at `url`.
fn postgres_config(url: &str) -> String {
    format!(
        "state_backend = \"postgres\"\ndatabase_url = {}",
        toml_string(url)
    )
}

/// The status of an anonymous `GET /`.
fn home_status(server: &Server) -> u16 {
    match agent(Duration::from_secs(5)).get(&server.url("/")).call() {
        Ok(response) => response.status().as_u16(),
        Err(error) => panic!("{}: {error}", server.url("/")),
    }
}

/// Polls until both servers answer `status`; the time from `since`.
#[track_caller]
fn await_status(servers: &[Server], status: u16, since: Instant) -> Duration {
    for server in servers {
        poll_until(CONTRACT_LIMIT * 3, || home_status(server) == status).unwrap_or_else(|| {
            panic!(
                "{} did not answer {status}; its stderr:\n{}",
                server.url("/"),
                server.stderr()
            )
        });
    }
    since.elapsed()
}

/// `maintenance_mode on` from another process: both serving instances answer
/// 503 within 1 s of the command's exit (in practice milliseconds: NOTIFY),
/// and 200 after `off`; the row holds Django's text.
#[test]
fn instances_follow_the_command_within_a_second() {
    let Some(db) = postgres::shared("e2e::postgres_backend::follow_the_command") else {
        return;
    };
    let site = EXAMPLE_SITE.site(&postgres_config(&db.url));
    let servers = [site.start(), site.start()];
    db.raw().await_listeners(2);
    await_status(&servers, 200, Instant::now());

    for (word, status, stored) in [("on", 503, "1"), ("off", 200, "0"), ("on", 503, "1")] {
        let run = site.command(&[word]);
        run.assert_success();
        let took = await_status(&servers, status, run.exited);
        println!("`maintenance_mode {word}`: both instances answered {status} after {took:?}");
        assert!(took < CONTRACT_LIMIT, "{word}: {took:?}");
        assert_eq!(db.raw().state("").as_deref(), Some(stored));
        assert_eq!(site.status(), word);
    }
    let run = site.command(&["off"]);
    run.assert_success();
    await_status(&servers, 200, run.exited);
}

/// `state_backend = "postgres"` without `database_url`: the site does not
/// start, and says which key is missing in one line.
#[test]
fn a_postgres_site_without_database_url_does_not_start() {
    let site = EXAMPLE_SITE.site("state_backend = \"postgres\"");
    let run = site.serve_expecting_exit();
    let line = run.assert_one_line_failure();
    assert!(line.contains("database_url"), "{line}");
    let run = site.command(&["status"]);
    let line = run.assert_one_line_failure();
    assert!(line.contains("database_url"), "{line}");
}
