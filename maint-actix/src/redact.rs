//! Credentials out of messages: a URL is shown without its password, found
//! textually so that a URL that does not parse is covered too.
//!
//! Used by the `redis` backend for `redis_url` and the `postgres` backend
//! for `database_url`; any message that names a URL
//! with credentials (a settings `Debug`, say) can use [`redacted`].
#![cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]

/// The query parameters of a Redis URL that hold a password.
const PASSWORD_PARAMS: [&str; 2] = ["pass", "password"];

/// Where `url`'s userinfo is: between `://` (or the start, without a scheme)
/// and the last `@` after it. Found textually, so a URL that does not parse
/// (a bad port, say) is covered too; the last `@` also covers a password
/// holding `@` or `/`.
fn userinfo_span(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let at = start + url[start..].rfind('@')?;
    Some(start..at)
}

/// The `(start, end)` byte ranges of the values of `url`'s password query
/// parameters (`?pass=...`, `?password=...`, for `redis+unix://` URLs).
fn password_params(url: &str) -> Vec<std::ops::Range<usize>> {
    let Some(query_start) = url.find('?').map(|mark| mark + 1) else {
        return Vec::new();
    };
    let mut ranges = Vec::new();
    let mut offset = query_start;
    for param in url[query_start..].split('&') {
        if let Some((name, _)) = param.split_once('=')
            && PASSWORD_PARAMS.contains(&name.to_ascii_lowercase().as_str())
        {
            let value_start = offset + name.len() + 1;
            ranges.push(value_start..offset + param.len());
        }
        offset += param.len() + 1;
    }
    ranges
}

/// The URL without its password, for logs and errors: `user:***@`, or
/// `***@` for a userinfo without a colon (which may be a password alone),
/// and `pass=***` in the query. Textual, so it works on any text.
pub(crate) fn redacted(url: &str) -> String {
    let mut hidden: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    if let Some(span) = userinfo_span(url) {
        let userinfo = &url[span.clone()];
        let replacement = match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***"),
            None => "***".to_owned(),
        };
        hidden.push((span, replacement));
    }
    for span in password_params(url) {
        // A query inside what was taken for the userinfo is already hidden.
        if hidden.iter().all(|(taken, _)| span.start >= taken.end) {
            hidden.push((span, "***".to_owned()));
        }
    }
    let mut shown = url.to_owned();
    for (span, replacement) in hidden.into_iter().rev() {
        shown.replace_range(span, &replacement);
    }
    shown
}

/// The secrets of a URL (its password, or a userinfo without a colon, and
/// password query parameters), to hide from error texts that quote them.
#[derive(Debug, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    pub(crate) fn of(url: &str) -> Self {
        let mut secrets = Vec::new();
        if let Some(span) = userinfo_span(url) {
            let userinfo = &url[span];
            secrets.push(match userinfo.split_once(':') {
                Some((_, password)) => password.to_owned(),
                None => userinfo.to_owned(),
            });
        }
        secrets.extend(
            password_params(url)
                .into_iter()
                .map(|span| url[span].to_owned()),
        );
        // Hiding a one- or two-letter secret would garble every message that
        // has those letters, and hide little.
        secrets.retain(|secret| secret.len() >= 3);
        Self(secrets)
    }

    /// Hides `secret` too (a password given apart from the URL's userinfo).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn add(&mut self, secret: String) {
        if secret.len() >= 3 && !self.0.contains(&secret) {
            self.0.push(secret);
        }
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn hide(&self, mut text: String) -> String {
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }
}
