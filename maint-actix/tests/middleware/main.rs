//! The library through the maintenance middleware, in process: requests to a
//! small app (`maint_test_support::app`) behind the middleware and cookie
//! sessions, on the memory backend unless a test says otherwise.
//!
//! One test binary, a module each: the on/off basics, the request and user
//! exemptions, the handler attributes, scheduled windows, settings
//! validation, the maintenance response, the template helper and the toggle
//! routes.

mod basics;
mod handler_attributes;
mod requests;
mod response;
mod schedule;
mod settings_validation;
mod template_helper;
mod toggle_routes;
mod users;
