//! The maintenance state and its text format, which is django-maintenance-mode's.
//!
//! A state file written by Django (`"0"`, `"1"` or the JSON schedule
//! `{"start": ISO8601 | null, "end": ISO8601 | null}`) reads back unchanged, so a
//! migrating site keeps its file.

use std::fmt;

use jiff::{Timestamp, civil, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::bypass::BypassSecret;

/// The stored maintenance state: off, on, or on during a scheduled window.
///
/// ```
/// use maint_actix::{MaintenanceState, state::Schedule};
///
/// assert_eq!(MaintenanceState::parse("1").unwrap(), MaintenanceState::On);
/// assert_eq!(MaintenanceState::Off.to_text(), "0");
///
/// let window: MaintenanceState =
///     MaintenanceState::parse(r#"{"start": null, "end": "2030-07-14T03:00:00+00:00"}"#).unwrap();
/// let MaintenanceState::Scheduled(schedule) = &window else { panic!() };
/// assert!(schedule.start.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaintenanceState {
    /// Maintenance is off: every request is served.
    #[default]
    Off,
    /// Maintenance is on until it is switched off.
    On,
    /// Maintenance is on inside a window; before `start` and from `end` it is off.
    Scheduled(Schedule),
}

/// Maintenance that is on with details: a window, a reason, read-only mode, a
/// bypass secret. A missing `start` means "already started"; a missing `end`
/// means "until switched off"; with neither, it is on until switched off, as
/// [`MaintenanceState::On`]. At least one field is set.
///
/// Only `start` and `end` are django-maintenance-mode's: a state with nothing
/// else is stored in Django's format (`{"start": ..., "end": ...}`), which
/// Django reads. With `reason`, `read_only` or `bypass` set, the stored JSON
/// object gains those fields (`"reason": "text"`, `"read_only": true`,
/// `"bypass": "SALT.DIGEST"`), which this crate reads and Django refuses.
///
/// ```
/// use maint_actix::{MaintenanceState, state::Schedule};
///
/// let migration = MaintenanceState::Scheduled(
///     Schedule::default().with_reason("Database upgrade").with_read_only(true),
/// );
/// assert!(migration.is_active());
/// assert_eq!(migration.to_text(), r#"{"start":null,"end":null,"reason":"Database upgrade","read_only":true}"#);
/// assert_eq!(MaintenanceState::parse(&migration.to_text()).unwrap(), migration);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Schedule {
    /// When maintenance begins (inclusive).
    #[serde(default, with = "iso8601_opt")]
    pub start: Option<Timestamp>,
    /// When maintenance ends (exclusive).
    #[serde(default, with = "iso8601_opt")]
    pub end: Option<Timestamp>,
    /// A human reason shown on the maintenance page (a maint extension; Django files never have it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// GitLab's read-only mode: `GET`, `HEAD` and `OPTIONS` are served, other
    /// methods get the maintenance response (a maint extension).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// The secret of the bypass link (a maint extension); see [`crate::bypass`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<BypassSecret>,
}

/// The longest stored text that can be a state, in bytes. A state is a few
/// bytes (a schedule with a reason, a few hundred): anything longer is refused
/// without being parsed, and backends stop reading beyond it.
pub const MAX_STATE_TEXT_LEN: usize = 64 * 1024;

/// How many characters of a bad text an error quotes.
const PREVIEW_CHARS: usize = 40;
/// The most bytes the quoted characters may take once escaped.
const PREVIEW_BYTES: usize = 80;

/// Why a stored text is not a maintenance state.
///
/// Messages quote at most the first 40 characters of the text, escaped (see
/// [`preview`]), never the whole of it: a stored value can be anything, of any size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateFormatError {
    /// Neither `0`, `1` nor a JSON object. Holds the start of the text, quoted
    /// and escaped ([`preview`]).
    #[error("state value is not 0, 1 or a schedule object: {0}")]
    NotAState(String),
    /// A JSON object that is not a valid schedule.
    #[error("schedule state value is invalid: {text} ({reason})")]
    InvalidSchedule {
        /// The start of the text, quoted and escaped ([`preview`]).
        text: String,
        /// What is wrong with it (quoting at most a short part of the text).
        reason: String,
    },
    /// Longer than [`MAX_STATE_TEXT_LEN`]: refused unread.
    #[error("state value is {len} bytes, over the limit of {limit} bytes", limit = MAX_STATE_TEXT_LEN)]
    TooLarge {
        /// Its length in bytes.
        len: u64,
    },
}

