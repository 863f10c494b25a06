//! What the decision reads of an actix-web request: the user, the client IP,
//! the route, each computed only when its step is reached.

use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::{
    HttpRequest,
    http::{Method, header},
};

use crate::{
    bypass::{self, BypassKey, VerifiedCookies},
    client_ip::{TrustedProxies, resolve_client_ip},
    decision::{ClientIp, RequestFacts},
    user::{self, MaintenanceUser},
};

/// Name of the toggle-off route; a request for it is always served (decision step 3).
pub const TOGGLE_OFF_ROUTE_NAME: &str = "maintenance_mode_off";

/// Name of the bypass-link route; a request for it is always served: its
/// handler answers a wrong token with the maintenance response itself.
pub const BYPASS_ROUTE_NAME: &str = "maintenance_mode_bypass";

/// Name of the superuser status page; always served, so maintenance can be
/// looked at and switched off there.
pub const STATUS_PAGE_ROUTE_NAME: &str = "maintenance_mode_status_page";

/// Name of the public status JSON; always served: it is what a site shows
/// before its users meet the maintenance page.
pub const STATUS_ROUTE_NAME: &str = "maintenance_mode_status";

/// Hook: the client IP as text, replacing the built-in peer/proxy resolution
/// (Django's `MAINTENANCE_MODE_GET_CLIENT_IP_ADDRESS`).
pub(crate) type ClientIpHook = Arc<dyn Fn(&HttpRequest) -> Option<String> + Send + Sync>;
/// Hook: the request's user, replacing the session lookup; `None` falls back to the
/// session (Django's `MAINTENANCE_MODE_GET_AUTHENTICATED_USER`).
pub(crate) type UserHook = Arc<dyn Fn(&HttpRequest) -> Option<MaintenanceUser> + Send + Sync>;

/// Where the user and the client IP of a request come from.
pub(crate) struct FactSources {
    pub(crate) session_user_key: String,
    pub(crate) user_hook: Option<UserHook>,
    pub(crate) client_ip_hook: Option<ClientIpHook>,
    pub(crate) trusted_proxies: TrustedProxies,
}

impl FactSources {
    /// The user of `req`: the `get_authenticated_user` hook's, else the session's.
    pub(crate) fn user_of(&self, req: &HttpRequest) -> MaintenanceUser {
        if let Some(user) = self.user_hook.as_ref().and_then(|hook| hook(req)) {
            return user;
        }
        user::current(&req.get_session(), &self.session_user_key).unwrap_or_else(|error| {
            tracing::debug!(%error, "unreadable session user; treating the request as anonymous");
            MaintenanceUser::anonymous()
        })
    }

    fn client_ip_of(&self, req: &HttpRequest) -> Option<ClientIp> {
        if let Some(hook) = &self.client_ip_hook {
            return hook(req).map(ClientIp::Text);
        }
        let peer = req.peer_addr().map(|addr| addr.ip());
        resolve_client_ip(peer, req.headers(), &self.trusted_proxies).map(ClientIp::Addr)
    }
}

/// The facts of one request, read from its sources on demand.
pub(crate) struct ActixFacts<'a> {
    req: &'a HttpRequest,
    sources: &'a FactSources,
    /// The worker's last verified bypass cookie.
    cookies: &'a VerifiedCookies,
}

impl<'a> ActixFacts<'a> {
    pub(crate) fn new(
        req: &'a HttpRequest,
        sources: &'a FactSources,
        cookies: &'a VerifiedCookies,
    ) -> Self {
        Self {
            req,
            sources,
            cookies,
        }
    }
}

impl RequestFacts for ActixFacts<'_> {
    fn path(&self) -> &str {
        // The path the router matches (percent-decoded where actix-web decodes).
        self.req.match_info().as_str()
    }

    fn is_always_served_route(&self) -> bool {
        // Only the methods each has: any other gets the maintenance response, not a 405.
        let method = self.req.method();
        match self.req.match_name() {
            Some(TOGGLE_OFF_ROUTE_NAME) => true,
            Some(STATUS_PAGE_ROUTE_NAME) => method == Method::GET || method == Method::POST,
            Some(BYPASS_ROUTE_NAME | STATUS_ROUTE_NAME) => method == Method::GET,
            _ => false,
        }
    }

    fn is_read_method(&self) -> bool {
        matches!(
            *self.req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        )
    }

    fn carries_bypass(&mut self, key: &BypassKey) -> bool {
        let headers = self.req.headers();
        let mut now = None;
        for header in headers.get_all(header::COOKIE) {
            let valid = bypass::any_cookie_in_header(header.as_bytes(), |value| {
                let now = *now.get_or_insert_with(std::time::SystemTime::now);
                self.cookies.is_valid(key, value, now)
            });
            if valid {
                return true;
            }
        }
        headers
            .get(bypass::HEADER_NAME)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|token| key.matches_token(token))
    }

    fn user(&mut self) -> Option<MaintenanceUser> {
        Some(self.sources.user_of(self.req))
    }

    fn logout(&mut self) {
        user::logout(&self.req.get_session());
    }

    fn client_ip(&mut self) -> Option<ClientIp> {
        self.sources.client_ip_of(self.req)
    }
}
