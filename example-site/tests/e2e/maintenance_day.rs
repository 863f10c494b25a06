//! End-to-end: what an operator uses on a maintenance day (issue 11), as the
//! contract describes it: the bypass link (`--secret` / `--with-secret`, the
//! link, its cookie, the `X-Maintenance-Bypass` header), read-only mode
//! (`--read-only`), `--reason` and `--for`, the config keys `health_urls`,
//! `refresh` and `bypass_cookie_ttl`, and the new parts of the maintenance
//! response (`Refresh`, the JSON fields `read_only`, `reason`, `end`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use maint_actix::state::parse_iso8601;
use maint_test_support::{
    login::SESSION_COOKIE,
    poll::poll_every,
    process::Run,
    site::{BANNER, Client, POLL_LIMIT, Reply, Server, Site},
};
use serde_json::json;

use crate::EXAMPLE_SITE;

/// A valid bypass token (33 characters of the URL-safe alphabet).
const TOKEN: &str = "e2e-Bypass_token-0123456789abcdef";
/// Another valid token.
const OTHER_TOKEN: &str = "another-e2e-token-ABCDEFGHIJ";
/// The bypass cookie's name.
const COOKIE: &str = "maint_bypass";
/// The bypass header's name.
const HEADER: &str = "X-Maintenance-Bypass";
/// What the read-only pages of the example site show.
const READ_ONLY: &str = "Read-only mode";
/// A reason that HTML must escape.
const REASON: &str = "<b>DB</b> & co";

/// The bypass link of `token`.
fn link(token: &str) -> String {
    format!("/maintenance-mode/bypass/{token}")
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit")
}

/// `maintenance_mode on ARGS...`, which must succeed.
#[track_caller]
fn on(site: &Site, args: &[&str]) -> Run {
    let mut all = vec!["on"];
    all.extend_from_slice(args);
    let run = site.command(&all);
    run.assert_success();
    run
}

/// `maintenance_mode on ARGS...` on a site whose server is not in maintenance
/// yet, then waits until the server is.
#[track_caller]
fn switch_on(site: &Site, server: &Server, args: &[&str]) -> Run {
    let run = on(site, args);
    server.await_maintenance(true);
    run
}

/// `maintenance_mode status`, which must succeed.
#[track_caller]
fn status(site: &Site) -> Run {
    let run = site.command(&["status"]);
    run.assert_success();
    run
}

/// The token of the one line `on --with-secret` prints:
/// `bypass: /maintenance-mode/bypass/TOKEN`, 32 URL-safe characters.
#[track_caller]
fn printed_token(run: &Run) -> String {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stdout: {run:?}");
    let token = lines[0]
        .strip_prefix("bypass: /maintenance-mode/bypass/")
        .unwrap_or_else(|| panic!("not a bypass line: {run:?}"));
    assert_eq!(token.len(), 32, "a 32-character token: {run:?}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "a URL-safe token: {run:?}"
    );
    token.to_owned()
}

/// The `Set-Cookie` header of the bypass cookie, if the reply has one.
fn bypass_set_cookie(reply: &Reply) -> Option<&str> {
    reply
        .set_cookies()
        .find(|cookie| cookie.starts_with(&format!("{COOKIE}=")))
}

