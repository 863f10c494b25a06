//! What the decision reads of an actix-web request: the user, the client IP,
//! the route, each computed only when its step is reached.

use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::HttpRequest;

use crate::{
    client_ip::{TrustedProxies, resolve_client_ip},
    decision::{ClientIp, RequestFacts},
    user::{self, MaintenanceUser},
};

/// Name of the toggle-off route; a request for it is always served (decision step 3).
pub const TOGGLE_OFF_ROUTE_NAME: &str = "maintenance_mode_off";

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
}

impl<'a> ActixFacts<'a> {
    pub(crate) fn new(req: &'a HttpRequest, sources: &'a FactSources) -> Self {
        Self { req, sources }
    }
}

impl RequestFacts for ActixFacts<'_> {
    fn path(&self) -> &str {
        // The path the router matches (percent-decoded where actix-web decodes).
        self.req.match_info().as_str()
    }

    fn is_toggle_off_route(&self) -> bool {
        self.req.match_name() == Some(TOGGLE_OFF_ROUTE_NAME)
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
