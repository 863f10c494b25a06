//! Routes marked `#[maintenance_off]` / `#[maintenance_on]`, as the middleware
//! can tell before routing.
//!
//! The middleware decides before actix-web routes the request, and actix-web's
//! only view of the routes before routing is its `ResourceMap`, which matches
//! by path alone. So a marking is registered as an unreachable *marker route*
//! `{pattern}/__maint__/{METHOD}` (or `{pattern}/__maint__/{method}` for every
//! method), named `__maint_off__` or `__maint_on__`, in the same scope as the
//! route it marks. A request for `{path}` with method `M` is for a marked route
//! exactly when the `ResourceMap` resolves `{path}/__maint__/{M}` to a marker.
//!
//! Markers are registered when the app is built, so the middleware knows every
//! marked route from the first request. The handler attributes register them
//! when written above a route macro; a route registered by hand is marked with
//! [`off`] (`#[maintenance_on]` works on such a handler as it is: it answers
//! for itself):
//!
//! ```
//! use actix_web::{App, HttpResponse, http::Method, test, web};
//! use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind, marked};
//!
//! async fn ping() -> HttpResponse {
//!     HttpResponse::Ok().body("pong")
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let maint = MaintenanceMode::new(
//!     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
//! )?;
//! maint.set_maintenance_mode(true).await?;
//! let app = test::init_service(
//!     App::new()
//!         .service(web::resource("/ping").route(web::get().to(ping)))
//!         .service(marked::off("/ping").method(Method::GET))
//!         .wrap(maint.middleware()),
//! )
//! .await;
//! let res = test::call_service(&app, test::TestRequest::get().uri("/ping").to_request()).await;
//! assert_eq!(res.status(), 200);
//! let res = test::call_service(&app, test::TestRequest::post().uri("/ping").to_request()).await;
//! assert_eq!(res.status(), 503);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Limits: a catch-all route (`/{tail:.*}`) registered before a marker in the
//! same scope hides it; guards other than the method are not looked at.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use actix_web::{
    HttpRequest, HttpResponse,
    dev::{AppService, HttpServiceFactory},
    guard,
    http::Method,
    web,
};

pub use crate::decision::Force;

/// Path segment of marker routes.
const MARKER_SEGMENT: &str = "__maint__";
const MARKER_NAME_OFF: &str = "__maint_off__";
const MARKER_NAME_ON: &str = "__maint_on__";

/// Whether any app of this process registered a marker; until one does, the
/// lookup costs nothing.
static ANY_MARKED: AtomicBool = AtomicBool::new(false);

/// Marks the route at `pattern`, in the scope this is registered in, as
/// `#[maintenance_off]`: served even during maintenance. Every method, unless
/// narrowed with [`MarkedRoute::method`]. Register it next to the route; see
/// the [module docs](self) for an example.
pub fn off(pattern: impl Into<String>) -> MarkedRoute {
    MarkedRoute::new(Force::Off, pattern.into())
}

/// The marking of a route registered by hand; created by [`off`] and
/// registered with `.service(..)` in the route's scope.
#[derive(Debug, Clone)]
#[must_use = "a marking does nothing until it is registered with .service(..)"]
pub struct MarkedRoute {
    force: Force,
    pattern: String,
    methods: Vec<Method>,
}

impl MarkedRoute {
    fn new(force: Force, pattern: String) -> Self {
        Self {
            force,
            pattern,
            methods: Vec::new(),
        }
    }

    /// Narrows the marking to `method` (call it once per method); without it
    /// every method of the route is marked.
    pub fn method(mut self, method: Method) -> Self {
        self.methods.push(method);
        self
    }

    fn marker_patterns(&self) -> Vec<String> {
        let base = format!("{}/{MARKER_SEGMENT}/", self.pattern);
        if self.methods.is_empty() {
            return vec![format!("{base}{{method}}")];
        }
        self.methods
            .iter()
            .map(|method| format!("{base}{method}"))
            .collect()
    }
}

impl HttpServiceFactory for MarkedRoute {
    fn register(self, config: &mut AppService) {
        let name = match self.force {
            Force::Off => MARKER_NAME_OFF,
            Force::On => MARKER_NAME_ON,
        };
        for pattern in self.marker_patterns() {
            // Found by the ResourceMap, never routed to.
            web::resource(pattern)
                .name(name)
                .guard(guard::fn_guard(|_| false))
                .to(HttpResponse::NotFound)
                .register(config);
        }
        ANY_MARKED.store(true, Ordering::Release);
    }
}

/// Registers the marker routes of a handler marked above its route macros:
/// each `(pattern, methods)` of its routes (called by the attributes' expansion).
#[doc(hidden)]
pub fn register_markers(config: &mut AppService, force: Force, routes: &[(&str, &[&str])]) {
    for (pattern, methods) in routes {
        let mut marked = MarkedRoute::new(force, (*pattern).to_owned());
        for method in *methods {
            // The route macro has already refused a method that is not a token.
            if let Ok(method) = Method::from_bytes(method.as_bytes()) {
                marked = marked.method(method);
            }
        }
        marked.register(config);
    }
}

