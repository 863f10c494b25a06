//! The superuser toggle routes, django-maintenance-mode's `maintenance_mode.urls`:
//! `on/` and `off/` under `/maintenance-mode`, mounted with one line, and the
//! bypass link `bypass/{token}` (see [`crate::bypass`]).
//!
//! - `GET` answers a small confirmation page (the Handlebars template
//!   [`TOGGLE_TEMPLATE_NAME`]) showing the state and a `<form method="post">`
//!   that carries a per-session CSRF token in the hidden input `csrf_token`.
//! - `POST` with that token sets the state and answers `303 See Other` to `/`,
//!   or to the form's `next` field when it is a path on this site.
//! - Anyone but a superuser ([`MaintenanceUser::is_superuser`](crate::MaintenanceUser))
//!   gets `403 Forbidden` from either method, and nothing changes.
//! - The off route is named [`TOGGLE_OFF_ROUTE_NAME`], which the middleware
//!   serves even during maintenance, so a superuser can always switch it off.
//!   The on route ([`TOGGLE_ON_ROUTE_NAME`]) has no such privilege.
//!
//! The handlers need actix-session's `SessionMiddleware` (the CSRF token lives
//! in the session) and the [`MaintenanceMode`] handle in the app data, which
//! the maintenance middleware provides (or add it with `.app_data(maint.clone())`).
//!
//! | outcome | status |
//! |---|---|
//! | page shown | `200 OK` |
//! | state set | `303 See Other`, `Location: /` or `next` |
//! | not a superuser, or no valid CSRF token | `403 Forbidden` |
//! | the `mode` setting fixes the state | `409 Conflict` with the reason |
//! | the backend could not store the state | `503 Service Unavailable` with the error |
//!
//! Every answer carries `Cache-Control: no-store`.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse, Scope,
    http::{
        StatusCode,
        header::{self, HeaderValue},
    },
    web,
};
use handlebars::Handlebars;
use rand::CryptoRng;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::LazyLock;
use subtle::ConstantTimeEq;

use crate::handle::{MaintenanceMode, StateError};

/// The prefix [`routes`] mounts the toggle routes under.
pub const DEFAULT_PREFIX: &str = "/maintenance-mode";

/// Name of the toggle-on route (django-maintenance-mode's `maintenance_mode_on`).
/// Unlike the off route it is *not* served during maintenance.
pub const TOGGLE_ON_ROUTE_NAME: &str = "maintenance_mode_on";

/// Name of the confirmation page's Handlebars template. Register your own
/// template under this name in the registry given to the builder's
/// [`templates`](crate::MaintenanceModeBuilder::templates) to replace
/// [`TOGGLE_TEMPLATE`].
///
/// The template's context: `action` (`"on"` / `"off"`), `title` and `button`
/// (texts for the action), `state` (`"on"` / `"off"`, as in effect now),
/// `is_on` (bool), `schedule` (`null` or `{start, end, reason}`, each text or
/// `null`), `fixed` (bool: the `mode` setting fixes the state), `fixed_reason`
/// (text or `null`), `csrf_token` (text, `null` when fixed), `next` (a checked
/// same-site path or `null`) and `user` (the user's name or `null`). The form
/// must `POST` the hidden field `csrf_token` (and may post `next`).
pub const TOGGLE_TEMPLATE_NAME: &str = "maintenance_mode/toggle.html";

/// The crate's default confirmation page (Handlebars), used when the app's
/// registry has no [`TOGGLE_TEMPLATE_NAME`].
pub const TOGGLE_TEMPLATE: &str = include_str!("../templates/maintenance_mode/toggle.html");

pub use crate::facts::{BYPASS_ROUTE_NAME, TOGGLE_OFF_ROUTE_NAME};
use crate::user::CSRF_SESSION_KEY;

/// Name of the form field (and hidden input) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// Bytes of randomness in a CSRF token (256 bits), hex-encoded in the form.
const TOKEN_BYTES: usize = 32;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The registry holding the default confirmation page, for apps whose own
/// registry does not hold one.
static DEFAULT_TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(TOGGLE_TEMPLATE_NAME, TOGGLE_TEMPLATE)
        .expect("the default toggle template compiles");
    templates
});

