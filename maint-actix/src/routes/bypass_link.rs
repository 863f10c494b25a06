//! The bypass link `GET {prefix}/bypass/{token}` (see [`crate::bypass`]).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};

use super::{no_store, plain};
use crate::{MaintenanceState, handle::MaintenanceMode};

/// `GET {prefix}/bypass/{token}`: with the secret's token, a cookie that lets
/// this browser through and a redirect to `/`; otherwise exactly what any
/// request gets: the maintenance response, or 404 when maintenance is off.
pub(super) async fn open_bypass(
    req: HttpRequest,
    maint: MaintenanceMode,
    token: web::Path<String>,
) -> HttpResponse {
    let state = maint.state_for(&req);
    let is_on = state.is_active();
    // On, or a window still to open (the operator may take the cookie
    // beforehand); once a window has closed its secret is spent.
    let usable = is_on || !has_ended(&state);
    let key = maint
        .bypass_key_for(&req)
        .filter(|key| usable && key.matches_token(&token));
    let Some(key) = key else {
        // The contract's answer, read-only mode included: the maintenance
        // response while maintenance is on, else a 404.
        return if is_on {
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
fn has_ended(state: &MaintenanceState) -> bool {
    state.end().is_some_and(|end| end <= jiff::Timestamp::now())
}