/// How an error quotes a stored text: its first 40 characters, quoted and
/// escaped (one line, whatever it holds), then `…` and the full length when
/// there is more.
///
/// ```
/// use maint_actix::state::preview;
///
/// assert_eq!(preview("on\n"), r#""on\n""#);
/// assert_eq!(preview(&"x".repeat(1000)), format!("\"{}\"… (1000 bytes)", "x".repeat(40)));
/// ```
pub fn preview(text: &str) -> String {
    let mut quoted = String::new();
    let mut chars = text.char_indices();
    let mut cut = None;
    for (count, (index, c)) in chars.by_ref().enumerate() {
        let escaped: String = c.escape_debug().collect();
        if count == PREVIEW_CHARS || quoted.len() + escaped.len() > PREVIEW_BYTES {
            cut = Some(index);
            break;
        }
        quoted.push_str(&escaped);
    }
    match cut {
        Some(_) => format!("\"{quoted}\"… ({} bytes)", text.len()),
        None => format!("\"{quoted}\""),
    }
}

/// Why a requested schedule is refused (the checks of Django's `set_maintenance_mode`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// `start` is not before `end`.
    #[error("start ({start}) must be before end ({end})")]
    StartNotBeforeEnd {
        /// Requested start.
        start: Timestamp,
        /// Requested end.
        end: Timestamp,
    },
    /// `end` is not in the future.
    #[error("end ({0}) must be in the future")]
    EndNotInFuture(Timestamp),
    /// Neither start nor end was given.
    #[error("a schedule needs a start, an end, or both")]
    Empty,
    /// A date outside years 1 to 9999, which Django's `datetime` cannot hold.
    #[error("{0} is outside years 1 to 9999")]
    OutOfRange(Timestamp),
    /// A date that is not ISO 8601.
    #[error("invalid ISO 8601 date {value:?}: {reason}")]
    InvalidDate {
        /// The text given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
}

impl MaintenanceState {
    /// Parses Django's state text (surrounding whitespace is ignored). A text
    /// longer than [`MAX_STATE_TEXT_LEN`] is refused unread.
    pub fn parse(text: &str) -> Result<Self, StateFormatError> {
        if text.len() > MAX_STATE_TEXT_LEN {
            return Err(StateFormatError::TooLarge {
                len: text.len() as u64,
            });
        }
        let trimmed = text.trim();
        match trimmed {
            "0" => Ok(Self::Off),
            "1" => Ok(Self::On),
            _ if trimmed.starts_with('{') => parse_schedule(trimmed).map(Self::Scheduled),
            _ => Err(StateFormatError::NotAState(preview(trimmed))),
        }
    }

    /// The text stored for this state: `"0"`, `"1"`, or the schedule JSON.
    pub fn to_text(&self) -> String {
        match self {
            Self::Off => "0".to_owned(),
            Self::On => "1".to_owned(),
            Self::Scheduled(schedule) => {
                serde_json::to_string(schedule).expect("a schedule always serializes")
            }
        }
    }

    /// A schedule after the checks Django's `set_maintenance_mode(True, start, end)` makes:
    /// start before end, and end in the future.
    ///
    /// ```
    /// use jiff::{Timestamp, ToSpan};
    /// use maint_actix::MaintenanceState;
    ///
    /// let now = Timestamp::now();
    /// let state = MaintenanceState::scheduled(None, Some(now + 1.hour()), now).unwrap();
    /// assert!(state.is_active_at(now));
    /// assert!(MaintenanceState::scheduled(None, Some(now - 1.hour()), now).is_err());
    /// ```
    pub fn scheduled(
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Self, ScheduleError> {
        if start.is_none() && end.is_none() {
            return Err(ScheduleError::Empty);
        }
        let schedule = Schedule::new(start, end);
        schedule.validate(now)?;
        Ok(Self::Scheduled(schedule))
    }

    /// Maintenance on with `details`: plain [`On`](Self::On) when none is set,
    /// else the details after Django's checks (see [`Schedule::validate`]).
    ///
    /// ```
    /// use jiff::Timestamp;
    /// use maint_actix::{MaintenanceState, state::Schedule};
    ///
    /// let now = Timestamp::now();
    /// assert_eq!(MaintenanceState::on_with(Schedule::default(), now).unwrap(), MaintenanceState::On);
    /// let why = MaintenanceState::on_with(Schedule::default().with_reason("upgrade"), now).unwrap();
    /// assert_eq!(why.reason(), Some("upgrade"));
    /// ```
    pub fn on_with(details: Schedule, now: Timestamp) -> Result<Self, ScheduleError> {
        if details.is_empty() {
            return Ok(Self::On);
        }
        details.validate(now)?;
        Ok(Self::Scheduled(details))
    }

    /// Whether maintenance is in effect at `now` (a schedule follows the clock).
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        match self {
            Self::Off => false,
            Self::On => true,
            Self::Scheduled(schedule) => schedule.is_active_at(now),
        }
    }

