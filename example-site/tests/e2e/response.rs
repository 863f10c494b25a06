//! End-to-end: the contract's "The maintenance response" (status, headers,
//! HTML page, JSON, redirect, the handler never runs) and the config keys
//! that shape it: `status_code`, `retry_after`, `template`, `response_type`,
//! `redirect_url`.

use maint_test_support::{
    login::{SESSION_COOKIE, whoami_of},
    site::Reply,
};
use serde_json::json;

use crate::EXAMPLE_SITE;

#[track_caller]
fn assert_json_maintenance(reply: &Reply, status: u16) {
    reply.assert_maintenance_status(status);
    reply.assert_content_type("application/json");
    let body = reply.json();
    assert!(body.is_object(), "not a JSON object: {reply:?}");
    assert_eq!(body["maintenance"], json!(true), "{reply:?}");
}

/// "Status `status_code`; `Retry-After` as configured; `Cache-Control` forbids
/// caching (`no-cache, no-store, must-revalidate`)" and "the default page
/// contains the word `maintenance`", with the defaults (503, 3600, `503.html`, HTML).
#[test]
fn default_maintenance_response_is_an_uncacheable_503_page() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance("");
    for path in [
        "/",
        "/whoami",
        "/api/status",
        "/admin/",
        "/legacy/",
        "/no-such-page",
    ] {
        let reply = server.client().get(path);
        reply.assert_maintenance();
        reply.assert_content_type("text/html");
        assert_eq!(
            reply.header("retry-after"),
            Some("3600"),
            "{path}: {reply:?}"
        );
    }
    // Other methods meet it too.
    let reply = server.client().post("/logout/", &[]);
    reply.assert_maintenance();
}

/// `status_code` and `retry_after` as configured.
#[test]
fn status_code_and_retry_after_are_configurable() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance("status_code = 429\nretry_after = 120");
    for path in ["/", "/legacy/"] {
        let reply = server.client().get(path);
        reply.assert_maintenance_status(429);
        assert_eq!(reply.header("retry-after"), Some("120"), "{reply:?}");
        assert!(
            reply.body.to_lowercase().contains("maintenance"),
            "{reply:?}"
        );
    }
}

/// "`retry_after` ... 0 omits it".
#[test]
fn retry_after_zero_omits_the_header() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance("retry_after = 0");
    for path in ["/", "/legacy/"] {
        let reply = server.client().get(path);
        reply.assert_maintenance();
        assert_eq!(reply.header("retry-after"), None, "{reply:?}");
    }
}

/// "The example ships a second template, `errors/503.html`, containing
/// `Website Unavailable`" (config key `template`).
#[test]
fn template_selects_the_page() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"template = "errors/503.html""#);
    let reply = server.client().get("/");
    reply
        .assert_maintenance()
        .assert_contains("Website Unavailable");
    reply.assert_content_type("text/html");

    // The default template is not that one.
    let (_site, server) = EXAMPLE_SITE.in_maintenance("");
    server
        .client()
        .get("/")
        .assert_maintenance()
        .assert_lacks("Website Unavailable");
}

/// "JSON: `Content-Type: application/json`, a body that is a JSON object with
/// at least `"maintenance": true`" (`response_type = "json"`), whatever the request accepts.
#[test]
fn response_type_json_answers_a_json_object() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"response_type = "json""#);
    for accept in ["text/html", "*/*", "application/json"] {
        for path in ["/", "/legacy/"] {
            let reply = server.client().get_with(path, &[("accept", accept)]);
            assert_json_maintenance(&reply, 503);
            assert_eq!(reply.header("retry-after"), Some("3600"), "{reply:?}");
        }
    }
    let (_site, server) =
        EXAMPLE_SITE.in_maintenance("response_type = \"json\"\nstatus_code = 502");
    assert_json_maintenance(&server.client().get("/"), 502);
}

/// "`auto` answers JSON when the request prefers `application/json`", HTML otherwise.
#[test]
fn response_type_auto_follows_the_accept_header() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"response_type = "auto""#);
    for accept in ["application/json", "application/json, text/html;q=0.9"] {
        let reply = server.client().get_with("/", &[("accept", accept)]);
        assert_json_maintenance(&reply, 503);
    }
    for accept in [
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/html, application/json;q=0.5",
    ] {
        let reply = server.client().get_with("/", &[("accept", accept)]);
        reply.assert_maintenance();
        reply.assert_content_type("text/html");
    }
}

/// "With `redirect_url`: 302 with that `Location`" and "that URL itself is served".
#[test]
fn redirect_url_redirects_and_its_target_is_served() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"redirect_url = "/api/status""#);
    for path in ["/", "/whoami", "/legacy/"] {
        server
            .client()
            .get(path)
            .assert_redirect(302, "/api/status");
    }
    let target = server.client().get("/api/status");
    target.assert_status(200);
    assert_eq!(target.json(), json!({ "ok": true }));

    let (_site, server) =
        EXAMPLE_SITE.in_maintenance(r#"redirect_url = "https://status.example.invalid/down""#);
    server
        .client()
        .get("/")
        .assert_redirect(302, "https://status.example.invalid/down");
}

/// "The handler of the requested route never runs": handlers with visible side
/// effects (logging in, logging out, the admin redirect, `/legacy/`'s body)
/// leave no trace during maintenance.
#[test]
fn the_handler_never_runs() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut user = server.login("user");
    let mut visitor = server.client();
    site.switch(true, &server);

    // POST /login/ would set a session cookie and redirect.
    let reply = visitor.post("/login/", &[("username", "admin"), ("password", "admin")]);
    reply.assert_maintenance();
    assert!(!reply.sets_cookie(SESSION_COOKIE), "logged in: {reply:?}");
    // POST /logout/ would end the session.
    let session = user.cookie(SESSION_COOKIE).expect("session").to_owned();
    let reply = user.post("/logout/", &[]);
    reply.assert_maintenance();
    assert!(
        !reply.removes_cookie(SESSION_COOKIE),
        "logged out: {reply:?}"
    );
    assert_eq!(user.cookie(SESSION_COOKIE), Some(session.as_str()));
    // GET /admin/ would redirect an anonymous visitor to the login page.
    visitor.get("/admin/").assert_maintenance();
    // GET /legacy/ would answer `Legacy`.
    visitor
        .get("/legacy/")
        .assert_maintenance()
        .assert_lacks("Legacy");

    site.switch(false, &server);
    assert_eq!(visitor.whoami(), whoami_of(None), "the login handler ran");
    assert_eq!(
        user.whoami(),
        whoami_of(Some("user")),
        "the logout handler ran"
    );
}
