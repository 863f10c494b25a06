//! End-to-end: each key of the contract's config table, in a real config file
//! read by the real `example-site`, observed over HTTP (`redis` is left out:
//! it needs a Redis server). `response_type`, `template`, `status_code`,
//! `retry_after` and `redirect_url` are in `response`; `mode`'s refusal
//! of the command in `command`, of the toggle routes in `toggle`.

use maint_test_support::{
    login::{SESSION_COOKIE, whoami_of},
    site::{BANNER, Client, Server, toml_path},
};

use crate::EXAMPLE_SITE;

/// During maintenance, `client` is served the home page (with the helper's banner).
#[track_caller]
fn assert_exempt(client: &mut Client, who: &str) {
    let reply = client.get("/");
    assert!(
        reply.status == 200 && reply.body.contains("Home") && reply.body.contains(BANNER),
        "{who} should be served during maintenance: {reply:?}"
    );
}

/// An anonymous `GET /` is the home page without the helper's banner:
/// maintenance is off.
#[track_caller]
fn assert_home_without_banner(server: &Server) {
    server
        .client()
        .get("/")
        .assert_served("Home")
        .assert_lacks(BANNER);
}

/// During maintenance, `client` gets the maintenance response for `/`.
#[track_caller]
fn assert_not_exempt(client: &mut Client, who: &str) {
    let reply = client.get("/");
    assert!(
        reply.status == 503 && reply.forbids_caching(),
        "{who} should get the maintenance response: {reply:?}"
    );
}

/// `mode`: "when present it overrides the state backend".
#[test]
fn mode_overrides_the_state_backend() {
    let fixed_on = EXAMPLE_SITE.site("mode = true");
    let server = fixed_on.start();
    assert!(fixed_on.state_bytes().is_none());
    server.client().get("/").assert_maintenance();
    server.client().get("/about/").assert_served("About");

    let fixed_off = EXAMPLE_SITE.site("mode = false");
    fixed_off.write_state("1");
    let server = fixed_off.start();
    assert_home_without_banner(&server);
}

