//! Demo users, login and logout.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use handlebars::Handlebars;
use maint_actix::{MaintenanceMode, MaintenanceUser, user};
use serde::Deserialize;
use serde_json::json;

use crate::pages::{page_context, render};

/// The demo users: (username, password, staff, superuser).
const DEMO_USERS: &[(&str, &str, bool, bool)] = &[
    ("admin", "admin", true, true),
    ("staff", "staff", true, false),
    ("user", "user", false, false),
];

/// The demo user with these credentials, if any.
fn authenticate(username: &str, password: &str) -> Option<MaintenanceUser> {
    DEMO_USERS
        .iter()
        .find(|(name, secret, ..)| *name == username && *secret == password)
        .map(|&(name, _, staff, superuser)| {
            let mut user = MaintenanceUser::authenticated(name);
            user.is_staff = staff;
            user.is_superuser = superuser;
            user
        })
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The login form.
#[get("/login/")]
pub async fn login_form(
    templates: web::Data<Handlebars<'static>>,
    maint: MaintenanceMode,
    req: HttpRequest,
) -> HttpResponse {
    render(&templates, "login.html", &page_context(&maint, &req))
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// Logs a demo user in: 302 to `/` with the session cookie, or 401.
#[post("/login/")]
pub async fn login(
    templates: web::Data<Handlebars<'static>>,
    maint: MaintenanceMode,
    session: Session,
    form: web::Form<Credentials>,
) -> HttpResponse {
    let Some(found) = authenticate(&form.username, &form.password) else {
        tracing::info!(username = ?form.username, "failed login");
        let page = templates
            .render(
                "login.html",
                &json!({ "error": "Unknown username or wrong password." }),
            )
            .unwrap_or_default();
        return HttpResponse::Unauthorized()
            .content_type("text/html; charset=utf-8")
            .body(page);
    };
    let key = &maint.settings().session_user_key;
    if let Err(error) = user::login(&session, key, &found) {
        tracing::error!(%error, "cannot store the session");
        return HttpResponse::InternalServerError().body("cannot store the session");
    }
    tracing::info!(username = ?form.username, "logged in");
    redirect("/")
}

/// Ends the session: 302 to `/`.
#[post("/logout/")]
pub async fn logout(session: Session) -> HttpResponse {
    user::logout(&session);
    redirect("/")
}

/// Who the session says is logged in.
#[get("/whoami")]
pub async fn whoami(maint: MaintenanceMode, req: HttpRequest) -> HttpResponse {
    let user = maint.user_of(&req);
    HttpResponse::Ok().json(json!({
        "user": user.name.filter(|_| user.is_authenticated),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }))
}

/// The admin site: staff only, others go to the login page.
#[get("/admin/")]
pub async fn admin(
    templates: web::Data<Handlebars<'static>>,
    maint: MaintenanceMode,
    req: HttpRequest,
) -> HttpResponse {
    if !maint.user_of(&req).is_staff {
        return redirect("/login/");
    }
    render(&templates, "admin.html", &page_context(&maint, &req))
}