    /// Whether maintenance is in effect now; the clock is read only for a schedule.
    pub fn is_active(&self) -> bool {
        match self {
            Self::Off => false,
            Self::On => true,
            // No window: on, without reading the clock (this runs per request).
            Self::Scheduled(schedule) if schedule.start.is_none() && schedule.end.is_none() => true,
            Self::Scheduled(schedule) => schedule.is_active_at(Timestamp::now()),
        }
    }

    /// The schedule, when the state is one.
    pub fn schedule(&self) -> Option<&Schedule> {
        match self {
            Self::Scheduled(schedule) => Some(schedule),
            _ => None,
        }
    }

    /// Whether this is read-only mode rather than full maintenance.
    pub fn is_read_only(&self) -> bool {
        self.schedule().is_some_and(|schedule| schedule.read_only)
    }

    /// The reason given for the maintenance, if any.
    pub fn reason(&self) -> Option<&str> {
        self.schedule()
            .and_then(|schedule| schedule.reason.as_deref())
    }

    /// When the maintenance ends, if it has a set end.
    pub fn end(&self) -> Option<Timestamp> {
        self.schedule().and_then(|schedule| schedule.end)
    }

    /// The bypass link's secret, if one is set.
    pub fn bypass(&self) -> Option<&BypassSecret> {
        self.schedule()
            .and_then(|schedule| schedule.bypass.as_ref())
    }

    /// The state for a plain boolean.
    pub fn from_bool(on: bool) -> Self {
        if on { Self::On } else { Self::Off }
    }
}

impl Schedule {
    /// A window from `start` to `end` (`None`: already started / until switched
    /// off), with no reason. [`validate`](Self::validate) checks it.
    ///
    /// ```
    /// use jiff::{Timestamp, ToSpan};
    /// use maint_actix::state::Schedule;
    ///
    /// let now = Timestamp::now();
    /// let window = Schedule::new(None, Some(now + 1.hour())).with_reason("database upgrade");
    /// assert!(window.is_active_at(now));
    /// assert_eq!(window.reason.as_deref(), Some("database upgrade"));
    /// ```
    pub fn new(start: Option<Timestamp>, end: Option<Timestamp>) -> Self {
        Self {
            start,
            end,
            ..Self::default()
        }
    }

    /// The same window with a reason, shown on the maintenance page.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The same, in read-only mode (`true`) or in full maintenance (`false`).
    #[must_use]
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The same, with a bypass link's secret.
    #[must_use]
    pub fn with_bypass(mut self, secret: BypassSecret) -> Self {
        self.bypass = Some(secret);
        self
    }

    /// Whether nothing is set, which is not a state.
    fn is_empty(&self) -> bool {
        self.start.is_none()
            && self.end.is_none()
            && self.reason.is_none()
            && !self.read_only
            && self.bypass.is_none()
    }

    /// The checks Django makes before storing a schedule: start before end, end
    /// in the future, and something set (a window, or at least a reason,
    /// read-only mode or a bypass secret).
    pub fn validate(&self, now: Timestamp) -> Result<(), ScheduleError> {
        if self.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if let Some(outside) = [self.start, self.end]
            .into_iter()
            .flatten()
            .find(|at| !in_python_range(*at))
        {
            return Err(ScheduleError::OutOfRange(outside));
        }
        if let (Some(start), Some(end)) = (self.start, self.end)
            && start >= end
        {
            return Err(ScheduleError::StartNotBeforeEnd { start, end });
        }
        if let Some(end) = self.end
            && end <= now
        {
            return Err(ScheduleError::EndNotInFuture(end));
        }
        Ok(())
    }