/// The toggle routes under [`DEFAULT_PREFIX`]: `/maintenance-mode/on/` (named
/// [`TOGGLE_ON_ROUTE_NAME`]) and `/maintenance-mode/off/` (named
/// [`TOGGLE_OFF_ROUTE_NAME`]), each answering `GET` and `POST`.
///
/// Mount them inside the maintenance middleware and actix-session's
/// `SessionMiddleware`:
///
/// ```
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, http::StatusCode, test};
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceUser, settings::StateBackendKind};
///
/// # actix_web::rt::System::new().block_on(async {
/// let maint = MaintenanceMode::builder(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )
/// // Here a header says who is a superuser; apps usually log users in with `maint_actix::user::login`.
/// .get_authenticated_user(|req| {
///     req.headers().contains_key("x-admin").then(|| MaintenanceUser::authenticated("ada").superuser())
/// })
/// .build()?;
/// let app = test::init_service(
///     App::new()
///         .service(maint_actix::routes::routes())
///         .wrap(maint.middleware())
///         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
/// )
/// .await;
///
/// // A superuser gets the confirmation page with its form...
/// let req = test::TestRequest::get().uri("/maintenance-mode/on/").insert_header(("x-admin", "1"));
/// let res = test::call_service(&app, req.to_request()).await;
/// assert_eq!(res.status(), StatusCode::OK);
/// let page = String::from_utf8(test::read_body(res).await.to_vec())?;
/// assert!(page.contains(r#"name="csrf_token""#));
///
/// // ...anyone else a 403, and a POST without the session's token changes nothing.
/// let req = test::TestRequest::get().uri("/maintenance-mode/on/");
/// assert_eq!(test::call_service(&app, req.to_request()).await.status(), StatusCode::FORBIDDEN);
/// let req = test::TestRequest::post().uri("/maintenance-mode/on/").insert_header(("x-admin", "1"));
/// assert_eq!(test::call_service(&app, req.to_request()).await.status(), StatusCode::FORBIDDEN);
/// assert!(!maint.is_on());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn routes() -> Scope {
    routes_at(DEFAULT_PREFIX)
}

/// The toggle routes under `prefix` instead of [`DEFAULT_PREFIX`]:
/// `{prefix}/on/` and `{prefix}/off/` (a trailing `/` of `prefix` is ignored).
///
/// ```
/// use actix_web::App;
///
/// let app = App::new().service(maint_actix::routes::routes_at("/ops/maintenance"));
/// ```
pub fn routes_at(prefix: &str) -> Scope {
    web::scope(prefix.trim_end_matches('/'))
        .service(
            web::resource("/on/")
                .name(TOGGLE_ON_ROUTE_NAME)
                .route(web::get().to(show_on))
                .route(web::post().to(turn_on)),
        )
        .service(
            web::resource("/off/")
                .name(TOGGLE_OFF_ROUTE_NAME)
                .route(web::get().to(show_off))
                .route(web::post().to(turn_off)),
        )
        .service(
            web::resource("/bypass/{token}")
                .name(BYPASS_ROUTE_NAME)
                .route(web::get().to(open_bypass)),
        )
}

/// `GET {prefix}/bypass/{token}`: with the secret's token, a cookie that lets
/// this browser through and a redirect to `/`; otherwise exactly what any
/// request gets: the maintenance response, or 404 when maintenance is off.
async fn open_bypass(
    req: HttpRequest,
    maint: MaintenanceMode,
    token: web::Path<String>,
) -> HttpResponse {
    let state = maint.state();
    // On, or a window still to open (the operator may take the cookie
    // beforehand); once a window has closed its secret is spent.
    let usable = maint.is_on() || (!state.is_active() && !has_ended(&state));
    let key = maint
        .bypass_key()
        .filter(|key| usable && key.matches_token(&token));
    let Some(key) = key else {
        // The contract's answer, read-only mode included: the maintenance
        // response while maintenance is on, else a 404.
        return if maint.is_on() {
            maint.maintenance_response(&req)
        } else {
            plain(StatusCode::NOT_FOUND, "not found")
        };
    };
    // Any claim of HTTPS counts: a client that lies only makes its own cookie
    // stricter, while a cookie without `Secure` could leak over plain HTTP.
    let https = req.app_config().secure() || req.connection_info().scheme() == "https";
    let cookie = crate::bypass::cookie(
        &key,
        maint.settings().bypass_cookie_ttl,
        state.end(),
        crate::bypass::unix_now(),
        https,
    );
    tracing::info!("bypass link opened: this browser is let through the maintenance");
    let mut res = HttpResponse::Found()
        .insert_header((header::LOCATION, "/"))
        .cookie(cookie)
        .finish();
    no_store(&mut res);
    res
}

/// Whether a window's end has passed.
fn has_ended(state: &crate::MaintenanceState) -> bool {
    state.end().is_some_and(|end| end <= jiff::Timestamp::now())
}

/// What a toggle route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    On,
    Off,
}

impl Action {
    fn is_on(self) -> bool {
        self == Action::On
    }

    fn word(self) -> &'static str {
        on_off(self.is_on())
    }

    fn title(self) -> &'static str {
        match self {
            Action::On => "Turn maintenance mode on",
            Action::Off => "Turn maintenance mode off",
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The `next` query parameter of the page.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    next: Option<String>,
}

/// The fields the form posts; missing fields are allowed (and fail the check).
#[derive(Debug, Default, Deserialize)]
struct ToggleForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

