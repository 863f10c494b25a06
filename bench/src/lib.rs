//! The benchmark app of maint, shared by `bench-server` (load figures), `hot-path`
//! (instruction counts) and the criterion benches: an example-site-like app
//! with realistic settings.
//!
//! - 5 `ignore_urls`, 3 `ignore_ip_addresses` that do not match `127.0.0.1`,
//!   `ignore_superuser = true` (the session-based user check);
//! - actix-session's cookie `SessionMiddleware` in both variants (with and
//!   without the maintenance middleware), with a fixed key so that a session
//!   cookie taken from one server is valid on every other;
//! - routes: `/hello` (plain 200), `/exempt/page` (under `ignore_urls`), `/`
//!   (a small HTML page), `/legacy/` (`#[maintenance_on]`), `/login-superuser`
//!   (stores a superuser in the session) and maint's routes (the toggle routes
//!   and the bypass link, `maint_actix::routes::routes()`).
//!
//! Only the app lives here: what measures it (`bench-driver`, the soak run)
//! is in `src/bin/bench-driver/`, so that changing the driver never changes
//! how this crate, the code the figures measure, is compiled.
//!
//! See `BENCHMARKS.md` and `bench/run`.

use std::{
    cell::Cell,
    future::Future,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    pin::pin,
    sync::OnceLock,
    task::{Context, Poll, Waker},
};

pub use actix_http::Request;
use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::{
    App, HttpResponse,
    body::MessageBody,
    cookie::Key,
    dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse},
    get, guard,
    http::header::{self, HeaderName, HeaderValue},
    test::{TestRequest, init_service},
    web::{self, Bytes},
};
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, MaintenanceUser,
    bypass::{self, BypassSecret},
    settings::StateBackendKind,
    state::Schedule,
};

/// `ignore_urls` of the benchmark app (anchored at the start by maint, as by Django).
pub const IGNORE_URLS: [&str; 5] = [
    "^/static/",
    "^/health$",
    "^/api/public/",
    "^/media/",
    "^/exempt/",
];

/// `ignore_ip_addresses` of the benchmark app; none matches `127.0.0.1`, so
/// every loopback request goes through all three.
pub const IGNORE_IP_ADDRESSES: [&str; 3] = [r"^10\.1\.", r"^192\.168\.77\.", r"^172\.31\.9\."];

/// The peer address given to in-process test requests (as a loopback client's).
pub const PEER: &str = "127.0.0.1:40000";

/// Body of `/hello`.
pub const HELLO: &str = "hello";

/// The token of the bypass cases' secret (`maintenance_mode on --secret TOKEN`).
pub const BYPASS_TOKEN: &str = "maint-bench-bypass-token-0123456789";

/// `bypass_cookie_ttl` of the second cookie of `on-bypass-cookie-miss` (the
/// default is 12 hours): another expiry, so another valid cookie.
const OTHER_BYPASS_COOKIE_TTL: u64 = 6 * 60 * 60;

/// Where the state lives.
#[derive(Debug, Clone)]
pub enum Backend {
    /// `state_backend = "memory"`.
    Memory,
    /// `state_backend = "local_file"` at this path (the realistic default).
    LocalFile(PathBuf),
}

/// The realistic settings: 5 `ignore_urls`, 3 `ignore_ip_addresses`,
/// `ignore_superuser = true`, everything else at its default.
pub fn settings(backend: &Backend) -> MaintenanceSettings {
    let settings = MaintenanceSettings::default()
        .ignore_urls(IGNORE_URLS)
        .ignore_ip_addresses(IGNORE_IP_ADDRESSES)
        .ignore_superuser(true);
    match backend {
        Backend::Memory => settings.state_backend(StateBackendKind::Memory),
        Backend::LocalFile(path) => settings
            .state_backend(StateBackendKind::LocalFile)
            .state_file_path(path),
    }
}

/// The handle for [`settings`], with maintenance set `on` or off.
pub fn maintenance_mode(backend: &Backend, on: bool) -> Result<MaintenanceMode, String> {
    let maint = MaintenanceMode::new(settings(backend)).map_err(|e| e.to_string())?;
    maint
        .set_maintenance_mode_blocking(on)
        .map_err(|e| e.to_string())?;
    Ok(maint)
}

/// The session key: fixed, so cookies are valid across servers and runs (a benchmark only).
pub fn session_key() -> Key {
    Key::derive_from(b"maint-bench: a fixed session key, never use one like it in production")
}

/// The session middleware of both variants (cookie store, as the example site).
pub fn session_middleware() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), session_key())
        .cookie_secure(false)
        .build()
}

/// A plain 200 handler.
#[get("/hello")]
async fn hello() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body(HELLO)
}

/// Under `ignore_urls`: served during maintenance.
#[get("/exempt/page")]
async fn exempt_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("exempt page")
}

/// A small HTML page.
#[get("/")]
async fn home() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!DOCTYPE html><html><head><title>Home</title></head>\
             <body><h1>Home</h1><p>The maint benchmark app.</p></body></html>",
        )
}

