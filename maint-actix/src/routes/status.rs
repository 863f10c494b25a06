//! The status page `GET, POST {prefix}/` (superusers) and the public status
//! JSON `GET {prefix}/status` (anyone).

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
    web,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{FormPage, checked_post, on_off, page, see_other, set_as};
use crate::{
    MaintenanceState,
    bypass::BypassSecret,
    handle::MaintenanceMode,
    state::{Schedule, end_after, parse_iso8601},
};

/// Name of the status page's Handlebars template. Register your own template
/// under this name in the registry given to the builder's
/// [`templates`](crate::MaintenanceModeBuilder::templates) to replace
/// [`STATUS_TEMPLATE`].
///
/// The template's context: `state` (`"on"` / `"off"`, in effect now), `is_on`,
/// `stored_on` (on, or a window stored, even one not yet open),
/// `read_only`, `reason`, `start`, `end` (text or `null`), `bypass_set`
/// (bool), `change` (`null` or `{at, by, via}`), `hosts` (the hosts with a
/// state of their own: `{host, state, read_only, reason, start, end,
/// bypass_set, change}` each), `problem` (why the backend
/// cannot be read, or `null`), `fixed` and `fixed_reason` (the `mode` setting
/// fixes the state), `csrf_token`, `user`, and, once after a switch, `flash`:
/// `{bypass_link, error}` (each text or `null`). Its forms `POST` to the page
/// itself the fields `csrf_token`, `state` (`on` / `off`) and, to switch on,
/// `reason`, `start` (ISO 8601, optional), `end` (ISO 8601) or `for` (a duration such as `30m`),
/// `read_only` and `with_secret` (checkboxes); with a `host` field the
/// switch acts on that host's own state (`off` removes it, so the host follows
/// the global state again).
pub const STATUS_TEMPLATE_NAME: &str = "maintenance_mode/status.html";

/// The crate's default status page (Handlebars), used when the app's registry
/// has no [`STATUS_TEMPLATE_NAME`].
pub const STATUS_TEMPLATE: &str = include_str!("../../templates/maintenance_mode/status.html");

/// Session key of what the page shows once after a switch.
const FLASH_SESSION_KEY: &str = "maint_status_flash";

/// What the page shows once, after the redirect that follows a switch.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Flash {
    /// The bypass link just made: shown once, never stored elsewhere.
    bypass_link: Option<String>,
    /// Why the switch was refused.
    error: Option<String>,
}

/// The fields the page's forms post. Missing fields are allowed: empty text
/// is "not given", a checkbox is given when present.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default, rename = "for")]
    for_duration: Option<String>,
    #[serde(default)]
    read_only: Option<String>,
    #[serde(default)]
    with_secret: Option<String>,
    #[serde(default)]
    keep_secret: Option<String>,
    /// Switch this host's own state instead of the global one.
    #[serde(default)]
    host: Option<String>,
}

impl SwitchForm {
    /// The text of a field, `None` when absent or blank.
    fn text(field: &Option<String>) -> Option<&str> {
        field
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// Whether a checkbox was ticked (`on`, as browsers send it, or `true`, `1`, `yes`).
    fn ticked(field: &Option<String>) -> bool {
        Self::text(field).is_some_and(|value| {
            ["on", "true", "1", "yes"]
                .iter()
                .any(|yes| value.eq_ignore_ascii_case(yes))
        })
    }

    /// Whether the form asks to switch on: `state=on`, or, without `state`,
    /// any field of the on form.
    fn wants_on(&self) -> Result<bool, String> {
        match Self::text(&self.state)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("on") => Ok(true),
            Some("off") => Ok(false),
            Some(_) => Err("state must be on or off".to_owned()),
            None if [&self.reason, &self.start, &self.end, &self.for_duration]
                .into_iter()
                .any(|field| Self::text(field).is_some())
                || Self::ticked(&self.read_only)
                || Self::ticked(&self.with_secret) =>
            {
                Ok(true)
            }
            None => Err("say state=on or state=off".to_owned()),
        }
    }

    /// The state the on form asks for, and the token of a new bypass secret.
    /// `current` is the stored state: its bypass secret is kept when the form
    /// asks to keep it (its cookies keep working) and makes no new one.
    fn requested_on(
        &self,
        current: &MaintenanceState,
        now: Timestamp,
    ) -> Result<(MaintenanceState, Option<String>), String> {
        // The form comes filled with the current end: a duration typed next
        // to that untouched end replaces it.
        let untouched = |end: &str| parse_iso8601(end).ok() == current.end().map(whole_second);
        let end = match (Self::text(&self.end), Self::text(&self.for_duration)) {
            (Some(end), Some(duration)) if untouched(end) => {
                Some(end_after(now, duration).map_err(|error| error.to_string())?)
            }
            (Some(_), Some(_)) => return Err("give an end or a duration, not both".to_owned()),
            (Some(end), None) => Some(parse_iso8601(end).map_err(|error| error.to_string())?),
            (None, Some(duration)) => {
                Some(end_after(now, duration).map_err(|error| error.to_string())?)
            }
            (None, None) => None,
        };
        let start = Self::text(&self.start)
            .map(|start| parse_iso8601(start).map_err(|error| error.to_string()))
            .transpose()?;
        let (token, bypass) = if Self::ticked(&self.with_secret) {
            let (token, secret) = BypassSecret::generate();
            (Some(token), Some(secret))
        } else if Self::ticked(&self.keep_secret) {
            (None, current.bypass().cloned())
        } else {
            (None, None)
        };
        let mut details = Schedule::new(start, end).with_read_only(Self::ticked(&self.read_only));
        details.reason = Self::text(&self.reason).map(str::to_owned);
        details.bypass = bypass;
        let state = MaintenanceState::on_with(details, now).map_err(|error| error.to_string())?;
        Ok((state, token))
    }
}