/// How many paths a worker remembers the marker lookup of.
const CACHE_PATHS: usize = 1024;
/// Longer paths are looked up every time: remembering them would let a client
/// fill the memory with a few requests.
const CACHE_PATH_BYTES: usize = 256;

/// What the marker lookup found for one path, per standard method.
type MarkingsByMethod = Vec<(Method, Option<Force>)>;

/// The marker lookups of one worker: an app's routes are fixed once it runs,
/// so each path and method is looked up in the `ResourceMap` once. Bounded
/// whatever clients send: at most [`CACHE_PATHS`] paths of at most
/// [`CACHE_PATH_BYTES`] bytes, each with at most the nine standard methods
/// (any other method token is looked up every time, never remembered).
#[derive(Debug, Default)]
pub(crate) struct MarkerCache {
    paths: RefCell<HashMap<String, MarkingsByMethod>>,
}

impl MarkerCache {
    /// The marking of the route that `req` will be routed to, if any.
    pub(crate) fn force_for(&self, req: &HttpRequest) -> Option<Force> {
        if !ANY_MARKED.load(Ordering::Acquire) {
            return None;
        }
        let path = req.match_info().as_str();
        let method = req.method();
        if let Some(known) = self.known(path, method) {
            return known;
        }
        let force = marker_route_force(req);
        if path.len() <= CACHE_PATH_BYTES && is_standard(method) {
            self.remember(path, method, force);
        }
        force
    }

    fn known(&self, path: &str, method: &Method) -> Option<Option<Force>> {
        let paths = self.paths.borrow();
        let methods = paths.get(path)?;
        methods
            .iter()
            .find(|(known, _)| known == method)
            .map(|(_, force)| *force)
    }

    fn remember(&self, path: &str, method: &Method, force: Option<Force>) {
        let mut paths = self.paths.borrow_mut();
        if paths.len() >= CACHE_PATHS && !paths.contains_key(path) {
            // Paths with ids in them would fill it for good: start over.
            paths.clear();
        }
        paths
            .entry(path.to_owned())
            .or_default()
            .push((method.clone(), force));
    }

    /// Bytes held by remembered paths and entries, for the bound's tests.
    #[cfg(test)]
    fn footprint(&self) -> (usize, usize) {
        let paths = self.paths.borrow();
        let entries = paths.values().map(Vec::len).sum();
        let bytes = paths.keys().map(String::len).sum();
        (entries, bytes)
    }
}

fn is_standard(method: &Method) -> bool {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::PATCH,
        Method::TRACE,
    ]
    .contains(method)
}

fn marker_route_force(req: &HttpRequest) -> Option<Force> {
    let path = req.match_info().as_str();
    let method = req.method().as_str();
    let mut probe = String::with_capacity(path.len() + MARKER_SEGMENT.len() + method.len() + 2);
    probe.push_str(path);
    probe.push('/');
    probe.push_str(MARKER_SEGMENT);
    probe.push('/');
    probe.push_str(method);
    match req.resource_map().match_name(&probe)? {
        MARKER_NAME_OFF => Some(Force::Off),
        MARKER_NAME_ON => Some(Force::On),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(method: &str, path: &str) -> HttpRequest {
        TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .to_http_request()
    }

    #[test]
    fn the_cache_stays_bounded_whatever_methods_and_paths_clients_send() {
        ANY_MARKED.store(true, Ordering::Release);
        let cache = MarkerCache::default();
        let long_method = "X".repeat(16 * 1024);
        for index in 0..3000 {
            let method = format!("{long_method}{index}");
            cache.force_for(&request(&method, "/"));
            cache.force_for(&request("GET", &format!("/{index}/{}", "p".repeat(index))));
            cache.force_for(&request("GET", &format!("/item/{index}")));
        }
        let (entries, bytes) = cache.footprint();
        assert!(entries <= CACHE_PATHS * 9, "{entries} entries");
        assert!(bytes <= CACHE_PATHS * CACHE_PATH_BYTES, "{bytes} bytes");
        // Unknown methods are never remembered, so "/" holds nothing of them.
        assert!(cache.known("/", &Method::GET).is_none());
    }

    #[test]
    fn standard_methods_of_short_paths_are_remembered() {
        ANY_MARKED.store(true, Ordering::Release);
        let cache = MarkerCache::default();
        cache.force_for(&request("GET", "/a"));
        cache.force_for(&request("POST", "/a"));
        assert_eq!(cache.known("/a", &Method::GET), Some(None));
        assert_eq!(cache.known("/a", &Method::POST), Some(None));
        assert_eq!(cache.footprint(), (2, 2));
    }
}