/// The attribute `name` of a `Set-Cookie` header (case-insensitive):
/// `Some("")` for a flag such as `HttpOnly`, `Some(value)` for `Max-Age=value`.
fn cookie_attribute<'a>(set_cookie: &'a str, name: &str) -> Option<&'a str> {
    set_cookie.split(';').skip(1).find_map(|attribute| {
        let attribute = attribute.trim();
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// The cookie's `Max-Age`, in seconds.
#[track_caller]
fn max_age(set_cookie: &str) -> i64 {
    cookie_attribute(set_cookie, "Max-Age")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Max-Age: {set_cookie}"))
}

/// The expiry (Unix seconds) of a bypass cookie value `EXPIRY.MAC`.
#[track_caller]
fn cookie_expiry(value: &str) -> i64 {
    value
        .split_once('.')
        .and_then(|(expiry, _)| expiry.parse().ok())
        .unwrap_or_else(|| panic!("not EXPIRY.MAC: {value}"))
}

/// The right link's answer: 302 to `/` with the bypass cookie (`HttpOnly`,
/// `SameSite=Lax`, `Path=/`, a `Max-Age`); returns its `Set-Cookie` header.
#[track_caller]
fn assert_bypass_granted(reply: &Reply) -> &str {
    reply.assert_redirect(302, "/");
    let set_cookie =
        bypass_set_cookie(reply).unwrap_or_else(|| panic!("no {COOKIE} cookie: {reply:?}"));
    assert_eq!(
        cookie_attribute(set_cookie, "HttpOnly"),
        Some(""),
        "{reply:?}"
    );
    assert!(
        cookie_attribute(set_cookie, "SameSite").is_some_and(|v| v.eq_ignore_ascii_case("lax")),
        "SameSite=Lax: {reply:?}"
    );
    assert_eq!(cookie_attribute(set_cookie, "Path"), Some("/"), "{reply:?}");
    max_age(set_cookie);
    set_cookie
}

/// A new browser that opens the link of `token` (with extra `headers`),
/// which must be granted; the browser and the `Set-Cookie` header.
#[track_caller]
fn open_link(server: &Server, token: &str, headers: &[(&str, &str)]) -> (Client, String) {
    let mut browser = server.client();
    let reply = browser.get_with(&link(token), headers);
    let set_cookie = assert_bypass_granted(&reply).to_owned();
    assert!(browser.cookie(COOKIE).is_some(), "{reply:?}");
    (browser, set_cookie)
}

/// The link of `token` is refused while maintenance is on: the maintenance
/// page, and no cookie.
#[track_caller]
fn assert_link_refused(server: &Server, token: &str) {
    let mut browser = server.client();
    let reply = browser.get(&link(token));
    reply.assert_maintenance();
    assert!(bypass_set_cookie(&reply).is_none(), "a cookie: {reply:?}");
    assert!(browser.cookie(COOKIE).is_none());
}

/// During maintenance, `client` is served the home page with the banner.
#[track_caller]
fn assert_let_through(client: &mut Client, who: &str) {
    let reply = client.get("/");
    assert!(
        reply.status == 200 && reply.body.contains("Home") && reply.body.contains(BANNER),
        "{who} should be let through: {reply:?}"
    );
}

/// During maintenance, `client` gets the maintenance page for `GET /`.
#[track_caller]
fn assert_kept_out(client: &mut Client, who: &str) {
    let reply = client.get("/");
    assert!(
        reply.status == 503 && reply.forbids_caching() && reply.body.contains("maintenance"),
        "{who} should get the maintenance page: {reply:?}"
    );
}

/// `POST /api/items` (a write) was served: 201 `{"created": true}`.
#[track_caller]
fn assert_created(reply: &Reply) {
    reply.assert_status(201);
    assert_eq!(reply.json(), json!({ "created": true }), "{reply:?}");
}

/// The JSON maintenance response; returns its body.
#[track_caller]
fn maintenance_json(reply: &Reply) -> serde_json::Value {
    reply.assert_maintenance_status(503);
    reply.assert_content_type("application/json");
    let body = reply.json();
    assert_eq!(body["maintenance"], json!(true), "{reply:?}");
    body
}

/// The end of a stored window as `status` prints it (`scheduled until END`,
/// then `,` and more details, `;` and the last change, or `)`), in Unix seconds.
#[track_caller]
fn status_end(run: &Run) -> i64 {
    let after = run
        .stdout
        .split_once("scheduled until ")
        .unwrap_or_else(|| panic!("no end in the status: {run:?}"))
        .1;
    let end = after
        .split([',', ';', ')'])
        .next()
        .expect("split yields one piece");
    parse_iso8601(end)
        .unwrap_or_else(|e| panic!("not an ISO 8601 end ({e}): {run:?}"))
        .as_second()
}

/// The JSON `end` of a maintenance response, in Unix seconds.
#[track_caller]
fn json_end(body: &serde_json::Value) -> i64 {
    let end = body["end"]
        .as_str()
        .unwrap_or_else(|| panic!("no end: {body}"));
    parse_iso8601(end)
        .unwrap_or_else(|e| panic!("not an ISO 8601 end ({e}): {body}"))
        .as_second()
}

/// `Retry-After`, in seconds.
#[track_caller]
fn retry_after(reply: &Reply) -> i64 {
    reply
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After: {reply:?}"))
}

/// Polls (at most [`POLL_LIMIT`]) until `condition` holds, panicking with `what` otherwise.
#[track_caller]
fn eventually(what: &str, condition: impl FnMut() -> bool) {
    poll_every(Duration::from_millis(20), POLL_LIMIT, condition)
        .unwrap_or_else(|| panic!("{what}: not within {POLL_LIMIT:?}"));
}

// ---------------------------------------------------------------- bypass link

/// "`on --with-secret` (prints a generated 32-character token on stdout as
/// `bypass: /maintenance-mode/bypass/TOKEN`)"; "`GET /maintenance-mode/bypass/TOKEN`
/// with the right token: 302 to `/` and a cookie (`HttpOnly`, `SameSite=Lax`)
/// that lets this browser through for `bypass_cookie_ttl` seconds". Other
/// browsers stay out; a new `--with-secret` makes a new token and ends the old one.
#[test]
fn with_secret_prints_a_link_whose_cookie_lets_that_browser_through() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let token = printed_token(&switch_on(&site, &server, &["--with-secret"]));

    let mut stranger = server.client();
    assert_kept_out(&mut stranger, "a browser without the cookie");

    let (mut browser, set_cookie) = open_link(&server, &token, &[]);
    // For `bypass_cookie_ttl` (default 43200 s): no end is set.
    assert_eq!(max_age(&set_cookie), 43200, "{set_cookie}");
    let expiry = cookie_expiry(browser.cookie(COOKIE).expect("cookie"));
    assert!(
        (expiry - (unix_now() + 43200)).abs() <= 5,
        "expiry {expiry} is not now + 43200"
    );
    // Plain HTTP: not `Secure`.
    assert_eq!(
        cookie_attribute(&set_cookie, "Secure"),
        None,
        "{set_cookie}"
    );

    assert_let_through(&mut browser, "the browser with the cookie");
    // Full maintenance: the banner does not say read-only.
    browser.get("/").assert_lacks(READ_ONLY);
    browser.get("/whoami").assert_status(200);
    assert_created(&browser.post("/api/items", &[]));
    assert_kept_out(&mut stranger, "a browser without the cookie");
    stranger.post("/api/items", &[]).assert_maintenance();

    // A new generated secret: another token; the old link and cookie end.
    let second = printed_token(&on(&site, &["--with-secret"]));
    assert_ne!(second, token, "two generated tokens are equal");
    eventually("the first cookie stops working", || {
        browser.get("/").status == 503
    });
    assert_kept_out(&mut browser, "the browser with the first cookie");
    assert_link_refused(&server, &token);
    let (mut again, _) = open_link(&server, &second, &[]);
    assert_let_through(&mut again, "the browser with the second cookie");
}

/// "`on --secret TOKEN` (at least 16 URL-safe characters)"; the cookie is
/// `Secure` over HTTPS (as claimed by `X-Forwarded-Proto` or `Forwarded`),
/// not over plain HTTP.
#[test]
fn secret_sets_the_link_and_the_cookie_is_secure_over_https() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let run = switch_on(&site, &server, &["--secret", TOKEN]);
    assert!(!run.stdout.contains(TOKEN), "the token is echoed: {run:?}");

    let (mut plain, set_cookie) = open_link(&server, TOKEN, &[]);
    assert_eq!(
        cookie_attribute(&set_cookie, "Secure"),
        None,
        "{set_cookie}"
    );
    assert_let_through(&mut plain, "the browser over plain HTTP");

    for https in [("x-forwarded-proto", "https"), ("forwarded", "proto=https")] {
        let (mut browser, set_cookie) = open_link(&server, TOKEN, &[https]);
        assert_eq!(
            cookie_attribute(&set_cookie, "Secure"),
            Some(""),
            "{https:?}: {set_cookie}"
        );
        assert_let_through(&mut browser, "the browser over HTTPS");
    }
}