/// `state_backend = "memory"`: the state lives in the process: the toggle route
/// switches it, nothing is written to disk.
#[test]
fn state_backend_memory_keeps_the_state_in_the_process() {
    let site = EXAMPLE_SITE.site(r#"state_backend = "memory""#);
    let server = site.start();
    let mut admin = server.login("admin");
    let token = admin.toggle_token("/maintenance-mode/on/");
    admin
        .post("/maintenance-mode/on/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    server.client().get("/").assert_maintenance();

    let token = admin.toggle_token("/maintenance-mode/off/");
    admin
        .post("/maintenance-mode/off/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    server.client().get("/").assert_served("Home");

    let entries: Vec<_> = std::fs::read_dir(site.dir())
        .expect("read the site dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("example-site.toml")],
        "the memory backend wrote files"
    );
}

/// `state_file_path`: the file of the `local_file` backend; by default
/// `maintenance_mode_state.txt` in the working directory.
#[test]
fn state_file_path_is_where_the_state_lives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("var").join("maint");
    std::fs::create_dir_all(&nested).expect("create dirs");
    let file = nested.join("custom.flag");
    let site = EXAMPLE_SITE.site(&format!("state_file_path = {}", toml_path(&file)));
    let server = site.start();
    site.set(true);
    assert_eq!(std::fs::read(&file).ok().as_deref(), Some(&b"1"[..]));
    server.await_maintenance(true);
    // A write to that file by anyone is seen.
    std::fs::write(&file, "0").expect("write");
    server.await_maintenance(false);
    assert_eq!(site.status(), "off");

    // The default path, relative to the working directory.
    let site = EXAMPLE_SITE.site_with_config("[maintenance]\n");
    let server = site.start();
    site.set(true);
    let default_file = site.dir().join("maintenance_mode_state.txt");
    assert_eq!(
        std::fs::read(&default_file).ok().as_deref(),
        Some(&b"1"[..]),
        "the default state file is maintenance_mode_state.txt in the working dir"
    );
    server.await_maintenance(true);
    std::fs::write(&default_file, "0").expect("write");
    server.await_maintenance(false);
}

/// `state_backend_fallback_value`: "the state assumed when the backend cannot be read".
#[test]
fn state_backend_fallback_value_applies_to_a_corrupted_file() {
    const GARBAGE: &str = "{ this is not a maintenance state";

    let assume_on = EXAMPLE_SITE.site("state_backend_fallback_value = true");
    assume_on.write_state(GARBAGE);
    let server = assume_on.start();
    server.client().get("/").assert_maintenance();
    server.client().get("/api/status").assert_maintenance();
    // Readable again: the real state.
    assume_on.write_state("0");
    server.await_maintenance(false);
    assume_on.write_state(GARBAGE);
    server.await_maintenance(true);

    let assume_off = EXAMPLE_SITE.site("state_backend_fallback_value = false");
    assume_off.write_state(GARBAGE);
    let server = assume_off.start();
    assert_home_without_banner(&server);

    // The default is false.
    let default = EXAMPLE_SITE.site("");
    default.write_state(GARBAGE);
    let server = default.start();
    assert_home_without_banner(&server);
}

/// `ignore_admin_site`: "requests under `admin_url` are served"; `admin_url`
/// defaults to `/admin/` and moves the exempt prefix.
#[test]
fn ignore_admin_site_serves_requests_under_admin_url() {
    let site = EXAMPLE_SITE.site("ignore_admin_site = true");
    let server = site.start();
    let mut staff = server.login("staff");
    let mut anonymous = server.client();
    site.switch(true, &server);
    staff.get("/admin/").assert_served("Admin");
    // The admin handler runs for anonymous visitors too: its redirect to the login page.
    anonymous.get("/admin/").assert_redirect(302, "/login/");
    assert_not_exempt(&mut staff, "staff outside the admin site");

    let site = EXAMPLE_SITE.site("ignore_admin_site = false");
    let server = site.start();
    let mut staff = server.login("staff");
    site.switch(true, &server);
    staff.get("/admin/").assert_maintenance();

    let site = EXAMPLE_SITE.site("ignore_admin_site = true\nadmin_url = \"/backoffice/\"");
    let server = site.start();
    let mut staff = server.login("staff");
    site.switch(true, &server);
    staff.get("/admin/").assert_maintenance();

    let site = EXAMPLE_SITE.site("ignore_admin_site = true\nadmin_url = \"/admin/\"");
    let server = site.start();
    let mut staff = server.login("staff");
    site.switch(true, &server);
    staff.get("/admin/").assert_served("Admin");
}

/// The four user exemptions: for each key, who is served during maintenance
/// among anonymous, `user`, `staff` and `admin` (staff and superuser).
#[test]
fn ignore_user_kinds_exempt_exactly_those_users() {
    let cases: [(&str, [bool; 4]); 5] = [
        // (settings, served? for [anonymous, user, staff, admin])
        ("", [false, false, false, false]),
        ("ignore_anonymous_user = true", [true, false, false, false]),
        (
            "ignore_authenticated_user = true",
            [false, true, true, true],
        ),
        ("ignore_staff = true", [false, false, true, true]),
        ("ignore_superuser = true", [false, false, false, true]),
    ];
    for (settings, expected) in cases {
        let site = EXAMPLE_SITE.site(settings);
        let server = site.start();
        let mut clients = [
            ("anonymous", server.client()),
            ("user", server.login("user")),
            ("staff", server.login("staff")),
            ("admin", server.login("admin")),
        ];
        // Anonymous requests see maintenance or, when exempt, the banner.
        site.switch(true, &server);
        for ((who, client), exempt) in clients.iter_mut().zip(expected) {
            let who = format!("{who} with {settings:?}");
            if exempt {
                assert_exempt(client, &who);
            } else {
                assert_not_exempt(client, &who);
            }
        }
    }
}

/// `ignore_ip_addresses`: regexes "matched (anchored at the start, like
/// Python's `re.match`) against the client IP" (here the peer, 127.0.0.1).
#[test]
fn ignore_ip_addresses_match_the_client_ip_at_the_start() {
    let cases = [
        (r#"ignore_ip_addresses = ["127\\.0\\.0\\.1"]"#, true),
        (r#"ignore_ip_addresses = ["127\\."]"#, true),
        (
            r#"ignore_ip_addresses = ["10\\.", "127\\.0\\.0\\.[0-9]+$"]"#,
            true,
        ),
        (r#"ignore_ip_addresses = ["0\\.0\\.1"]"#, false),
        (r#"ignore_ip_addresses = ["10\\.", "192\\.168\\."]"#, false),
        (r#"ignore_ip_addresses = []"#, false),
    ];
    for (settings, exempt) in cases {
        let site = EXAMPLE_SITE.site(settings);
        let server = site.start();
        // An exempt client sees the banner, so this waits either way.
        site.switch(true, &server);
        let mut anonymous = server.client();
        if exempt {
            assert_exempt(&mut anonymous, settings);
        } else {
            assert_not_exempt(&mut anonymous, settings);
        }
    }
}

/// `trusted_proxies`: "only requests whose peer is listed may set the client IP
/// through `X-Forwarded-For` / `Forwarded`; otherwise those headers are ignored".
/// The test's peer is 127.0.0.1.
#[test]
fn trusted_proxies_decide_whether_forwarded_headers_count() {
    let forwarded_10_1_2_3: [(&str, &str); 2] = [
        ("x-forwarded-for", "10.1.2.3"),
        ("forwarded", "for=10.1.2.3"),
    ];

    // Peer trusted: the headers set the client IP.
    let trusted = EXAMPLE_SITE.site(
        "trusted_proxies = [\"127.0.0.1\"]\nignore_ip_addresses = [\"10\\\\.1\\\\.2\\\\.3$\"]",
    );
    let server = trusted.start();
    trusted.switch(true, &server);
    for header in forwarded_10_1_2_3 {
        let reply = server.client().get_with("/", &[header]);
        reply.assert_served("Home").assert_contains(BANNER);
    }
    server.client().get("/").assert_maintenance();
    server
        .client()
        .get_with("/", &[("x-forwarded-for", "10.9.9.9")])
        .assert_maintenance();

    // Peer trusted, client elsewhere: the peer's own IP no longer counts.
    let moved = EXAMPLE_SITE
        .site("trusted_proxies = [\"127.0.0.1\"]\nignore_ip_addresses = [\"127\\\\.\"]");
    let server = moved.start();
    moved.switch(true, &server);
    server
        .client()
        .get_with("/", &[("x-forwarded-for", "10.0.0.5")])
        .assert_maintenance();

    // Peer not trusted (default, and another proxy listed): the headers are ignored.
    for proxies in ["", "trusted_proxies = [\"10.9.9.9\"]\n"] {
        let untrusted = EXAMPLE_SITE.site(&format!(
            "{proxies}ignore_ip_addresses = [\"10\\\\.1\\\\.2\\\\.3$\"]"
        ));
        let server = untrusted.start();
        untrusted.switch(true, &server);
        for header in forwarded_10_1_2_3 {
            server
                .client()
                .get_with("/", &[header])
                .assert_maintenance();
        }
        let peer_exempt =
            EXAMPLE_SITE.site(&format!("{proxies}ignore_ip_addresses = [\"127\\\\.\"]"));
        let server = peer_exempt.start();
        peer_exempt.switch(true, &server);
        server
            .client()
            .get_with("/", &[("x-forwarded-for", "10.0.0.5")])
            .assert_served("Home");
    }
}

/// `ignore_urls`: regexes "matched (anchored at the start) against the request path".
#[test]
fn ignore_urls_match_the_path_at_the_start() {
    let site = EXAMPLE_SITE.site(r#"ignore_urls = ["/api/", "/who"]"#);
    let server = site.start();
    site.switch(true, &server);
    let mut anonymous = server.client();
    anonymous.get("/api/status").assert_status(200);
    assert_eq!(anonymous.whoami(), whoami_of(None));
    anonymous.get("/").assert_maintenance();
    anonymous.get("/about/api/").assert_maintenance();

    let site = EXAMPLE_SITE.site(r#"ignore_urls = ["api/status"]"#);
    let server = site.start();
    site.switch(true, &server);
    server.client().get("/api/status").assert_maintenance();
}

/// `ignore_tests`: everything is served while tests run, which the site learns
/// from `MAINT_TESTING=1` in its environment.
#[test]
fn ignore_tests_serves_everything_when_maint_testing_is_set() {
    type Env = &'static [(&'static str, &'static str)];
    let cases: [(&str, Env, bool); 3] = [
        ("ignore_tests = true", &[("MAINT_TESTING", "1")], true),
        ("ignore_tests = true", &[], false),
        ("ignore_tests = false", &[("MAINT_TESTING", "1")], false),
    ];
    for (settings, env, exempt) in cases {
        let site = EXAMPLE_SITE.site(settings);
        let server = site.start_with_env(env);
        site.switch(true, &server);
        let mut anonymous = server.client();
        let who = format!("{settings} with {env:?}");
        if exempt {
            assert_exempt(&mut anonymous, &who);
            anonymous.get("/api/status").assert_status(200);
        } else {
            assert_not_exempt(&mut anonymous, &who);
        }
    }
}

/// Logs the demo users in, switches maintenance on, lets each hit `/`, switches
/// it off, and returns which of them lost their session.
fn who_is_logged_out(settings: &str, users: &[&'static str]) -> Vec<&'static str> {
    let site = EXAMPLE_SITE.site(settings);
    let server = site.start();
    let mut clients: Vec<(&str, Client)> = users
        .iter()
        .map(|&name| (name, server.login(name)))
        .collect();
    site.switch(true, &server);
    let mut lost = Vec::new();
    for (name, client) in &mut clients {
        let reply = client.get("/");
        reply.assert_maintenance();
        if reply.removes_cookie(SESSION_COOKIE) {
            lost.push(*name);
        }
    }
    site.switch(false, &server);
    for (name, client) in &mut clients {
        let expected = if lost.contains(name) {
            None
        } else {
            Some(*name)
        };
        assert_eq!(
            client.whoami(),
            whoami_of(expected),
            "{name} with {settings:?}: the session does not match the cookie the maintenance response left"
        );
    }
    lost
}

const ALL: &[&str] = &["user", "staff", "admin"];

/// `logout_authenticated_user`: "authenticated users hitting the maintenance
/// page lose their session" (default false).
#[test]
fn logout_authenticated_user_ends_sessions_on_the_maintenance_page() {
    assert_eq!(who_is_logged_out("", ALL), Vec::<&str>::new());
    assert_eq!(
        who_is_logged_out("logout_authenticated_user = false", ALL),
        Vec::<&str>::new()
    );
    assert_eq!(
        who_is_logged_out("logout_authenticated_user = true", ALL),
        ALL.to_vec()
    );
}

/// `logout_staff_user`: "overrides the above for staff"; `logout_superuser`:
/// "overrides the above for superusers" (`admin` is both: the superuser
/// setting is the more specific one).
#[test]
fn logout_staff_user_and_logout_superuser_override_for_their_users() {
    assert_eq!(
        who_is_logged_out(
            "logout_authenticated_user = true\nlogout_staff_user = false",
            &["user", "staff"]
        ),
        vec!["user"]
    );
    assert_eq!(
        who_is_logged_out("logout_staff_user = true", &["user", "staff"]),
        vec!["staff"]
    );
    assert_eq!(
        who_is_logged_out(
            "logout_authenticated_user = true\nlogout_superuser = false",
            ALL
        ),
        vec!["user", "staff"]
    );
    assert_eq!(
        who_is_logged_out("logout_superuser = true", ALL),
        vec!["admin"]
    );
    assert_eq!(
        who_is_logged_out(
            "logout_authenticated_user = true\nlogout_staff_user = false\nlogout_superuser = true",
            ALL
        ),
        vec!["user", "admin"]
    );
}

/// `logout_staff_user` "overrides the above for staff who are not superusers";
/// `logout_superuser` "overrides `logout_authenticated_user` for superusers
/// (staff or not)": `admin` is staff and superuser, so the staff rule never
/// applies to it; without a superuser rule it follows the general one.
#[test]
fn logout_staff_user_never_applies_to_a_superuser() {
    assert_eq!(
        who_is_logged_out("logout_staff_user = true", ALL),
        vec!["staff"]
    );
    assert_eq!(
        who_is_logged_out(
            "logout_authenticated_user = true\nlogout_staff_user = false",
            ALL
        ),
        vec!["user", "admin"]
    );
}
