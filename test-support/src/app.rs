//! The in-process test app of the library's tests: a small app behind the
//! maintenance middleware (inside actix-session's cookie sessions), called
//! through `actix_web::test`, a counter of handler runs ([`Hits`]), and an
//! [`Outcome`] that captures everything a test asserts on.
//!
//! Users log in through the test-only route `/test-login/{kind}`
//! ([`test_login`], [`TestApp::login`]), as the users of
//! [`user_of_kind`].

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::{
    App, HttpResponse,
    body::MessageBody,
    cookie::{Cookie, Key},
    dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse},
    http::{StatusCode, header::HeaderMap},
    test, web,
};
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, response::MaintenanceResponse,
    routes::TOGGLE_OFF_ROUTE_NAME, settings::StateBackendKind, user,
};

use crate::login::{SESSION_COOKIE, SESSION_USER_KEY, user_of_kind};

/// Path of the route named [`TOGGLE_OFF_ROUTE_NAME`].
pub const TOGGLE_OFF_PATH: &str = "/maintenance-mode/off/";

/// Default settings on the memory backend.
pub fn memory() -> MaintenanceSettings {
    MaintenanceSettings::default().state_backend(StateBackendKind::Memory)
}

/// Builds a handle, panicking with the settings error.
pub fn build(settings: MaintenanceSettings) -> MaintenanceMode {
    MaintenanceMode::new(settings).expect("valid settings")
}

/// Counts handler runs, so a test can tell that a handler never ran.
#[derive(Debug, Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A page: `page {path}`, counted in [`Hits`].
pub async fn page(hits: web::Data<Hits>, req: actix_web::HttpRequest) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body(format!("page {}", req.path()))
}

/// Returns what the extracted handle says, proving handlers can take it as an argument.
async fn state(hits: web::Data<Hits>, maint: MaintenanceMode) -> HttpResponse {
    hits.hit();
    HttpResponse::Ok().body(maint.is_on().to_string())
}

/// The session user as the handler sees it.
async fn whoami(hits: web::Data<Hits>, session: Session) -> HttpResponse {
    hits.hit();
    let user = user::current(&session, SESSION_USER_KEY).unwrap_or_default();
    HttpResponse::Ok().json(user)
}

/// Test-only login (`/test-login/{kind}`): stores the user of
/// [`user_of_kind`] in the real session, under [`SESSION_USER_KEY`].
pub async fn test_login(
    hits: web::Data<Hits>,
    session: Session,
    kind: web::Path<String>,
) -> HttpResponse {
    hits.hit();
    user::login(&session, SESSION_USER_KEY, &user_of_kind(&kind)).expect("session insert");
    HttpResponse::Ok().body(format!("logged in as {kind}"))
}

/// Test-only login under another session key (for the `session_user_key` setting).
async fn test_login_under(
    hits: web::Data<Hits>,
    session: Session,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    hits.hit();
    let (kind, key) = path.into_inner();
    user::login(&session, &key, &user_of_kind(&kind)).expect("session insert");
    HttpResponse::Ok().body(format!("logged in as {kind} under {key}"))
}

/// The routes of the test app, without any middleware.
pub fn routes(
    hits: &Hits,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    App::new()
        .app_data(web::Data::new(hits.clone()))
        .route("/", web::get().to(page))
        .route("/admin/{tail:.*}", web::get().to(page))
        .route("/staff/{tail:.*}", web::get().to(page))
        .route("/api/status", web::get().to(page))
        .route("/maintenance/", web::get().to(page))
        .route("/state", web::get().to(state))
        .route("/whoami", web::get().to(whoami))
        .route("/test-login/{kind}", web::get().to(test_login))
        .route(
            "/test-login/{kind}/under/{key}",
            web::get().to(test_login_under),
        )
        .service(
            web::resource(TOGGLE_OFF_PATH)
                .name(TOGGLE_OFF_ROUTE_NAME)
                .route(web::get().to(page)),
        )
        .route("/maintenance-mode/unnamed/", web::get().to(page))
}

/// The session middleware every test app uses.
pub fn sessions() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[0; 64]))
        .cookie_secure(false)
        .build()
}

/// Sends one request through the service under test.
type Caller = Box<dyn Fn(test::TestRequest) -> Pin<Box<dyn Future<Output = ServiceResponse>>>>;

/// The app under test, with its handle and handler counter.
pub struct TestApp {
    send: Caller,
    pub maint: MaintenanceMode,
    pub hits: Hits,
}

impl TestApp {
    /// Wraps an initialized service. `to_request` is `TestRequest::to_request`,
    /// passed so that the request type need not be named.
    pub fn new<S, B, R>(
        service: S,
        to_request: fn(test::TestRequest) -> R,
        maint: &MaintenanceMode,
        hits: &Hits,
    ) -> Self
    where
        S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
        B: MessageBody + 'static,
        R: 'static,
    {
        let service = Rc::new(service);
        let send: Caller = Box::new(move |req| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                test::call_service(&*service, to_request(req))
                    .await
                    .map_into_boxed_body()
            })
        });
        Self {
            send,
            maint: maint.clone(),
            hits: hits.clone(),
        }
    }
}