/// "With a wrong token, or no secret: the maintenance response while
/// maintenance is on (404 when it is off), and no cookie" (also in read-only
/// mode, which is maintenance too).
#[test]
fn a_wrong_token_or_no_secret_gets_no_cookie() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();

    // Off: 404, whatever the token.
    for token in [TOKEN, "x"] {
        let mut browser = server.client();
        let reply = browser.get(&link(token));
        reply.assert_status(404);
        assert!(bypass_set_cookie(&reply).is_none(), "{reply:?}");
    }

    // On without a secret: the maintenance page.
    site.switch(true, &server);
    assert_link_refused(&server, TOKEN);

    // On with a secret: wrong tokens get the maintenance page.
    on(&site, &["--secret", TOKEN]);
    eventually("the server sees the secret", || {
        server.client().get(&link(TOKEN)).status == 302
    });
    let wrong_last = format!("{}X", &TOKEN[..TOKEN.len() - 1]);
    let too_long = "a".repeat(300);
    for wrong in [
        wrong_last.as_str(),
        &TOKEN[..TOKEN.len() - 1],
        &TOKEN.to_uppercase(),
        OTHER_TOKEN,
        "short",
        too_long.as_str(),
    ] {
        assert_link_refused(&server, wrong);
    }
    // The JSON flavour of the maintenance response, for a client asking JSON.
    let (_site, json_server) = EXAMPLE_SITE.in_maintenance(r#"response_type = "auto""#);
    let reply = json_server
        .client()
        .get_with(&link(TOKEN), &[("accept", "application/json")]);
    maintenance_json(&reply);
    assert!(bypass_set_cookie(&reply).is_none(), "{reply:?}");

    // Read-only mode: a wrong link is still refused.
    on(&site, &["--read-only", "--secret", TOKEN]);
    eventually("the server sees read-only mode", || {
        server.client().get("/").status == 200
    });
    assert_link_refused(&server, OTHER_TOKEN);
    open_link(&server, TOKEN, &[]);

    // Off again: 404 even for the token that was right.
    site.switch(false, &server);
    let reply = server.client().get(&link(TOKEN));
    reply.assert_status(404);
    assert!(bypass_set_cookie(&reply).is_none(), "{reply:?}");
}

/// "A request with header `X-Maintenance-Bypass: TOKEN` is let through too";
/// a wrong one is not, and the header sets no cookie.
#[test]
fn the_bypass_header_lets_a_request_through() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN]);

    let mut client = server.client();
    let reply = client.get_with("/", &[(HEADER, TOKEN)]);
    reply.assert_served("Home").assert_contains(BANNER);
    assert!(bypass_set_cookie(&reply).is_none(), "{reply:?}");
    let reply = client.get_with("/api/status", &[(HEADER, TOKEN)]);
    reply.assert_status(200);
    assert_eq!(reply.json(), json!({ "ok": true }));
    assert_created(&client.post_with("/api/items", &[], &[(HEADER, TOKEN)]));
    // Without the header, the same client is kept out: nothing was remembered.
    assert_kept_out(&mut client, "the client without the header");

    for wrong in [OTHER_TOKEN, "", "short", &TOKEN.to_uppercase()] {
        let reply = server.client().get_with("/", &[(HEADER, wrong)]);
        assert_eq!(reply.status, 503, "{wrong:?}: {reply:?}");
        let reply = server
            .client()
            .post_with("/api/items", &[], &[(HEADER, wrong)]);
        assert_eq!(reply.status, 503, "{wrong:?}: {reply:?}");
    }

    // Plain `on` has no secret: the header no longer counts.
    on(&site, &[]);
    eventually("the header stops working", || {
        server.client().get_with("/", &[(HEADER, TOKEN)]).status == 503
    });
}