/// A retired page: always the maintenance response (`#[maintenance_on]`).
#[maint_actix::maintenance_on]
#[get("/legacy/")]
async fn legacy() -> HttpResponse {
    HttpResponse::Ok().body("legacy")
}

/// A 200 page with the maintenance page's body and headers (figure 2b): what
/// the maintenance response costs beyond the bytes it sends.
#[get("/same-size")]
async fn same_size() -> HttpResponse {
    let page = maintenance_page();
    let mut res = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.body.clone());
    let headers = res.headers_mut();
    for (name, value) in &page.extra_headers {
        headers.insert(name.clone(), value.clone());
    }
    res
}

/// The maintenance page of the benchmark settings, as the middleware sends it.
pub struct MaintenancePage {
    /// The body (the default template, rendered).
    pub body: Bytes,
    /// `Cache-Control` and `Retry-After`.
    pub extra_headers: Vec<(HeaderName, HeaderValue)>,
}

/// The maintenance page, rendered once per process.
pub fn maintenance_page() -> &'static MaintenancePage {
    static PAGE: OnceLock<MaintenancePage> = OnceLock::new();
    PAGE.get_or_init(|| {
        let maint = maintenance_mode(&Backend::Memory, true).expect("valid settings");
        let req = TestRequest::get().uri("/hello").to_http_request();
        let res = maint.maintenance_response(&req);
        let extra_headers = [header::CACHE_CONTROL, header::RETRY_AFTER]
            .into_iter()
            .filter_map(|name| Some((name.clone(), res.headers().get(&name)?.clone())))
            .collect();
        let body = ready_now(actix_web::body::to_bytes(res.into_body()))
            .unwrap_or_else(|_| panic!("the maintenance page has a body"));
        MaintenancePage {
            body,
            extra_headers,
        }
    })
}

/// Logs a superuser in (the session cookie for the exempt-superuser figures).
#[get("/login-superuser")]
async fn login_superuser(session: Session) -> HttpResponse {
    let admin = MaintenanceUser::authenticated("admin").staff().superuser();
    match maint_actix::user::login(
        &session,
        maint_actix::settings::DEFAULT_SESSION_USER_KEY,
        &admin,
    ) {
        Ok(()) => HttpResponse::Ok().body("logged in as admin (superuser)"),
        Err(error) => HttpResponse::InternalServerError().body(error.to_string()),
    }
}

/// The routes of the benchmark app, `/legacy/` (`#[maintenance_on]`) included.
pub fn routes(cfg: &mut web::ServiceConfig) {
    unmarked_routes(cfg);
    cfg.service(legacy);
}

/// The same routes without the `#[maintenance_on]` handler: the app of the
/// `*-unmarked-app` cases ([`Case::unmarked_app`]), which tell what
/// registering one costs and measure the read-only and bypass checks
/// without the marker lookup.
pub fn unmarked_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(hello)
        .service(exempt_page)
        .service(home)
        .service(same_size)
        .service(login_superuser)
        .service(maint_actix::routes::routes());
}

/// A marker route made by hand, as `maint_actix::marked` documents its markers
/// (`{pattern}/__maint__/{METHOD}`, named `__maint_off__`): `/hello` marked
/// `#[maintenance_off]` for `GET`. Registered as a plain resource, not
/// through maint, so it does not tell maint that the process has a marked
/// route; maint finds it only if it looks markers up at all.
const PROBE_MARKER_PATH: &str = "/hello/__maint__/GET";
const PROBE_MARKER_NAME: &str = "__maint_off__";

/// [`unmarked_routes`] and the hand-made marker of [`marker_lookup_skipped`].
fn probe_routes(cfg: &mut web::ServiceConfig) {
    unmarked_routes(cfg);
    cfg.service(
        web::resource(PROBE_MARKER_PATH)
            .name(PROBE_MARKER_NAME)
            .guard(guard::fn_guard(|_| false))
            .to(HttpResponse::NotFound),
    );
}

/// Whether maint skips the marker lookup (`#[maintenance_on]` /
/// `#[maintenance_off]`) of requests during maintenance in this process, as
/// it does while no app of the process has registered a marked route.
///
/// Asked through the middleware: an app of [`unmarked_routes`] plus a marker
/// made by hand for `GET /hello` (`/hello/__maint__/GET`), maintenance on.
/// With the lookup, maint finds the marker and serves `/hello` (200);
/// without it, `/hello` gets the maintenance page (503). Builds its app on
/// a runtime of its own: call it outside any running one. Were maint to
/// name its markers otherwise, this would answer `true` in every process:
/// `tests/unmarked_process.rs` checks that it answers `false` once a marked
/// app is built.
///
/// # Panics
///
/// When `/hello` answers anything else.
pub fn marker_lookup_skipped() -> bool {
    let system = actix_rt::System::new();
    let maint = maintenance_mode(&Backend::Memory, true).expect("valid settings");
    let app = system.block_on(init_service(app_with_middleware(maint, probe_routes)));
    let req = TestRequest::get()
        .uri("/hello")
        .peer_addr(peer())
        .to_request();
    let status = ready_now(app.call(req))
        .expect("the service call succeeds")
        .status()
        .as_u16();
    match status {
        503 => true,
        200 => false,
        other => panic!("the marker probe answered {other}"),
    }
}

