//! End-to-end: the contract's "Toggle routes" (`/maintenance-mode/on/` and
//! `/maintenance-mode/off/`), driven over real HTTP with real sessions, the
//! state checked both with `maintenance_mode status` and with requests.

use maint_test_support::{
    login::csrf_token,
    site::{Client, Server, Site},
};

use crate::EXAMPLE_SITE;

const ON: &str = "/maintenance-mode/on/";
const OFF: &str = "/maintenance-mode/off/";

/// State as seen by the command and by the server.
#[track_caller]
fn assert_state(site: &Site, server: &Server, on: bool) {
    assert_eq!(site.status(), if on { "on" } else { "off" });
    assert_eq!(
        server.anonymous_sees_maintenance(),
        on,
        "the server does not see maintenance {on}"
    );
}

/// "A superuser's `GET` answers 200 with an HTML confirmation page holding a
/// `<form method="post">` with a hidden input named `csrf_token`."
#[test]
fn superuser_get_shows_a_post_form_with_a_hidden_csrf_token() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    for path in [ON, OFF] {
        let reply = admin.get(path);
        reply.assert_status(200);
        reply.assert_content_type("text/html");
        reply.assert_contains("<form method=\"post\"");
        let input = reply
            .body
            .split('<')
            .find(|tag| tag.starts_with("input") && tag.contains("name=\"csrf_token\""))
            .unwrap_or_else(|| panic!("no csrf_token input: {reply:?}"));
        assert!(input.contains("type=\"hidden\""), "not hidden: {input}");
        let token = csrf_token(&reply.body).expect("token value");
        assert!(!token.is_empty(), "empty token: {reply:?}");
    }
    assert_state(&site, &server, false);
}

/// "A superuser's `POST` with that token changes the state and answers 303 to
/// `/`", and "`/maintenance-mode/off/` is reachable during maintenance, so a
/// superuser can always switch it off."
#[test]
fn superuser_post_with_the_token_switches_and_redirects_home() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");

    let token = admin.toggle_token(ON);
    admin
        .post(ON, &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    assert_state(&site, &server, true);
    assert_eq!(site.state_bytes().as_deref(), Some(&b"1"[..]));
    // The superuser is not exempt here: the site is in maintenance for them too...
    admin.get("/").assert_maintenance();

    // ...but the off route is reachable.
    let token = admin.toggle_token(OFF);
    admin
        .post(OFF, &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    assert_state(&site, &server, false);
    admin.get("/").assert_served("Home");
}

/// "`/maintenance-mode/off/` is reachable during maintenance": maintenance
/// switched on by the command, not by the route.
#[test]
fn off_route_is_reachable_during_maintenance() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    site.switch(true, &server);
    admin.get("/").assert_maintenance();
    admin.get("/admin/").assert_maintenance();

    let token = admin.toggle_token(OFF);
    admin
        .post(OFF, &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    assert_state(&site, &server, false);
}

/// "A `POST` without a valid token answers 403 and changes nothing."
#[test]
fn post_without_a_valid_token_is_403_and_changes_nothing() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    // Another superuser session's token is not this session's.
    let foreign = server.login("admin").toggle_token(ON);
    let own = admin.toggle_token(ON);
    assert_ne!(own, foreign, "two sessions share a CSRF token");

    let wrong = "0".repeat(own.len());
    let attempts: [&[(&str, &str)]; 5] = [
        &[],
        &[("csrf_token", "")],
        &[("csrf_token", &wrong)],
        &[("csrf_token", &foreign)],
        &[("not_the_token", &own)],
    ];
    for fields in attempts {
        admin.post(ON, fields).assert_status(403);
        assert!(site.state_bytes().is_none(), "the state file was written");
    }
    assert_state(&site, &server, false);

    // The same during maintenance on the off route.
    site.switch(true, &server);
    let before = site.state_bytes();
    let own = admin.toggle_token(OFF);
    let wrong = "f".repeat(own.len());
    for fields in [&[][..], &[("csrf_token", wrong.as_str())][..]] {
        admin.post(OFF, fields).assert_status(403);
    }
    assert_eq!(site.state_bytes(), before);
    assert_state(&site, &server, true);
}

/// "Anyone who is not a superuser gets 403 from either method and changes
/// nothing" (staff, a plain user, anonymous), also with a superuser's token.
#[test]
fn non_superusers_get_403_from_both_methods() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    let admin_token = admin.toggle_token(ON);

    let mut others: Vec<(&str, Client)> = vec![
        ("staff", server.login("staff")),
        ("user", server.login("user")),
        ("anonymous", server.client()),
    ];
    for (who, client) in &mut others {
        for path in [ON, OFF] {
            let reply = client.get(path);
            assert_eq!(reply.status, 403, "{who} GET {path}: {reply:?}");
            assert!(
                csrf_token(&reply.body).is_none(),
                "{who} got a token: {reply:?}"
            );
            for fields in [&[][..], &[("csrf_token", admin_token.as_str())][..]] {
                let reply = client.post(path, fields);
                assert_eq!(reply.status, 403, "{who} POST {path}: {reply:?}");
            }
        }
    }
    assert!(site.state_bytes().is_none(), "the state file was written");
    assert_state(&site, &server, false);

    // During maintenance the off route is reachable, and still refuses them.
    site.switch(true, &server);
    let before = site.state_bytes();
    for (who, client) in &mut others {
        let reply = client.get(OFF);
        assert_eq!(reply.status, 403, "{who} GET {OFF}: {reply:?}");
        let reply = client.post(OFF, &[("csrf_token", admin_token.as_str())]);
        assert_eq!(reply.status, 403, "{who} POST {OFF}: {reply:?}");
    }
    assert_eq!(site.state_bytes(), before);
    assert_state(&site, &server, true);
}

/// `mode` in the config: setting the state through the routes is refused
/// (409), whatever the token; nothing is written.
#[test]
fn toggle_post_is_409_when_mode_fixes_the_state() {
    let fixed_off = EXAMPLE_SITE.site("mode = false");
    let server = fixed_off.start();
    let mut admin = server.login("admin");
    let page = admin.get(ON);
    page.assert_status(200);
    let token = csrf_token(&page.body).unwrap_or_default();
    admin
        .post(ON, &[("csrf_token", token.as_str())])
        .assert_status(409);
    admin.post(ON, &[]).assert_status(409);
    assert!(fixed_off.state_bytes().is_none());
    assert_state(&fixed_off, &server, false);

    // Under `mode = true` logging in needs an exemption (`ignore_urls`); the
    // off route is reachable anyway.
    let fixed_on = EXAMPLE_SITE.site("mode = true\nignore_urls = [\"/login/\"]");
    let server = fixed_on.start();
    let mut admin = server.login("admin");
    admin.get("/").assert_maintenance();
    let page = admin.get(OFF);
    page.assert_status(200);
    let token = csrf_token(&page.body).unwrap_or_default();
    admin
        .post(OFF, &[("csrf_token", token.as_str())])
        .assert_status(409);
    admin.post(OFF, &[]).assert_status(409);
    assert!(fixed_on.state_bytes().is_none());
    assert_state(&fixed_on, &server, true);
}