/// `host`'s own state, when it has one.
fn own_state(maint: &MaintenanceMode, host: &str) -> Option<MaintenanceState> {
    let host = crate::host::normalize(host).ok()?;
    maint
        .host_states()
        .into_iter()
        .find(|(name, _)| *name == host)
        .map(|(_, record)| record.state)
}

/// A change as the page shows it.
fn change_json(change: &crate::change::Change) -> serde_json::Value {
    json!({
        "at": whole_second(change.at).to_string(),
        "by": change.by,
        "via": change.via.as_str(),
    })
}

/// The hosts with a state of their own, as the page lists them.
fn hosts_json(maint: &MaintenanceMode) -> Vec<serde_json::Value> {
    let time = |at: Option<Timestamp>| at.map(|at| whole_second(at).to_string());
    maint
        .host_states()
        .into_iter()
        .map(|(host, record)| {
            let state = &record.state;
            json!({
                "host": host,
                "state": on_off(state.is_active()),
                "read_only": state.is_read_only(),
                "reason": state.reason(),
                "start": time(state.schedule().and_then(|schedule| schedule.start)),
                "end": time(state.end()),
                "bypass_set": state.bypass().is_some(),
                "change": record.change.as_ref().map(change_json),
            })
        })
        .collect()
}

/// `at` to the nearest second, as the page shows it.
fn whole_second(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

/// `GET {prefix}/`: the status page.
pub(super) async fn show(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
) -> HttpResponse {
    let form = match FormPage::open(&req, &maint, &session) {
        Ok(form) => form,
        Err(refusal) => return refusal.answer(),
    };
    let flash = session
        .remove_as::<Flash>(FLASH_SESSION_KEY)
        .and_then(Result::ok);
    let state = maint.state();
    let is_on = maint.is_on();
    // Whole seconds: what an operator reads (and types back into the form).
    let time = |at: Option<Timestamp>| at.map(|at| whole_second(at).to_string());
    let context = json!({
        "title": "Maintenance mode",
        "state": on_off(is_on),
        "is_on": is_on,
        "stored_on": state != MaintenanceState::Off,
        "read_only": state.is_read_only(),
        "reason": state.reason(),
        "start": time(state.schedule().and_then(|schedule| schedule.start)),
        "end": time(state.end()),
        "bypass_set": state.bypass().is_some(),
        "change": maint.last_change().map(|change| change_json(&change)),
        "hosts": hosts_json(&maint),
        "problem": maint.backend_problem(),
        "fixed": form.fixed.is_some(),
        "fixed_reason": form.fixed,
        "csrf_token": form.csrf_token,
        "user": form.user.name,
        "flash": flash,
    });
    page(&maint, STATUS_TEMPLATE_NAME, &context)
}

/// `POST {prefix}/`: switches on (with the on form's details) or off, then
/// back to the page, which shows a new bypass link once, or why the switch
/// was refused.
pub(super) async fn switch(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
    form: Result<web::Form<SwitchForm>, actix_web::Error>,
) -> HttpResponse {
    let form = form.map(web::Form::into_inner).unwrap_or_default();
    let user = match checked_post(&req, &maint, &session, form.csrf_token.as_deref()) {
        Ok(user) => user,
        Err(refusal) => return refusal.answer(),
    };
    let host = SwitchForm::text(&form.host);
    let current = match host {
        Some(host) => own_state(&maint, host).unwrap_or(MaintenanceState::Off),
        None => maint.state(),
    };
    let requested = form.wants_on().and_then(|on| match on {
        true => form.requested_on(&current, Timestamp::now()),
        false => Ok((MaintenanceState::Off, None)),
    });
    let here = req.path().to_owned();
    let flash = match requested {
        Err(error) => Flash {
            error: Some(error),
            ..Flash::default()
        },
        Ok((state, token)) => {
            if let Err(refusal) = set_as(&maint, &user, host, state).await {
                return refusal.answer();
            }
            let prefix = here.trim_end_matches('/');
            Flash {
                bypass_link: token.map(|token| format!("{prefix}/bypass/{token}")),
                ..Flash::default()
            }
        }
    };
    if (flash.bypass_link.is_some() || flash.error.is_some())
        && let Err(error) = session.insert(FLASH_SESSION_KEY, &flash)
    {
        tracing::error!(%error, "cannot keep the status page's message in the session");
    }
    see_other(&here)
}

/// `GET {prefix}/status`: what anyone may know, for status pages and
/// single-page apps that show a banner before users meet a 503: in effect
/// now, read-only, the end and the reason. Never who changed it, never a secret.
pub(super) async fn public_json(req: HttpRequest, maint: MaintenanceMode) -> HttpResponse {
    let state = maint.state_for(&req);
    let on = state.is_active();
    let body = json!({
        "maintenance": on,
        "read_only": on && state.is_read_only(),
        "end": state.end().filter(|_| on).map(|end| end.to_string()),
        "reason": state.reason().filter(|_| on),
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(body)
}