/// The app with the maintenance middleware, inside the session middleware.
pub fn app_with_middleware(
    maint: MaintenanceMode,
    routes: fn(&mut web::ServiceConfig),
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
        .app_data(maint.clone())
        .configure(routes)
        .wrap(maint.middleware())
        .wrap(session_middleware())
}

/// The same app without the maintenance middleware (the handle stays in the
/// app data, for the toggle routes and `#[maintenance_on]`).
pub fn app_without_middleware(
    maint: MaintenanceMode,
    routes: fn(&mut web::ServiceConfig),
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
        .app_data(maint)
        .configure(routes)
        .wrap(session_middleware())
}

/// A loopback peer address for in-process requests.
pub fn peer() -> SocketAddr {
    PEER.parse().expect("a socket address")
}

/// Polls `future` once with a no-op waker: the in-process service calls of the
/// benchmark app complete without waiting on anything, so this is the
/// cheapest executor and adds nothing to the measured cost.
///
/// # Panics
///
/// When the future is not ready at the first poll.
pub fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the service call did not complete at its first poll"),
    }
}

/// The `Cookie` header value of a response's `Set-Cookie` (`name=value`).
pub fn cookie_of<B>(res: &ServiceResponse<B>) -> Option<String> {
    res.headers()
        .get(actix_web::http::header::SET_COOKIE)?
        .to_str()
        .ok()?
        .split(';')
        .next()
        .map(str::to_owned)
}

/// One in-process request kind: which app, which state, which request. The
/// criterion benches and `hot-path` (instruction counts) run the same cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `GET /hello` on the app without the maintenance middleware (the baseline).
    None,
    /// `GET /hello`, middleware, maintenance off.
    Off,
    /// `GET /hello`, middleware, maintenance off, on an app with no
    /// `#[maintenance_on]` route registered.
    OffUnmarkedApp,
    /// `GET /hello` with a superuser's session cookie, maintenance off.
    OffSuperuser,
    /// `GET /exempt/page`, maintenance off.
    OffExemptUrl,
    /// `GET /legacy/` (`#[maintenance_on]`), maintenance off: the forced response.
    OffLegacy,
    /// `GET /same-size`, maintenance off: a 200 with the maintenance page's body and headers.
    OffSameSize,
    /// `GET /hello` with a bypass cookie (as in `on-bypass-cookie`), maintenance
    /// off: what carrying the cookie costs when nothing looks at it.
    OffBypassCookie,
    /// [`Case::OffBypassCookie`] on the app with no `#[maintenance_on]` route
    /// (the twin of [`Case::OnBypassCookieUnmarkedApp`]).
    OffBypassCookieUnmarkedApp,
    /// `GET /hello` during maintenance: the maintenance page (HTML, default template).
    On,
    /// `GET /exempt/page` during maintenance: exempt by `ignore_urls`.
    OnExemptUrl,
    /// `GET /hello` with a superuser's session cookie during maintenance: exempt.
    OnExemptSuperuser,
    /// `GET /hello` in read-only mode: served (a read).
    OnReadOnlyGet,
    /// [`Case::OnReadOnlyGet`] on the app with no `#[maintenance_on]` route, in
    /// a process where no app registered one: no marker lookup, so the
    /// difference to [`Case::OffUnmarkedApp`] is the read-only check itself.
    OnReadOnlyGetUnmarkedApp,
    /// `GET /hello` during maintenance with a bypass secret, carrying a valid
    /// bypass cookie (from the app's bypass link): served, the worker's cache
    /// of the last valid cookie answering.
    OnBypassCookie,
    /// [`Case::OnBypassCookie`] on the app with no `#[maintenance_on]` route, in
    /// a process where no app registered one: no marker lookup, so the
    /// difference to [`Case::OffBypassCookieUnmarkedApp`] is the bypass cookie
    /// check itself.
    OnBypassCookieUnmarkedApp,
    /// The same with two valid cookies (two expiries) sent in turn, so that
    /// the worker's cache misses every time: a full HMAC-SHA256 per request,
    /// what the first request of a browser costs.
    OnBypassCookieMiss,
    /// `GET /hello` during maintenance from a client in the only network of
    /// `ignore_ip_networks` ([`exempt_networks`]`(1)`): served.
    OnExemptIp1,
    /// The same with 100 networks, the client in the last one.
    OnExemptIp100,
    /// The same with 10,000 networks, the client in the last one.
    OnExemptIp10000,
    /// `GET /hello`, maintenance off, while another host (`shop.example.com`)
    /// has a state of its own (on): what looking at `Host` costs a request
    /// that follows the global state.
    OffOtherHost,
    /// `GET /hello` for a host (`127.0.0.1`) whose own state is on while the
    /// global state is off: the maintenance page.
    OnOwnHost,
}

