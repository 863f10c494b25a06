//! End-to-end regression tests of the hostile inputs and operator mistakes
//! that once got through (issue "Hardening"), against the real example-site:
//! bounded memory under ever-new methods, `redirect_url` on another host,
//! config values that disable maintenance, `Accept` q-values, log injection,
//! a hand-registered exempt route from the first request, a missing state
//! directory, session expiry, and malformed requests never getting a 5xx.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use maint_test_support::{
    poll::poll_every,
    site::{Server, toml_path},
};

use crate::EXAMPLE_SITE;

/// What came back for a raw request: the status and the head, lower-cased.
struct RawReply {
    status: u16,
    head: String,
}

/// Sends `request` as bytes on a new connection and reads the response head.
fn raw(server: &Server, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).expect("send");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) => panic!("no answer to {:?}: {error}", short(request)),
        }
    }
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {:?}: {head:?}", short(request)));
    RawReply { status, head }
}

fn short(request: &[u8]) -> String {
    String::from_utf8_lossy(&request[..request.len().min(120)]).into_owned()
}

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// Defect 1: every request with a new method name once grew a per-worker
/// cache for good (about 30 MiB per 2,000 requests of 16 KB methods).
#[test]
fn ever_new_method_names_during_maintenance_keep_memory_flat() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance("");
    let long_method = "M".repeat(16 * 1024);
    let send = |index: usize| {
        let request =
            format!("{long_method}{index} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let reply = raw(&server, request.as_bytes());
        assert!(reply.status < 500 || reply.status == 503, "{}", reply.head);
    };
    // Warm up the workers and the allocator.
    (0..300).for_each(send);
    let before = rss_kib(server.pid());
    (300..3300).for_each(send);
    let after = rss_kib(server.pid());
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 12,
        "RSS grew by {grown_mib} MiB over 3,000 requests ({before} KiB -> {after} KiB)"
    );
}

/// Defect 5: an absolute `redirect_url` on another host is never served here,
/// whatever `Host` or request-line authority the client sends.
#[test]
fn a_redirect_target_on_another_host_is_not_served_locally() {
    let (_site, server) =
        EXAMPLE_SITE.in_maintenance(r#"redirect_url = "https://status.example.com/api/status""#);
    for request in [
        "GET /api/status HTTP/1.1\r\nHost: status.example.com\r\nConnection: close\r\n\r\n",
        "GET http://status.example.com/api/status HTTP/1.1\r\nHost: status.example.com\r\nConnection: close\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nHost: STATUS.example.com:443\r\nConnection: close\r\n\r\n",
    ] {
        let reply = raw(&server, request.as_bytes());
        assert_eq!(reply.status, 302, "{request:?}: {}", reply.head);
        assert!(
            reply
                .head
                .contains("location: https://status.example.com/api/status"),
            "{}",
            reply.head
        );
    }
}

/// A same-site `redirect_url` path is still served (the redirect must land).
#[test]
fn a_same_site_redirect_target_is_served() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"redirect_url = "/api/status""#);
    server.client().get("/api/status").assert_status(200);
    server.client().get("/").assert_redirect(302, "/api/status");
}

/// Defect 6: values that silently disable or break maintenance fail at
/// start-up, on one line naming the key.
#[test]
fn config_values_that_disable_maintenance_are_refused_at_start() {
    for (settings, key) in [
        ("ignore_admin_site = true\nadmin_url = \"\"", "admin_url"),
        ("ignore_admin_site = true\nadmin_url = \"/\"", "admin_url"),
        ("admin_url = \"admin\"", "admin_url"),
        ("status_code = 100", "status_code"),
        ("status_code = 199", "status_code"),
        ("status_code = 600", "status_code"),
        ("retry_after = 9999999999", "retry_after"),
    ] {
        let site = EXAMPLE_SITE.site(settings);
        let run = site.serve_expecting_exit();
        let line = run.assert_one_line_failure();
        assert!(line.contains(key), "{settings:?}: {line}");
        let run = site.command(&["on"]);
        assert!(run.assert_one_line_failure().contains(key), "{run:?}");
    }
}