async fn show_on(req: HttpRequest, maint: MaintenanceMode, session: Session) -> HttpResponse {
    show(Action::On, &req, &maint, &session)
}

async fn show_off(req: HttpRequest, maint: MaintenanceMode, session: Session) -> HttpResponse {
    show(Action::Off, &req, &maint, &session)
}

async fn turn_on(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
    form: Result<web::Form<ToggleForm>, actix_web::Error>,
) -> HttpResponse {
    toggle(Action::On, &req, &maint, &session, form).await
}

async fn turn_off(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
    form: Result<web::Form<ToggleForm>, actix_web::Error>,
) -> HttpResponse {
    toggle(Action::Off, &req, &maint, &session, form).await
}

/// `GET`: the confirmation page.
fn show(
    action: Action,
    req: &HttpRequest,
    maint: &MaintenanceMode,
    session: &Session,
) -> HttpResponse {
    let user = maint.user_of(req);
    if !user.is_superuser {
        return forbidden("only superusers may change maintenance mode");
    }
    let fixed = maint
        .refuse_when_fixed()
        .err()
        .map(|error| error.to_string());
    let csrf_token = match &fixed {
        Some(_) => None,
        None => match session_token(session) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::error!(%error, "cannot store the toggle form's CSRF token in the session");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot store the CSRF token in the session",
                );
            }
        },
    };
    let next = web::Query::<PageQuery>::from_query(req.query_string())
        .ok()
        .and_then(|query| query.into_inner().next)
        .filter(|next| is_safe_next(next));
    let state = maint.state();
    let schedule = state.schedule().map(|schedule| {
        json!({
            "start": schedule.start.map(|t| t.to_string()),
            "end": schedule.end.map(|t| t.to_string()),
            "reason": schedule.reason,
        })
    });
    let is_on = maint.is_on();
    let context = json!({
        "action": action.word(),
        "title": action.title(),
        "button": action.title(),
        "state": on_off(is_on),
        "is_on": is_on,
        "schedule": schedule,
        "fixed": fixed.is_some(),
        "fixed_reason": fixed,
        "csrf_token": csrf_token,
        "next": next,
        "user": user.name,
    });
    match render(maint, &context) {
        Ok(page) => {
            let mut res = HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(page);
            no_store(&mut res);
            res
        }
        Err(error) => {
            tracing::error!(%error, template = TOGGLE_TEMPLATE_NAME, "toggle template failed to render");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the maintenance mode page failed to render",
            )
        }
    }
}

/// `POST`: checks the user, the `mode` setting and the token, then sets the state.
async fn toggle(
    action: Action,
    req: &HttpRequest,
    maint: &MaintenanceMode,
    session: &Session,
    form: Result<web::Form<ToggleForm>, actix_web::Error>,
) -> HttpResponse {
    let user = maint.user_of(req);
    if !user.is_superuser {
        return forbidden("only superusers may change maintenance mode");
    }
    // Refusing a fixed state first is harmless (nothing changes either way)
    // and tells the superuser why, whatever the token.
    if let Err(error) = maint.refuse_when_fixed() {
        return plain(StatusCode::CONFLICT, &error.to_string());
    }
    let form = form.map(web::Form::into_inner).unwrap_or_default();
    if !token_matches(session, form.csrf_token.as_deref()) {
        return forbidden("missing or invalid CSRF token");
    }
    let name = user.name.as_deref().unwrap_or("<unnamed>");
    match maint.set_maintenance_mode(action.is_on()).await {
        Ok(()) => {
            tracing::info!(
                user = ?name,
                state = action.word(),
                "maintenance mode switched {} by a superuser",
                action.word()
            );
            let location = form
                .next
                .as_deref()
                .filter(|next| is_safe_next(next))
                .unwrap_or("/");
            let mut res = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
            no_store(&mut res);
            res
        }
        Err(error @ StateError::Backend(_)) => {
            tracing::error!(%error, user = ?name, state = action.word(), "toggle route could not store the state");
            plain(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())
        }
        Err(error) => plain(StatusCode::CONFLICT, &error.to_string()),
    }
}

/// Renders the page with the app's template when it has one, else the default.
fn render(maint: &MaintenanceMode, context: &Value) -> Result<String, handlebars::RenderError> {
    let templates = maint.templates();
    if templates.has_template(TOGGLE_TEMPLATE_NAME) {
        templates.render(TOGGLE_TEMPLATE_NAME, context)
    } else {
        DEFAULT_TEMPLATES.render(TOGGLE_TEMPLATE_NAME, context)
    }
}

