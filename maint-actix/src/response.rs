//! The maintenance response: a redirect, a Handlebars page, or JSON.

use std::sync::{Arc, OnceLock};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{
        StatusCode,
        header::{self, Accept, Header, HeaderValue, Quality},
    },
    web::Bytes,
};
use handlebars::Handlebars;
use jiff::Timestamp;

use serde_json::{Map, Value};

use crate::{
    settings::{MaintenanceSettings, ResponseType, SettingsError},
    state::MaintenanceState,
};

/// Name under which the crate's default page is registered.
pub const DEFAULT_TEMPLATE_NAME: &str = "503.html";

/// The crate's default maintenance page (Handlebars). Register your own
/// `503.html` to replace it, or name another with the `template` setting.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/503.html");

/// What an error page says when the template itself fails to render.
const RENDER_FAILURE_PAGE: &str = "<!DOCTYPE html><title>Down for maintenance</title>\
    <h1>Down for maintenance</h1><p>This site is undergoing maintenance. Please come back later.</p>";

const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

const NEVER_CACHE: HeaderValue =
    HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private");

/// Marks a response as the maintenance response, in its extensions, so loggers
/// and error reporters can leave it out (as Django's `RequireNotMaintenanceMode503`).
///
/// ```
/// use actix_web::HttpResponse;
/// use maint_actix::response::MaintenanceResponse;
///
/// let res = HttpResponse::Ok().finish();
/// assert!(!MaintenanceResponse::is(&res));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceResponse;

impl MaintenanceResponse {
    /// Whether `res` is a maintenance response.
    pub fn is<B>(res: &HttpResponse<B>) -> bool {
        res.extensions().contains::<MaintenanceResponse>()
    }
}

/// Hook: template/JSON context for a request (Django's `MAINTENANCE_MODE_GET_CONTEXT`).
pub(crate) type ContextHook = Arc<dyn Fn(&HttpRequest) -> Map<String, Value> + Send + Sync>;
/// Hook: the response type for a request (Django's `MAINTENANCE_MODE_RESPONSE_TYPE`
/// given as a function).
pub(crate) type ResponseTypeHook = Arc<dyn Fn(&HttpRequest) -> ResponseType + Send + Sync>;

/// Bodies rendered for one state, kept with the state's snapshot so that a
/// static page is rendered once and reused until the state changes.
#[derive(Debug, Default)]
pub(crate) struct RenderedBodies {
    html: OnceLock<Bytes>,
    json: OnceLock<Bytes>,
}

/// Builds maintenance responses; everything that does not depend on the request is prepared here.
pub(crate) struct Responder {
    status: StatusCode,
    /// `Retry-After` as configured; `None` for 0.
    retry_after: Option<HeaderValue>,
    /// `Refresh` of the HTML page as configured; `None` for 0.
    refresh: Option<HeaderValue>,
    redirect: Option<HeaderValue>,
    response_type: ResponseType,
    response_type_hook: Option<ResponseTypeHook>,
    template: String,
    templates: Handlebars<'static>,
    context: Map<String, Value>,
    context_hook: Option<ContextHook>,
}

/// The response-related parts of the builder.
pub(crate) struct ResponderParts {
    pub(crate) templates: Option<Handlebars<'static>>,
    pub(crate) context: Map<String, Value>,
    pub(crate) context_hook: Option<ContextHook>,
    pub(crate) response_type_hook: Option<ResponseTypeHook>,
}

impl Responder {
    pub(crate) fn new(
        settings: &MaintenanceSettings,
        parts: ResponderParts,
    ) -> Result<Self, SettingsError> {
        let status = status_code(settings.status_code)?;
        check_seconds("retry_after", settings.retry_after)?;
        check_seconds("refresh", settings.refresh)?;
        let redirect = settings
            .redirect_url
            .as_deref()
            .map(|url| {
                HeaderValue::from_str(url).map_err(|_| SettingsError::InvalidValue {
                    key: "redirect_url",
                    reason: format!("{url:?} cannot be a Location header"),
                })
            })
            .transpose()?;
        let templates = templates_with_default(parts.templates, &settings.template)?;
        Ok(Self {
            status,
            retry_after: (settings.retry_after > 0)
                .then(|| HeaderValue::from(settings.retry_after)),
            refresh: (settings.refresh > 0).then(|| HeaderValue::from(settings.refresh)),
            redirect,
            response_type: settings.response_type,
            response_type_hook: parts.response_type_hook,
            template: settings.template.clone(),
            templates,
            context: parts.context,
            context_hook: parts.context_hook,
        })
    }