impl Case {
    /// Every case, in report order.
    pub const ALL: [Case; 22] = [
        Case::None,
        Case::Off,
        Case::OffUnmarkedApp,
        Case::OffSuperuser,
        Case::OffExemptUrl,
        Case::OffLegacy,
        Case::OffSameSize,
        Case::OffBypassCookie,
        Case::OffBypassCookieUnmarkedApp,
        Case::On,
        Case::OnExemptUrl,
        Case::OnExemptSuperuser,
        Case::OnReadOnlyGet,
        Case::OnReadOnlyGetUnmarkedApp,
        Case::OnBypassCookie,
        Case::OnBypassCookieUnmarkedApp,
        Case::OnBypassCookieMiss,
        Case::OnExemptIp1,
        Case::OnExemptIp100,
        Case::OnExemptIp10000,
        Case::OffOtherHost,
        Case::OnOwnHost,
    ];

    /// The case's name on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Case::None => "none",
            Case::Off => "off",
            Case::OffUnmarkedApp => "off-unmarked-app",
            Case::OffSuperuser => "off-superuser",
            Case::OffExemptUrl => "off-exempt-url",
            Case::OffLegacy => "off-legacy",
            Case::OffSameSize => "off-same-size",
            Case::OffBypassCookie => "off-bypass-cookie",
            Case::OffBypassCookieUnmarkedApp => "off-bypass-cookie-unmarked-app",
            Case::On => "on",
            Case::OnExemptUrl => "on-exempt-url",
            Case::OnExemptSuperuser => "on-exempt-superuser",
            Case::OnReadOnlyGet => "on-read-only-get",
            Case::OnReadOnlyGetUnmarkedApp => "on-read-only-get-unmarked-app",
            Case::OnBypassCookie => "on-bypass-cookie",
            Case::OnBypassCookieUnmarkedApp => "on-bypass-cookie-unmarked-app",
            Case::OnBypassCookieMiss => "on-bypass-cookie-miss",
            Case::OnExemptIp1 => "on-exempt-ip-1",
            Case::OnExemptIp100 => "on-exempt-ip-100",
            Case::OnExemptIp10000 => "on-exempt-ip-10000",
            Case::OffOtherHost => "off-other-host",
            Case::OnOwnHost => "on-own-host",
        }
    }

    /// The case named `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|case| case.name() == name)
    }

    /// What the case measures, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Case::None => "no maintenance middleware, GET /hello",
            Case::Off => "middleware, maintenance off, GET /hello",
            Case::OffUnmarkedApp => {
                "middleware, maintenance off, GET /hello, no #[maintenance_on] route in the app"
            }
            Case::OffSuperuser => "middleware, maintenance off, GET /hello with a superuser cookie",
            Case::OffExemptUrl => "middleware, maintenance off, GET /exempt/page",
            Case::OffLegacy => "middleware, maintenance off, GET /legacy/ (#[maintenance_on])",
            Case::OffSameSize => {
                "middleware, maintenance off, GET /same-size (200, the maintenance page's bytes)"
            }
            Case::OffBypassCookie => {
                "middleware, maintenance off, GET /hello with a bypass cookie (not looked at)"
            }
            Case::OffBypassCookieUnmarkedApp => {
                "off-bypass-cookie, no #[maintenance_on] route in the process"
            }
            Case::On => "maintenance on, GET /hello: the maintenance page",
            Case::OnExemptUrl => "maintenance on, GET /exempt/page (ignore_urls)",
            Case::OnExemptSuperuser => "maintenance on, GET /hello with a superuser cookie",
            Case::OnReadOnlyGet => "read-only mode, GET /hello: served",
            Case::OnReadOnlyGetUnmarkedApp => {
                "on-read-only-get, no #[maintenance_on] route in the process (no marker lookup)"
            }
            Case::OnBypassCookie => {
                "maintenance on with a bypass secret, GET /hello with a valid bypass cookie (cached): served"
            }
            Case::OnBypassCookieUnmarkedApp => {
                "on-bypass-cookie, no #[maintenance_on] route in the process (no marker lookup)"
            }
            Case::OnBypassCookieMiss => {
                "on-bypass-cookie with two valid cookies in turn: the cache misses, a full HMAC per request"
            }
            Case::OnExemptIp1 => {
                "maintenance on, GET /hello from a client in the one network of ignore_ip_networks"
            }
            Case::OnExemptIp100 => {
                "maintenance on, GET /hello from a client in the last of 100 ignore_ip_networks"
            }
            Case::OnExemptIp10000 => {
                "maintenance on, GET /hello from a client in the last of 10,000 ignore_ip_networks"
            }
            Case::OffOtherHost => {
                "maintenance off, GET /hello while another host has its own state (on)"
            }
            Case::OnOwnHost => {
                "global state off, GET /hello for a host whose own state is on: the maintenance page"
            }
        }
    }

    /// The cases a report compares this one with: its maintenance-off twin
    /// (the same request served without maintenance), when it has one.
    pub fn twins(self) -> &'static [Case] {
        match self {
            Case::On => &[Case::OffSameSize],
            Case::OnExemptUrl => &[Case::OffExemptUrl],
            Case::OnExemptSuperuser => &[Case::OffSuperuser],
            Case::OnReadOnlyGet => &[Case::Off],
            Case::OnBypassCookie | Case::OnBypassCookieMiss => &[Case::Off, Case::OffBypassCookie],
            Case::OffBypassCookie => &[Case::Off],
            Case::OnReadOnlyGetUnmarkedApp | Case::OffBypassCookieUnmarkedApp => {
                &[Case::OffUnmarkedApp]
            }
            Case::OnBypassCookieUnmarkedApp => {
                &[Case::OffUnmarkedApp, Case::OffBypassCookieUnmarkedApp]
            }
            Case::OnExemptIp1 => &[Case::Off],
            Case::OnExemptIp100 | Case::OnExemptIp10000 => &[Case::Off, Case::OnExemptIp1],
            Case::OffOtherHost => &[Case::Off],
            Case::OnOwnHost => &[Case::On],
            _ => &[],
        }
    }

    /// Whether every app the case builds leaves out the `#[maintenance_on]`
    /// route ([`unmarked_routes`]). maint skips the marker lookup of a request
    /// only while no app of the process has registered a marked route, so
    /// these cases measure what they claim only in a process that has built
    /// no app of the other cases (one case per `hot-path` process; in the
    /// criterion bench they run first; [`marker_lookup_skipped`] tells).
    pub fn unmarked_app(self) -> bool {
        matches!(
            self,
            Case::OffUnmarkedApp
                | Case::OffBypassCookieUnmarkedApp
                | Case::OnReadOnlyGetUnmarkedApp
                | Case::OnBypassCookieUnmarkedApp
        )
    }

    /// The routes of every app the case builds.
    fn routes(self) -> fn(&mut web::ServiceConfig) {
        if self.unmarked_app() {
            unmarked_routes
        } else {
            routes
        }
    }

    fn path(self) -> &'static str {
        match self {
            Case::OffExemptUrl | Case::OnExemptUrl => "/exempt/page",
            Case::OffLegacy => "/legacy/",
            Case::OffSameSize => "/same-size",
            _ => "/hello",
        }
    }

    /// Maintenance on (`true`) or off for [`maintenance_mode`]; the cases of
    /// [`Self::detailed_state`] set theirs afterwards.
    fn maintenance(self) -> bool {
        matches!(
            self,
            Case::On
                | Case::OnExemptUrl
                | Case::OnExemptSuperuser
                | Case::OnExemptIp1
                | Case::OnExemptIp100
                | Case::OnExemptIp10000
        )
    }

    /// How many `ignore_ip_networks` the case configures ([`exempt_networks`]);
    /// 0 for the cases of the plain [`settings`].
    pub fn ip_networks(self) -> usize {
        match self {
            Case::OnExemptIp1 => 1,
            Case::OnExemptIp100 => 100,
            Case::OnExemptIp10000 => 10_000,
            _ => 0,
        }
    }

    /// The client address of the case's requests when it is not [`PEER`]: an
    /// address in the last of the case's [`exempt_networks`] (computed once,
    /// by [`Prepared::new`]: generating the networks takes a while).
    fn own_peer(self) -> Option<SocketAddr> {
        match self.ip_networks() {
            0 => None,
            n => Some(SocketAddr::new(exempt_client_ip(n), 40000)),
        }
    }

    /// The handle of the case (memory backend), maintenance set as
    /// [`Self::maintenance`] says: [`maintenance_mode`], or the same settings
    /// plus the case's `ignore_ip_networks`.
    fn maintenance_mode(self) -> Result<MaintenanceMode, String> {
        let n = self.ip_networks();
        if n == 0 {
            return maintenance_mode(&Backend::Memory, self.maintenance());
        }
        let settings = settings(&Backend::Memory).ignore_ip_networks(exempt_networks(n));
        let maint = MaintenanceMode::new(settings).map_err(|e| e.to_string())?;
        maint
            .set_maintenance_mode_blocking(self.maintenance())
            .map_err(|e| e.to_string())?;
        Ok(maint)
    }

    /// Whether the case needs a bypass secret.
    fn bypass(self) -> bool {
        matches!(
            self,
            Case::OffBypassCookie
                | Case::OffBypassCookieUnmarkedApp
                | Case::OnBypassCookie
                | Case::OnBypassCookieUnmarkedApp
                | Case::OnBypassCookieMiss
        )
    }

    fn superuser(self) -> bool {
        matches!(self, Case::OffSuperuser | Case::OnExemptSuperuser)
    }

    /// The state of the cases that need more than on or off (set after
    /// [`maintenance_mode`]), with `secret` for the bypass cases.
    fn detailed_state(self, secret: Option<&BypassSecret>) -> Option<MaintenanceState> {
        match (self, secret) {
            (Case::OnReadOnlyGet | Case::OnReadOnlyGetUnmarkedApp, _) => Some(
                MaintenanceState::Scheduled(Schedule::default().with_read_only(true)),
            ),
            (
                Case::OnBypassCookie | Case::OnBypassCookieUnmarkedApp | Case::OnBypassCookieMiss,
                Some(secret),
            ) => Some(bypass_state(secret)),
            _ => None,
        }
    }

    /// The host with a state of its own in the case, and that state.
    fn host_state(self) -> Option<(&'static str, MaintenanceState)> {
        match self {
            Case::OffOtherHost => Some(("shop.example.com", MaintenanceState::On)),
            Case::OnOwnHost => Some(("127.0.0.1", MaintenanceState::On)),
            _ => None,
        }
    }

    /// The status the case must answer with.
    pub fn expected_status(self) -> u16 {
        match self {
            Case::On | Case::OffLegacy | Case::OnOwnHost => 503,
            _ => 200,
        }
    }
}

