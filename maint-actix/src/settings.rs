//! Settings, named after django-maintenance-mode's (`MAINTENANCE_MODE_IGNORE_STAFF`
//! is `ignore_staff`, `MAINTENANCE_MODE` itself is `mode`).
//!
//! [`MaintenanceSettings`] deserializes with serde (an unknown key is an error)
//! and has builder-style setters for code. Validation (regexes, networks, the
//! template name) happens once, when a [`MaintenanceMode`](crate::MaintenanceMode)
//! is built from it.

use std::{fmt, path::PathBuf};

use regex::RegexSet;
use serde::{Deserialize, Serialize};

/// Where the maintenance state lives (`state_backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StateBackendKind {
    /// A text file in Django's format at `state_file_path`.
    #[default]
    LocalFile,
    /// This process's memory only.
    Memory,
    /// A Redis server at `redis_url`, shared by every instance.
    Redis,
    /// A PostgreSQL database at `database_url`, shared by every instance
    /// (the `maint_state` table, `LISTEN`/`NOTIFY`).
    Postgres,
}

/// How the maintenance response is encoded (`response_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseType {
    /// The Handlebars page `template`.
    #[default]
    Html,
    /// A JSON object with at least `"maintenance": true`.
    Json,
    /// JSON when the request prefers `application/json`, otherwise HTML.
    Auto,
}

/// Every setting of the maintenance middleware. All keys are optional.
///
/// From a TOML file (or any serde format):
///
/// ```
/// use maint_actix::MaintenanceSettings;
///
/// let settings: MaintenanceSettings = toml::from_str(r#"
///     ignore_staff = true
///     ignore_urls = ["/health", "/static/"]
///     retry_after = 600
/// "#).unwrap();
/// assert!(settings.ignore_staff);
///
/// let unknown = toml::from_str::<MaintenanceSettings>("ignore_stuff = true").unwrap_err();
/// assert!(unknown.to_string().contains("ignore_stuff"));
/// ```
///
/// Or in code:
///
/// ```
/// use maint_actix::{MaintenanceSettings, settings::ResponseType};
///
/// let settings = MaintenanceSettings::default()
///     .ignore_superuser(true)
///     .ignore_urls(["^/health$"])
///     .response_type(ResponseType::Auto);
/// assert_eq!(settings.status_code, 503);
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MaintenanceSettings {
    /// `MAINTENANCE_MODE`: when set, fixes the state and overrides the backend;
    /// setting the state is then refused.
    pub mode: Option<bool>,
    /// `MAINTENANCE_MODE_STATE_BACKEND`.
    pub state_backend: StateBackendKind,
    /// `MAINTENANCE_MODE_STATE_FILE_PATH`.
    pub state_file_path: PathBuf,
    /// Server of the `redis` backend: `redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` for TLS (trusting the system's root certificates unless
    /// `redis_ca_file` is set).
    pub redis_url: String,
    /// PEM file of the CA certificate(s) that signed the `rediss://` server's
    /// certificate; only those are trusted then. Absent (the default): the
    /// system's root certificates. Read once, when the backend is created: an
    /// unreadable file or one without a certificate is an error at start.
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of the `redis` backend's keys: the state is `{prefix}:state`, changes
    /// are announced on `{prefix}:changes`. One per site sharing a server.
    pub redis_key_prefix: String,
    /// Seconds between re-reads of the `redis` state when no change is announced.
    pub redis_resync_seconds: f64,
    /// When the `redis` server is lost: keep the last state read (`true`) or use
    /// `state_backend_fallback_value` (`false`).
    pub redis_keep_last_state: bool,
    /// Database of the `postgres` backend (`postgres://user:pass@host/db`);
    /// required by that backend, absent by default.
    pub database_url: Option<String>,
    /// `MAINTENANCE_MODE_STATE_BACKEND_FALLBACK_VALUE`: the state assumed when the
    /// backend cannot be read.
    pub state_backend_fallback_value: bool,
    /// `MAINTENANCE_MODE_IGNORE_ADMIN_SITE`.
    pub ignore_admin_site: bool,
    /// The admin site's prefix (Django: `reverse("admin:index")`).
    pub admin_url: String,
    /// `MAINTENANCE_MODE_IGNORE_ANONYMOUS_USER`.
    pub ignore_anonymous_user: bool,
    /// `MAINTENANCE_MODE_IGNORE_AUTHENTICATED_USER`.
    pub ignore_authenticated_user: bool,
    /// `MAINTENANCE_MODE_IGNORE_STAFF`.
    pub ignore_staff: bool,
    /// `MAINTENANCE_MODE_IGNORE_SUPERUSER`.
    pub ignore_superuser: bool,
    /// `MAINTENANCE_MODE_IGNORE_IP_ADDRESSES`: regexes matched at the start of the client IP.
    pub ignore_ip_addresses: Vec<String>,
    /// Networks in CIDR notation (`10.0.0.0/8`) whose clients are served (a maint addition).
    pub ignore_ip_networks: Vec<String>,
    /// Peers (IPs or CIDR networks) whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<String>,
    /// `MAINTENANCE_MODE_IGNORE_URLS`: regexes matched at the start of the path.
    pub ignore_urls: Vec<String>,
    /// `MAINTENANCE_MODE_IGNORE_TESTS`: serve every request while tests run
    /// (see [`crate::testing::running_tests`]).
    pub ignore_tests: bool,
    /// `MAINTENANCE_MODE_LOGOUT_AUTHENTICATED_USER`.
    pub logout_authenticated_user: bool,
    /// `MAINTENANCE_MODE_LOGOUT_STAFF_USER`: overrides the above for staff who
    /// are not superusers.
    pub logout_staff_user: Option<bool>,
    /// `MAINTENANCE_MODE_LOGOUT_SUPERUSER`: overrides `logout_authenticated_user`
    /// for superusers (staff or not).
    pub logout_superuser: Option<bool>,
    /// `MAINTENANCE_MODE_REDIRECT_URL`: answer with a redirect there instead of a page.
    pub redirect_url: Option<String>,
    /// `MAINTENANCE_MODE_RESPONSE_TYPE`.
    pub response_type: ResponseType,
    /// `MAINTENANCE_MODE_TEMPLATE`: Handlebars template name of the page.
    pub template: String,
    /// `MAINTENANCE_MODE_STATUS_CODE`.
    pub status_code: u16,
    /// `MAINTENANCE_MODE_RETRY_AFTER` in seconds; 0 omits the header.
    pub retry_after: u64,
    /// Seconds after which browsers reload the maintenance page by themselves
    /// (a `Refresh` header, Laravel's `down --refresh`); 0 omits the header.
    pub refresh: u64,
    /// Paths always served, matched exactly (no prefixes, no patterns), so
    /// load balancers and Kubernetes probes keep the instances in rotation
    /// during maintenance. Empty turns it off.
    pub health_urls: Vec<String>,
    /// Seconds a bypass cookie lets its browser through (never beyond the
    /// maintenance's end, nor once the secret changes).
    pub bypass_cookie_ttl: u64,
    /// Session key under which the [`MaintenanceUser`](crate::MaintenanceUser) is stored.
    pub session_user_key: String,
}