/// The routes behind `maint`'s middleware, inside the session middleware.
pub async fn start(maint: &MaintenanceMode) -> TestApp {
    let hits = Hits::default();
    let service = test::init_service(routes(&hits).wrap(maint.middleware()).wrap(sessions())).await;
    TestApp::new(service, test::TestRequest::to_request, maint, &hits)
}

/// A handle built from `settings` and the app around it.
pub async fn start_with(settings: MaintenanceSettings) -> TestApp {
    start(&build(settings)).await
}

/// A socket address for `TestRequest::peer_addr`.
pub fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP address"), 40_000)
}

impl TestApp {
    /// Sends `req` and captures the response.
    pub async fn call(&self, req: test::TestRequest) -> Outcome {
        let before = self.hits.count();
        let res = (self.send)(req).await;
        let ran = self.hits.count() > before;
        let status = res.status();
        let headers = res.headers().clone();
        let marked = res
            .response()
            .extensions()
            .contains::<MaintenanceResponse>();
        let cookies = res
            .response()
            .cookies()
            .map(Cookie::into_owned)
            .collect::<Vec<_>>();
        let body = test::read_body(res).await;
        Outcome {
            status,
            headers,
            marked,
            ran,
            cookies,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `GET path` with no peer address, cookie or header.
    pub async fn get(&self, path: &str) -> Outcome {
        self.call(test::TestRequest::get().uri(path)).await
    }

    /// `GET path` with the session cookie.
    pub async fn get_with(&self, path: &str, session: &Cookie<'static>) -> Outcome {
        self.call(test::TestRequest::get().uri(path).cookie(session.clone()))
            .await
    }

    /// Logs a user of `kind` in through the test-only route (maintenance must
    /// let it through) and returns the session cookie.
    pub async fn login(&self, kind: &str) -> Cookie<'static> {
        self.login_at(&format!("/test-login/{kind}")).await
    }

    /// Like [`login`](Self::login), storing the user under the session key `key`.
    pub async fn login_under(&self, kind: &str, key: &str) -> Cookie<'static> {
        self.login_at(&format!("/test-login/{kind}/under/{key}"))
            .await
    }

    async fn login_at(&self, path: &str) -> Cookie<'static> {
        let out = self.get(path).await;
        out.assert_served();
        out.cookie(SESSION_COOKIE)
            .cloned()
            .unwrap_or_else(|| panic!("login sets the session cookie: {out:?}"))
    }
}

/// What a test sees of a response.
#[derive(Debug)]
pub struct Outcome {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// Carries the [`MaintenanceResponse`] marker.
    pub marked: bool,
    /// A handler of the test app ran for this request.
    pub ran: bool,
    pub cookies: Vec<Cookie<'static>>,
    pub body: String,
}

impl Outcome {
    /// Served by its handler: 200, handler ran, not the maintenance response.
    #[track_caller]
    pub fn assert_served(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "expected to be served: {self:?}"
        );
        assert!(self.ran, "the handler did not run: {self:?}");
        assert!(!self.marked, "marked as maintenance response: {self:?}");
    }

    /// The default maintenance response: 503, marked, handler never ran.
    #[track_caller]
    pub fn assert_maintenance(&self) {
        self.assert_maintenance_status(StatusCode::SERVICE_UNAVAILABLE);
    }

    /// The default maintenance response when `on`, else served by its handler.
    #[track_caller]
    pub fn assert_maintenance_if(&self, on: bool) {
        if on {
            self.assert_maintenance();
        } else {
            self.assert_served();
        }
    }

    /// A maintenance response with `status`: marked, handler never ran.
    #[track_caller]
    pub fn assert_maintenance_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "expected maintenance: {self:?}");
        assert!(self.marked, "not marked as maintenance response: {self:?}");
        assert!(!self.ran, "the handler ran during maintenance: {self:?}");
    }

    /// Not the maintenance response (may be a 404 for a path without route).
    #[track_caller]
    pub fn assert_not_maintenance(&self) {
        assert_ne!(self.status, StatusCode::SERVICE_UNAVAILABLE, "{self:?}");
        assert!(!self.marked, "marked as maintenance response: {self:?}");
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("visible ASCII header"))
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.cookies.iter().find(|cookie| cookie.name() == name)
    }

    /// The response removes the session cookie (the session was ended).
    pub fn clears_session(&self) -> bool {
        self.cookie(SESSION_COOKIE).is_some_and(|cookie| {
            cookie.value().is_empty()
                && cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO)
        })
    }
}
