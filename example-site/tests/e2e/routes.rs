//! End-to-end: the contract's Routes table and demo users, outside maintenance
//! (and the routes whose behaviour is defined during maintenance), over real
//! HTTP against the real `example-site`.

use maint_test_support::{
    login::{SESSION_COOKIE, whoami_of},
    site::BANNER,
};
use serde_json::json;

use crate::EXAMPLE_SITE;

/// "`GET /` | 200, HTML containing `Home`" (no banner outside maintenance).
#[test]
fn home_is_200_html_with_home() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let reply = server.client().get("/");
    reply.assert_served("Home").assert_lacks(BANNER);
    reply.assert_content_type("text/html");
    server.login("admin").get("/").assert_served("Home");
}

/// "`GET /` ... when the page is served during maintenance (an exempt user) it
/// also shows `Maintenance mode is on`, produced by the Handlebars helper".
#[test]
fn home_for_an_exempt_user_during_maintenance_shows_the_banner() {
    let site = EXAMPLE_SITE.site("ignore_staff = true");
    let server = site.start();
    let mut staff = server.login("staff");
    staff.get("/").assert_served("Home").assert_lacks(BANNER);

    site.switch(true, &server);
    staff.get("/").assert_served("Home").assert_contains(BANNER);
    server.client().get("/").assert_maintenance();

    site.switch(false, &server);
    staff.get("/").assert_served("Home").assert_lacks(BANNER);
}

/// "`GET /about/` | 200 `About`; handler marked `#[maintenance_off]`: served even during maintenance".
#[test]
fn about_is_served_even_during_maintenance() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut anonymous = server.client();
    anonymous.get("/about/").assert_served("About");

    site.switch(true, &server);
    anonymous.get("/about/").assert_served("About");
    // ...while a route that is not marked gets the maintenance response.
    anonymous.get("/").assert_maintenance();
}

/// "`GET /legacy/` | handler marked `#[maintenance_on]`: always the maintenance response".
#[test]
fn legacy_is_always_the_maintenance_response() {
    let site = EXAMPLE_SITE.site("ignore_superuser = true");
    let server = site.start();
    server.client().get("/legacy/").assert_maintenance();
    // Even for a user exempt from maintenance.
    server.login("admin").get("/legacy/").assert_maintenance();

    site.switch(true, &server);
    server.client().get("/legacy/").assert_maintenance();
}

/// "`GET /admin/` | 200 `Admin` for staff; otherwise 302 to `/login/`".
#[test]
fn admin_is_for_staff_and_redirects_others_to_login() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    for staff in ["admin", "staff"] {
        server.login(staff).get("/admin/").assert_served("Admin");
    }
    server
        .login("user")
        .get("/admin/")
        .assert_redirect(302, "/login/");
    server
        .client()
        .get("/admin/")
        .assert_redirect(302, "/login/");
}

/// "`GET /api/status` | 200 JSON `{"ok": true}`".
#[test]
fn api_status_is_ok_json() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let reply = server.client().get("/api/status");
    reply.assert_status(200);
    reply.assert_content_type("application/json");
    assert_eq!(reply.json(), json!({ "ok": true }));
}

/// "`GET /whoami` | 200 JSON `{"user": NAME_OR_NULL, "is_staff": bool,
/// "is_superuser": bool}`", and the demo users: `admin`/`admin` (superuser and
/// staff), `staff`/`staff` (staff), `user`/`user` (plain).
#[test]
fn whoami_shows_anonymous_and_each_demo_user() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut anonymous = server.client();
    let reply = anonymous.get("/whoami");
    reply.assert_status(200);
    reply.assert_content_type("application/json");
    assert_eq!(reply.json(), whoami_of(None));
    for name in ["admin", "staff", "user"] {
        assert_eq!(server.login(name).whoami(), whoami_of(Some(name)), "{name}");
    }
}

/// "`GET /login/` | login form".
#[test]
fn login_page_is_a_form() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let reply = server.client().get("/login/");
    reply.assert_status(200);
    let body = reply.body.to_lowercase();
    assert!(body.contains("<form"), "{reply:?}");
    assert!(body.contains("method=\"post\""), "{reply:?}");
    reply
        .assert_contains("name=\"username\"")
        .assert_contains("name=\"password\"");
}

/// "`POST /login/` | form fields `username`, `password`; success: 302 to `/`
/// and a session cookie; failure: 401".
#[test]
fn login_succeeds_with_302_and_a_cookie_and_fails_with_401() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    for name in ["admin", "staff", "user"] {
        let mut client = server.client();
        let reply = client.post("/login/", &[("username", name), ("password", name)]);
        reply.assert_redirect(302, "/");
        assert!(
            reply.sets_cookie(SESSION_COOKIE),
            "no session cookie: {reply:?}"
        );
        assert_eq!(client.whoami(), whoami_of(Some(name)));
    }
    for (username, password) in [("admin", "wrong"), ("nobody", "nobody"), ("user", "")] {
        let mut client = server.client();
        let reply = client.post("/login/", &[("username", username), ("password", password)]);
        reply.assert_status(401);
        assert!(
            !reply.sets_cookie(SESSION_COOKIE),
            "a failed login set the session cookie: {reply:?}"
        );
        assert_eq!(client.whoami(), whoami_of(None));
    }
}

/// "`POST /logout/` | clears the session, 302 to `/`".
#[test]
fn logout_clears_the_session_and_redirects_home() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    let session = admin.cookie(SESSION_COOKIE).expect("session").to_owned();
    let reply = admin.post("/logout/", &[]);
    reply.assert_redirect(302, "/");
    assert!(
        reply.removes_cookie(SESSION_COOKIE) || reply.sets_cookie(SESSION_COOKIE),
        "logout does not touch the session cookie: {reply:?}"
    );
    assert_ne!(admin.cookie(SESSION_COOKIE), Some(session.as_str()));
    assert_eq!(admin.whoami(), whoami_of(None));
    admin.get("/admin/").assert_redirect(302, "/login/");
}
