//! [`MaintenanceModeBuilder`]: settings plus the hooks that cannot live in a file.

use std::{net::IpAddr, sync::Arc};

use actix_web::HttpRequest;
use handlebars::Handlebars;
use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::{
    backend::StateBackend,
    client_ip::TrustedProxies,
    decision::{Exemptions, RedirectTarget},
    facts::{ClientIpHook, FactSources, UserHook},
    handle::{Inner, MaintenanceMode},
    ip_ranges::IpRanges,
    response::{ContextHook, Responder, ResponderParts, ResponseTypeHook},
    settings::{
        MaintenanceSettings, ResponseType, SettingsError, StateBackendKind, compile_anchored,
    },
    store::StateStore,
    user::MaintenanceUser,
};

/// Builds a [`MaintenanceMode`] from settings and hooks; [`build`](Self::build)
/// validates everything once (regexes, networks, template, redirect URL).
///
/// ```
/// use actix_web::HttpRequest;
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceUser, settings::StateBackendKind};
///
/// let maint = MaintenanceMode::builder(
///     MaintenanceSettings::default()
///         .state_backend(StateBackendKind::Memory)
///         .ignore_staff(true),
/// )
/// .get_authenticated_user(|req: &HttpRequest| {
///     let token = req.headers().get("authorization")?.to_str().ok()?;
///     (token == "Bearer staff-token").then(|| MaintenanceUser::authenticated("ops").staff())
/// })
/// .context(serde_json::json!({"support_email": "ops@example.com"}))
/// .build()
/// .unwrap();
/// assert!(!maint.is_on());
///
/// let bad = MaintenanceMode::new(MaintenanceSettings::default().ignore_urls(["/api/("]));
/// assert!(bad.unwrap_err().to_string().contains("ignore_urls"));
/// ```
#[must_use]
pub struct MaintenanceModeBuilder {
    settings: MaintenanceSettings,
    backend: Option<Arc<dyn StateBackend>>,
    client_ip_hook: Option<ClientIpHook>,
    user_hook: Option<UserHook>,
    context_hook: Option<ContextHook>,
    response_type_hook: Option<ResponseTypeHook>,
    context: Map<String, Value>,
    templates: Option<Handlebars<'static>>,
    running_tests: Option<bool>,
}

impl MaintenanceModeBuilder {
    pub(crate) fn new(settings: MaintenanceSettings) -> Self {
        Self {
            settings,
            backend: None,
            client_ip_hook: None,
            user_hook: None,
            context_hook: None,
            response_type_hook: None,
            context: Map::new(),
            templates: None,
            running_tests: None,
        }
    }

