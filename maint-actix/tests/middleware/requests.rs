//! Exemptions that look at the request: the admin site, client IPs (regexes,
//! networks, trusted proxies, the `get_client_ip_address` hook) and URLs.
//!
//! Counterparts in django-maintenance-mode's `test_middleware.py`:
//! - `test_middleware_ignore_admin_site` (`/admin/`, `/admin`, `/`, on and off) →
//!   `ignore_admin_site_*`. `test_middleware_ignore_admin_site_not_configured` has
//!   no counterpart: `admin_url` always names the admin prefix here.
//! - `test_middleware_ignore_ip_addresses` → `ignore_ip_addresses_*`.
//! - `test_middleware_ignore_ip_addresses_get_client_ip_address` →
//!   `get_client_ip_address_hook_*` (the invalid-function-path cases have no
//!   Rust counterpart: hooks are closures).
//! - `test_middleware_ignore_urls` (`"/"` exempts `/`, no setting → maintenance) →
//!   `ignore_urls_*`.
//! - maint additions without a Django test: `ignore_ip_networks`, `trusted_proxies`
//!   with `X-Forwarded-For` / `Forwarded` (Django trusts `HTTP_X_FORWARDED_FOR` blindly
//!   only through a custom hook; here a spoofed header never bypasses maintenance).

use actix_web::{HttpRequest, test::TestRequest};
use maint_actix::{MaintenanceMode, MaintenanceSettings};
use maint_test_support::app::{TestApp, memory, peer, start, start_with};

async fn on(settings: MaintenanceSettings) -> TestApp {
    let app = start_with(settings).await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app
}

fn from(ip: &str) -> TestRequest {
    TestRequest::get().uri("/").peer_addr(peer(ip))
}

fn forwarded_for(peer_ip: &str, xff: &str) -> TestRequest {
    from(peer_ip).insert_header(("X-Forwarded-For", xff))
}

// --- admin site -------------------------------------------------------------

