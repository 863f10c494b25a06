//! The routes maint mounts with one line, under `/maintenance-mode`:
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET, POST on/`, `off/` | superusers | django-maintenance-mode's toggle URLs, with a confirmation page |
//! | `GET, POST /` (the prefix itself) | superusers | the status page: state, reason, window, last change; forms to switch on and off |
//! | `GET status` | anyone | the public status JSON, for status pages and banners |
//! | `GET bypass/{token}` | anyone with the link | the bypass link (see [`crate::bypass`]) |
//!
//! The pages:
//!
//! - `GET` answers a page (the Handlebars templates [`TOGGLE_TEMPLATE_NAME`] and
//!   [`STATUS_TEMPLATE_NAME`]) with `<form method="post">`s that carry a
//!   per-session CSRF token in the hidden input `csrf_token`.
//! - `POST` with that token sets the state and answers `303 See Other`: the
//!   toggle routes to `/` or to the form's `next` field when it is a path on
//!   this site, the status page to itself.
//! - Anyone but a superuser ([`MaintenanceUser::is_superuser`](crate::MaintenanceUser))
//!   gets `403 Forbidden` from either method, and nothing changes.
//! - The off route ([`TOGGLE_OFF_ROUTE_NAME`]), the status page
//!   ([`STATUS_PAGE_ROUTE_NAME`]), the status JSON ([`STATUS_ROUTE_NAME`]) and
//!   the bypass link ([`BYPASS_ROUTE_NAME`]) are served even during
//!   maintenance, so a superuser can always switch it off. The on route
//!   ([`TOGGLE_ON_ROUTE_NAME`]) has no such privilege.
//! - Every change is recorded as made by the superuser, through `route`.
//!
//! The handlers need actix-session's `SessionMiddleware` (the CSRF token lives
//! in the session) and the [`MaintenanceMode`] handle in the app data, which
//! the maintenance middleware provides (or add it with `.app_data(maint.clone())`).
//!
//! | outcome | status |
//! |---|---|
//! | page shown | `200 OK` |
//! | state set | `303 See Other`, `Location: /`, `next` or the status page |
//! | not a superuser, or no valid CSRF token | `403 Forbidden` |
//! | the `mode` setting fixes the state | `409 Conflict` with the reason |
//! | the backend could not store the state | `503 Service Unavailable` with the error |
//!
//! Every answer carries `Cache-Control: no-store`.

use std::sync::LazyLock;

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
use serde_json::Value;

use crate::{
    MaintenanceState, MaintenanceUser,
    change::{Change, Via},
    handle::{MaintenanceMode, StateError},
};

mod bypass_link;
mod csrf;
mod status;
mod toggle;

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
pub const TOGGLE_TEMPLATE: &str = include_str!("../../templates/maintenance_mode/toggle.html");

pub use crate::facts::{
    BYPASS_ROUTE_NAME, STATUS_PAGE_ROUTE_NAME, STATUS_ROUTE_NAME, TOGGLE_OFF_ROUTE_NAME,
};
pub use status::{STATUS_TEMPLATE, STATUS_TEMPLATE_NAME};

/// Name of the form field (and hidden input) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The registry holding the default confirmation page, for apps whose own
/// registry does not hold one.
static DEFAULT_TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut templates = Handlebars::new();
    templates
        .register_template_string(TOGGLE_TEMPLATE_NAME, TOGGLE_TEMPLATE)
        .expect("the default toggle template compiles");
    templates
        .register_template_string(STATUS_TEMPLATE_NAME, STATUS_TEMPLATE)
        .expect("the default status template compiles");
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
            web::resource("/")
                .name(STATUS_PAGE_ROUTE_NAME)
                .route(web::get().to(status::show))
                .route(web::post().to(status::switch)),
        )
        .service(
            web::resource("/status")
                .name(STATUS_ROUTE_NAME)
                .route(web::get().to(status::public_json)),
        )
        .service(
            web::resource("/on/")
                .name(TOGGLE_ON_ROUTE_NAME)
                .route(web::get().to(toggle::show_on))
                .route(web::post().to(toggle::turn_on)),
        )
        .service(
            web::resource("/off/")
                .name(TOGGLE_OFF_ROUTE_NAME)
                .route(web::get().to(toggle::show_off))
                .route(web::post().to(toggle::turn_off)),
        )
        .service(
            web::resource("/bypass/{token}")
                .name(BYPASS_ROUTE_NAME)
                .route(web::get().to(bypass_link::open_bypass)),
        )
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Why a page or a change is refused: a status and a short plain message.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    fn answer(self) -> HttpResponse {
        plain(self.status, &self.message)
    }
}

/// What every page with forms starts from: a superuser, whether `mode`
/// fixes the state, and the session's CSRF token for the forms.
struct FormPage {
    user: MaintenanceUser,
    /// Why the state cannot be changed, when `mode` fixes it.
    fixed: Option<String>,
    /// `None` when the state is fixed (no form is shown).
    csrf_token: Option<String>,
}

impl FormPage {
    /// The page's basics, or the answer for a request that gets no page.
    fn open(
        req: &HttpRequest,
        maint: &MaintenanceMode,
        session: &Session,
    ) -> Result<Self, Refusal> {
        let user = maint.user_of(req);
        if !user.is_superuser {
            return Err(Refusal::forbidden(
                "only superusers may change maintenance mode",
            ));
        }
        let fixed = maint
            .refuse_when_fixed()
            .err()
            .map(|error| error.to_string());
        let csrf_token = match &fixed {
            Some(_) => None,
            None => Some(csrf::session_token(session).map_err(|error| {
                tracing::error!(%error, "cannot store the form's CSRF token in the session");
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot store the CSRF token in the session",
                )
            })?),
        };
        Ok(Self {
            user,
            fixed,
            csrf_token,
        })
    }
}

/// The checks of a `POST`: a superuser, a state `mode` does not fix, the
/// session's CSRF token. The superuser, or the answer.
fn checked_post(
    req: &HttpRequest,
    maint: &MaintenanceMode,
    session: &Session,
    posted_token: Option<&str>,
) -> Result<MaintenanceUser, Refusal> {
    let user = maint.user_of(req);
    if !user.is_superuser {
        return Err(Refusal::forbidden(
            "only superusers may change maintenance mode",
        ));
    }
    // Refusing a fixed state first is harmless (nothing changes either way)
    // and tells the superuser why, whatever the token.
    if let Err(error) = maint.refuse_when_fixed() {
        return Err(Refusal::new(StatusCode::CONFLICT, error.to_string()));
    }
    if !csrf::token_matches(session, posted_token) {
        return Err(Refusal::forbidden("missing or invalid CSRF token"));
    }
    Ok(user)
}

/// Sets `state` (of `host`, when given: off removes the host's own state)
/// as made by `user` through a route; the answer when that fails.
async fn set_as(
    maint: &MaintenanceMode,
    user: &MaintenanceUser,
    host: Option<&str>,
    state: MaintenanceState,
) -> Result<(), Refusal> {
    let name = user.name.as_deref().unwrap_or("<unnamed>");
    let change = Change::new(name, Via::Route);
    let set = match host {
        Some(host) => {
            let own = (state != MaintenanceState::Off).then_some(state);
            maint.set_host_with_change(host, own, change).await
        }
        None => maint.set_with_change(state, change).await,
    };
    match set {
        Ok(()) => Ok(()),
        Err(error @ StateError::Backend(_)) => {
            tracing::error!(%error, user = ?name, "a route could not store the state");
            Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                error.to_string(),
            ))
        }
        Err(error) => Err(Refusal::new(StatusCode::CONFLICT, error.to_string())),
    }
}

/// `303 See Other` to `location`, never cached.
fn see_other(location: &str) -> HttpResponse {
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish();
    no_store(&mut res);
    res
}

/// The page `template` (the app's, else the default) for `context`.
fn page(maint: &MaintenanceMode, template: &str, context: &Value) -> HttpResponse {
    let templates = maint.templates();
    let rendered = if templates.has_template(template) {
        templates.render(template, context)
    } else {
        DEFAULT_TEMPLATES.render(template, context)
    };
    match rendered {
        Ok(page) => {
            let mut res = HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(page);
            no_store(&mut res);
            res
        }
        Err(error) => {
            tracing::error!(%error, template, "maintenance mode page failed to render");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the maintenance mode page failed to render",
            )
        }
    }
}

fn no_store(res: &mut HttpResponse) {
    res.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
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
    use serde_json::json;

    use super::{
        csrf::{TOKEN_BYTES, is_well_formed_token, new_token},
        toggle::is_safe_next,
        *,
    };
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
        let lines: Vec<_> = log
            .lines()
            .filter(|line| line.contains("maintenance state changed"))
            .collect();
        assert_eq!(lines.len(), 1, "one line per change: {log}");
        let line = lines[0];
        assert!(line.contains("INFO"), "{line}");
        assert!(line.contains(r#"by="ada""#), "{line}");
        assert!(line.contains(r#"via="route""#), "{line}");
        assert!(
            line.contains("old=off") && line.contains("new=on"),
            "{line}"
        );
        assert_eq!(
            maint.last_change().map(|change| change.by),
            Some("ada".to_owned())
        );
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
