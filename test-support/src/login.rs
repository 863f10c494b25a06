//! Who the tests log in as, and what a login leaves: the users of the
//! in-process test app ([`user_of_kind`]) and the demo users of the example
//! site ([`whoami_of`]), the session cookie, the toggle page's CSRF token.

use maint_actix::MaintenanceUser;

/// actix-session's default cookie name, used by the test app and the example site.
pub const SESSION_COOKIE: &str = "id";
/// The session key the tests log users in under (the settings' default).
pub const SESSION_USER_KEY: &str = "maint_user";

/// The user of each login kind of the test app: Django's test fixtures
/// (its superuser is not staff).
#[track_caller]
pub fn user_of_kind(kind: &str) -> MaintenanceUser {
    match kind {
        "user" => MaintenanceUser::authenticated("authenticated-user"),
        "staff" => MaintenanceUser::authenticated("staff-user").staff(),
        "superuser" => MaintenanceUser::authenticated("superuser").superuser(),
        other => panic!("unknown login kind {other:?}"),
    }
}

/// The example site's `/whoami` JSON for the demo user `name` (`None`:
/// anonymous): `admin` is staff and superuser, `staff` staff, `user` neither.
#[track_caller]
pub fn whoami_of(name: Option<&str>) -> serde_json::Value {
    let (staff, superuser) = match name {
        None | Some("user") => (false, false),
        Some("staff") => (true, false),
        Some("admin") => (true, true),
        Some(other) => panic!("not a demo user: {other}"),
    };
    serde_json::json!({ "user": name, "is_staff": staff, "is_superuser": superuser })
}

/// The `value` of the `<input ... name="csrf_token" ...>` of `html` (the
/// toggle page's form).
pub fn csrf_token(html: &str) -> Option<String> {
    html.split('<')
        .filter(|tag| tag.starts_with("input") && tag.contains("name=\"csrf_token\""))
        .find_map(|tag| attribute(tag, "value"))
}

/// The value of `name="..."` in the tag text `tag`.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_owned())
}