    /// Whether `now` is inside the window: started (`start <= now`) and not ended (`now < end`).
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        let started = self.start.is_none_or(|start| start <= now);
        let ended = self.end.is_some_and(|end| end <= now);
        started && !ended
    }
}

impl fmt::Display for MaintenanceState {
    /// `off`, `on`, or `scheduled from START to END` (`-` for an open end).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::On => f.write_str("on"),
            Self::Scheduled(schedule) => write!(f, "{schedule}"),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
        if self.start.is_none() && self.end.is_none() {
            f.write_str("on")?;
        } else {
            write!(
                f,
                "scheduled from {} to {}",
                show(self.start),
                show(self.end)
            )?;
        }
        if let Some(reason) = &self.reason {
            // Quoted and escaped: this text is logged, and a reason is free text.
            write!(f, " ({reason:?})")?;
        }
        if self.read_only {
            f.write_str(", read-only")?;
        }
        if self.bypass.is_some() {
            // Never the secret itself: this text is logged.
            f.write_str(", bypass link set")?;
        }
        Ok(())
    }
}

/// Parses a stored schedule field by field, so that no reason quotes more of
/// the text than [`preview`] does (serde's messages quote whole values).
fn parse_schedule(text: &str) -> Result<Schedule, StateFormatError> {
    use serde_json::Value;

    let invalid = |reason: String| StateFormatError::InvalidSchedule {
        text: preview(text),
        reason,
    };
    // serde_json's syntax errors name a position, never the text.
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(invalid("not a JSON object".to_owned()));
    };
    let date = |name: &str, value: Value| match value {
        Value::Null => Ok(None),
        Value::String(text) if text.is_empty() => Ok(None),
        Value::String(text) => parse_iso8601(&text).map(Some).map_err(|_| {
            invalid(format!(
                "{name} is not an ISO 8601 date: {}",
                preview(&text)
            ))
        }),
        _ => Err(invalid(format!("{name} is not a date string or null"))),
    };
    let mut schedule = Schedule::default();
    for (name, value) in fields {
        match name.as_str() {
            "start" => schedule.start = date("start", value)?,
            "end" => schedule.end = date("end", value)?,
            "reason" => {
                schedule.reason = match value {
                    Value::Null => None,
                    Value::String(reason) => Some(reason),
                    _ => return Err(invalid("reason is not a string or null".to_owned())),
                }
            }
            "read_only" => {
                schedule.read_only = match value {
                    Value::Null => false,
                    Value::Bool(read_only) => read_only,
                    _ => return Err(invalid("read_only is not true, false or null".to_owned())),
                }
            }
            "bypass" => {
                schedule.bypass = match value {
                    Value::Null => None,
                    // Never quoted: it is a secret's digest.
                    Value::String(stored) => {
                        Some(BypassSecret::from_stored(&stored).ok_or_else(|| {
                            invalid("bypass is not a stored bypass secret".to_owned())
                        })?)
                    }
                    _ => return Err(invalid("bypass is not a string or null".to_owned())),
                }
            }
            _ => return Err(invalid(format!("unknown field {}", preview(&name)))),
        }
    }
    if schedule.is_empty() {
        return Err(invalid("neither start nor end is set".to_owned()));
    }
    Ok(schedule)
}