/// Gives `host` its own `state`. Out of line: set-up code inlined into
/// [`Prepared::new`] moves the inlining of the measured code (the counts of
/// every case, `none` included, shifted by some 26 instructions when it was).
#[inline(never)]
fn set_host_state(
    system: &actix_rt::SystemRunner,
    maint: &MaintenanceMode,
    host: &str,
    state: MaintenanceState,
) {
    system
        .block_on(maint.set_host(host, Some(state)))
        .expect("the memory backend stores a host's state");
}

/// A service called through a trait object, so that every case runs the same code around it.
pub trait CallStatus {
    /// Calls the service with `req`, drops the response, returns its status.
    fn call_status(&self, req: Request) -> u16;
}

impl<S, B> CallStatus for S
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    #[inline]
    fn call_status(&self, req: Request) -> u16 {
        let res = ready_now(self.call(req)).expect("the service call succeeds");
        res.status().as_u16()
    }
}

/// A case ready to run: the initialized app service and what a request looks like.
pub struct Prepared {
    /// The case.
    pub case: Case,
    service: Box<dyn CallStatus>,
    /// The `Cookie` headers the requests carry, in turn (none, one, or two).
    cookies: Vec<String>,
    /// How many requests were built (which cookie comes next).
    built: Cell<usize>,
    /// The client address of the requests, when not [`PEER`] ([`Case::own_peer`]).
    own_peer: Option<SocketAddr>,
    maint: MaintenanceMode,
    // Keeps the runtime the service was created on alive as long as the service.
    _system: actix_rt::SystemRunner,
}