    /// Uses `backend` instead of the one `state_backend` names.
    pub fn backend(mut self, backend: impl StateBackend) -> Self {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// Uses a shared `backend` instead of the one `state_backend` names.
    pub fn shared_backend(mut self, backend: Arc<dyn StateBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// `get_client_ip_address`: the client IP as text, replacing the built-in
    /// peer/`trusted_proxies` resolution.
    pub fn get_client_ip_address(
        mut self,
        hook: impl Fn(&HttpRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.client_ip_hook = Some(Arc::new(hook));
        self
    }

    /// `get_authenticated_user`: the user of a request (tokens, JWTs); when it
    /// returns `None` the session user is used.
    pub fn get_authenticated_user(
        mut self,
        hook: impl Fn(&HttpRequest) -> Option<MaintenanceUser> + Send + Sync + 'static,
    ) -> Self {
        self.user_hook = Some(Arc::new(hook));
        self
    }

    /// `get_context`: per-request template/JSON context. The page is then
    /// rendered per request; prefer [`context`](Self::context) for static values.
    pub fn get_context(
        mut self,
        hook: impl Fn(&HttpRequest) -> Map<String, Value> + Send + Sync + 'static,
    ) -> Self {
        self.context_hook = Some(Arc::new(hook));
        self
    }

    /// Static template/JSON context (an object); the page is rendered once per state.
    /// Anything but a JSON object is ignored.
    pub fn context(mut self, context: Value) -> Self {
        if let Value::Object(map) = context {
            self.context = map;
        }
        self
    }

    /// The response type per request, overriding `response_type`.
    pub fn response_type_fn(
        mut self,
        hook: impl Fn(&HttpRequest) -> ResponseType + Send + Sync + 'static,
    ) -> Self {
        self.response_type_hook = Some(Arc::new(hook));
        self
    }

    /// The app's Handlebars registry, holding `template`. A registry without
    /// `503.html` gets the crate's default page under that name.
    pub fn templates(mut self, templates: Handlebars<'static>) -> Self {
        self.templates = Some(templates);
        self
    }

    /// Says whether tests are running, for `ignore_tests`, instead of the
    /// `MAINT_TESTING` environment variable (see [`crate::testing::running_tests`]).
    pub fn running_tests(mut self, running: bool) -> Self {
        self.running_tests = Some(running);
        self
    }

    /// Validates the settings, creates the backend, reads the state and starts
    /// watching it. Every error names the setting at fault.
    pub fn build(self) -> Result<MaintenanceMode, SettingsError> {
        let settings = self.settings;
        let running_tests = self
            .running_tests
            .unwrap_or_else(crate::testing::running_tests);
        let exemptions = exemptions(&settings, running_tests)?;
        let trusted_proxies =
            TrustedProxies::parse(&settings.trusted_proxies).map_err(|value| {
                SettingsError::InvalidNetwork {
                    key: "trusted_proxies",
                    value,
                }
            })?;
        check_bypass_cookie_ttl(settings.bypass_cookie_ttl)?;
        let responder = Responder::new(
            &settings,
            ResponderParts {
                templates: self.templates,
                context: self.context,
                context_hook: self.context_hook,
                response_type_hook: self.response_type_hook,
            },
        )?;
        let backend = match self.backend {
            Some(backend) => backend,
            None => {
                warn_if_state_directory_is_missing(&settings);
                crate::backend::from_settings(&settings)?
            }
        };
        let store = StateStore::start(
            backend,
            settings.mode,
            settings.state_backend_fallback_value,
        );
        let facts = FactSources {
            session_user_key: settings.session_user_key.clone(),
            user_hook: self.user_hook,
            client_ip_hook: self.client_ip_hook,
            trusted_proxies,
        };
        Ok(MaintenanceMode::from_inner(Inner {
            settings,
            store,
            exemptions,
            facts,
            responder,
        }))
    }
}

fn exemptions(
    settings: &MaintenanceSettings,
    running_tests: bool,
) -> Result<Exemptions, SettingsError> {
    Ok(Exemptions {
        ignore_anonymous_user: settings.ignore_anonymous_user,
        ignore_authenticated_user: settings.ignore_authenticated_user,
        ignore_staff: settings.ignore_staff,
        ignore_superuser: settings.ignore_superuser,
        logout_authenticated_user: settings.logout_authenticated_user,
        logout_staff_user: settings.logout_staff_user,
        logout_superuser: settings.logout_superuser,
        admin_url: admin_url(&settings.admin_url)
            .map(|url| settings.ignore_admin_site.then_some(url))?,
        running_tests: settings.ignore_tests && running_tests,
        ip_addresses: compile_anchored("ignore_ip_addresses", &settings.ignore_ip_addresses)?,
        ip_networks: parse_networks("ignore_ip_networks", &settings.ignore_ip_networks)?,
        urls: compile_anchored("ignore_urls", &settings.ignore_urls)?,
        redirect_target: settings
            .redirect_url
            .as_deref()
            .map(RedirectTarget::parse)
            .transpose()?,
        health_urls: health_urls(&settings.health_urls)?,
    })
}

/// A cookie lifetime browsers keep: at least a second, at most what a signed
/// 32-bit `Max-Age` holds.
fn check_bypass_cookie_ttl(seconds: u64) -> Result<(), SettingsError> {
    if seconds == 0 || seconds > i32::MAX as u64 {
        return Err(SettingsError::InvalidValue {
            key: "bypass_cookie_ttl",
            reason: format!("{seconds} is not 1 to {} seconds", i32::MAX),
        });
    }
    Ok(())
}

/// `health_urls` as exact paths: each must be a path, since it is compared
/// with the request path as it is.
fn health_urls(urls: &[String]) -> Result<Box<[Box<str>]>, SettingsError> {
    urls.iter()
        .map(|url| {
            if url.starts_with('/') {
                Ok(url.as_str().into())
            } else {
                Err(SettingsError::InvalidValue {
                    key: "health_urls",
                    reason: format!("{url:?} is not a path starting with /"),
                })
            }
        })
        .collect()
}

/// Parses CIDR networks; a bare address is its own /32 or /128.
/// A state file in a directory that does not exist cannot be switched on:
/// say so at start-up rather than at the first `maintenance_mode on`.
fn warn_if_state_directory_is_missing(settings: &MaintenanceSettings) {
    if settings.state_backend != StateBackendKind::LocalFile || settings.mode.is_some() {
        return;
    }
    let path = std::path::absolute(&settings.state_file_path)
        .unwrap_or_else(|_| settings.state_file_path.clone());
    if let Some(directory) = path.parent()
        && !directory.is_dir()
    {
        tracing::warn!(
            state_file_path = %path.display(),
            "the directory of state_file_path does not exist: the state reads as off and cannot be set until it is created"
        );
    }
}

/// `admin_url` as a prefix that names a part of the site: `""` or `"/"`
/// would exempt every path from maintenance.
fn admin_url(url: &str) -> Result<String, SettingsError> {
    if !url.starts_with('/') || url == "/" {
        return Err(SettingsError::InvalidValue {
            key: "admin_url",
            reason: format!(
                "{url:?} must start with / and be longer than /; with ignore_admin_site it would exempt every path"
            ),
        });
    }
    Ok(url.to_owned())
}

/// `ignore_ip_networks` as the ranges a request is looked up in; `None` when
/// there are none, so that the request path skips the lookup.
fn parse_networks(
    key: &'static str,
    entries: &[String],
) -> Result<Option<IpRanges>, SettingsError> {
    if entries.is_empty() {
        return Ok(None);
    }
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| SettingsError::InvalidNetwork {
                    key,
                    value: entry.to_owned(),
                })
        })
        .collect::<Result<IpRanges, _>>()
        .map(Some)
}
