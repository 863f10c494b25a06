//! The example site's configuration file.

use std::path::{Path, PathBuf};

use maint_actix::MaintenanceSettings;
use serde::Deserialize;

/// Where `--config` points when it is not given (works from the workspace root).
pub const DEFAULT_CONFIG_PATH: &str = "example-site/example-site.toml";

/// The whole file: the library's settings under `[maintenance]`, the site's own under `[site]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `maint_actix::MaintenanceSettings`, deserialized as is.
    #[serde(default)]
    pub maintenance: MaintenanceSettings,
    /// Settings of the example site itself.
    #[serde(default)]
    pub site: SiteConfig,
}

/// The `[site]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Secret (at least 32 bytes) that signs session cookies, so that several
    /// instances accept each other's sessions. Random per process when absent.
    pub session_secret: Option<String>,
    /// Seconds between two ticks of the background ticker (at least 1;
    /// default 10): the demo of background work paused during maintenance.
    pub ticker_seconds: Option<u64>,
}

impl SiteConfig {
    /// How often the background ticker ticks.
    pub fn ticker_every(&self) -> std::time::Duration {
        self.ticker_seconds
            .map_or(crate::ticker::DEFAULT_TICK, std::time::Duration::from_secs)
    }
}

impl Config {
    /// Reads and parses `path`; the error is one line naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", absolute(path).display()))?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1)
                .map_or_else(String::new, |line| format!(" (line {line})"));
            format!(
                "invalid config file {}{line}: {}",
                absolute(path).display(),
                one_line(e.message())
            )
        })?;
        if let Some(secret) = &config.site.session_secret
            && secret.len() < 32
        {
            return Err(format!(
                "invalid config file {}: `site.session_secret` must be at least 32 bytes",
                absolute(path).display()
            ));
        }
        if config.site.ticker_seconds == Some(0) {
            return Err(format!(
                "invalid config file {}: `site.ticker_seconds` must be at least 1",
                absolute(path).display()
            ));
        }
        Ok(config)
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Joins a multi-line message so that stderr gets one line.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