    /// The Handlebars registry of the maintenance page (and the toggle page).
    pub(crate) fn templates(&self) -> &Handlebars<'static> {
        &self.templates
    }

    /// The maintenance response for `req` in `state`, reusing `bodies` rendered for it.
    pub(crate) fn respond(
        &self,
        req: &HttpRequest,
        state: &MaintenanceState,
        bodies: &RenderedBodies,
    ) -> HttpResponse {
        let mut res = match &self.redirect {
            Some(location) => HttpResponse::Found()
                .insert_header((header::LOCATION, location.clone()))
                .finish(),
            None => self.page(req, state, bodies),
        };
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, NEVER_CACHE);
        if self.redirect.is_none()
            && let Some(retry_after) = self.retry_after_header(state)
        {
            headers.insert(header::RETRY_AFTER, retry_after);
        }
        res.extensions_mut().insert(MaintenanceResponse);
        tracing::debug!(
            maintenance_response = true,
            status = res.status().as_u16(),
            path = req.path(),
            "maintenance response"
        );
        res
    }

    /// `Retry-After`: the configured value, prepared once, or the seconds left
    /// until a schedule's end; `None` when `retry_after` is 0.
    fn retry_after_header(&self, state: &MaintenanceState) -> Option<HeaderValue> {
        let configured = self.retry_after.as_ref()?;
        let end = state.schedule().and_then(|schedule| schedule.end);
        match end.and_then(|end| seconds_until(end, Timestamp::now())) {
            Some(seconds) => Some(HeaderValue::from(seconds)),
            None => Some(configured.clone()),
        }
    }

    fn page(
        &self,
        req: &HttpRequest,
        state: &MaintenanceState,
        bodies: &RenderedBodies,
    ) -> HttpResponse {
        let json = match self.response_type_hook.as_ref().map(|hook| hook(req)) {
            Some(ResponseType::Json) => true,
            Some(ResponseType::Html) => false,
            Some(ResponseType::Auto) => prefers_json(req),
            None => match self.response_type {
                ResponseType::Json => true,
                ResponseType::Html => false,
                ResponseType::Auto => prefers_json(req),
            },
        };
        let mut res = HttpResponse::build(self.status);
        if json {
            res.content_type(JSON);
            return res.body(self.json_body(req, state, bodies));
        }
        if let Some(refresh) = &self.refresh {
            res.insert_header((REFRESH, refresh.clone()));
        }
        res.content_type(HTML)
            .body(self.html_body(req, state, bodies))
    }

    fn html_body(
        &self,
        req: &HttpRequest,
        state: &MaintenanceState,
        bodies: &RenderedBodies,
    ) -> Bytes {
        match &self.context_hook {
            None => bodies
                .html
                .get_or_init(|| self.render_html(&self.context_for(state, None)))
                .clone(),
            Some(_) => self.render_html(&self.context_for(state, Some(req))),
        }
    }

    fn json_body(
        &self,
        req: &HttpRequest,
        state: &MaintenanceState,
        bodies: &RenderedBodies,
    ) -> Bytes {
        match &self.context_hook {
            None => bodies
                .json
                .get_or_init(|| render_json(&self.context_for(state, None)))
                .clone(),
            Some(_) => render_json(&self.context_for(state, Some(req))),
        }
    }

    fn render_html(&self, context: &Map<String, Value>) -> Bytes {
        match self.templates.render(&self.template, context) {
            Ok(html) => Bytes::from(html),
            Err(error) => {
                tracing::error!(%error, template = %self.template, "maintenance template failed to render");
                Bytes::from_static(RENDER_FAILURE_PAGE.as_bytes())
            }
        }
    }

    /// The static context, the hook's, then what maint knows of the state.
    fn context_for(
        &self,
        state: &MaintenanceState,
        req: Option<&HttpRequest>,
    ) -> Map<String, Value> {
        let mut context = self.context.clone();
        if let (Some(hook), Some(req)) = (&self.context_hook, req) {
            context.extend(hook(req));
        }
        context.insert("maintenance".into(), Value::Bool(true));
        context.insert("read_only".into(), Value::Bool(state.is_read_only()));
        // Always present (null when unset), without hiding an app's own value.
        let known = [
            ("reason", state.reason().map(Value::from)),
            ("end", state.end().map(|end| Value::from(end.to_string()))),
        ];
        for (key, value) in known {
            match value {
                Some(value) => {
                    context.insert(key.into(), value);
                }
                None => {
                    context.entry(key).or_insert(Value::Null);
                }
            }
        }
        context.insert("status_code".into(), self.status.as_u16().into());
        context
    }
}

/// Whole seconds from `now` until `end`, rounded up; `None` once `end` has passed.
fn seconds_until(end: Timestamp, now: Timestamp) -> Option<u64> {
    let millis = u64::try_from(end.duration_since(now).as_millis()).ok()?;
    (millis > 0).then(|| millis.div_ceil(1000))
}

fn render_json(context: &Map<String, Value>) -> Bytes {
    Bytes::from(serde_json::to_vec(context).expect("a JSON map always serializes"))
}

