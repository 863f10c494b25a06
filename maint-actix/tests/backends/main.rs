//! The state backends: one suite of checks over every backend (`suite`),
//! then the `local_file` backend through the middleware (`state_file`) and
//! the `redis` backend against a real Redis (`redis_backend`) and over TLS
//! (`redis_tls`), the `postgres` backend against a real PostgreSQL
//! (`postgres_backend`), and the file backend's OS notifications
//! (`file_watch`). `logs`
//! captures what maint logs, for the audit line of issue 12.
//!
//! The Redis tests use the server `MAINT_REDIS_URL` names, or a
//! `redis-server` of their own; without them they skip loudly, or fail when
//! `CI` is set (see `maint_test_support::redis`). The PostgreSQL tests do
//! the same with `MAINT_DATABASE_URL` and PostgreSQL's programs (see
//! `maint_test_support::postgres`).

mod file_watch;
mod logs;
mod postgres_backend;
mod redis_backend;
mod redis_tls;
mod state_file;
mod suite;