/// Every setting, with the password of `redis_url` hidden: settings end up in
/// logs and error reports.
impl fmt::Debug for MaintenanceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaintenanceSettings")
            .field("mode", &self.mode)
            .field("state_backend", &self.state_backend)
            .field("state_file_path", &self.state_file_path)
            .field("redis_url", &crate::redact::redacted(&self.redis_url))
            .field("redis_ca_file", &self.redis_ca_file)
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("redis_resync_seconds", &self.redis_resync_seconds)
            .field("redis_keep_last_state", &self.redis_keep_last_state)
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::redact::redacted),
            )
            .field(
                "state_backend_fallback_value",
                &self.state_backend_fallback_value,
            )
            .field("ignore_admin_site", &self.ignore_admin_site)
            .field("admin_url", &self.admin_url)
            .field("ignore_anonymous_user", &self.ignore_anonymous_user)
            .field("ignore_authenticated_user", &self.ignore_authenticated_user)
            .field("ignore_staff", &self.ignore_staff)
            .field("ignore_superuser", &self.ignore_superuser)
            .field("ignore_ip_addresses", &self.ignore_ip_addresses)
            .field("ignore_ip_networks", &self.ignore_ip_networks)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("ignore_urls", &self.ignore_urls)
            .field("ignore_tests", &self.ignore_tests)
            .field("logout_authenticated_user", &self.logout_authenticated_user)
            .field("logout_staff_user", &self.logout_staff_user)
            .field("logout_superuser", &self.logout_superuser)
            .field("redirect_url", &self.redirect_url)
            .field("response_type", &self.response_type)
            .field("template", &self.template)
            .field("status_code", &self.status_code)
            .field("retry_after", &self.retry_after)
            .field("refresh", &self.refresh)
            .field("health_urls", &self.health_urls)
            .field("bypass_cookie_ttl", &self.bypass_cookie_ttl)
            .field("session_user_key", &self.session_user_key)
            .finish()
    }
}

