//! End-to-end: the contract's "Per-host state" (issue 13): `--host HOST` on
//! `on`, `off` and `status`; a request whose `Host` (port and case ignored)
//! has its own state follows it, others the global state; `off --host`
//! makes the host follow the global state again; `status`, `status --json`
//! and the status page list the hosts with a state of their own.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use maint_test_support::{
    login::csrf_token,
    poll::poll_every,
    process::Run,
    site::{POLL_LIMIT, Server, Site},
};

use crate::EXAMPLE_SITE;

const SHOP: &str = "shop.example.com";
const TOKEN: &str = "per-host-bypass-token-0123456789";

/// The status and body of `METHOD path` sent with `Host: host`.
fn request(server: &Server, method: &str, path: &str, host: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut received = Vec::new();
    stream.read_to_end(&mut received).expect("read the answer");
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

fn get(server: &Server, host: &str) -> u16 {
    request(server, "GET", "/", host).0
}

/// Waits until `GET /` for `host` answers `status`.
#[track_caller]
fn await_status(server: &Server, host: &str, status: u16) {
    poll_every(Duration::from_millis(5), POLL_LIMIT, || {
        get(server, host) == status
    })
    .unwrap_or_else(|| {
        panic!(
            "GET / for {host} did not answer {status} within {POLL_LIMIT:?} (it answers {})",
            get(server, host)
        )
    });
}

#[track_caller]
fn command(site: &Site, args: &[&str]) -> Run {
    let run = site.command(args);
    run.assert_success();
    run
}

/// The local host a client of `server` sends by default.
fn local(server: &Server) -> String {
    format!("127.0.0.1:{}", server.port())
}

#[test]
fn a_host_with_its_own_state_follows_it_and_others_follow_the_global_state() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    command(&site, &["on", "--host", SHOP]);
    await_status(&server, SHOP, 503);
    for host in [
        "SHOP.Example.COM",
        "shop.example.com:8443",
        "Shop.example.com:80",
    ] {
        assert_eq!(get(&server, host), 503, "port and case ignored: {host}");
    }
    for host in [
        "blog.example.com",
        "example.com",
        "shop.example.com.evil",
        &local(&server),
    ] {
        assert_eq!(
            get(&server, host),
            200,
            "{host} follows the global state (off)"
        );
    }
    assert_eq!(site.status(), "off", "the global state is unchanged");
    let host_status = command(&site, &["status", "--host", "Shop.Example.com"]);
    assert!(host_status.stdout.starts_with("on"), "{host_status:?}");

    // Off for the host removes its own state: it follows the global state again.
    command(&site, &["off", "--host", SHOP]);
    await_status(&server, SHOP, 200);
    command(&site, &["on"]);
    await_status(&server, SHOP, 503);
    await_status(&server, &local(&server), 503);
    let followed = command(&site, &["status", "--host", SHOP]);
    assert!(
        followed.stdout.starts_with("on") && followed.stdout.contains("follows the global state"),
        "{followed:?}"
    );
}