impl Prepared {
    /// Builds the app of `case` (memory backend) and checks one request's
    /// status (one per cookie, when the case sends several in turn).
    pub fn new(case: Case) -> Self {
        let system = actix_rt::System::new();
        let maint = case
            .maintenance_mode()
            .expect("the benchmark settings are valid");
        let secret = case
            .bypass()
            .then(|| BypassSecret::new(BYPASS_TOKEN).expect("a valid bypass token"));
        if let Some(state) = case.detailed_state(secret.as_ref()) {
            maint
                .set_blocking(state)
                .expect("the memory backend stores the state");
        }
        if let Some((host, state)) = case.host_state() {
            set_host_state(&system, &maint, host, state);
        }
        let routes = case.routes();
        let service: Box<dyn CallStatus> = match case {
            Case::None => Box::new(
                system.block_on(init_service(app_without_middleware(maint.clone(), routes))),
            ),
            _ => {
                Box::new(system.block_on(init_service(app_with_middleware(maint.clone(), routes))))
            }
        };
        let cookies = match (case, &secret) {
            _ if case.superuser() => vec![superuser_cookie(&system)],
            // As a browser gets it: the app's bypass link, on the same handle.
            (Case::OnBypassCookie | Case::OnBypassCookieUnmarkedApp, _) => {
                vec![bypass_cookie(&system, &maint, routes)]
            }
            // A second valid cookie: the same secret's link on a handle whose
            // cookies live shorter (another expiry, so another value).
            (Case::OnBypassCookieMiss, Some(secret)) => vec![
                bypass_cookie(&system, &maint, routes),
                bypass_cookie(
                    &system,
                    &issuer(
                        secret,
                        settings(&Backend::Memory).bypass_cookie_ttl(OTHER_BYPASS_COOKIE_TTL),
                    ),
                    routes,
                ),
            ],
            // Maintenance is off here, so the link is another handle's (same
            // secret, same settings): a cookie like `on-bypass-cookie`'s.
            (Case::OffBypassCookie | Case::OffBypassCookieUnmarkedApp, Some(secret)) => {
                vec![bypass_cookie(
                    &system,
                    &issuer(secret, settings(&Backend::Memory)),
                    routes,
                )]
            }
            _ => Vec::new(),
        };
        if let [first, second] = cookies.as_slice() {
            assert_ne!(first, second, "two different cookies");
        }
        let prepared = Self {
            case,
            service,
            cookies,
            built: Cell::new(0),
            own_peer: case.own_peer(),
            maint,
            _system: system,
        };
        for _ in 0..prepared.cookies.len().max(1) {
            let status = prepared.call(prepared.request());
            assert_eq!(
                status,
                case.expected_status(),
                "case {} answers {status}",
                case.name()
            );
        }
        prepared
    }

    /// A fresh request of the case (as wrk sends it, from a loopback peer),
    /// with the case's next cookie.
    pub fn request(&self) -> Request {
        let mut req = TestRequest::get()
            .uri(self.case.path())
            .peer_addr(self.own_peer.unwrap_or_else(peer))
            .insert_header((header::HOST, "127.0.0.1:8100"));
        if !self.cookies.is_empty() {
            let built = self.built.get();
            self.built.set(built.wrapping_add(1));
            let cookie = &self.cookies[built % self.cookies.len()];
            req = req.insert_header((header::COOKIE, cookie.as_str()));
        }
        req.to_request()
    }