/// "The cookie stops working when maintenance is switched off or the secret
/// changes": `off` then `on --secret SAME` ends it, and so does another secret.
#[test]
fn the_cookie_ends_with_the_maintenance_and_with_the_secret() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN]);
    let (mut browser, _) = open_link(&server, TOKEN, &[]);
    assert_let_through(&mut browser, "the browser with the cookie");

    // Off, then on again with the same token: the old cookie is worthless.
    site.switch(false, &server);
    switch_on(&site, &server, &["--secret", TOKEN]);
    assert!(browser.cookie(COOKIE).is_some());
    assert_kept_out(
        &mut browser,
        "the browser with a cookie of the last maintenance",
    );
    // The same link makes a new cookie, which works.
    let (mut browser, _) = open_link(&server, TOKEN, &[]);
    assert_let_through(&mut browser, "the browser with a new cookie");

    // Another secret while on: the cookie stops working, and the old link with it.
    on(&site, &["--secret", OTHER_TOKEN]);
    eventually("the cookie stops working", || {
        browser.get("/").status == 503
    });
    assert_kept_out(&mut browser, "the browser with a cookie of the old secret");
    assert_link_refused(&server, TOKEN);
    let (mut browser, _) = open_link(&server, OTHER_TOKEN, &[]);
    assert_let_through(&mut browser, "the browser with a cookie of the new secret");

    // Plain `on` (no secret): no cookie lets anyone through.
    on(&site, &[]);
    eventually("the cookie stops working without a secret", || {
        browser.get("/").status == 503
    });
    assert_link_refused(&server, OTHER_TOKEN);
}

/// "a cookie made with another secret, edited, or expired is ignored":
/// every edit of a valid cookie, and a valid cookie of another site (with the
/// same token but its own secret), get the maintenance page (never a 5xx).
#[test]
fn an_edited_or_foreign_cookie_is_ignored() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN]);
    let (browser, _) = open_link(&server, TOKEN, &[]);
    let value = browser.cookie(COOKIE).expect("cookie").to_owned();
    let (expiry, mac) = value.split_once('.').expect("EXPIRY.MAC");

    let other_site = EXAMPLE_SITE.site("");
    let other_server = other_site.start();
    switch_on(&other_site, &other_server, &["--secret", TOKEN]);
    let (other_browser, _) = open_link(&other_server, TOKEN, &[]);
    let foreign = other_browser.cookie(COOKIE).expect("cookie").to_owned();
    assert_ne!(foreign, value);

    let flipped_mac = {
        let mut bytes = mac.as_bytes().to_vec();
        bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ASCII")
    };
    let later = (cookie_expiry(&value) + 1).to_string();
    let edits = [
        format!("{later}.{mac}"),
        format!("0{expiry}.{mac}"),
        format!("+{expiry}.{mac}"),
        format!("{expiry}.{flipped_mac}"),
        format!("{expiry}.{mac}A"),
        format!("{expiry}.{}", &mac[..mac.len() - 1]),
        format!("{expiry}."),
        format!(".{mac}"),
        expiry.to_owned(),
        mac.to_owned(),
        format!("99999999999999999999.{mac}"),
        "1.AAAA".to_owned(),
        "garbage".to_owned(),
        foreign,
    ];
    for edit in edits {
        let mut client = server.client();
        client.set_cookie(COOKIE, &edit);
        assert_kept_out(&mut client, &format!("a browser with the cookie {edit:?}"));
    }

    // The unedited cookie still works, also among other cookies.
    let mut client = server.client();
    client.set_cookie(COOKIE, &value);
    client.set_cookie("a", "b");
    client.set_cookie("zz", "y");
    assert_let_through(&mut client, "a browser with the unedited cookie");
}

/// `bypass_cookie_ttl`: "how long a bypass cookie lets its browser through";
/// an expired cookie is ignored.
#[test]
fn the_cookie_expires_after_bypass_cookie_ttl() {
    let site = EXAMPLE_SITE.site("bypass_cookie_ttl = 3");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN]);
    let (mut browser, set_cookie) = open_link(&server, TOKEN, &[]);
    let opened = Instant::now();
    assert_eq!(max_age(&set_cookie), 3, "{set_cookie}");
    // Made in second S, valid until S + 3: more than 2 s from now.
    assert_let_through(&mut browser, "the browser with a fresh cookie");

    poll_every(Duration::from_millis(50), Duration::from_secs(5), || {
        browser.get("/").status == 503
    })
    .expect("the cookie expires within 5 s");
    let lasted = opened.elapsed();
    assert!(
        lasted >= Duration::from_millis(1900),
        "the cookie expired after {lasted:?}, before its third second"
    );
    assert_kept_out(&mut browser, "the browser with an expired cookie");
}

