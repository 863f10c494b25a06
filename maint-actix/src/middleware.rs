//! The actix-web middleware that answers with the maintenance response.

use std::{
    future::{Future, Ready, ready},
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use actix_session::SessionExt;
use actix_web::{
    Error, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use pin_project_lite::pin_project;

use crate::{
    decision::{ClientIp, RequestFacts},
    handle::{Inner, MaintenanceMode},
    marked::MarkerCache,
    user::{self, MaintenanceUser},
};

/// Name of the toggle-off route; a request for it is always served (decision step 3).
pub const TOGGLE_OFF_ROUTE_NAME: &str = "maintenance_mode_off";

/// The middleware factory; create it with [`MaintenanceMode::middleware`].
///
/// Register it *inside* actix-session's `SessionMiddleware` (that is, `.wrap()`
/// it before the session middleware) so it can read the session user:
///
/// ```
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, web, HttpResponse};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, StateBackendKind};
///
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory).ignore_staff(true),
/// ).unwrap();
/// let app = App::new()
///     .route("/", web::get().to(|| async { HttpResponse::Ok().body("Home") }))
///     .wrap(maint.middleware())
///     .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate()));
/// ```
#[derive(Debug, Clone)]
pub struct MaintenanceMiddleware {
    handle: MaintenanceMode,
}

impl MaintenanceMode {
    /// The middleware deciding, per request, whether to answer with the maintenance response.
    pub fn middleware(&self) -> MaintenanceMiddleware {
        MaintenanceMiddleware {
            handle: self.clone(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for MaintenanceMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = MaintenanceService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let mut app_data = Extensions::new();
        app_data.insert(self.handle.clone());
        ready(Ok(MaintenanceService {
            service,
            handle: self.handle.clone(),
            app_data: Rc::new(app_data),
            markers: MarkerCache::default(),
        }))
    }
}

/// The middleware's service; see [`MaintenanceMiddleware`].
pub struct MaintenanceService<S> {
    service: S,
    handle: MaintenanceMode,
    /// Makes the handle extractable by every handler behind the middleware.
    app_data: Rc<Extensions>,
    /// This worker's lookups of handler markings.
    markers: MarkerCache,
}

impl<S, B> Service<ServiceRequest> for MaintenanceService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = MaintenanceFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let inner = &*self.handle.inner;
        let snapshot = inner.snapshot.load();
        let active = snapshot.state.is_active();
        // While maintenance is off a `#[maintenance_on]` handler answers for
        // itself, so the marking only needs looking up when maintenance is on.
        let force = if active {
            self.markers.force_for(req.request())
        } else {
            None
        };
        let need = inner.exemptions.need_maintenance_response(
            force,
            || active,
            &mut ActixFacts::new(req.request(), inner),
        );
        if need {
            let res = inner.responder.respond(req.request(), &snapshot);
            return MaintenanceFuture::Answered {
                res: Some(req.into_response(res)),
            };
        }
        req.add_data_container(Rc::clone(&self.app_data));
        MaintenanceFuture::Served {
            fut: self.service.call(req),
        }
    }
}

pin_project! {
    /// The middleware's future: the inner service's, or the maintenance response at once.
    #[project = MaintenanceFutureProj]
    #[allow(missing_docs)]
    pub enum MaintenanceFuture<F> {
        /// The request is served by the app.
        Served { #[pin] fut: F },
        /// The request got the maintenance response.
        Answered { res: Option<ServiceResponse> },
    }
}

impl<F, B> Future for MaintenanceFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            MaintenanceFutureProj::Served { fut } => fut
                .poll(cx)
                .map(|res| res.map(ServiceResponse::map_into_left_body)),
            MaintenanceFutureProj::Answered { res } => Poll::Ready(Ok(res
                .take()
                .expect("MaintenanceFuture polled after completion")
                .map_into_right_body())),
        }
    }
}

/// What the decision reads of an actix-web request, computed only when asked.
struct ActixFacts<'a> {
    req: &'a HttpRequest,
    inner: &'a Inner,
}

impl<'a> ActixFacts<'a> {
    fn new(req: &'a HttpRequest, inner: &'a Inner) -> Self {
        Self { req, inner }
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
        Some(self.inner.user_of(self.req))
    }

    fn logout(&mut self) {
        user::logout(&self.req.get_session());
    }

    fn client_ip(&mut self) -> Option<ClientIp> {
        if let Some(hook) = &self.inner.client_ip_hook {
            return hook(self.req).map(ClientIp::Text);
        }
        let peer = self.req.peer_addr().map(|addr| addr.ip());
        crate::client_ip::resolve_client_ip(peer, self.req.headers(), &self.inner.trusted_proxies)
            .map(ClientIp::Addr)
    }
}