#[test]
fn a_hosts_own_state_has_its_own_details_read_only_and_bypass_link() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    command(&site, &["on", "--reason", "global work"]);
    // The shop stays browsable while the rest of the site is down.
    let args = [
        "on",
        "--host",
        SHOP,
        "--read-only",
        "--reason",
        "shop upgrade",
        "--secret",
        TOKEN,
    ];
    command(&site, &args);
    poll_every(Duration::from_millis(5), POLL_LIMIT, || {
        request(&server, "POST", "/api/items", SHOP).0 == 503 && get(&server, SHOP) == 200
    })
    .expect("the shop in read-only mode: reads served, writes refused");
    let (status, page) = request(&server, "GET", "/", SHOP);
    assert_eq!(status, 200);
    assert!(!page.contains("global work"), "{page}");
    let (status, page) = request(&server, "POST", "/api/items", SHOP);
    assert_eq!(status, 503);
    assert!(
        page.contains("shop upgrade"),
        "the shop's own reason: {page}"
    );
    let (status, page) = request(&server, "GET", "/", &local(&server));
    assert_eq!(status, 503);
    assert!(page.contains("global work"), "{page}");

    // The shop's bypass link opens only on the shop.
    let link = format!("/maintenance-mode/bypass/{TOKEN}");
    let (status, head) = request(&server, "GET", &link, SHOP);
    assert_eq!(status, 302, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("set-cookie: maint_bypass="),
        "{head}"
    );
    let (status, head) = request(&server, "GET", &link, &local(&server));
    assert_eq!(status, 503, "the global state has no secret: {head}");

    // The public status JSON answers for the host asked.
    let (_, shop_json) = request(&server, "GET", "/maintenance-mode/status", SHOP);
    assert!(shop_json.contains(r#""read_only":true"#), "{shop_json}");
    assert!(shop_json.contains("shop upgrade"), "{shop_json}");
    let (_, global_json) = request(&server, "GET", "/maintenance-mode/status", &local(&server));
    assert!(
        global_json.contains(r#""read_only":false"#),
        "{global_json}"
    );
}

#[test]
fn status_and_status_json_list_the_hosts_with_their_own_state() {
    let site = EXAMPLE_SITE.site("");
    let plain = command(&site, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&plain.stdout).expect("one JSON object");
    assert!(
        json.get("hosts").is_none(),
        "no hosts key while no host has a state: {json}"
    );

    command(&site, &["on", "--host", SHOP, "--reason", "shop upgrade"]);
    command(&site, &["on", "--host", "Blog.Example.com:8080"]);
    let lines = command(&site, &["status"]);
    let lines: Vec<&str> = lines.stdout.lines().collect();
    assert_eq!(lines[0], "off", "{lines:?}");
    assert!(
        lines[1].starts_with("host blog.example.com: on (changed "),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(r#"host shop.example.com: on (reason: "shop upgrade"; changed "#),
        "{lines:?}"
    );
    assert!(lines[2].ends_with(" via command)"), "{lines:?}");

    let run = command(&site, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(json["maintenance"], false, "{json}");
    let hosts = json["hosts"].as_object().expect("a hosts object");
    assert_eq!(
        hosts.keys().collect::<Vec<_>>(),
        ["blog.example.com", SHOP],
        "{json}"
    );
    assert_eq!(hosts[SHOP]["maintenance"], true);
    assert_eq!(hosts[SHOP]["reason"], "shop upgrade");
    assert_eq!(hosts[SHOP]["via"], "command");

    let run = command(&site, &["status", "--json", "--host", "SHOP.example.com"]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(json["maintenance"], true, "{json}");
    assert_eq!(json["reason"], "shop upgrade", "{json}");
    assert!(json.get("hosts").is_none(), "{json}");

    // `on --host` again with the same state changes nothing; `off --host`
    // of a host without its own state succeeds and changes nothing.
    command(&site, &["off", "--host", "nobody.example.com"]);
    command(&site, &["off", "--host", "blog.example.com"]);
    let lines = command(&site, &["status"]);
    assert_eq!(lines.stdout.lines().count(), 2, "{lines:?}");
}

#[test]
fn a_bad_host_is_refused_in_one_line() {
    let site = EXAMPLE_SITE.site("");
    for bad in ["bad host", "", "a/b", "[nope]"] {
        let run = site.command(&["on", "--host", bad]);
        assert!(!run.status.success(), "{bad:?}: {run:?}");
        let stderr = run.stderr.trim();
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {run:?}");
        assert!(stderr.contains("--host"), "{bad:?}: {run:?}");
    }
    assert_eq!(site.status(), "off");
}

#[test]
fn the_status_page_lists_the_hosts_and_lets_one_follow_the_global_state() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    command(&site, &["on", "--host", SHOP, "--reason", "shop upgrade"]);
    await_status(&server, SHOP, 503);
    let mut admin = server.login("admin");
    let page = admin.get("/maintenance-mode/");
    page.assert_status(200)
        .assert_contains("Hosts with their own state")
        .assert_contains(SHOP)
        .assert_contains("shop upgrade");
    let token = csrf_token(&page.body).expect("a csrf token");
    admin
        .post(
            "/maintenance-mode/",
            &[("csrf_token", &token), ("state", "off"), ("host", SHOP)],
        )
        .assert_redirect(303, "/maintenance-mode/");
    await_status(&server, SHOP, 200);
    let page = admin.get("/maintenance-mode/");
    page.assert_status(200)
        .assert_lacks("Hosts with their own state");
    let run = command(&site, &["status", "--json"]);
    assert!(!run.stdout.contains("hosts"), "{run:?}");
}