/// "... for `bypass_cookie_ttl` seconds, while that maintenance lasts": the
/// cookie's lifetime ends at the scheduled end when that comes first.
#[test]
fn the_cookie_never_outlives_the_maintenance() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN, "--for", "90s"]);
    let end = status_end(&status(&site));
    let (browser, set_cookie) = open_link(&server, TOKEN, &[]);
    // Whole seconds: the end is rounded to one, `Max-Age` counts from the
    // start of the current one, so it may exceed the time left by under a second.
    let lifetime = max_age(&set_cookie);
    assert!(
        (80..=91).contains(&lifetime),
        "Max-Age {lifetime}: {set_cookie}"
    );
    assert_eq!(
        cookie_expiry(browser.cookie(COOKIE).expect("cookie")),
        end,
        "the cookie expires at the end"
    );

    // A ttl shorter than the window wins.
    let site = EXAMPLE_SITE.site("bypass_cookie_ttl = 600");
    let server = site.start();
    switch_on(&site, &server, &["--secret", TOKEN, "--for", "2h"]);
    let (_, set_cookie) = open_link(&server, TOKEN, &[]);
    assert_eq!(max_age(&set_cookie), 600, "{set_cookie}");
}

/// "`status` ... say[s] whether a secret is set; [it] never print[s] it": not
/// `status`, not the server's log, not the state file.
#[test]
fn the_token_is_never_printed() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let off = status(&site);
    assert!(!off.stdout.contains("bypass"), "{off:?}");

    let token = printed_token(&switch_on(&site, &server, &["--with-secret"]));
    let run = status(&site);
    assert!(run.stdout.starts_with("on"), "{run:?}");
    assert!(run.stdout.contains("bypass link set"), "{run:?}");
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(&token),
            "status {what} has the token: {run:?}"
        );
    }
    let state = String::from_utf8_lossy(&site.state_bytes().expect("a state file")).into_owned();
    assert!(
        !state.contains(&token),
        "the state file has the token: {state}"
    );

    // Use it every way, right and wrong; then read the server's log.
    let (mut browser, _) = open_link(&server, &token, &[]);
    assert_let_through(&mut browser, "the browser with the cookie");
    server
        .client()
        .get_with("/", &[(HEADER, &token)])
        .assert_served("Home");
    let almost = format!("{}x", &token[..31]);
    server.client().get_with("/", &[(HEADER, &almost)]);
    server.client().get(&format!("{}/extra", link(&token)));

    on(&site, &["--secret", TOKEN]);
    let run = status(&site);
    assert!(run.stdout.contains("bypass link set"), "{run:?}");
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "{run:?}"
    );
    eventually("the server sees the new secret", || {
        server.client().get(&link(TOKEN)).status == 302
    });
    std::thread::sleep(Duration::from_millis(100));
    let log = server.stderr();
    assert!(log.contains("listening on"), "the log is captured: {log}");
    assert!(
        !log.contains(&token),
        "the server's log has the token:\n{log}"
    );
    assert!(
        !log.contains(TOKEN),
        "the server's log has the token:\n{log}"
    );
}

/// "`on --secret TOKEN` (at least 16 URL-safe characters)": a bad token is
/// refused with a non-zero exit and one line that does not quote it, and
/// nothing is stored; `--secret` with `--with-secret`, or with `off`, too.
#[test]
fn a_bad_secret_is_refused_without_echoing_it() {
    let site = EXAMPLE_SITE.site("");
    let too_long = "Z".repeat(257);
    for bad in [
        "tooShortSecret1",
        "has.a.dot.in-it-xyz",
        "slash/in/the/token/xyz",
        "spaces are not url safe",
        "ünicode-is-not-url-safe",
        too_long.as_str(),
    ] {
        let run = site.command(&["on", "--secret", bad]);
        let line = run.assert_one_line_failure();
        assert!(
            line.contains("--secret"),
            "the error names --secret: {run:?}"
        );
        assert!(!line.contains(bad), "the error quotes the token: {run:?}");
        assert!(!run.stdout.contains(bad), "{run:?}");
        assert_eq!(site.status(), "off", "a bad secret switched it on");
        assert!(site.state_bytes().is_none(), "a bad secret wrote a state");
    }

    let run = site.command(&["on", "--secret", TOKEN, "--with-secret"]);
    run.assert_one_line_failure();
    let run = site.command(&["off", "--secret", TOKEN]);
    run.assert_one_line_failure();
    let run = site.command(&["off", "--with-secret"]);
    run.assert_one_line_failure();
    assert_eq!(site.status(), "off");

    // The bounds: 16 and 256 characters are fine.
    for good in ["Sixteen-chars_ok".to_owned(), "y".repeat(256)] {
        let run = site.command(&["on", "--secret", &good]);
        run.assert_success();
        assert!(!run.stdout.contains(&good), "{run:?}");
        assert_eq!(site.status(), "on");
        site.set(false);
    }
}

// ------------------------------------------------------------- read-only mode