#[actix_web::test]
async fn ignore_admin_site_serves_the_default_admin_prefix() {
    let app = on(memory().ignore_admin_site(true)).await;
    app.get("/admin/").await.assert_served();
    app.get("/admin/auth/user/1/").await.assert_served();
    app.get("/admin/x").await.assert_served();
    // `/admin` has no route here (404 is fine); it must not be the maintenance page.
    app.get("/admin").await.assert_not_maintenance();
    app.get("/administrator").await.assert_maintenance();
    app.get("/adm").await.assert_maintenance();
    app.get("/").await.assert_maintenance();
    app.get("/x/admin/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_admin_site_false_blocks_the_admin() {
    let app = on(memory().ignore_admin_site(false)).await;
    app.get("/admin/").await.assert_maintenance();
    app.get("/admin").await.assert_maintenance();
    app.get("/admin/x").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_admin_site_with_a_custom_admin_url() {
    let app = on(memory().ignore_admin_site(true).admin_url("/staff/")).await;
    app.get("/staff/").await.assert_served();
    app.get("/staff/x").await.assert_served();
    app.get("/staff").await.assert_not_maintenance();
    app.get("/admin/").await.assert_maintenance();
    app.get("/staffroom").await.assert_maintenance();

    let app = on(memory().ignore_admin_site(false).admin_url("/staff/")).await;
    app.get("/staff/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_admin_site_superuser_session_is_not_needed_and_not_enough() {
    // Django's test requests the admin as a superuser; the exemption is the path.
    let app = start_with(memory().ignore_admin_site(true)).await;
    let superuser = app.login("superuser").await;
    app.maint.set_maintenance_mode(true).await.unwrap();
    app.get_with("/admin/", &superuser).await.assert_served();
    app.get_with("/", &superuser).await.assert_maintenance();
}

// --- client IP addresses ----------------------------------------------------

#[actix_web::test]
async fn ignore_ip_addresses_serves_a_matching_peer() {
    let app = on(memory().ignore_ip_addresses([r"127\.0\.0\.1"])).await;
    app.call(from("127.0.0.1")).await.assert_served();
    app.call(from("127.0.0.2")).await.assert_maintenance();
    app.call(from("192.0.2.1")).await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_ip_addresses_unset_blocks_the_same_peer() {
    let app = on(memory()).await;
    app.call(from("127.0.0.1")).await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_ip_addresses_are_anchored_at_the_start() {
    let app = on(memory().ignore_ip_addresses([r"0\.0\.1"])).await;
    app.call(from("127.0.0.1")).await.assert_maintenance();
    app.call(from("0.0.1.5")).await.assert_served();
}

#[actix_web::test]
async fn ignore_ip_addresses_any_of_several_patterns() {
    let app = on(memory().ignore_ip_addresses([r"192\.0\.2\.", r"::1$"])).await;
    app.call(from("192.0.2.77")).await.assert_served();
    app.call(from("::1")).await.assert_served();
    app.call(from("198.51.100.1")).await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_ip_addresses_see_ipv4_mapped_peers_as_ipv4() {
    let app = on(memory().ignore_ip_addresses([r"127\.0\.0\.1$"])).await;
    app.call(from("::ffff:127.0.0.1")).await.assert_served();
}

#[actix_web::test]
async fn unknown_peer_is_not_exempt() {
    let app = on(memory().ignore_ip_addresses([".*"])).await;
    // No peer address at all (TestRequest without peer_addr).
    app.get("/").await.assert_maintenance();
    app.call(from("203.0.113.1")).await.assert_served();
}

#[actix_web::test]
async fn ignore_ip_networks_serves_clients_inside_the_networks() {
    let app = on(memory().ignore_ip_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"])).await;
    app.call(from("10.20.30.40")).await.assert_served();
    app.call(from("2001:db8::5")).await.assert_served();
    app.call(from("192.0.2.1")).await.assert_served();
    app.call(from("11.0.0.1")).await.assert_maintenance();
    app.call(from("2001:db9::5")).await.assert_maintenance();
    app.call(from("192.0.2.2")).await.assert_maintenance();
}

// --- trusted proxies --------------------------------------------------------

fn proxied() -> MaintenanceSettings {
    memory()
        .trusted_proxies(["10.0.0.1"])
        .ignore_ip_addresses([r"203\.0\.113\.7"])
}

#[actix_web::test]
async fn x_forwarded_for_from_a_trusted_proxy_is_believed() {
    let app = on(proxied()).await;
    app.call(forwarded_for("10.0.0.1", "203.0.113.7"))
        .await
        .assert_served();
    app.call(forwarded_for("10.0.0.1", "198.51.100.9"))
        .await
        .assert_maintenance();
    // A hop may carry a port.
    app.call(forwarded_for("10.0.0.1", "203.0.113.7:4711"))
        .await
        .assert_served();
    // The proxy itself, without a header, is not the exempt client.
    app.call(from("10.0.0.1")).await.assert_maintenance();
}

#[actix_web::test]
async fn x_forwarded_for_from_an_untrusted_peer_never_bypasses() {
    let app = on(proxied()).await;
    app.call(forwarded_for("198.51.100.9", "203.0.113.7"))
        .await
        .assert_maintenance();
    app.call(forwarded_for("10.0.0.2", "203.0.113.7"))
        .await
        .assert_maintenance();
    // Without trusted proxies no header is believed at all.
    let app = on(memory().ignore_ip_addresses([r"203\.0\.113\.7"])).await;
    app.call(forwarded_for("10.0.0.1", "203.0.113.7"))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn x_forwarded_for_spoofed_hops_left_of_the_proxy_are_ignored() {
    let app = on(proxied()).await;
    // The client sent "203.0.113.7" itself; the proxy appended the real address.
    app.call(forwarded_for("10.0.0.1", "203.0.113.7, 198.51.100.9"))
        .await
        .assert_maintenance();
    // The proxy appended the exempt address; whatever the client sent is left of it.
    app.call(forwarded_for("10.0.0.1", "198.51.100.9, 203.0.113.7"))
        .await
        .assert_served();
}

#[actix_web::test]
async fn x_forwarded_for_through_a_chain_of_trusted_proxies() {
    let app = on(memory()
        .trusted_proxies(["10.0.0.0/8"])
        .ignore_ip_addresses([r"203\.0\.113\.7"]))
    .await;
    app.call(forwarded_for("10.0.0.1", "203.0.113.7, 10.0.0.2"))
        .await
        .assert_served();
    app.call(forwarded_for(
        "10.0.0.1",
        "203.0.113.7, 198.51.100.9, 10.0.0.2",
    ))
    .await
    .assert_maintenance();
}

#[actix_web::test]
async fn exempt_proxy_does_not_exempt_its_clients() {
    let app = on(memory()
        .trusted_proxies(["10.0.0.1"])
        .ignore_ip_networks(["10.0.0.0/8"]))
    .await;
    app.call(from("10.0.0.1")).await.assert_served();
    app.call(forwarded_for("10.0.0.1", "203.0.113.9"))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn forwarded_header_from_a_trusted_proxy_is_believed() {
    let app = on(proxied()).await;
    let forwarded =
        |peer_ip: &str, value: &str| from(peer_ip).insert_header(("Forwarded", value.to_owned()));
    app.call(forwarded("10.0.0.1", "for=203.0.113.7"))
        .await
        .assert_served();
    app.call(forwarded(
        "10.0.0.1",
        "for=\"203.0.113.7:4711\";proto=https",
    ))
    .await
    .assert_served();
    app.call(forwarded("198.51.100.9", "for=203.0.113.7"))
        .await
        .assert_maintenance();
    app.call(forwarded("10.0.0.1", "for=203.0.113.7, for=198.51.100.9"))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn x_forwarded_for_wins_over_forwarded() {
    let app = on(proxied()).await;
    app.call(
        forwarded_for("10.0.0.1", "198.51.100.9").insert_header(("Forwarded", "for=203.0.113.7")),
    )
    .await
    .assert_maintenance();
}

// --- get_client_ip_address hook -------------------------------------------

fn header_ip(req: &HttpRequest) -> Option<String> {
    Some(
        req.headers()
            .get("x-client-ip-field")?
            .to_str()
            .ok()?
            .to_owned(),
    )
}

async fn hook_app() -> TestApp {
    let maint = MaintenanceMode::builder(memory().ignore_ip_addresses([r"127\.0\.0\.2"]))
        .get_client_ip_address(header_ip)
        .build()
        .unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    start(&maint).await
}

#[actix_web::test]
async fn get_client_ip_address_hook_decides_the_client_ip() {
    let app = hook_app().await;
    app.call(from("192.0.2.1").insert_header(("X-Client-Ip-Field", "127.0.0.2")))
        .await
        .assert_served();
    app.call(from("127.0.0.2").insert_header(("X-Client-Ip-Field", "192.0.2.1")))
        .await
        .assert_maintenance();
}

#[actix_web::test]
async fn get_client_ip_address_hook_replaces_the_peer_address() {
    let app = hook_app().await;
    // The hook knows no IP: the exempt peer address is not used instead.
    app.call(from("127.0.0.2")).await.assert_maintenance();
}

// --- ignore_urls -------------------------------------------------------------

#[actix_web::test]
async fn ignore_urls_match_at_the_start_of_the_path() {
    let app = on(memory().ignore_urls(["/api/"])).await;
    app.get("/api/status").await.assert_served();
    app.get("/api/status?verbose=1").await.assert_served();
    app.get("/").await.assert_maintenance();
    app.get("/maintenance/").await.assert_maintenance();
    // The query string is not part of the path.
    app.get("/?next=/api/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_urls_are_not_searched_anywhere_in_the_path() {
    let app = on(memory().ignore_urls(["status"])).await;
    app.get("/api/status").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_urls_slash_exempts_everything() {
    let app = on(memory().ignore_urls(["/"])).await;
    app.get("/").await.assert_served();
    app.get("/api/status").await.assert_served();
}

#[actix_web::test]
async fn ignore_urls_with_an_end_anchor_and_several_patterns() {
    let app = on(memory().ignore_urls(["/maintenance/$", "/api/status$"])).await;
    app.get("/maintenance/").await.assert_served();
    app.get("/api/status").await.assert_served();
    app.get("/admin/").await.assert_maintenance();
}

#[actix_web::test]
async fn ignore_urls_unset_blocks_everything() {
    let app = on(memory()).await;
    app.get("/api/status").await.assert_maintenance();
}
