//! Who changed the maintenance state, when and how: the record kept with the
//! state in every backend, shown by `status`, `status --json` and the status
//! page, and logged by every instance that sees the change.
//!
//! ```
//! use maint_actix::change::{Change, Via};
//!
//! let change = Change::new("deploy-bot", Via::Api);
//! assert_eq!(change.by, "deploy-bot");
//! assert_eq!(change.via.to_string(), "api");
//! ```

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::state::{MAX_STATE_TEXT_LEN, MaintenanceState};

/// The longest `by` kept, in characters: a name, not a document.
const MAX_BY_CHARS: usize = 200;

/// How a change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Via {
    /// The `maintenance_mode` command.
    Command,
    /// The toggle routes or the status page (a superuser in a browser).
    Route,
    /// Code calling the handle (`MaintenanceMode::set` and friends).
    Api,
}

impl Via {
    /// `command`, `route` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Route => "route",
            Self::Api => "api",
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of the state: when, by whom, how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// When it was made.
    pub at: Timestamp,
    /// Who made it: a superuser's name, `user@host` for the command, `api`
    /// or a name the code gives.
    pub by: String,
    /// How it was made.
    pub via: Via,
}

impl Change {
    /// A change made now by `by`, through `via`. `by` is cut to 200 characters.
    pub fn new(by: impl Into<String>, via: Via) -> Self {
        let mut by: String = by.into();
        if let Some((cut, _)) = by.char_indices().nth(MAX_BY_CHARS) {
            by.truncate(cut);
        }
        Self {
            at: Timestamp::now(),
            by,
            via,
        }
    }

    /// A change made by code, with no name given: `by` is `api`.
    pub fn api() -> Self {
        Self::new("api", Via::Api)
    }

    /// A change made by the command: `by` is the OS user and the host name
    /// (`alice@web-1`).
    pub fn command() -> Self {
        Self::new(os_user_at_host(), Via::Command)
    }

    /// The same change, made at `at`.
    #[must_use]
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = at;
        self
    }
}

impl fmt::Display for Change {
    /// `2030-01-01T02:00:00Z by alice@web-1 via command`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoted when it is not plain, so a name cannot forge a log line.
        let plain = self
            .by
            .chars()
            .all(|c| c.is_alphanumeric() || "@.-_ ".contains(c));
        if plain {
            write!(f, "{} by {} via {}", self.at, self.by, self.via)
        } else {
            write!(f, "{} by {:?} via {}", self.at, self.by, self.via)
        }
    }
}

/// The state as a backend stores it: the state, and the change that made it
/// when that is known (a state written by Django or by hand has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StateRecord {
    /// The state.
    pub state: MaintenanceState,
    /// Its last change, when known.
    pub change: Option<Change>,
}

impl StateRecord {
    /// `state`, with no change known.
    pub fn new(state: MaintenanceState) -> Self {
        Self {
            state,
            change: None,
        }
    }

    /// The same record, made by `change`.
    #[must_use]
    pub fn with_change(mut self, change: Change) -> Self {
        self.change = Some(change);
        self
    }
}

/// How backends store a change next to the state: JSON that also holds the
/// state's text, so that a change left from before the state was rewritten
/// by another tool (Django, `echo 1 >`) is not shown for a state it did not make.
#[derive(Debug, Serialize, Deserialize)]
struct StoredChange {
    state: String,
    #[serde(flatten)]
    change: Change,
}

/// The text stored for `record`'s change (`None`: store none).
pub fn change_text(record: &StateRecord) -> Option<String> {
    let change = record.change.clone()?;
    let stored = StoredChange {
        state: record.state.to_text(),
        change,
    };
    Some(serde_json::to_string(&stored).expect("a change always serializes"))
}

/// The change a stored `text` records for `state`: `None` when the text is
/// not a change record, is too long, or was written for another state.
/// A bad record costs only the audit line, never the state, so it is not an
/// error.
pub fn change_for(state: &MaintenanceState, text: &str) -> Option<Change> {
    if text.len() > MAX_STATE_TEXT_LEN {
        return None;
    }
    let stored: StoredChange = serde_json::from_str(text).ok()?;
    let recorded = MaintenanceState::parse(&stored.state).ok()?;
    (recorded == *state).then_some(stored.change)
}

/// `user@host` of this process, for the command's changes: the account of
/// the process's user (not `$USER`, which a shell may not set), and the host name.
fn os_user_at_host() -> String {
    let user = whoami::fallible::username()
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let host = whoami::fallible::hostname()
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: MaintenanceState, by: &str) -> StateRecord {
        StateRecord::new(state).with_change(Change::new(by, Via::Route))
    }

    #[test]
    fn a_change_reads_back_for_its_state_only() {
        let on = record(MaintenanceState::On, "ada");
        let text = change_text(&on).unwrap();
        assert_eq!(change_for(&MaintenanceState::On, &text), on.change);
        assert_eq!(change_for(&MaintenanceState::Off, &text), None);
        assert_eq!(change_text(&StateRecord::new(MaintenanceState::On)), None);
    }

    #[test]
    fn bad_records_are_no_change() {
        for text in [
            "",
            "{}",
            "[1]",
            r#"{"state":"1"}"#,
            r#"{"state":"x","at":"2030-01-01T00:00:00Z","by":"a","via":"api"}"#,
        ] {
            assert_eq!(change_for(&MaintenanceState::On, text), None, "{text}");
        }
        let huge = format!(
            r#"{{"state":"1","by":"{}"}}"#,
            "x".repeat(MAX_STATE_TEXT_LEN)
        );
        assert_eq!(change_for(&MaintenanceState::On, &huge), None);
    }

    #[test]
    fn names_are_bounded_and_shown_safely() {
        let long = Change::new("é".repeat(1000), Via::Api);
        assert_eq!(long.by.chars().count(), MAX_BY_CHARS);
        let forged = Change::new("ada\nmaintenance state changed", Via::Route).to_string();
        assert!(!forged.contains('\n'), "{forged}");
        let plain = Change::new("alice@web-1", Via::Command).to_string();
        assert!(plain.ends_with("by alice@web-1 via command"), "{plain}");
    }

    #[test]
    fn the_command_names_user_and_host() {
        let change = Change::command();
        assert_eq!(change.via, Via::Command);
        let (user, host) = change.by.split_once('@').expect("user@host");
        assert!(!user.is_empty() && !host.is_empty(), "{}", change.by);
    }
}