/// "`on --read-only`: `GET`, `HEAD` and `OPTIONS` requests are served as usual
/// (pages show `Read-only mode`); any other method gets the maintenance
/// response"; "The JSON maintenance response ... carr[ies] `"read_only": true`".
#[test]
fn read_only_mode_serves_reads_and_answers_writes() {
    let site = EXAMPLE_SITE.site(r#"response_type = "auto""#);
    let server = site.start();
    let mut visitor = server.client();
    // Off: how reads and writes are answered as usual.
    let head_off = visitor.request("HEAD", "/", &[]);
    let options_off = visitor.request("OPTIONS", "/api/items", &[]);
    let put_off = visitor.request("PUT", "/api/items", &[]);
    assert_created(&visitor.post("/api/items", &[]));

    switch_on(&site, &server, &["--read-only"]);
    let reply = visitor.get("/");
    reply
        .assert_served("Home")
        .assert_contains(BANNER)
        .assert_contains(READ_ONLY);
    let reply = visitor.get("/api/status");
    reply.assert_status(200);
    assert_eq!(reply.json(), json!({ "ok": true }));
    visitor.get("/whoami").assert_status(200);
    visitor.get("/healthz").assert_served("ok");
    for (method, path, off) in [
        ("HEAD", "/", &head_off),
        ("OPTIONS", "/api/items", &options_off),
    ] {
        let reply = visitor.request(method, path, &[]);
        assert_eq!(reply.status, off.status, "{method} {path}: {reply:?}");
        assert_eq!(
            reply.header("retry-after"),
            None,
            "{method} {path}: {reply:?}"
        );
    }
    // `#[maintenance_on]` still answers the maintenance response, reads too.
    visitor.get("/legacy/").assert_maintenance();

    // Writes: the maintenance response, JSON for a client asking JSON.
    let reply = visitor.post_with("/api/items", &[], &[("accept", "application/json")]);
    let body = maintenance_json(&reply);
    assert_eq!(body["read_only"], json!(true), "{reply:?}");
    assert_eq!(body["reason"], json!(null), "{reply:?}");
    assert_eq!(body["end"], json!(null), "{reply:?}");
    assert_eq!(reply.header("retry-after"), Some("3600"), "{reply:?}");
    let reply = visitor.post("/api/items", &[]);
    reply.assert_maintenance().assert_contains(READ_ONLY);
    reply.assert_content_type("text/html");
    assert_ne!(put_off.status, 503, "{put_off:?}");
    for (method, path) in [
        ("PUT", "/api/items"),
        ("DELETE", "/api/items"),
        ("PATCH", "/"),
    ] {
        let reply = visitor.request(method, path, &[]);
        reply.assert_maintenance();
    }
    // The handler of a write never runs: logging in does not happen.
    let reply = visitor.post("/login/", &[("username", "admin"), ("password", "admin")]);
    reply.assert_maintenance();
    assert!(!reply.sets_cookie(SESSION_COOKIE), "logged in: {reply:?}");

    let run = status(&site);
    assert!(
        run.stdout.starts_with("on") && run.stdout.contains("read-only"),
        "{run:?}"
    );

    // Full maintenance answers the reads as well.
    on(&site, &[]);
    eventually("full maintenance answers GET /", || {
        visitor.get("/").status == 503
    });
    visitor
        .get("/")
        .assert_maintenance()
        .assert_lacks(READ_ONLY);
    visitor
        .request("HEAD", "/", &[])
        .assert_maintenance_status(503);
    visitor
        .request("OPTIONS", "/api/items", &[])
        .assert_maintenance_status(503);
    let reply = visitor.post_with("/api/items", &[], &[("accept", "application/json")]);
    assert_eq!(
        maintenance_json(&reply)["read_only"],
        json!(false),
        "{reply:?}"
    );

    site.switch(false, &server);
    assert_created(&visitor.post("/api/items", &[]));
}

/// Read-only mode: "any other method gets the maintenance response unless an
/// exemption applies (the same exemptions as full maintenance)": `ignore_staff`
/// serves a staff write, the bypass header and cookie serve anyone's.
#[test]
fn read_only_writes_keep_the_exemptions() {
    let site = EXAMPLE_SITE.site("ignore_staff = true");
    let server = site.start();
    let mut staff = server.login("staff");
    let mut user = server.login("user");
    switch_on(&site, &server, &["--read-only", "--secret", TOKEN]);

    assert_created(&staff.post("/api/items", &[]));
    user.post("/api/items", &[]).assert_maintenance();
    server.client().post("/api/items", &[]).assert_maintenance();
    // Reads are served to everyone, with the read-only banner.
    for client in [&mut staff, &mut user] {
        client
            .get("/")
            .assert_served("Home")
            .assert_contains(BANNER)
            .assert_contains(READ_ONLY);
    }
    // The user is still logged in: the read did not log anyone out.
    assert_eq!(user.whoami()["user"], json!("user"));

    assert_created(
        &server
            .client()
            .post_with("/api/items", &[], &[(HEADER, TOKEN)]),
    );
    let (mut browser, _) = open_link(&server, TOKEN, &[]);
    assert_created(&browser.post("/api/items", &[]));
}

// ------------------------------------------------------- reason, --for, JSON

/// "JSON: ... a body that is a JSON object with at least `"maintenance": true`,
/// `"read_only"`, `"reason"` and `"end"`": `null`s for plain `on`, the raw
/// reason and the end for `on --reason ... --for 30m`, with `Retry-After`
/// the seconds until that end.
#[test]
fn the_json_response_carries_read_only_reason_and_end() {
    let site = EXAMPLE_SITE.site(r#"response_type = "json""#);
    let server = site.start();
    site.switch(true, &server);
    let reply = server.client().get("/");
    let body = maintenance_json(&reply);
    assert_eq!(body["read_only"], json!(false), "{reply:?}");
    assert_eq!(body["reason"], json!(null), "{reply:?}");
    assert_eq!(body["end"], json!(null), "{reply:?}");
    assert!(
        body.get("reason").is_some() && body.get("end").is_some(),
        "{reply:?}"
    );

    let before = unix_now();
    on(&site, &["--reason", REASON, "--for", "30m"]);
    let after = unix_now();
    let mut reply = server.client().get("/");
    eventually("the server sees the reason", || {
        reply = server.client().get("/");
        reply.json()["reason"] != json!(null)
    });
    let body = maintenance_json(&reply);
    assert_eq!(body["reason"], json!(REASON), "the raw reason: {reply:?}");
    assert_eq!(body["read_only"], json!(false), "{reply:?}");
    let end = json_end(&body);
    assert!(
        (before + 1800 - 1..=after + 1800 + 1).contains(&end),
        "end {end} is not now + 30m ({before}..{after}): {reply:?}"
    );
    assert_eq!(end, status_end(&status(&site)), "the status's end");
    let seconds = retry_after(&reply);
    assert!(
        (1790..=1801).contains(&seconds),
        "Retry-After {seconds}: {reply:?}"
    );
}

/// "`--for DURATION` (`90s`, `30m`, `2h`, `1h30m`) sets the end to now +
/// DURATION": in `status`, in the JSON `end` and `Retry-After`.
#[test]
fn for_sets_the_end_to_now_plus_the_duration() {
    let site = EXAMPLE_SITE.site(r#"response_type = "json""#);
    let server = site.start();
    for (duration, seconds) in [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400)] {
        let before = unix_now();
        on(&site, &["--for", duration]);
        let after = unix_now();
        let run = status(&site);
        assert!(run.stdout.starts_with("on"), "{run:?}");
        let end = status_end(&run);
        assert!(
            (before + seconds - 1..=after + seconds + 1).contains(&end),
            "--for {duration}: end {end} is not now + {seconds} s ({before}..{after}): {run:?}"
        );

        let mut reply = server.client().get("/");
        eventually(&format!("the server sees --for {duration}"), || {
            reply = server.client().get("/");
            reply.status == 503
                && reply.json()["end"]
                    .as_str()
                    .map(parse_iso8601)
                    .is_some_and(|parsed| parsed.is_ok_and(|parsed| parsed.as_second() == end))
        });
        maintenance_json(&reply);
        let retry = retry_after(&reply);
        assert!(
            (seconds - 10..=seconds + 1).contains(&retry),
            "--for {duration}: Retry-After {retry}: {reply:?}"
        );
    }
}

/// "`--for` ... cannot be combined with `--end`", and a `--for` that is not a
/// duration is refused: one line naming the option, nothing stored.
#[test]
fn for_errors_are_one_line_and_change_nothing() {
    let site = EXAMPLE_SITE.site("");
    let run = site.command(&["on", "--for", "10m", "--end", "2999-01-01T00:00:00Z"]);
    let line = run.assert_one_line_failure();
    assert!(
        line.contains("--for") && line.contains("--end"),
        "the error names both options: {run:?}"
    );
    for bad in ["10x", "soon", "0s", "--for=-5m", "1y", "90 parsecs"] {
        let args = if bad.starts_with("--") {
            vec!["on", bad]
        } else {
            vec!["on", "--for", bad]
        };
        let run = site.command(&args);
        let line = run.assert_one_line_failure();
        assert!(line.contains("--for"), "the error names --for: {run:?}");
    }
    for with in ["off", "status"] {
        let run = site.command(&[with, "--for", "1h"]);
        let line = run.assert_one_line_failure();
        assert!(line.contains("--for"), "{run:?}");
    }
    assert!(site.state_bytes().is_none(), "an error wrote a state");
    assert_eq!(site.status(), "off");
}

/// "`--reason TEXT` is stored with the state and shown by `status`, on the
/// maintenance page (HTML-escaped) and in its JSON (`"reason"`)", on both
/// templates of the example (`503.html`, `errors/503.html`).
#[test]
fn the_reason_is_shown_escaped_on_both_pages_raw_in_json_and_by_status() {
    for template in ["503.html", "errors/503.html"] {
        let site = EXAMPLE_SITE.site(&format!(
            "template = {template:?}\nresponse_type = \"auto\""
        ));
        let server = site.start();
        switch_on(&site, &server, &["--reason", REASON]);

        let reply = server.client().get("/");
        reply
            .assert_maintenance()
            .assert_content_type("text/html")
            .assert_contains("&lt;b&gt;DB&lt;")
            .assert_contains("&amp; co")
            .assert_lacks("<b>DB");
        let reply = server
            .client()
            .get_with("/", &[("accept", "application/json")]);
        assert_eq!(
            maintenance_json(&reply)["reason"],
            json!(REASON),
            "{template}: {reply:?}"
        );
        let run = status(&site);
        assert!(run.stdout.contains(REASON), "{template}: {run:?}");
    }

    // Without a reason, the page says none.
    let (_site, server) = EXAMPLE_SITE.in_maintenance("");
    server
        .client()
        .get("/")
        .assert_maintenance()
        .assert_lacks("DB");
}

/// `status` with every detail: the window's end, the reason, read-only mode
/// and whether a bypass link is set, on one line.
#[test]
fn status_describes_the_whole_maintenance_on_one_line() {
    let site = EXAMPLE_SITE.site("");
    let run = site.command(&[
        "on",
        "--for",
        "2h",
        "--reason",
        "DB",
        "--read-only",
        "--with-secret",
    ]);
    run.assert_success();
    let token = printed_token(&run);
    let run = status(&site);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    let line = run.stdout.trim_end();
    assert!(line.starts_with("on (scheduled until "), "{run:?}");
    for part in ["\"DB\"", "read-only", "bypass link set"] {
        assert!(line.contains(part), "status lacks {part:?}: {run:?}");
    }
    assert!(!line.contains(&token), "{run:?}");
    let end = status_end(&run);
    assert!((end - (unix_now() + 7200)).abs() <= 5, "{run:?}");

    // A reason with a line break still makes one line.
    on(&site, &["--reason", "line one\nline two"]);
    let run = status(&site);
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert!(
        run.stdout.contains("line one") && run.stdout.contains("line two"),
        "{run:?}"
    );
}

// ------------------------------------------------------------- config keys

/// `health_urls`: "exact paths always served ... `[]` turns it off"; its
/// default holds `/healthz` ("`GET /healthz`: 200 `ok`").
#[test]
fn health_urls_are_served_exactly_during_maintenance() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    server.client().get("/healthz").assert_served("ok");
    server.client().get("/healthz/").assert_status(404);
    site.switch(true, &server);

    let reply = server.client().get("/healthz");
    reply.assert_served("ok");
    assert_eq!(reply.body, "ok");
    assert_eq!(reply.header("retry-after"), None, "{reply:?}");
    for near in [
        "/healthz/",
        "/healthz/x",
        "/HEALTHZ",
        "/healthzz",
        "/api/healthz",
    ] {
        server.client().get(near).assert_maintenance();
    }

    let (_site, server) = EXAMPLE_SITE.in_maintenance("health_urls = []");
    server.client().get("/healthz").assert_maintenance();

    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"health_urls = ["/api/status"]"#);
    let reply = server.client().get("/api/status");
    reply.assert_status(200);
    assert_eq!(reply.json(), json!({ "ok": true }));
    server.client().get("/healthz").assert_maintenance();
    server.client().get("/api/status/").assert_maintenance();
}

/// `refresh`: "`Refresh` header on the HTML page, so open browsers reload by
/// themselves; 0 omits it" (default 0); not on the JSON response, a redirect,
/// or a page that is served.
#[test]
fn refresh_sets_the_header_on_the_html_page_only() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance("refresh = 30\nresponse_type = \"auto\"");
    let reply = server.client().get("/");
    reply.assert_maintenance().assert_content_type("text/html");
    assert_eq!(reply.header("refresh"), Some("30"), "{reply:?}");
    let reply = server
        .client()
        .get_with("/", &[("accept", "application/json")]);
    maintenance_json(&reply);
    assert_eq!(reply.header("refresh"), None, "{reply:?}");
    let reply = server.client().get("/about/");
    reply.assert_served("About");
    assert_eq!(reply.header("refresh"), None, "{reply:?}");

    for settings in ["", "refresh = 0"] {
        let (_site, server) = EXAMPLE_SITE.in_maintenance(settings);
        let reply = server.client().get("/");
        reply.assert_maintenance();
        assert_eq!(reply.header("refresh"), None, "{settings:?}: {reply:?}");
    }

    let (_site, server) =
        EXAMPLE_SITE.in_maintenance("refresh = 30\nredirect_url = \"/api/status\"");
    let reply = server.client().get("/");
    reply.assert_redirect(302, "/api/status");
    assert_eq!(reply.header("refresh"), None, "{reply:?}");
}

/// Values of the new keys that cannot work fail the start (and the command)
/// with a non-zero exit and one line naming the key.
#[test]
fn bad_values_of_the_new_keys_fail_start_up_naming_the_key() {
    for (settings, key) in [
        (r#"health_urls = ["healthz"]"#, "health_urls"),
        (r#"health_urls = ["/healthz", ""]"#, "health_urls"),
        ("bypass_cookie_ttl = 0", "bypass_cookie_ttl"),
        ("bypass_cookie_ttl = 99999999999", "bypass_cookie_ttl"),
        ("refresh = 99999999999", "refresh"),
    ] {
        let site = EXAMPLE_SITE.site(settings);
        let serve = site.serve_expecting_exit();
        let line = serve.assert_one_line_failure();
        assert!(
            line.contains(key),
            "{settings}: the error names {key}: {serve:?}"
        );
        let command = site.command(&["status"]);
        let line = command.assert_one_line_failure();
        assert!(
            line.contains(key),
            "{settings}: the error names {key}: {command:?}"
        );
    }
}