/// Parses an ISO 8601 date the way Django's `parse_datetime` + `make_aware` does:
/// with an offset (`Z`, `+02:00`) it is that instant; without one it is read as UTC.
///
/// ```
/// use maint_actix::state::parse_iso8601;
///
/// let a = parse_iso8601("2030-01-02T03:04:05+00:00").unwrap();
/// let b = parse_iso8601("2030-01-02 03:04:05").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_iso8601("tomorrow").is_err());
/// ```
pub fn parse_iso8601(value: &str) -> Result<Timestamp, ScheduleError> {
    let value = value.trim();
    let invalid = |reason: &str| ScheduleError::InvalidDate {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let timestamp = value.parse::<Timestamp>().or_else(|_| {
        value
            .parse::<civil::DateTime>()
            .and_then(|naive| naive.to_zoned(TimeZone::UTC))
            .map(|zoned| zoned.timestamp())
            .map_err(|_| invalid("not an ISO 8601 date"))
    })?;
    if !in_python_range(timestamp) {
        return Err(invalid("the year must be 1 to 9999"));
    }
    Ok(timestamp)
}

/// Why a text is not a maintenance duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text}: {reason}; expected e.g. 90s, 30m, 2h, 1h30m or 1d")]
pub struct DurationError {
    /// The start of the text, quoted and escaped ([`preview`]).
    text: String,
    /// Why it is refused.
    reason: String,
}

/// Parses a maintenance duration (`--for`): jiff's friendly format (`90s`,
/// `30m`, `2h`, `1h30m`, `1h 30m`, `1d` = 24 hours, `1w`) or ISO 8601
/// (`PT1H30M`). It must be positive; months and years are refused, as their
/// length depends on the date.
///
/// ```
/// use maint_actix::state::parse_duration;
///
/// assert_eq!(parse_duration("1h30m").unwrap(), std::time::Duration::from_secs(5400));
/// assert_eq!(parse_duration("90s").unwrap(), std::time::Duration::from_secs(90));
/// assert!(parse_duration("0s").is_err());
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<std::time::Duration, DurationError> {
    let refuse = |reason: &str| DurationError {
        text: preview(text),
        reason: reason.to_owned(),
    };
    let span: jiff::Span = text.trim().parse().map_err(|_| refuse("not a duration"))?;
    let duration = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| refuse("months and years have no fixed length"))?;
    if !duration.is_positive() {
        return Err(refuse("it must be longer than zero"));
    }
    duration.try_into().map_err(|_| refuse("it is too long"))
}

/// The end of a maintenance that lasts `duration` (a [`parse_duration`]
/// text) from `now`, rounded to the second: a friendlier `status`, and a
/// date Django parses.
///
/// ```
/// use jiff::Timestamp;
/// use maint_actix::state::end_after;
///
/// let now: Timestamp = "2030-01-01T00:00:00.4Z".parse()?;
/// assert_eq!(end_after(now, "1h30m")?.to_string(), "2030-01-01T01:30:00Z");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn end_after(now: Timestamp, duration: &str) -> Result<Timestamp, DurationError> {
    let length = parse_duration(duration)?;
    jiff::SignedDuration::try_from(length)
        .ok()
        .and_then(|length| now.checked_add(length).ok())
        .and_then(|end| end.round(jiff::Unit::Second).ok())
        .filter(|end| in_python_range(*end))
        .ok_or_else(|| DurationError {
            text: preview(duration),
            reason: "it ends after the year 9999".to_owned(),
        })
}

/// Whether `timestamp` falls in years 1 to 9999 (UTC), the range of Python's
/// `datetime`: a state file outside it could not be read back, by Django or by
/// this crate, which writes years with four digits.
fn in_python_range(timestamp: Timestamp) -> bool {
    (1..=9999).contains(&timestamp.to_zoned(TimeZone::UTC).year())
}

/// Formats like Python's `datetime.isoformat()` on an aware UTC datetime.
fn format_iso8601(timestamp: &Timestamp) -> String {
    timestamp
        .to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%S%.f%:z")
        .to_string()
}