/// Defect 7: `q=0` means "not acceptable" (RFC 9110), so it never selects JSON.
#[test]
fn accept_with_q_zero_never_selects_json() {
    let (_site, server) = EXAMPLE_SITE.in_maintenance(r#"response_type = "auto""#);
    for accept in [
        "application/json;q=0",
        "application/json;q=0, text/html;q=0.5",
        "application/json; q=0.000",
    ] {
        let reply = server.client().get_with("/", &[("accept", accept)]);
        reply.assert_maintenance();
        assert!(reply.has_content_type("text/html"), "{accept}: {reply:?}");
    }
    let reply = server
        .client()
        .get_with("/", &[("accept", "application/json")]);
    reply.assert_content_type("application/json");
}

/// Defect 8: a username with a newline cannot write a line of its own into the log.
#[test]
fn a_username_with_a_newline_cannot_forge_a_log_line() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let reply = server.client().post(
        "/login/",
        &[
            (
                "username",
                "nobody\nINJECTED forged log line\r\nINJECTED again",
            ),
            ("password", "x"),
        ],
    );
    reply.assert_status(401);
    poll_every(Duration::from_millis(20), Duration::from_secs(5), || {
        server.stderr().contains("failed login")
    })
    .expect("no failed-login line");
    let log = server.stderr();
    assert!(
        log.lines().all(|line| !line.starts_with("INJECTED")),
        "{log}"
    );
    assert!(
        log.contains(r"\nINJECTED"),
        "the name is logged escaped: {log}"
    );
}

/// "`GET /ping` ... registered by hand and exempt through the library's API
/// for such routes: served during maintenance, from the first request of a
/// server that starts in maintenance."
#[test]
fn a_hand_registered_exempt_route_is_served_from_the_first_request() {
    let site = EXAMPLE_SITE.site("");
    site.write_state("1");
    let server = site.start();
    let reply = server.client().get("/ping");
    reply.assert_status(200);
    assert_eq!(reply.body, "pong");
    server.client().get("/").assert_maintenance();
    server
        .client()
        .post("/ping", &[])
        .assert_maintenance_status(503);
    site.switch(false, &server);
    server.client().get("/ping").assert_status(200);
}

/// Defect 9: a state file in a directory that does not exist is reported at start.
#[test]
fn a_missing_state_directory_is_reported_at_start() {
    let site = EXAMPLE_SITE.site("");
    let missing = site.dir().join("no-such-dir").join("state.txt");
    let site = EXAMPLE_SITE.site(&format!("state_file_path = {}", toml_path(&missing)));
    let server = site.start();
    let log = server.stderr();
    assert!(log.contains("does not exist"), "{log}");
    assert!(log.contains("no-such-dir"), "{log}");
    server.client().get("/").assert_status(200);
}

/// Defect 10: example-site sessions expire.
#[test]
fn the_session_cookie_carries_an_expiry() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut client = server.client();
    let reply = client.login("user", "user");
    let cookie = reply
        .set_cookies()
        .next()
        .expect("a session cookie")
        .to_ascii_lowercase();
    assert!(
        cookie.contains("max-age=") || cookie.contains("expires="),
        "{cookie}"
    );
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite"), "{cookie}");
}

/// "Bad input never gets a 5xx: malformed cookies, headers, paths or methods
/// get the answer they would get if well-formed, or a 4xx" (503 only as the
/// maintenance response).
#[test]
fn malformed_requests_never_get_a_5xx() {
    let site = EXAMPLE_SITE.site(
        "ignore_staff = true\nresponse_type = \"auto\"\nlogout_authenticated_user = true\ntrusted_proxies = [\"127.0.0.1\"]\nignore_ip_networks = [\"10.0.0.0/8\"]",
    );
    let server = site.start();
    let long_path = format!("/{}", "a/".repeat(2000));
    let requests: Vec<String> = vec![
        "GET / HTTP/1.1\r\nHost: x\r\nCookie: id=%%%;;==; id=\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: x\r\nCookie: id=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n".into(),
        "GET /%ff%fe%00 HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "GET /..%2f..%2fetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        format!("GET {long_path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        "FOO /whoami HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ,,,;garbage, 999.1.1.1, 10.0.0.1, \r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: x\r\nForwarded: for=\"[::1\";;by=,for=_hidden\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: x\r\nAccept: ;;;q=abc, application/json;q=2\r\n\r\n".into(),
        "GET /maintenance-mode/off/ HTTP/1.1\r\nHost: x\r\nCookie: id=garbage\r\n\r\n".into(),
        "POST /maintenance-mode/on/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n%%%%%".into(),
        "POST /login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n%zz".into(),
    ];
    for on in [false, true] {
        site.switch(on, &server);
        for request in &requests {
            let with_close = request.replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
            let reply = raw(&server, with_close.as_bytes());
            let maintenance = reply.status == 503 && reply.head.contains("retry-after");
            assert!(
                reply.status < 500 || maintenance,
                "maintenance {on}: {:?} -> {}",
                short(request.as_bytes()),
                reply.head
            );
        }
    }
}