/// `health_urls` when not set: the usual health-check paths of load balancers,
/// Kubernetes probes and Rails (`/up`).
pub const DEFAULT_HEALTH_URLS: [&str; 5] = ["/health", "/healthz", "/livez", "/readyz", "/up"];

/// The session key used when `session_user_key` is not set.
pub const DEFAULT_SESSION_USER_KEY: &str = "maint_user";

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            mode: None,
            state_backend: StateBackendKind::LocalFile,
            state_file_path: PathBuf::from("maintenance_mode_state.txt"),
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            redis_ca_file: None,
            redis_key_prefix: "maint:default".to_owned(),
            redis_resync_seconds: 5.0,
            redis_keep_last_state: true,
            database_url: None,
            state_backend_fallback_value: false,
            ignore_admin_site: false,
            admin_url: "/admin/".to_owned(),
            ignore_anonymous_user: false,
            ignore_authenticated_user: false,
            ignore_staff: false,
            ignore_superuser: false,
            ignore_ip_addresses: Vec::new(),
            ignore_ip_networks: Vec::new(),
            trusted_proxies: Vec::new(),
            ignore_urls: Vec::new(),
            ignore_tests: false,
            logout_authenticated_user: false,
            logout_staff_user: None,
            logout_superuser: None,
            redirect_url: None,
            response_type: ResponseType::Html,
            template: "503.html".to_owned(),
            status_code: 503,
            retry_after: 3600,
            refresh: 0,
            health_urls: DEFAULT_HEALTH_URLS
                .iter()
                .map(|&path| path.to_owned())
                .collect(),
            bypass_cookie_ttl: 12 * 60 * 60,
            session_user_key: DEFAULT_SESSION_USER_KEY.to_owned(),
        }
    }
}

/// Builder-style setters, one per setting, for configuring in code.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl MaintenanceSettings {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

/// Setters for the text-like settings, taking anything that converts.
macro_rules! into_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl MaintenanceSettings {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                    self.$name = value.into();
                    self
                }
            )*
        }
    };
}

into_setters! {
    /// Sets `state_file_path`.
    state_file_path: PathBuf,
    /// Sets `redis_url`.
    redis_url: String,
    /// Sets `redis_key_prefix`.
    redis_key_prefix: String,
    /// Sets `admin_url`.
    admin_url: String,
    /// Sets `template`.
    template: String,
    /// Sets `session_user_key`.
    session_user_key: String,
}

setters! {
    /// Sets `state_backend`.
    state_backend: StateBackendKind,
    /// Sets `state_backend_fallback_value`.
    state_backend_fallback_value: bool,
    /// Sets `redis_resync_seconds`.
    redis_resync_seconds: f64,
    /// Sets `redis_keep_last_state`.
    redis_keep_last_state: bool,
    /// Sets `ignore_admin_site`.
    ignore_admin_site: bool,
    /// Sets `ignore_anonymous_user`.
    ignore_anonymous_user: bool,
    /// Sets `ignore_authenticated_user`.
    ignore_authenticated_user: bool,
    /// Sets `ignore_staff`.
    ignore_staff: bool,
    /// Sets `ignore_superuser`.
    ignore_superuser: bool,
    /// Sets `ignore_tests`.
    ignore_tests: bool,
    /// Sets `logout_authenticated_user`.
    logout_authenticated_user: bool,
    /// Sets `response_type`.
    response_type: ResponseType,
    /// Sets `status_code`.
    status_code: u16,
    /// Sets `retry_after` (seconds; 0 omits the header).
    retry_after: u64,
    /// Sets `refresh` (seconds; 0 omits the header).
    refresh: u64,
    /// Sets `bypass_cookie_ttl` (seconds).
    bypass_cookie_ttl: u64,
}

/// Setters for the settings that are absent unless set.
macro_rules! optional_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl MaintenanceSettings {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                    self.$name = Some(value.into());
                    self
                }
            )*
        }
    };
}