mod iso8601_opt {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(t) => s.serialize_str(&super::format_iso8601(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.filter(|t| !t.is_empty())
            .map(|t| super::parse_iso8601(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn django_flags_parse_with_whitespace() {
        assert_eq!(MaintenanceState::parse("0").unwrap(), MaintenanceState::Off);
        assert_eq!(
            MaintenanceState::parse("1\n").unwrap(),
            MaintenanceState::On
        );
        assert_eq!(
            MaintenanceState::parse("  1  ").unwrap(),
            MaintenanceState::On
        );
    }

    #[test]
    fn other_text_is_not_a_state() {
        for text in ["", "2", "true", "on", "test", "01"] {
            assert!(
                matches!(
                    MaintenanceState::parse(text),
                    Err(StateFormatError::NotAState(_))
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn django_schedule_parses() {
        let state = MaintenanceState::parse(
            r#"{"start": "2026-07-14T01:00:00+00:00", "end": "2026-07-14T03:00:00+00:00"}"#,
        )
        .unwrap();
        let schedule = state.schedule().unwrap();
        assert_eq!(schedule.start, Some(at("2026-07-14T01:00:00Z")));
        assert_eq!(schedule.end, Some(at("2026-07-14T03:00:00Z")));
        assert_eq!(schedule.reason, None);
    }

    #[test]
    fn schedule_offsets_and_naive_dates() {
        let state = MaintenanceState::parse(
            r#"{"start": "2026-07-14T03:00:00+02:00", "end": "2026-07-14T03:00:00"}"#,
        )
        .unwrap();
        let schedule = state.schedule().unwrap();
        assert_eq!(schedule.start, Some(at("2026-07-14T01:00:00Z")));
        assert_eq!(
            schedule.end,
            Some(at("2026-07-14T03:00:00Z")),
            "naive is UTC"
        );
    }

    #[test]
    fn invalid_schedules_are_rejected_like_django() {
        for text in [
            "{}",
            r#"{"invalid-key": "1"}"#,
            r#"{"start": null, "end": null}"#,
            r#"{"start": "yesterday"}"#,
            "{not json",
        ] {
            assert!(
                matches!(
                    MaintenanceState::parse(text),
                    Err(StateFormatError::InvalidSchedule { .. })
                ),
                "{text:?}"
            );
        }
    }

    /// Issue 9: an error quotes a short, escaped prefix of the text, however
    /// long it is, and a text over the size limit is refused unread.
    #[test]
    fn errors_quote_a_short_escaped_prefix_only() {
        let long = "9".repeat(60_000);
        for text in [
            format!("garbage\n{long}"),
            format!(r#"{{"start": "{long}"}}"#),
            format!(r#"{{"{long}": null}}"#),
            format!(r#"{{"end": {long}}}"#),
            format!(r#"{{"reason": ["{long}"]}}"#),
            format!(r#"{{"start": null, "end": "{long}""#),
        ] {
            let message = MaintenanceState::parse(&text).unwrap_err().to_string();
            assert!(
                message.len() < 200,
                "{} bytes: {message:.300}",
                message.len()
            );
            assert!(!message.contains(&"9".repeat(41)), "{message:.300}");
            assert!(!message.contains('\n'), "{message:?}");
        }
        let message = MaintenanceState::parse("garbage\n")
            .unwrap_err()
            .to_string();
        assert!(message.ends_with(r#": "garbage""#), "{message}");
        let message = MaintenanceState::parse("x\ny").unwrap_err().to_string();
        assert!(message.ends_with(r#": "x\ny""#), "{message}");

        let huge = "1".repeat(MAX_STATE_TEXT_LEN + 1);
        assert_eq!(
            MaintenanceState::parse(&huge),
            Err(StateFormatError::TooLarge {
                len: huge.len() as u64
            })
        );
        let message = StateFormatError::TooLarge { len: 10_000_000 }.to_string();
        assert!(message.contains("65536"), "{message}");
    }

    #[test]
    fn preview_escapes_and_cuts() {
        assert_eq!(preview(""), r#""""#);
        assert_eq!(preview("a\"b\u{7}"), r#""a\"b\u{7}""#);
        let cut = preview(&"é".repeat(100));
        assert!(
            cut.starts_with(&format!("\"{}\"…", "é".repeat(40))),
            "{cut}"
        );
        assert!(cut.ends_with("(200 bytes)"), "{cut}");
        // Escapes count towards the limit: never more than about 80 bytes quoted.
        assert!(preview(&"\u{1}".repeat(100)).len() < 110);
    }

    #[test]
    fn text_round_trips() {
        let schedule = MaintenanceState::Scheduled(Schedule {
            start: Some(at("2026-07-14T01:00:00Z")),
            end: Some(at("2026-07-14T03:00:00.5Z")),
            reason: Some("database upgrade".into()),
            ..Default::default()
        });
        for state in [MaintenanceState::Off, MaintenanceState::On, schedule] {
            assert_eq!(MaintenanceState::parse(&state.to_text()).unwrap(), state);
        }
    }

    #[test]
    fn schedule_text_is_what_django_writes() {
        let state = MaintenanceState::Scheduled(Schedule {
            start: None,
            end: Some(at("2026-07-14T03:00:00Z")),
            reason: None,
            ..Default::default()
        });
        assert_eq!(
            state.to_text(),
            r#"{"start":null,"end":"2026-07-14T03:00:00+00:00"}"#
        );
    }

    #[test]
    fn schedule_boundaries_start_inclusive_end_exclusive() {
        let start = at("2026-07-14T01:00:00Z");
        let end = at("2026-07-14T03:00:00Z");
        let state = MaintenanceState::Scheduled(Schedule {
            start: Some(start),
            end: Some(end),
            reason: None,
            ..Default::default()
        });
        assert!(!state.is_active_at(start - 1.nanosecond()));
        assert!(state.is_active_at(start));
        assert!(state.is_active_at(end - 1.nanosecond()));
        assert!(!state.is_active_at(end));
        assert!(!state.is_active_at(end + 1.hour()));
    }

    #[test]
    fn open_ended_schedules() {
        let t = at("2026-07-14T01:00:00Z");
        let from = Schedule {
            start: Some(t),
            ..Schedule::default()
        };
        assert!(!from.is_active_at(t - 1.second()));
        assert!(from.is_active_at(t + 24_000.hours()));
        let until = Schedule {
            end: Some(t),
            ..Schedule::default()
        };
        assert!(until.is_active_at(t - 1000.hours()));
        assert!(!until.is_active_at(t));
    }

    #[test]
    fn scheduled_checks_like_django() {
        let now = at("2026-07-14T01:00:00Z");
        assert_eq!(
            MaintenanceState::scheduled(None, None, now),
            Err(ScheduleError::Empty)
        );
        assert!(matches!(
            MaintenanceState::scheduled(Some(now + 2.hours()), Some(now + 1.hour()), now),
            Err(ScheduleError::StartNotBeforeEnd { .. })
        ));
        assert!(matches!(
            MaintenanceState::scheduled(Some(now + 1.hour()), Some(now + 1.hour()), now),
            Err(ScheduleError::StartNotBeforeEnd { .. })
        ));
        assert!(matches!(
            MaintenanceState::scheduled(None, Some(now), now),
            Err(ScheduleError::EndNotInFuture(_))
        ));
        assert!(MaintenanceState::scheduled(Some(now - 1.hour()), None, now).is_ok());
        assert!(MaintenanceState::scheduled(None, Some(now + 1.second()), now).is_ok());
    }

    #[test]
    fn display_is_what_status_prints() {
        assert_eq!(MaintenanceState::Off.to_string(), "off");
        assert_eq!(MaintenanceState::On.to_string(), "on");
        let state = MaintenanceState::Scheduled(Schedule {
            start: None,
            end: Some(at("2026-07-14T03:00:00Z")),
            reason: None,
            ..Default::default()
        });
        assert_eq!(
            state.to_string(),
            "scheduled from - to 2026-07-14T03:00:00Z"
        );
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(
            parse_iso8601("2026-07-14T03:00:00Z").unwrap(),
            at("2026-07-14T03:00:00Z")
        );
        assert_eq!(
            parse_iso8601("2026-07-14 03:00").unwrap(),
            at("2026-07-14T03:00:00Z")
        );
        assert!(matches!(
            parse_iso8601("14/07/2026"),
            Err(ScheduleError::InvalidDate { .. })
        ));
    }

    #[test]
    fn dates_outside_years_1_to_9999_are_refused_on_reading_and_setting() {
        for text in ["-000001-12-31T23:59:59Z", "0000-06-01T00:00:00Z"] {
            assert!(
                matches!(parse_iso8601(text), Err(ScheduleError::InvalidDate { .. })),
                "{text}"
            );
        }
        let early: Timestamp = "-000001-01-01T00:00:00Z".parse().unwrap();
        let now = Timestamp::now();
        assert!(matches!(
            MaintenanceState::scheduled(Some(early), None, now),
            Err(ScheduleError::OutOfRange(_))
        ));
        let last = parse_iso8601("9999-12-30T00:00:00Z").unwrap();
        let state = MaintenanceState::scheduled(None, Some(last), now).unwrap();
        assert_eq!(MaintenanceState::parse(&state.to_text()).unwrap(), state);
    }
}
