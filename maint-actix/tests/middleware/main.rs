//! The library through the maintenance middleware, in process: requests to a
//! small app (`maint_test_support::app`) behind the middleware and cookie
//! sessions, on the memory backend unless a test says otherwise.
//!
//! One test binary, a module each: the on/off basics, the request and user
//! exemptions, the handler attributes, scheduled windows, settings
//! validation, the maintenance response, the template helper, the toggle
//! routes, the maintenance day of issue 11 (read-only mode, the bypass
//! link, health checks), and issue 12's status page and public status JSON.

mod basics;
mod handler_attributes;
mod maintenance_day;
mod requests;
mod response;
mod schedule;
mod settings_validation;
mod status_page;
mod template_helper;
mod toggle_routes;
mod users;