optional_setters! {
    /// Fixes the state (`MAINTENANCE_MODE = True/False`); the backend is then ignored.
    mode: bool,
    /// Sets `logout_staff_user`.
    logout_staff_user: bool,
    /// Sets `logout_superuser`.
    logout_superuser: bool,
    /// Sets `redirect_url`.
    redirect_url: String,
    /// Sets `database_url`.
    database_url: String,
    /// Sets `redis_ca_file`.
    redis_ca_file: PathBuf,
}

/// Setters for the list settings.
macro_rules! list_setters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        impl MaintenanceSettings {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name<I, S>(mut self, values: I) -> Self
                where
                    I: IntoIterator<Item = S>,
                    S: Into<String>,
                {
                    self.$name = values.into_iter().map(Into::into).collect();
                    self
                }
            )*
        }
    };
}

list_setters! {
    /// Sets `ignore_ip_addresses` (regexes, anchored at the start).
    ignore_ip_addresses,
    /// Sets `ignore_ip_networks` (CIDR).
    ignore_ip_networks,
    /// Sets `trusted_proxies` (IPs or CIDR).
    trusted_proxies,
    /// Sets `ignore_urls` (regexes, anchored at the start).
    ignore_urls,
    /// Sets `health_urls` (exact paths).
    health_urls,
}