    /// One request through the app; the response is dropped here.
    #[inline]
    pub fn call(&self, req: Request) -> u16 {
        self.service.call_status(req)
    }

    /// The case's handle (for `is_on`).
    pub fn maint(&self) -> &MaintenanceMode {
        &self.maint
    }
}

/// `n` distinct `ignore_ip_networks` of the `on-exempt-ip-*` cases: one in
/// five an IPv6 `/64` (`2001:db8:J::/64`), the others IPv4 `/25`s (the lower
/// half of `10.A.B.0/24`, numbered from `10.0.0.0/25`); the first and the
/// last are IPv4. No two overlap or touch, so none can be merged with
/// another: a lookup has `n` networks to tell apart. No address in the last
/// one matches [`IGNORE_IP_ADDRESSES`], so its clients are exempt by the
/// networks alone.
pub fn exempt_networks(n: usize) -> Vec<String> {
    let (mut v4, mut v6) = (0usize, 0usize);
    (0..n)
        .map(|i| {
            if i % 5 == 1 && i + 1 != n {
                v6 += 1;
                format!("2001:db8:{:x}::/64", v6 - 1)
            } else {
                v4 += 1;
                let k = v4 - 1;
                format!("10.{}.{}.0/25", k >> 8, k & 0xff)
            }
        })
        .collect()
}

/// A client address in the last of [`exempt_networks`]`(n)` (its `.7`).
pub fn exempt_client_ip(n: usize) -> IpAddr {
    let last = exempt_networks(n).pop().expect("at least one network");
    let network = last.strip_suffix(".0/25").expect("an IPv4 /25");
    format!("{network}.7").parse().expect("an IPv4 address")
}

/// A superuser's session cookie (`id=...`), valid on every benchmark app.
fn superuser_cookie(system: &actix_rt::SystemRunner) -> String {
    let maint = maintenance_mode(&Backend::Memory, false).expect("valid settings");
    let app = system.block_on(init_service(app_with_middleware(maint, routes)));
    let req = TestRequest::get()
        .uri("/login-superuser")
        .peer_addr(peer())
        .to_request();
    let res = ready_now(app.call(req)).expect("login");
    cookie_of(&res).expect("the login sets a session cookie")
}

/// Maintenance on, until switched off, with the bypass link's `secret`.
fn bypass_state(secret: &BypassSecret) -> MaintenanceState {
    MaintenanceState::Scheduled(Schedule::default().with_bypass(secret.clone()))
}

/// A handle of `settings` in maintenance with `secret`: the cookies of its
/// bypass link are valid for every state with the same secret.
fn issuer(secret: &BypassSecret, settings: MaintenanceSettings) -> MaintenanceMode {
    let maint = MaintenanceMode::new(settings).expect("valid settings");
    maint
        .set_blocking(bypass_state(secret))
        .expect("the memory backend stores the state");
    maint
}

/// The bypass cookie (`maint_bypass=...`) a browser gets from `maint`'s
/// bypass link, `GET /maintenance-mode/bypass/TOKEN`, on the benchmark app
/// with `routes` (the case's: an unmarked case builds no marked app).
fn bypass_cookie(
    system: &actix_rt::SystemRunner,
    maint: &MaintenanceMode,
    routes: fn(&mut web::ServiceConfig),
) -> String {
    let app = system.block_on(init_service(app_with_middleware(maint.clone(), routes)));
    let res = ready_now(app.call(bypass_link())).expect("the bypass link");
    assert_eq!(res.status(), 302, "the bypass link redirects");
    bypass_cookie_of(&res).expect("the bypass link sets the bypass cookie")
}

/// `GET /maintenance-mode/bypass/TOKEN` with [`BYPASS_TOKEN`].
fn bypass_link() -> Request {
    TestRequest::get()
        .uri(&format!("/maintenance-mode/bypass/{BYPASS_TOKEN}"))
        .peer_addr(peer())
        .to_request()
}

