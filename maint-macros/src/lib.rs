//! Handler attributes for [maint-actix](https://docs.rs/maint-actix).
//!
//! The `#[maintenance_off]` / `#[maintenance_on]` attributes arrive with the
//! handler-attributes work; this crate is the place they will live.
