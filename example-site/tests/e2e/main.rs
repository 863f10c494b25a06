//! End-to-end tests of the real `example-site` binary, as
//! `/work/shared/example-site-contract.md` describes it: servers on loopback
//! ports driven over HTTP, and `maintenance_mode` commands, each site in a
//! temporary directory of its own (`maint_test_support::site`).
//!
//! One test binary, a module each: the command line, the routes, the
//! maintenance response, the config keys, the toggle routes, the hardening
//! regressions, a maintenance day (bypass link, read-only mode, reason,
//! `--for`, health checks, `Refresh`), the operator's view (the status page,
//! the public status JSON, `status --json`, the record and log of every
//! change, the background ticker), the `redis` backend (on the server
//! `MAINT_REDIS_URL` names, or a `redis-server` of the test's own) and the
//! `postgres` backend (a database of the test's own on the server
//! `MAINT_DATABASE_URL` names).

mod command;
mod hardening;
mod maintenance_day;
mod operator;
mod per_host;
mod postgres_backend;
mod redis_backend;
mod response;
mod routes;
mod settings;
mod toggle;

use maint_test_support::site::ExampleSite;

/// The binary under test; cargo builds it before this test binary.
const EXAMPLE_SITE: ExampleSite = ExampleSite::new(env!("CARGO_BIN_EXE_example-site"));
