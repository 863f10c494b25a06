//! Per-host state: a host (a site of a multi-site app, or one tenant's
//! domain) can have a state of its own, set with `--host HOST` or
//! [`MaintenanceMode::set_host`](crate::MaintenanceMode::set_host). A request
//! whose `Host` (port and case ignored) has its own state follows it; every
//! other request follows the global state. While no host has a state of its
//! own, requests never look at `Host`.
//!
//! ```
//! use maint_actix::host;
//!
//! assert_eq!(host::normalize("Shop.Example.com:8443").unwrap(), "shop.example.com");
//! assert_eq!(host::normalize("[::1]:8000").unwrap(), "[::1]");
//! assert!(host::normalize("bad host").is_err());
//! ```

use actix_web::{HttpRequest, http::header};
use serde::{Deserialize, Serialize};

use crate::{
    change::{Change, StateRecord},
    state::{MAX_STATE_TEXT_LEN, MaintenanceState, StateFormatError},
};

/// The longest host name kept (DNS allows 253 characters).
const MAX_HOST_LEN: usize = 253;

/// At most this many hosts have a state of their own; a store holding more
/// is read up to this many, so memory stays bounded whatever it holds.
pub const MAX_HOSTS: usize = 1_000;

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Empty, too long, or with characters a host name cannot have.
    #[error(
        "{0} is not a host name (letters, digits, `-` and `.`, or an IPv6 address in brackets; at most 253 characters)"
    )]
    Invalid(String),
}

/// The host as stored: lower-case, without the port or a trailing dot.
pub fn normalize(name: &str) -> Result<String, HostError> {
    let invalid = || HostError::Invalid(crate::state::preview(name));
    let host = without_port(name.trim()).ok_or_else(invalid)?;
    let host = host.strip_suffix('.').unwrap_or(host);
    let valid = !host.is_empty() && host.len() <= MAX_HOST_LEN && is_host_text(host);
    valid.then(|| host.to_ascii_lowercase()).ok_or_else(invalid)
}

fn is_host_text(host: &str) -> bool {
    match host.strip_prefix('[') {
        Some(ipv6) => ipv6
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'),
    }
}

/// `host[:port]` without the port; `None` when it is malformed.
fn without_port(authority: &str) -> Option<&str> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return (rest.is_empty() || rest.starts_with(':')).then_some(host);
    }
    Some(
        authority
            .split_once(':')
            .map_or(authority, |(host, _)| host),
    )
}

/// The host `req` asked for, without the port or a trailing dot, as bytes:
/// `Host`, or the URI's authority (HTTP/2). Forwarding headers are not read:
/// a per-host state names the host the site is served under, which proxies
/// pass on in `Host`. Bytes, not text: a name that is not ASCII matches no
/// stored host anyway, so it need not be checked.
pub(crate) fn of_request(req: &HttpRequest) -> Option<&[u8]> {
    let authority = match req.headers().get(header::HOST) {
        Some(value) => value.as_bytes(),
        None => req.uri().authority()?.as_str().as_bytes(),
    };
    let host = if authority.first() == Some(&b'[') {
        let end = memchr::memchr(b']', authority)?;
        &authority[..=end]
    } else {
        memchr::memchr(b':', authority).map_or(authority, |colon| &authority[..colon])
    };
    Some(host.strip_suffix(b".").unwrap_or(host))
}

/// How backends store one host's record: JSON holding the state's text and
/// its change.
#[derive(Debug, Serialize, Deserialize)]
struct StoredHost {
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
}

/// The text a backend stores for one host's `record`.
pub fn record_text(record: &StateRecord) -> String {
    let stored = StoredHost {
        state: record.state.to_text(),
        change: record.change.clone(),
    };
    serde_json::to_string(&stored).expect("a host record always serializes")
}

