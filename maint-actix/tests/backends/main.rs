//! The state backends: one suite of checks over every backend (`suite`),
//! then the `local_file` backend through the middleware (`state_file`) and
//! the `redis` backend against a real Redis (`redis_backend`), and the file
//! backend's OS notifications (`file_watch`). `logs`
//! captures what maint logs, for the audit line of issue 12.
//!
//! The Redis tests use the server `MAINT_REDIS_URL` names, or a
//! `redis-server` of their own; without them they skip loudly, or fail when
//! `CI` is set (see `maint_test_support::redis`).

mod file_watch;
mod logs;
mod redis_backend;
mod state_file;
mod suite;