/// The session's CSRF token, created (and stored) when it has none.
fn session_token(session: &Session) -> Result<String, actix_session::SessionInsertError> {
    if let Ok(Some(token)) = session.get::<String>(CSRF_SESSION_KEY)
        && is_well_formed_token(&token)
    {
        return Ok(token);
    }
    let token = new_token(&mut rand::rng());
    session.insert(CSRF_SESSION_KEY, &token)?;
    Ok(token)
}

/// A fresh token: [`TOKEN_BYTES`] bytes of a cryptographically secure generator, hex-encoded.
fn new_token(rng: &mut impl CryptoRng) -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn is_well_formed_token(token: &str) -> bool {
    token.len() == 2 * TOKEN_BYTES && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `posted` equals the session's token, compared in constant time.
/// A session without a token matches nothing.
fn token_matches(session: &Session, posted: Option<&str>) -> bool {
    let Ok(Some(expected)) = session.get::<String>(CSRF_SESSION_KEY) else {
        return false;
    };
    let Some(posted) = posted else {
        return false;
    };
    is_well_formed_token(&expected) && bool::from(expected.as_bytes().ct_eq(posted.as_bytes()))
}

/// Whether `next` is a path on this site that is safe to redirect to: it starts
/// with a single `/` (so no scheme and no `//host`), and holds only visible
/// ASCII other than `\` (browsers read `\` as `/`, and strip tabs and newlines).
fn is_safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

fn no_store(res: &mut HttpResponse) {
    res.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
}

fn forbidden(reason: &str) -> HttpResponse {
    plain(StatusCode::FORBIDDEN, reason)
}

/// A short plain-text answer that is never cached.
fn plain(status: StatusCode, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(message.to_owned());
    no_store(&mut res);
    res
}

#[cfg(test)]
mod tests {
    use actix_session::{SessionMiddleware, storage::CookieSessionStore};
    use actix_web::{App, cookie::Key, test as actix_test};

    use super::*;
    use crate::{
        MaintenanceSettings, MaintenanceUser, runtime::test_log::Sink, settings::StateBackendKind,
    };

    #[actix_rt::test]
    async fn each_change_is_logged_with_the_user_and_the_state() {
        let sink = Sink::default();
        let _logging = tracing::subscriber::set_default(sink.subscriber());
        let maint = MaintenanceMode::builder(
            MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
        )
        .get_authenticated_user(|_| Some(MaintenanceUser::authenticated("ada").superuser()))
        .build()
        .unwrap();
        let app =
            actix_test::init_service(App::new().service(routes()).wrap(maint.middleware()).wrap(
                SessionMiddleware::new(CookieSessionStore::default(), Key::generate()),
            ))
            .await;
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/maintenance-mode/on/")
                .to_request(),
        )
        .await;
        let cookie = res
            .response()
            .cookies()
            .next()
            .expect("session cookie")
            .into_owned();
        let page = String::from_utf8(actix_test::read_body(res).await.to_vec()).unwrap();
        let marker = r#"name="csrf_token" value=""#;
        let start = page.find(marker).unwrap() + marker.len();
        let token = &page[start..start + 2 * TOKEN_BYTES];
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::post()
                .uri("/maintenance-mode/on/")
                .cookie(cookie)
                .set_form([("csrf_token", token)])
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(maint.is_on());
        let log = sink.text();
        let line = log
            .lines()
            .find(|line| line.contains("by a superuser"))
            .unwrap_or_else(|| panic!("no change logged: {log}"));
        assert!(line.contains("INFO"), "{line}");
        assert!(line.contains(r#"user="ada""#), "{line}");
        assert!(line.contains(r#"state="on""#), "{line}");
    }

    #[test]
    fn next_must_be_a_same_site_path() {
        for ok in ["/", "/admin/", "/a/b?c=d&e=f#g", "/%2F%2Fevil.com"] {
            assert!(is_safe_next(ok), "{ok:?}");
        }
        for bad in [
            "",
            "admin/",
            "//evil.com",
            "///evil.com",
            "https://evil.com",
            "/\\evil",
            "\\/evil",
            "javascript:alert(1)",
            "/\t/evil.com",
            "/\n/evil.com",
            "/ /evil.com",
            "/caf\u{e9}",
        ] {
            assert!(!is_safe_next(bad), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_256_bits_of_hex_and_differ() {
        let a = new_token(&mut rand::rng());
        let b = new_token(&mut rand::rng());
        assert!(is_well_formed_token(&a), "{a}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn the_default_template_compiles_and_shows_the_form() {
        let page = DEFAULT_TEMPLATES
            .render(
                TOGGLE_TEMPLATE_NAME,
                &json!({"title": "T", "button": "B", "state": "off", "csrf_token": "abc<\"", "fixed": false}),
            )
            .unwrap();
        assert!(page.contains(r#"<form method="post">"#), "{page}");
        assert!(
            page.contains(r#"name="csrf_token" value="abc&lt;&quot;""#),
            "{page}"
        );
    }
}