/// The `Cookie` header value of the bypass cookie a response sets (`maint_bypass=...`).
fn bypass_cookie_of<B>(res: &ServiceResponse<B>) -> Option<String> {
    let prefix = format!("{}=", bypass::COOKIE_NAME);
    res.headers()
        .get_all(header::SET_COOKIE)
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .find(|pair| pair.starts_with(&prefix))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use actix_web::test as actix_test;

    use super::*;

    #[actix_web::test]
    async fn the_app_behaves_as_the_figures_assume() {
        let maint = maintenance_mode(&Backend::Memory, false).unwrap();
        let app = actix_test::init_service(app_with_middleware(maint.clone(), routes)).await;
        let get = |path: &str| actix_test::TestRequest::get().uri(path).peer_addr(peer());

        let res = app.call(get("/hello").to_request()).await.unwrap();
        assert_eq!(res.status(), 200);
        let login = app
            .call(get("/login-superuser").to_request())
            .await
            .unwrap();
        let cookie = cookie_of(&login).expect("a session cookie");

        maint.set_maintenance_mode(true).await.unwrap();
        let page = app.call(get("/hello").to_request()).await.unwrap();
        assert_eq!(page.status(), 503);
        let exempt = app.call(get("/exempt/page").to_request()).await.unwrap();
        assert_eq!(exempt.status(), 200);
        let superuser = get("/hello")
            .insert_header(("cookie", cookie.as_str()))
            .to_request();
        assert_eq!(app.call(superuser).await.unwrap().status(), 200);
        let forced = app.call(get("/legacy/").to_request()).await.unwrap();
        assert_eq!(forced.status(), 503);
        let page = actix_test::read_body(page).await;
        let twin = app.call(get("/same-size").to_request()).await.unwrap();
        assert_eq!(twin.status(), 503, "not exempt during maintenance");
        maint.set_maintenance_mode(false).await.unwrap();
        let twin = app.call(get("/same-size").to_request()).await.unwrap();
        assert_eq!(twin.status(), 200);
        assert!(twin.headers().contains_key(header::RETRY_AFTER));
        let twin = actix_test::read_body(twin).await;
        assert_eq!(twin, page);

        let without = actix_test::init_service(app_without_middleware(maint, routes)).await;
        let res = without.call(get("/hello").to_request()).await.unwrap();
        assert_eq!(res.status(), 200);
    }

    #[actix_web::test]
    async fn read_only_mode_and_the_bypass_cookie_let_only_their_requests_through() {
        let maint = maintenance_mode(&Backend::Memory, false).unwrap();
        let app = actix_test::init_service(app_with_middleware(maint.clone(), routes)).await;
        let get = || {
            actix_test::TestRequest::get()
                .uri("/hello")
                .peer_addr(peer())
        };
        let post = || {
            actix_test::TestRequest::post()
                .uri("/hello")
                .peer_addr(peer())
        };

        let read_only = Schedule::default().with_read_only(true);
        maint
            .set(MaintenanceState::Scheduled(read_only))
            .await
            .unwrap();
        assert_eq!(app.call(get().to_request()).await.unwrap().status(), 200);
        assert_eq!(app.call(post().to_request()).await.unwrap().status(), 503);

        let secret = BypassSecret::new(BYPASS_TOKEN).unwrap();
        maint.set(bypass_state(&secret)).await.unwrap();
        assert_eq!(app.call(get().to_request()).await.unwrap().status(), 503);
        let link = app.call(bypass_link()).await.unwrap();
        assert_eq!(link.status(), 302);
        let cookie = bypass_cookie_of(&link).expect("the bypass cookie");
        let with = |cookie: &str| get().insert_header((header::COOKIE, cookie)).to_request();
        assert_eq!(app.call(with(&cookie)).await.unwrap().status(), 200);
        let forged = format!("{}A", &cookie[..cookie.len() - 1]);
        let forged = if forged == cookie {
            format!("{}B", &cookie[..cookie.len() - 1])
        } else {
            forged
        };
        assert_eq!(app.call(with(&forged)).await.unwrap().status(), 503);
    }

    #[test]
    fn the_exempt_ip_clients_are_exempt_by_their_networks_alone() {
        for case in [
            Case::OnExemptIp1,
            Case::OnExemptIp100,
            Case::OnExemptIp10000,
        ] {
            let n = case.ip_networks();
            let networks = exempt_networks(n);
            assert_eq!(networks.len(), n);
            let distinct: std::collections::BTreeSet<&String> = networks.iter().collect();
            assert_eq!(distinct.len(), n, "distinct networks");
            let client = exempt_client_ip(n).to_string();
            let last = networks.last().unwrap();
            assert_eq!(format!("{}0/25", client.strip_suffix('7').unwrap()), *last);
            // The same request, maintenance on, without the networks: the maintenance page.
            let system = actix_rt::System::new();
            let maint = maintenance_mode(&Backend::Memory, true).unwrap();
            let app = system.block_on(init_service(app_with_middleware(maint, routes)));
            let req = TestRequest::get()
                .uri("/hello")
                .peer_addr(case.own_peer().unwrap())
                .to_request();
            assert_eq!(ready_now(app.call(req)).unwrap().status(), 503);
        }
        let networks = exempt_networks(10_000);
        assert_eq!(networks.iter().filter(|n| n.contains(':')).count(), 2_000);
        assert_eq!(networks[0], "10.0.0.0/25");
        assert_eq!(networks[1], "2001:db8:0::/64");
        assert_eq!(networks[9_999], "10.31.63.0/25");
        assert_eq!(exempt_client_ip(10_000).to_string(), "10.31.63.7");
    }

    #[test]
    fn every_case_answers_as_expected() {
        for case in Case::ALL {
            // `Prepared::new` checks the status of one request.
            let prepared = Prepared::new(case);
            for _ in 0..3 {
                assert_eq!(prepared.call(prepared.request()), case.expected_status());
            }
            assert_eq!(Case::from_name(case.name()), Some(case));
        }
    }
}
