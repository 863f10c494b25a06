//! Settings are validated once, when the handle is built; every error names the
//! setting at fault. Settings also load from TOML and drive the middleware.
//!
//! Counterparts in django-maintenance-mode's tests (Django raises
//! `ImproperlyConfigured` at request time; maint refuses at build time):
//! - `test_middleware.py::test_middleware_response_type` (`"none"` is refused) →
//!   `unknown_response_type_is_refused_by_serde`.
//! - `test_backends.py::test_backend_custom_invalid` (a backend that cannot be
//!   created) → `invalid_redis_settings_are_build_errors`.
//! - invalid `MAINTENANCE_MODE_IGNORE_URLS` / `IGNORE_IP_ADDRESSES` patterns
//!   (Django fails on `re.compile` per request) → `bad_regex_*`.
//! - maint additions: `ignore_ip_networks`, `trusted_proxies`, `status_code`,
//!   `redirect_url` checks, unknown keys.

use actix_web::http::StatusCode;
use maint_actix::{MaintenanceMode, MaintenanceSettings, SettingsError};
use maint_test_support::app::{self, memory, start};

#[track_caller]
fn build_error(settings: MaintenanceSettings) -> SettingsError {
    match MaintenanceMode::new(settings) {
        Ok(maint) => panic!("settings accepted: {maint:?}"),
        Err(err) => err,
    }
}

#[track_caller]
fn assert_names(err: &SettingsError, needles: &[&str]) {
    let message = err.to_string();
    for needle in needles {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
}

#[test]
fn bad_regex_in_ignore_urls_names_key_and_pattern() {
    let err = build_error(memory().ignore_urls(["/ok/", "/api/("]));
    assert!(matches!(err, SettingsError::InvalidRegex { .. }), "{err:?}");
    assert_names(&err, &["`ignore_urls`", "/api/("]);
}

#[test]
fn bad_regex_in_ignore_ip_addresses_names_key_and_pattern() {
    let err = build_error(memory().ignore_ip_addresses([r"127\.0\.0\.[1"]));
    assert!(matches!(err, SettingsError::InvalidRegex { .. }), "{err:?}");
    assert_names(&err, &["`ignore_ip_addresses`", r"`127\.0\.0\.[1`"]);
}

#[test]
fn bad_network_in_ignore_ip_networks_names_the_key() {
    for bad in ["10.0.0.0/33", "not-a-network", "10.0.0/8"] {
        let err = build_error(memory().ignore_ip_networks(["10.0.0.0/8", bad]));
        assert!(
            matches!(err, SettingsError::InvalidNetwork { .. }),
            "{err:?}"
        );
        assert_names(&err, &["`ignore_ip_networks`", bad]);
    }
}

#[test]
fn bad_entry_in_trusted_proxies_names_the_key() {
    for bad in ["proxy.internal", "10.0.0.1/40"] {
        let err = build_error(memory().trusted_proxies([bad]));
        assert!(
            matches!(err, SettingsError::InvalidNetwork { .. }),
            "{err:?}"
        );
        assert_names(&err, &["`trusted_proxies`", bad]);
    }
}

#[test]
fn impossible_status_code_is_refused() {
    for bad in [1000, 99, 0] {
        let err = build_error(memory().status_code(bad));
        assert!(matches!(err, SettingsError::InvalidValue { .. }), "{err:?}");
        assert_names(&err, &["`status_code`", &bad.to_string()]);
    }
}

#[test]
fn redirect_url_must_be_a_path_or_an_absolute_url() {
    for bad in ["nope", "maintenance/", "/a\nb"] {
        let err = build_error(memory().redirect_url(bad));
        assert_names(&err, &["`redirect_url`"]);
    }
    for good in [
        "/maintenance/",
        "https://status.example.com/",
        "/down?from=site",
    ] {
        MaintenanceMode::new(memory().redirect_url(good))
            .unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
    }
}

#[test]
fn unknown_template_is_refused() {
    let err = build_error(memory().template("nope.html"));
    assert_names(&err, &["`template`", "nope.html"]);
}

#[test]
fn invalid_redis_settings_are_build_errors() {
    let redis = || {
        MaintenanceSettings::default().state_backend(maint_actix::settings::StateBackendKind::Redis)
    };
    let err = build_error(redis().redis_url("http://not-redis"));
    assert!(matches!(err, SettingsError::Backend { .. }), "{err:?}");
    assert_names(&err, &["`redis_url`", "http://not-redis"]);
    let err = build_error(redis().redis_resync_seconds(0.0));
    assert_names(&err, &["`redis_resync_seconds`"]);
}

#[test]
fn unknown_key_is_refused_by_serde() {
    let err = toml::from_str::<MaintenanceSettings>("ignore_stuff = true").unwrap_err();
    assert!(err.to_string().contains("ignore_stuff"), "{err}");
}

#[test]
fn unknown_response_type_is_refused_by_serde() {
    let err = toml::from_str::<MaintenanceSettings>(r#"response_type = "none""#).unwrap_err();
    assert!(err.to_string().contains("response_type"), "{err}");
}

#[test]
fn toml_errors_surface_at_build_too() {
    let settings: MaintenanceSettings = toml::from_str(
        r#"
        state_backend = "memory"
        ignore_urls = ["/health", "(unclosed"]
        "#,
    )
    .unwrap();
    assert_names(&build_error(settings), &["`ignore_urls`", "(unclosed"]);
}

#[actix_web::test]
async fn toml_settings_drive_the_middleware() {
    let settings: MaintenanceSettings = toml::from_str(
        r#"
        state_backend = "memory"
        ignore_urls = ["/api/"]
        ignore_ip_addresses = ["192\\.0\\.2\\."]
        status_code = 502
        retry_after = 60
        response_type = "json"
        "#,
    )
    .unwrap();
    let maint = MaintenanceMode::new(settings).unwrap();
    maint.set_maintenance_mode(true).await.unwrap();
    let app = start(&maint).await;

    let out = app.get("/").await;
    out.assert_maintenance_status(StatusCode::BAD_GATEWAY);
    assert_eq!(out.header("retry-after"), Some("60"));
    assert_eq!(out.json()["maintenance"], serde_json::json!(true));
    app.get("/api/status").await.assert_served();
    app.call(
        actix_web::test::TestRequest::get()
            .uri("/")
            .peer_addr(app::peer("192.0.2.10")),
    )
    .await
    .assert_served();
}

#[test]
fn valid_settings_build() {
    MaintenanceMode::new(
        memory()
            .ignore_urls(["/api/", r"^/health$"])
            .ignore_ip_addresses([r"127\.0\.0\.1"])
            .ignore_ip_networks(["10.0.0.0/8", "::1", "fd00::/8"])
            .trusted_proxies(["10.0.0.1", "172.16.0.0/12"])
            .status_code(599)
            .redirect_url("/maintenance/"),
    )
    .unwrap();
}
