//! The toggle routes `{prefix}/on/` and `{prefix}/off/`: a confirmation page
//! and a CSRF-protected `POST`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{FormPage, TOGGLE_TEMPLATE_NAME, checked_post, on_off, page, see_other, set_as};
use crate::{MaintenanceState, handle::MaintenanceMode};

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

/// The `next` query parameter of the page.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    next: Option<String>,
}

/// The fields the form posts; missing fields are allowed (and fail the check).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ToggleForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

pub(super) async fn show_on(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
) -> HttpResponse {
    show(Action::On, &req, &maint, &session)
}

pub(super) async fn show_off(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
) -> HttpResponse {
    show(Action::Off, &req, &maint, &session)
}

pub(super) async fn turn_on(
    req: HttpRequest,
    maint: MaintenanceMode,
    session: Session,
    form: Result<web::Form<ToggleForm>, actix_web::Error>,
) -> HttpResponse {
    toggle(Action::On, &req, &maint, &session, form).await
}

pub(super) async fn turn_off(
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
    let form = match FormPage::open(req, maint, session) {
        Ok(form) => form,
        Err(refusal) => return refusal.answer(),
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
        "fixed": form.fixed.is_some(),
        "fixed_reason": form.fixed,
        "csrf_token": form.csrf_token,
        "next": next,
        "user": form.user.name,
    });
    page(maint, TOGGLE_TEMPLATE_NAME, &context)
}

/// `POST`: checks the user, the `mode` setting and the token, then sets the state.
async fn toggle(
    action: Action,
    req: &HttpRequest,
    maint: &MaintenanceMode,
    session: &Session,
    form: Result<web::Form<ToggleForm>, actix_web::Error>,
) -> HttpResponse {
    let form = form.map(web::Form::into_inner).unwrap_or_default();
    let user = match checked_post(req, maint, session, form.csrf_token.as_deref()) {
        Ok(user) => user,
        Err(refusal) => return refusal.answer(),
    };
    let state = MaintenanceState::from_bool(action.is_on());
    if let Err(refusal) = set_as(maint, &user, None, state).await {
        return refusal.answer();
    }
    let location = form
        .next
        .as_deref()
        .filter(|next| is_safe_next(next))
        .unwrap_or("/");
    see_other(location)
}

/// Whether `next` is a path on this site that is safe to redirect to: it starts
/// with a single `/` (so no scheme and no `//host`), and holds only visible
/// ASCII other than `\` (browsers read `\` as `/`, and strip tabs and newlines).
pub(super) fn is_safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}