/// The record a backend stored for one host with [`record_text`].
pub fn record_from(text: &str) -> Result<StateRecord, StateFormatError> {
    if text.len() > MAX_STATE_TEXT_LEN {
        return Err(StateFormatError::TooLarge {
            len: text.len() as u64,
        });
    }
    let stored: StoredHost = serde_json::from_str(text)
        .map_err(|_| StateFormatError::NotAState(crate::state::preview(text)))?;
    Ok(StateRecord {
        state: MaintenanceState::parse(&stored.state)?,
        change: stored.change,
    })
}

/// The longest text of all hosts' records a backend reads in one piece.
pub(crate) const MAX_HOSTS_TEXT_LEN: usize = 1 << 20;

/// Every host's record as one JSON object (host → record), for a backend
/// that keeps them in one piece (the state file's `.hosts.json`).
pub(crate) fn hosts_text(hosts: &std::collections::BTreeMap<String, StateRecord>) -> String {
    let stored: std::collections::BTreeMap<&str, StoredHost> = hosts
        .iter()
        .map(|(host, record)| {
            let stored = StoredHost {
                state: record.state.to_text(),
                change: record.change.clone(),
            };
            (host.as_str(), stored)
        })
        .collect();
    serde_json::to_string_pretty(&stored).expect("host records always serialize")
}

/// The hosts' records from [`hosts_text`]; at most [`MAX_HOSTS`] of them.
pub(crate) fn hosts_from(
    text: &str,
) -> Result<std::collections::BTreeMap<String, StateRecord>, StateFormatError> {
    if text.len() > MAX_HOSTS_TEXT_LEN {
        return Err(StateFormatError::TooLarge {
            len: text.len() as u64,
        });
    }
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let stored: std::collections::BTreeMap<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| StateFormatError::NotAState(crate::state::preview(text)))?;
    stored
        .into_iter()
        .take(MAX_HOSTS)
        .map(|(host, value)| {
            let stored: StoredHost = serde_json::from_value(value)
                .map_err(|_| StateFormatError::NotAState(crate::state::preview(&host)))?;
            let state = MaintenanceState::parse(&stored.state)?;
            let record = StateRecord {
                state,
                change: stored.change,
            };
            Ok((host, record))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Via;

    #[test]
    fn names_lose_case_port_and_trailing_dot() {
        for (given, stored) in [
            ("example.com", "example.com"),
            ("Example.COM", "example.com"),
            ("example.com:8080", "example.com"),
            ("example.com.", "example.com"),
            (" shop.example.com ", "shop.example.com"),
            ("127.0.0.1:8000", "127.0.0.1"),
            ("[::1]:8000", "[::1]"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
        ] {
            assert_eq!(normalize(given).as_deref(), Ok(stored), "{given}");
        }
    }

    #[test]
    fn what_is_not_a_host_is_refused() {
        let long = "a".repeat(254);
        for bad in ["", ":80", "a b", "a/b", "[::1", "[nope]", "é.com", &long] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_request_host_is_read_without_its_port() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::HOST, "Shop.Example.com:8443"))
            .to_http_request();
        assert_eq!(of_request(&req), Some(&b"Shop.Example.com"[..]));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::HOST, "[::1]:80"))
            .to_http_request();
        assert_eq!(of_request(&req), Some(&b"[::1]"[..]));
        let req = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(of_request(&req), None);
    }

    #[test]
    fn host_records_round_trip_and_bad_ones_are_errors() {
        let record =
            StateRecord::new(MaintenanceState::On).with_change(Change::new("ada", Via::Route));
        assert_eq!(record_from(&record_text(&record)).unwrap(), record);
        let bare = StateRecord::new(MaintenanceState::Off);
        assert_eq!(record_from(&record_text(&bare)).unwrap(), bare);
        for bad in ["", "1", "{}", r#"{"state":"maybe"}"#] {
            assert!(record_from(bad).is_err(), "{bad}");
        }
        assert!(record_from(&"x".repeat(MAX_STATE_TEXT_LEN + 1)).is_err());
    }
}