/// Why settings cannot be used. Every variant names the offending key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A pattern of a regex list does not compile.
    #[error("invalid regex in `{key}`: `{pattern}`: {source}")]
    InvalidRegex {
        /// The setting.
        key: &'static str,
        /// The pattern as given.
        pattern: String,
        /// The compiler's reason.
        #[source]
        source: Box<regex::Error>,
    },
    /// An entry that is not an IP address or CIDR network.
    #[error("invalid IP address or network in `{key}`: `{value}`")]
    InvalidNetwork {
        /// The setting.
        key: &'static str,
        /// The entry as given.
        value: String,
    },
    /// Any other invalid value.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidValue {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file a setting names cannot be read.
    #[error("cannot read `{key}` {}: {source}", path.display())]
    UnreadableFile {
        /// The setting.
        key: &'static str,
        /// The file as given.
        path: PathBuf,
        /// The OS reason.
        #[source]
        source: std::io::Error,
    },
    /// The state backend cannot be created.
    #[error("cannot set up the `{key}` state backend: {reason}")]
    Backend {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Compiles a list of patterns into one set, each anchored at the start like
/// Python's `re.match`; `None` for an empty list, so the hot path can skip it.
pub(crate) fn compile_anchored(
    key: &'static str,
    patterns: &[String],
) -> Result<Option<RegexSet>, SettingsError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    // Compile each pattern as written first, so the error names the pattern at fault.
    for pattern in patterns {
        regex::Regex::new(pattern).map_err(|source| SettingsError::InvalidRegex {
            key,
            pattern: pattern.clone(),
            source: Box::new(source),
        })?;
    }
    let anchored: Vec<String> = patterns.iter().map(|p| format!(r"\A(?:{p})")).collect();
    RegexSet::new(&anchored)
        .map(Some)
        .map_err(|source| SettingsError::InvalidRegex {
            key,
            pattern: patterns.join(", "),
            source: Box::new(source),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_redis_password() {
        let settings =
            MaintenanceSettings::default().redis_url("redis://user:secret@127.0.0.1:99999");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("127.0.0.1:99999"), "{shown}");
        assert!(shown.contains("session_user_key"), "{shown}");
        let settings = MaintenanceSettings::default()
            .database_url("postgres://maint:secret@127.0.0.1:5432/shop");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("127.0.0.1:5432/shop"), "{shown}");
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = MaintenanceSettings::default();
        assert_eq!(s.mode, None);
        assert_eq!(s.state_backend, StateBackendKind::LocalFile);
        assert_eq!(
            s.state_file_path,
            PathBuf::from("maintenance_mode_state.txt")
        );
        assert_eq!(s.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(s.database_url, None);
        assert_eq!(s.redis_ca_file, None);
        assert!(!s.state_backend_fallback_value);
        assert_eq!(s.admin_url, "/admin/");
        assert_eq!(s.response_type, ResponseType::Html);
        assert_eq!(s.template, "503.html");
        assert_eq!(s.status_code, 503);
        assert_eq!(s.retry_after, 3600);
        assert_eq!(s.logout_staff_user, None);
        assert_eq!(s.logout_superuser, None);
        assert_eq!(s.redirect_url, None);
    }

    #[test]
    fn every_contract_key_deserializes() {
        let s: MaintenanceSettings = toml::from_str(
            r#"
            mode = true
            state_backend = "memory"
            state_file_path = "/tmp/x.txt"
            redis_url = "redis://127.0.0.1:7000"
            redis_ca_file = "/etc/maint/ca.pem"
            redis_key_prefix = "maint:shop"
            redis_resync_seconds = 2.5
            redis_keep_last_state = false
            database_url = "postgres://maint@127.0.0.1/shop"
            state_backend_fallback_value = true
            ignore_admin_site = true
            admin_url = "/staff/"
            ignore_anonymous_user = true
            ignore_authenticated_user = true
            ignore_staff = true
            ignore_superuser = true
            ignore_ip_addresses = ["127\\.0\\.0\\.1"]
            ignore_ip_networks = ["10.0.0.0/8"]
            trusted_proxies = ["10.0.0.1"]
            ignore_urls = ["/health"]
            ignore_tests = true
            logout_authenticated_user = true
            logout_staff_user = false
            logout_superuser = false
            redirect_url = "/maintenance/"
            response_type = "auto"
            template = "errors/503.html"
            status_code = 502
            retry_after = 0
            session_user_key = "who"
            "#,
        )
        .unwrap();
        let expected = MaintenanceSettings::default()
            .mode(true)
            .state_backend(StateBackendKind::Memory)
            .state_file_path("/tmp/x.txt")
            .redis_url("redis://127.0.0.1:7000")
            .redis_ca_file("/etc/maint/ca.pem")
            .redis_key_prefix("maint:shop")
            .redis_resync_seconds(2.5)
            .redis_keep_last_state(false)
            .database_url("postgres://maint@127.0.0.1/shop")
            .state_backend_fallback_value(true)
            .ignore_admin_site(true)
            .admin_url("/staff/")
            .ignore_anonymous_user(true)
            .ignore_authenticated_user(true)
            .ignore_staff(true)
            .ignore_superuser(true)
            .ignore_ip_addresses([r"127\.0\.0\.1"])
            .ignore_ip_networks(["10.0.0.0/8"])
            .trusted_proxies(["10.0.0.1"])
            .ignore_urls(["/health"])
            .ignore_tests(true)
            .logout_authenticated_user(true)
            .logout_staff_user(false)
            .logout_superuser(false)
            .redirect_url("/maintenance/")
            .response_type(ResponseType::Auto)
            .template("errors/503.html")
            .status_code(502)
            .retry_after(0)
            .session_user_key("who");
        assert_eq!(s, expected);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = toml::from_str::<MaintenanceSettings>("ignore_staf = true").unwrap_err();
        assert!(err.to_string().contains("ignore_staf"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error_naming_the_key() {
        let err = toml::from_str::<MaintenanceSettings>("retry_after = \"soon\"").unwrap_err();
        assert!(err.to_string().contains("retry_after"), "{err}");
        let err = toml::from_str::<MaintenanceSettings>("response_type = \"xml\"").unwrap_err();
        assert!(err.to_string().contains("response_type"), "{err}");
    }

    #[test]
    fn patterns_are_anchored_at_the_start_only() {
        let set = compile_anchored("ignore_urls", &["/api/".to_owned()])
            .unwrap()
            .unwrap();
        assert!(set.is_match("/api/"));
        assert!(set.is_match("/api/v1/x"));
        assert!(!set.is_match("/v2/api/"));
    }

    #[test]
    fn alternation_stays_inside_the_anchor() {
        let set = compile_anchored("ignore_urls", &["/a/|/b/".to_owned()])
            .unwrap()
            .unwrap();
        assert!(set.is_match("/b/x"));
        assert!(!set.is_match("/x/b/"));
    }

    #[test]
    fn invalid_pattern_names_key_and_pattern() {
        let err =
            compile_anchored("ignore_urls", &["/ok".to_owned(), "/bad(".to_owned()]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("ignore_urls"), "{message}");
        assert!(message.contains("/bad("), "{message}");
    }

    #[test]
    fn empty_list_compiles_to_nothing() {
        assert!(compile_anchored("ignore_urls", &[]).unwrap().is_none());
    }
}