/// The app's registry (or a new one) holding the default page, checked to hold `template`.
fn templates_with_default(
    templates: Option<Handlebars<'static>>,
    template: &str,
) -> Result<Handlebars<'static>, SettingsError> {
    let mut templates = templates.unwrap_or_default();
    if !templates.has_template(DEFAULT_TEMPLATE_NAME) {
        templates
            .register_template_string(DEFAULT_TEMPLATE_NAME, DEFAULT_TEMPLATE)
            .expect("the default template compiles");
    }
    if !templates.has_template(template) {
        return Err(SettingsError::InvalidValue {
            key: "template",
            reason: format!("no template named {template:?} is registered"),
        });
    }
    Ok(templates)
}

/// The largest `retry_after` / `refresh` (about 68 years): their readers
/// commonly hold them in a signed 32-bit number.
const MAX_SECONDS: u64 = i32::MAX as u64;

/// The `Refresh` header (not standardized, honoured by every browser).
const REFRESH: header::HeaderName = header::HeaderName::from_static("refresh");

fn check_seconds(key: &'static str, seconds: u64) -> Result<(), SettingsError> {
    if seconds > MAX_SECONDS {
        return Err(SettingsError::InvalidValue {
            key,
            reason: format!(
                "{seconds} seconds is more than {MAX_SECONDS}, which clients that read it as a 32-bit number overflow"
            ),
        });
    }
    Ok(())
}

/// `status_code` as a status a maintenance response can have: 200–599. An
/// informational 1xx would leave clients waiting for a final response.
fn status_code(code: u16) -> Result<StatusCode, SettingsError> {
    let invalid = |reason: &str| SettingsError::InvalidValue {
        key: "status_code",
        reason: format!("{code} {reason}"),
    };
    if !(200..=599).contains(&code) {
        return Err(invalid(
            "is not a final HTTP status (200-599); 1xx would leave clients waiting",
        ));
    }
    StatusCode::from_u16(code).map_err(|_| invalid("is not an HTTP status code"))
}

/// Whether the client ranks JSON above HTML in `Accept`. A type with `q=0`
/// is one the client refuses (RFC 9110, 12.4.2), so it never counts.
pub(crate) fn prefers_json(req: &HttpRequest) -> bool {
    let Ok(Accept(items)) = Accept::parse(req) else {
        return false;
    };
    let acceptable = items
        .into_iter()
        .filter(|item| item.quality > Quality::ZERO)
        .collect();
    Accept(acceptable)
        .ranked()
        .iter()
        .find_map(|mime| {
            let is_json = mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json");
            let is_html =
                mime.subtype() == "html" || mime.subtype() == "xhtml" || mime.subtype() == "*";
            (is_json || is_html).then_some(is_json)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn accept(value: &str) -> bool {
        prefers_json(
            &TestRequest::default()
                .insert_header((header::ACCEPT, value))
                .to_http_request(),
        )
    }

    #[test]
    fn json_is_preferred_only_when_ranked_first() {
        assert!(accept("application/json"));
        assert!(accept("application/problem+json"));
        assert!(accept("application/json, text/html;q=0.5"));
        assert!(!accept("text/html, application/json;q=0.9"));
        assert!(!accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("*/*"));
        // q=0 means "not acceptable".
        assert!(!accept("application/json;q=0"));
        assert!(!accept("application/json;q=0, text/html;q=0.1"));
        assert!(!accept("application/json;q=0.000, */*;q=0.1"));
        assert!(accept("text/html;q=0, application/json;q=0.1"));
        assert!(!prefers_json(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn seconds_until_rounds_up_and_stops_at_the_end() {
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let later = |ms: i64| now + jiff::SignedDuration::from_millis(ms);
        assert_eq!(seconds_until(later(1), now), Some(1));
        assert_eq!(seconds_until(later(1000), now), Some(1));
        assert_eq!(seconds_until(later(1001), now), Some(2));
        assert_eq!(seconds_until(now, now), None);
        assert_eq!(seconds_until(later(-5), now), None);
    }

    #[test]
    fn unknown_template_names_the_key() {
        let err = templates_with_default(None, "missing.html").err().unwrap();
        assert!(err.to_string().contains("`template`"), "{err}");
        assert!(err.to_string().contains("missing.html"), "{err}");
    }

    #[test]
    fn app_template_replaces_the_default() {
        let mut mine = Handlebars::new();
        mine.register_template_string("503.html", "mine").unwrap();
        let templates = templates_with_default(Some(mine), "503.html").unwrap();
        assert_eq!(templates.render("503.html", &()).unwrap(), "mine");
    }

    #[test]
    fn default_page_mentions_maintenance() {
        let templates = templates_with_default(None, "503.html").unwrap();
        let page = templates
            .render("503.html", &serde_json::json!({"status_code": 503}))
            .unwrap();
        assert!(page.contains("maintenance"));
        assert!(page.contains("503"));
    }
}
