//! Which handlers `#[maintenance_off]` / `#[maintenance_on]` mark, as the
//! middleware can tell before routing.
//!
//! The middleware decides before actix-web routes the request, and actix-web's
//! only view of the routes before routing is its `ResourceMap`, which matches
//! by path alone. Two sources make the lookup exact for path, scope and method:
//!
//! 1. **Marker routes.** An attribute placed above a route macro registers, in
//!    the same scope and before each route, an unreachable route
//!    `{pattern}/__maint__/{METHOD}` named `__maint_{off|on}__…`. A request for
//!    `{path}` with method `M` is for a marked handler exactly when the
//!    `ResourceMap` resolves `{path}/__maint__/{M}` to such a name.
//! 2. **Learned routes.** A marked handler that is registered without a route
//!    macro below its attribute (by hand, or with the attribute below the route
//!    macro) records its full pattern and method the first time it runs.
//!
//! `#[maintenance_on]` needs neither to be exact: its handler answers with the
//! maintenance response itself. The lookup only lets the middleware decide
//! before side effects such as logging a user out, as Django does.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{
        RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use actix_web::{HttpRequest, http::Method};
use once_cell::sync::Lazy;

use crate::decision::Force;

/// Path segment of marker routes.
const MARKER_SEGMENT: &str = "__maint__";
const MARKER_NAME_OFF: &str = "__maint_off__";
const MARKER_NAME_ON: &str = "__maint_on__";

/// A handler marked by one of the attributes; submitted by the macros.
#[doc(hidden)]
#[derive(Debug)]
pub struct MarkedHandler {
    pub force: Force,
    pub handler: &'static str,
}

inventory::collect!(MarkedHandler);

/// Whether this binary has any marked handler; when not, the lookup costs nothing.
static ANY_MARKED: Lazy<bool> = Lazy::new(|| {
    inventory::iter::<MarkedHandler>
        .into_iter()
        .next()
        .is_some()
});

static LEARNED: Lazy<RwLock<HashMap<(String, Method), Force>>> = Lazy::new(Default::default);
static ANY_LEARNED: AtomicBool = AtomicBool::new(false);

/// The marking of the handler that `req` will be routed to, if any.
pub(crate) fn force_for(req: &HttpRequest, markers: &MarkerCache) -> Option<Force> {
    if !*ANY_MARKED {
        return None;
    }
    markers
        .marker_route_force(req)
        .or_else(|| learned_force(req))
}

/// How many paths a worker remembers the marker lookup of; past that the
/// memory starts over, so paths with ids in them cannot make it grow for good.
const MARKER_CACHE_PATHS: usize = 1024;

/// What the marker lookup found for one path, per method.
type MarkingsByMethod = Vec<(Method, Option<Force>)>;

/// The marker lookups of one worker: the routes of an app are fixed once it
/// runs, so each path and method is looked up in the `ResourceMap` once.
#[derive(Debug, Default)]
pub(crate) struct MarkerCache {
    paths: RefCell<HashMap<String, MarkingsByMethod>>,
}

impl MarkerCache {
    fn marker_route_force(&self, req: &HttpRequest) -> Option<Force> {
        let path = req.match_info().as_str();
        let method = req.method();
        if let Some(known) = self.known(path, method) {
            return known;
        }
        let force = marker_route_force(req);
        let mut paths = self.paths.borrow_mut();
        if paths.len() >= MARKER_CACHE_PATHS {
            paths.clear();
        }
        paths
            .entry(path.to_owned())
            .or_default()
            .push((method.clone(), force));
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
    let name = req.resource_map().match_name(&probe)?;
    if name.starts_with(MARKER_NAME_OFF) {
        Some(Force::Off)
    } else if name.starts_with(MARKER_NAME_ON) {
        Some(Force::On)
    } else {
        None
    }
}

fn learned_force(req: &HttpRequest) -> Option<Force> {
    if !ANY_LEARNED.load(Ordering::Acquire) {
        return None;
    }
    let pattern = req.match_pattern()?;
    let learned = LEARNED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    learned.get(&(pattern, req.method().clone())).copied()
}

/// Records the route a marked handler was reached by (called by the handler).
pub(crate) fn learn(req: &HttpRequest, force: Force) {
    // A route with a marker is known exactly already.
    if marker_route_force(req).is_some() {
        return;
    }
    let Some(pattern) = req.match_pattern() else {
        return;
    };
    let key = (pattern, req.method().clone());
    let known = LEARNED
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .contains_key(&key);
    if !known {
        LEARNED
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, force);
        ANY_LEARNED.store(true, Ordering::Release);
    }
}
