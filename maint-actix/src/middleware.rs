//! The actix-web middleware that answers with the maintenance response.

use std::{
    future::{Future, Ready, ready},
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use actix_web::{
    Error,
    body::{EitherBody, MessageBody},
    dev::{Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use pin_project_lite::pin_project;

use crate::handle::{MaintenanceMode, WorkerCaches};

/// The middleware factory; create it with [`MaintenanceMode::middleware`].
///
/// Register it *inside* actix-session's `SessionMiddleware` (that is, `.wrap()`
/// it before the session middleware) so it can read the session user:
///
/// ```
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, web, HttpResponse};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
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
            worker: WorkerCaches::default(),
        }))
    }
}

/// The middleware's service; see [`MaintenanceMiddleware`].
pub struct MaintenanceService<S> {
    service: S,
    handle: MaintenanceMode,
    /// Makes the handle extractable by every handler behind the middleware.
    app_data: Rc<Extensions>,
    /// What this worker remembers: handler markings, the last bypass cookie.
    worker: WorkerCaches,
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
        if let Some(res) = self.handle.answer(req.request(), &self.worker) {
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
