//! What the tests of the maint workspace share. Not published; a
//! dev-dependency of `maint-actix` and `example-site`.
//!
//! - [`process`]: child processes with a time bound, free loopback ports,
//!   output captured as it comes.
//! - [`poll`]: waiting for a condition with a deadline (blocking or async),
//!   and running a call with a time bound.
//! - [`redis`]: the Redis server `MAINT_REDIS_URL` names, `redis-server`s of
//!   a test's own, and a raw client.
//! - [`postgres`]: a database of the test's own on the server
//!   `MAINT_DATABASE_URL` names, PostgreSQL clusters of a test's own, and a
//!   raw client.
//! - [`redis_tls`]: a TLS-only `redis-server` of a test's own, with a CA and
//!   a server certificate that `openssl` generates in the test run.
//! - [`site`]: the driver of the real `example-site` binary: a site directory
//!   with its config, running servers, an HTTP client with a cookie jar.
//! - [`login`]: the users the tests log in as, the session cookie, the
//!   toggle page's CSRF token.
//! - [`app`]: a small actix-web app behind the maintenance middleware, called
//!   in process, and what a test sees of its responses.
//!
//! Every wait is bounded: a test that waits for something that never comes
//! fails with what it saw, it does not hang.
//!
//! Tests that need a service (Redis, PostgreSQL, a browser) skip with a loud line outside
//! CI, and fail in CI ([`in_ci`]), so CI never skips them silently.

pub mod app;
pub mod login;
pub mod poll;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod redis_tls;
pub mod site;

/// Whether the tests run in CI (`CI` set and not empty), where the services
/// the tests need (Redis, Chromium) must be there: a test that cannot reach
/// one fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| !value.is_empty())
}
