//! The `maintenance_mode on|off|status` command: django-maintenance-mode's
//! `manage.py maintenance_mode`, as a [clap] subcommand any app binary embeds.
//!
//! ```text
//! app maintenance_mode on|off|status [--start ISO8601] [--end ISO8601 | --for DURATION]
//!     [--reason TEXT] [--read-only] [--secret TOKEN | --with-secret] [--interactive]
//! ```
//!
//! [`MaintenanceModeCommand`] is the parsed arguments; [`run`](MaintenanceModeCommand::run)
//! carries them out on a [`MaintenanceMode`] handle, reading the answer to
//! `--interactive` from any [`BufRead`] and writing to any [`Write`], so it is
//! testable and embeddable; [`run_stdio`](MaintenanceModeCommand::run_stdio)
//! uses the process's stdin and stdout. Every failure is a [`CommandError`]
//! whose message is one line, ready for `eprintln!("{error}")` and a non-zero exit.
//!
//! # What it does
//!
//! The semantics are Django's command's:
//!
//! - `on` (also `yes`, `true`, `1`) and `off` (also `no`, `false`, `0`), in any
//!   case. When the stored state is already plainly on (for `on`) or off (for
//!   `off`), the command succeeds and writes nothing: a Django-format file
//!   (`1\n`) keeps its exact bytes, a missing file stays missing. A stored
//!   schedule is neither: `on` replaces it with plain on, `off` with off, even
//!   while the window is open or has not started.
//! - `on --start ISO8601 --end ISO8601` (either or both) stores a window,
//!   replacing whatever was stored. Dates are read by [`parse_iso8601`]
//!   (without an offset they are UTC) and checked as Django checks them: start
//!   before end, end in the future. `--start` / `--end` with `off` or `status` is an error.
//! - Beyond Django, each only with `on` (an error with `off` or `status`):
//!   `--for DURATION` (`90s`, `30m`, `2h`, `1h30m`, `1d`; read by
//!   [`parse_duration`](crate::state::parse_duration)) ends the maintenance that long from now, rounded to
//!   the second, and cannot be combined with `--end`; `--reason TEXT` is
//!   stored and shown; `--read-only` switches on read-only mode; `--secret
//!   TOKEN` stores a bypass secret ([`BypassSecret::new`]), `--with-secret`
//!   generates one and prints `bypass: /maintenance-mode/bypass/TOKEN` once
//!   it is stored (the only time the token is shown). `on` with any of them
//!   stores the state they describe, unless exactly that is stored already.
//! - `--interactive` asks `maintenance mode on? (y/N) ` (or `off`) and goes on
//!   only when the answer starts with `y` or `Y`; any other answer, or none,
//!   does nothing and succeeds. As in Django, the question is asked only when
//!   something would change, and (unlike Django) only after the arguments have
//!   been checked, so a bad date is reported before anyone is asked.
//! - `status` prints one line: `on` or `off`, the state in effect now, and for
//!   a stored window its description, e.g. `off (scheduled from
//!   2030-01-01T02:00:00Z to 2030-01-01T03:00:00Z)` before it opens, `on
//!   (scheduled until 2030-01-01T03:00:00Z)` inside an open-ended one, then
//!   the reason, `read-only` and `bypass link set` (never the secret), e.g.
//!   `on (reason: "Database upgrade", read-only, bypass link set)`.
//! - With a store that can lose its state (Redis) and holds none, `status`
//!   prints `unknown (no maintenance state stored in ...)`: running instances
//!   keep the last state they knew until it is set; `on` and `off` set it.
//! - `on` and `off` print nothing when they succeed, as Django's command does
//!   at its default verbosity; a script checks the exit status, a human runs
//!   `status`. The only other output is the `--interactive` question and the
//!   link of `--with-secret`.
//!
//! The state is always read from the backend itself, never from the handle's
//! snapshot: a change made a moment ago by another process is seen, and a
//! backend that cannot be read fails the command (naming the file and the OS
//! reason) instead of answering with `state_backend_fallback_value`. This
//! applies to `on` and `off` too, as in Django, so a corrupted state file has
//! to be fixed (or deleted) by hand. Messages quote at most a short prefix of
//! a corrupted state, however large it is.
//!
//! # A fixed `mode`
//!
//! When the `mode` setting fixes the state, Django's command returns early
//! with success when the request matches it (its "already on" check reads the
//! setting) and otherwise fails because the state cannot be set. This command
//! does the same without touching the backend, which `mode` overrides:
//! `on` with `mode = true` (or `off` with `mode = false`) succeeds and changes
//! nothing; the opposite state, or any `--start` / `--end`, fails with
//! [`CommandError::FixedBySettings`]. `status` prints `on (fixed by the mode
//! setting)` or `off (fixed by the mode setting)`.
//!
//! # Embedding
//!
//! ```
//! use maint_actix::command::MaintenanceModeCommand;
//! // Or depend on clap (with `derive`) directly.
//! use maint_actix::command::clap::{self, Parser, Subcommand};
//! use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(subcommand)]
//!     command: Option<Command>,
//! }
//!
//! #[derive(Subcommand)]
//! enum Command {
//!     /// Turn maintenance mode on or off, or show it.
//!     #[command(name = "maintenance_mode")]
//!     MaintenanceMode(MaintenanceModeCommand),
//! }
//!
//! let maint = MaintenanceMode::new(
//!     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
//! )?;
//! let cli = Cli::try_parse_from(["app", "maintenance_mode", "ON"])?;
//! if let Some(Command::MaintenanceMode(command)) = cli.command {
//!     // A real binary calls `command.run_stdio(&maint)` and exits non-zero on error.
//!     command.run(&maint, &mut std::io::empty(), &mut std::io::sink())?;
//! }
//! assert!(maint.is_on());
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, BufRead, Write};

use jiff::Timestamp;

/// The version of [clap] the command is built with, for apps that embed it
/// without depending on clap themselves (its derives find it as `clap` when
/// it is in scope: `use maint_actix::command::clap;`).
pub use clap;

use crate::{
    backend::BackendError,
    bypass::{BypassSecret, BypassTokenError},
    change::{Change, StateRecord},
    handle::{MaintenanceMode, StateError},
    host::{self, HostError},
    routes::DEFAULT_PREFIX,
    state::{DurationError, MaintenanceState, Schedule, ScheduleError, end_after, parse_iso8601},
};

/// The arguments of `maintenance_mode on|off|status` and its options; see
/// the [module docs](self) for what each does.
///
/// It derives [`clap::Args`], so it is a variant of an app's
/// [`clap::Subcommand`] enum (`#[command(name = "maintenance_mode")]
/// MaintenanceMode(MaintenanceModeCommand)`) or flattened into a parser.
/// It can also be built directly:
///
/// ```
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
/// use maint_actix::command::MaintenanceModeCommand;
///
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// let on = MaintenanceModeCommand {
///     state: "on".into(),
///     start: None,
///     end: Some("2999-01-01T03:00:00Z".into()),
///     interactive: false,
///     ..Default::default()
/// };
/// on.run(&maint, &mut std::io::empty(), &mut std::io::sink())?;
///
/// let status = MaintenanceModeCommand { state: "status".into(), end: None, ..on };
/// let mut out = Vec::new();
/// status.run(&maint, &mut std::io::empty(), &mut out)?;
/// let line = String::from_utf8(out)?;
/// assert!(line.starts_with("on (scheduled until 2999-01-01T03:00:00Z; changed "), "{line}");
/// assert!(line.ends_with(" via command)\n"), "{line}");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(clap::Args, Debug, Clone, PartialEq, Eq, Default)]
#[command(
    about = "Turn maintenance mode on or off, or show whether it is on",
    long_about = None
)]
pub struct MaintenanceModeCommand {
    /// on (or yes, true, 1), off (or no, false, 0), or status; case-insensitive.
    #[arg(value_name = "on|off|status")]
    pub state: String,
    /// With on: start of a scheduled maintenance window (ISO 8601; UTC when no offset is given).
    #[arg(long, value_name = "ISO8601")]
    pub start: Option<String>,
    /// With on: end of a scheduled maintenance window (ISO 8601; UTC when no offset is given).
    #[arg(long, value_name = "ISO8601")]
    pub end: Option<String>,
    /// With on: end the maintenance after this long (90s, 30m, 2h, 1h30m); not with --end.
    #[arg(long = "for", value_name = "DURATION")]
    pub for_duration: Option<String>,
    /// With on: why, shown on the maintenance page, in its JSON and by status.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// With on: read-only mode: GET, HEAD and OPTIONS are served, other methods are not.
    #[arg(long)]
    pub read_only: bool,
    /// With on: a bypass link secret (at least 16 of A-Z a-z 0-9 - _).
    #[arg(long, value_name = "TOKEN")]
    pub secret: Option<String>,
    /// With on: generate a bypass secret and print its link.
    #[arg(long)]
    pub with_secret: bool,
    /// Ask for confirmation (y/N) before changing the state.
    #[arg(long)]
    pub interactive: bool,
    /// With status: print one JSON object instead of a line.
    #[arg(long)]
    pub json: bool,
    /// Act on this host's own state (port and case ignored): `on` gives it
    /// one, `off` removes it (the host follows the global state again),
    /// `status` shows the state the host follows.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// Why the command failed. Every message is a single line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The state argument is none of the accepted words.
    #[error(
        "invalid maintenance_mode argument {given:?}: expected on|off|status (or yes/true/1, no/false/0)"
    )]
    InvalidState {
        /// The argument as given.
        given: String,
    },
    /// `--start` / `--end` given with `off` (Django's message).
    #[error("--start / --end options can only be used with 'on' state")]
    ScheduleWithOff,
    /// `--start` / `--end` given with `status`.
    #[error("--start / --end options can only be used with 'on' state, not with 'status'")]
    ScheduleWithStatus,
    /// An option that only `on` takes, given with `off` or `status`.
    #[error("--{option} can only be used with 'on' state")]
    OnlyWithOn {
        /// The option, without its dashes.
        option: &'static str,
    },
    /// `--json` given with `on` or `off`.
    #[error("--json can only be used with 'status'")]
    JsonWithoutStatus,
    /// Two options that exclude each other.
    #[error("--{0} cannot be combined with --{1}")]
    Conflict(&'static str, &'static str),
    /// A `--for` value that is not a duration.
    #[error("invalid --for: {0}")]
    InvalidDuration(#[source] DurationError),
    /// A `--secret` that cannot be a bypass token (the message never quotes it).
    #[error("invalid --secret: {0}")]
    InvalidSecret(#[source] BypassTokenError),
    /// A `--start` / `--end` value that is not an ISO 8601 date.
    #[error(
        "invalid --{option} date {value:?} ({reason}); expected ISO 8601, e.g. 2030-01-01T02:00:00Z"
    )]
    InvalidDate {
        /// `start` or `end`.
        option: &'static str,
        /// The value as given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The window is refused: start not before end, or end not in the future.
    #[error("maintenance schedule refused: {0}")]
    Schedule(#[source] ScheduleError),
    /// The `mode` setting fixes the state to this value, so it cannot be changed.
    #[error("{}", StateError::FixedBySettings(*.0))]
    FixedBySettings(bool),
    /// A `--host` that is not a host name.
    #[error("invalid --host: {0}")]
    InvalidHost(#[source] HostError),
    /// As many hosts as a store keeps already have a state of their own.
    #[error("{}", StateError::TooManyHosts)]
    TooManyHosts,
    /// The state backend could not be read or written; the message names the
    /// state file's full path and the OS reason.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The answer to the `--interactive` question could not be read.
    #[error("cannot read the answer to the confirmation question: {0}")]
    ReadAnswer(#[source] io::Error),
    /// The output (the question, or the status line) could not be written.
    #[error("cannot write the maintenance_mode output: {0}")]
    WriteOutput(#[source] io::Error),
}

impl From<StateError> for CommandError {
    fn from(error: StateError) -> Self {
        match error {
            StateError::FixedBySettings(mode) => Self::FixedBySettings(mode),
            StateError::Schedule(error) => Self::Schedule(error),
            StateError::Backend(error) => Self::Backend(error),
            StateError::Host(error) => Self::InvalidHost(error),
            StateError::TooManyHosts => Self::TooManyHosts,
        }
    }
}

/// What the state argument asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    On,
    Off,
    Status,
}

impl Action {
    fn parse(given: &str) -> Result<Self, CommandError> {
        match given.to_lowercase().as_str() {
            "on" | "yes" | "true" | "1" => Ok(Self::On),
            "off" | "no" | "false" | "0" => Ok(Self::Off),
            "status" => Ok(Self::Status),
            _ => Err(CommandError::InvalidState {
                given: given.to_owned(),
            }),
        }
    }
}

impl MaintenanceModeCommand {
    /// Carries out the command on `maint`: `--interactive` reads its answer
    /// from `input`, and the question and the `status` line go to `output`.
    /// Blocks the calling thread on the backend; call it from synchronous
    /// code (a `main` before the server starts, a thread), not from inside an
    /// async task. See the [module docs](self) for the behaviour.
    ///
    /// ```
    /// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
    /// use maint_actix::command::{CommandError, MaintenanceModeCommand};
    ///
    /// let maint = MaintenanceMode::new(
    ///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
    /// )?;
    /// let command = |state: &str, interactive: bool| MaintenanceModeCommand {
    ///     state: state.into(),
    ///     start: None,
    ///     end: None,
    ///     interactive,
    ///     ..Default::default()
    /// };
    ///
    /// let mut question = Vec::new();
    /// command("on", true).run(&maint, &mut "n\n".as_bytes(), &mut question)?;
    /// assert_eq!(question, b"maintenance mode on? (y/N) ");
    /// assert!(!maint.is_on(), "declined");
    ///
    /// command("on", true).run(&maint, &mut "y\n".as_bytes(), &mut std::io::sink())?;
    /// assert!(maint.is_on());
    ///
    /// let mut status = Vec::new();
    /// command("status", false).run(&maint, &mut std::io::empty(), &mut status)?;
    /// let status = String::from_utf8(status)?;
    /// assert!(status.starts_with("on (changed "), "{status}");
    ///
    /// let error = command("maybe", false)
    ///     .run(&maint, &mut std::io::empty(), &mut std::io::sink())
    ///     .unwrap_err();
    /// assert!(matches!(error, CommandError::InvalidState { .. }));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(
        &self,
        maint: &MaintenanceMode,
        input: &mut dyn BufRead,
        output: &mut dyn Write,
    ) -> Result<(), CommandError> {
        let action = Action::parse(&self.state)?;
        let host = self
            .host
            .as_deref()
            .map(host::normalize)
            .transpose()
            .map_err(CommandError::InvalidHost)?;
        let host = host.as_deref();
        let scheduled = self.start.is_some() || self.end.is_some();
        match action {
            Action::Status if scheduled => Err(CommandError::ScheduleWithStatus),
            Action::Off if scheduled => Err(CommandError::ScheduleWithOff),
            Action::Status | Action::Off if self.on_only_option().is_some() => {
                Err(CommandError::OnlyWithOn {
                    option: self.on_only_option().unwrap_or_default(),
                })
            }
            Action::Status if self.json => status_json(maint, host, output),
            Action::Status => status(maint, host, output),
            _ if self.json => Err(CommandError::JsonWithoutStatus),
            Action::Off => self
                .switch(maint, host, Request::Off, input, output)
                .map(drop),
            Action::On => {
                let (state, token) = self.requested_on()?;
                let stored = self.switch(maint, host, Request::On(state), input, output)?;
                // Only a secret that was stored opens anything.
                if let Some(token) = token.filter(|_| stored) {
                    writeln!(output, "bypass: {DEFAULT_PREFIX}/bypass/{token}")
                        .and_then(|()| output.flush())
                        .map_err(CommandError::WriteOutput)?;
                }
                Ok(())
            }
        }
    }

    /// The first option given that only `on` takes, besides `--start` / `--end`.
    fn on_only_option(&self) -> Option<&'static str> {
        [
            ("for", self.for_duration.is_some()),
            ("reason", self.reason.is_some()),
            ("read-only", self.read_only),
            ("secret", self.secret.is_some()),
            ("with-secret", self.with_secret),
        ]
        .into_iter()
        .find_map(|(option, given)| given.then_some(option))
    }

    /// The state `on` asks for, and the token to print for `--with-secret`.
    /// Every option is checked here, before anything is asked or stored.
    fn requested_on(&self) -> Result<(MaintenanceState, Option<String>), CommandError> {
        if self.for_duration.is_some() && self.end.is_some() {
            return Err(CommandError::Conflict("for", "end"));
        }
        if self.secret.is_some() && self.with_secret {
            return Err(CommandError::Conflict("secret", "with-secret"));
        }
        let now = Timestamp::now();
        let start = parse_date("start", self.start.as_deref())?;
        let end = match &self.for_duration {
            Some(text) => Some(end_after(now, text).map_err(CommandError::InvalidDuration)?),
            None => parse_date("end", self.end.as_deref())?,
        };
        let (token, bypass) = match (&self.secret, self.with_secret) {
            (Some(token), _) => (
                None,
                Some(BypassSecret::new(token).map_err(CommandError::InvalidSecret)?),
            ),
            (None, true) => {
                let (token, secret) = BypassSecret::generate();
                (Some(token), Some(secret))
            }
            (None, false) => (None, None),
        };
        let mut details = Schedule::new(start, end).with_read_only(self.read_only);
        details.reason = self.reason.clone();
        details.bypass = bypass;
        let state = MaintenanceState::on_with(details, now).map_err(CommandError::Schedule)?;
        Ok((state, token))
    }

    /// [`run`](Self::run) on the process's stdin and stdout.
    ///
    /// ```no_run
    /// use maint_actix::{MaintenanceMode, MaintenanceSettings};
    /// use maint_actix::command::MaintenanceModeCommand;
    ///
    /// let maint = MaintenanceMode::new(MaintenanceSettings::default()).unwrap();
    /// let status = MaintenanceModeCommand {
    ///     state: "status".into(),
    ///     start: None,
    ///     end: None,
    ///     interactive: false,
    ///     ..Default::default()
    /// };
    /// if let Err(error) = status.run_stdio(&maint) {
    ///     eprintln!("{error}");
    ///     std::process::exit(1);
    /// }
    /// ```
    pub fn run_stdio(&self, maint: &MaintenanceMode) -> Result<(), CommandError> {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        let stdout = io::stdout();
        let mut output = stdout.lock();
        self.run(maint, &mut input, &mut output)
    }

    /// `on` (plain or with details) or `off`: skip when already so, confirm,
    /// store. `true` when the state was stored now.
    fn switch(
        &self,
        maint: &MaintenanceMode,
        host: Option<&str>,
        request: Request,
        input: &mut dyn BufRead,
        output: &mut dyn Write,
    ) -> Result<bool, CommandError> {
        if let Some(mode) = maint.settings().mode {
            // Django: `get_maintenance_mode()` returns the setting, so a request
            // matching it returns early; anything else fails to set.
            return match request {
                Request::On(MaintenanceState::On) if mode => Ok(false),
                Request::Off if !mode => Ok(false),
                _ => Err(CommandError::FixedBySettings(mode)),
            };
        }
        let requested = match request {
            Request::On(state) => state,
            Request::Off => MaintenanceState::Off,
        };
        let stored = match host {
            Some(host) => read_own_state(maint, host)?.or(Some(MaintenanceState::Off)),
            None => read_stored(maint)?,
        };
        if stored.as_ref() == Some(&requested) {
            return Ok(false);
        }
        if self.interactive && !confirm(question(&requested), input, output)? {
            return Ok(false);
        }
        let change = Change::command();
        match host {
            // Off removes the host's own state: it follows the global one again.
            Some(host) => {
                let own = (requested != MaintenanceState::Off).then_some(requested);
                pollster::block_on(maint.set_host_with_change(host, own, change))?;
            }
            None => pollster::block_on(maint.set_with_change(requested, change))?,
        }
        Ok(true)
    }
}

/// The change `on` / `off` asks for.
#[derive(Debug, Clone)]
enum Request {
    On(MaintenanceState),
    Off,
}

fn question(requested: &MaintenanceState) -> &'static str {
    match requested {
        MaintenanceState::Off => "maintenance mode off? (y/N) ",
        _ => "maintenance mode on? (y/N) ",
    }
}

fn parse_date(
    option: &'static str,
    value: Option<&str>,
) -> Result<Option<Timestamp>, CommandError> {
    value
        .map(|value| {
            parse_iso8601(value).map_err(|error| CommandError::InvalidDate {
                option,
                value: value.to_owned(),
                reason: match error {
                    ScheduleError::InvalidDate { reason, .. } => reason,
                    other => other.to_string(),
                },
            })
        })
        .transpose()
}

/// Asks `question`; yes only when the answer starts with `y` or `Y` (Django's
/// `answer.lower().find("y") == 0`). End of input is no.
fn confirm(
    question: &str,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> Result<bool, CommandError> {
    output
        .write_all(question.as_bytes())
        .and_then(|()| output.flush())
        .map_err(CommandError::WriteOutput)?;
    let mut answer = Vec::new();
    input
        .read_until(b'\n', &mut answer)
        .map_err(CommandError::ReadAnswer)?;
    Ok(matches!(answer.first(), Some(b'y' | b'Y')))
}

/// The stored state, `None` when the store holds none and that is not off
/// ([`BackendError::Missing`]); any other failure is the command's.
fn read_stored(maint: &MaintenanceMode) -> Result<Option<MaintenanceState>, CommandError> {
    match pollster::block_on(maint.backend().get()) {
        Ok(stored) => Ok(Some(stored)),
        Err(BackendError::Missing { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The hosts with a state of their own, as the backend holds them now.
fn read_hosts(maint: &MaintenanceMode) -> Result<Vec<(String, StateRecord)>, CommandError> {
    let mut hosts = pollster::block_on(maint.backend().get_hosts())?;
    hosts.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(hosts)
}

/// `host`'s own stored state, `None` when it has none.
fn read_own_record(
    maint: &MaintenanceMode,
    host: &str,
) -> Result<Option<StateRecord>, CommandError> {
    Ok(read_hosts(maint)?
        .into_iter()
        .find(|(name, _)| name == host)
        .map(|(_, record)| record))
}

fn read_own_state(
    maint: &MaintenanceMode,
    host: &str,
) -> Result<Option<MaintenanceState>, CommandError> {
    Ok(read_own_record(maint, host)?.map(|record| record.state))
}

/// The global record as stored; `Err(line)` for a store holding none.
fn read_global(maint: &MaintenanceMode) -> Result<Result<StateRecord, String>, CommandError> {
    match pollster::block_on(maint.backend().get_record()) {
        Ok(record) => Ok(Ok(record)),
        Err(error @ BackendError::Missing { .. }) => Ok(Err(format!(
            "unknown ({error}; running instances keep their last known state until it is set)"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// Prints the state in effect now, read from the backend (or the fixed `mode`),
/// and the change that made it; then each host with a state of its own, one
/// line each. With `host`: the state that host follows.
fn status(
    maint: &MaintenanceMode,
    host: Option<&str>,
    output: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut lines = Vec::new();
    match (maint.settings().mode, host) {
        (Some(mode), _) => lines.push(format!("{} (fixed by the mode setting)", on_off(mode))),
        (None, Some(host)) => lines.push(match read_own_record(maint, host)? {
            Some(record) => status_line(&record, None),
            None => match read_global(maint)? {
                Ok(record) => status_line(&record, Some("follows the global state")),
                Err(unknown) => unknown,
            },
        }),
        (None, None) => {
            lines.push(match read_global(maint)? {
                Ok(record) => status_line(&record, None),
                Err(unknown) => unknown,
            });
            for (host, record) in read_hosts(maint)? {
                lines.push(format!("host {host}: {}", status_line(&record, None)));
            }
        }
    }
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    output
        .write_all(text.as_bytes())
        .and_then(|()| output.flush())
        .map_err(CommandError::WriteOutput)
}

/// `on (scheduled until B, reason: "…"; changed A by X via Y)`.
fn status_line(record: &StateRecord, note: Option<&str>) -> String {
    let now = on_off(record.state.is_active());
    let details = record
        .state
        .schedule()
        .map(describe)
        .filter(|text| !text.is_empty());
    let changed = record
        .change
        .as_ref()
        .map(|change| format!("changed {change}"));
    let parts: Vec<String> = [details, note.map(str::to_owned), changed]
        .into_iter()
        .flatten()
        .collect();
    match parts.is_empty() {
        true => now.to_owned(),
        false => format!("{now} ({})", parts.join("; ")),
    }
}

/// `status --json`: one object with the state in effect now, its details
/// and its last change, plus `hosts` (host → the same object) when some host
/// has a state of its own. With `host`: the object of the state that host
/// follows. A store holding no state (`unknown` in the line form) shows what
/// instances start with, `state_backend_fallback_value`, and logs why (a
/// warning).
fn status_json(
    maint: &MaintenanceMode,
    host: Option<&str>,
    output: &mut dyn Write,
) -> Result<(), CommandError> {
    let own = match (maint.settings().mode, host) {
        (None, Some(host)) => read_own_record(maint, host)?,
        _ => None,
    };
    let object = match own {
        Some(record) => status_object(&record),
        None => {
            let mut object = status_object(&global_for_json(maint)?);
            let hosts = match (maint.settings().mode, host) {
                (None, None) => read_hosts(maint)?,
                _ => Vec::new(),
            };
            if !hosts.is_empty() {
                let hosts: serde_json::Map<String, serde_json::Value> = hosts
                    .iter()
                    .map(|(host, record)| (host.clone(), status_object(record)))
                    .collect();
                object["hosts"] = hosts.into();
            }
            object
        }
    };
    writeln!(output, "{object}")
        .and_then(|()| output.flush())
        .map_err(CommandError::WriteOutput)
}

/// The global record `status --json` shows: the fixed `mode`, the stored
/// one, or the fallback value for a store holding none (logged).
fn global_for_json(maint: &MaintenanceMode) -> Result<StateRecord, CommandError> {
    let (record, problem) = match maint.settings().mode {
        Some(mode) => (
            StateRecord::new(MaintenanceState::from_bool(mode)),
            Some("fixed by the mode setting".to_owned()),
        ),
        None => match pollster::block_on(maint.backend().get_record()) {
            Ok(record) => (record, None),
            Err(error @ BackendError::Missing { .. }) => (
                StateRecord::new(MaintenanceState::from_bool(
                    maint.settings().state_backend_fallback_value,
                )),
                Some(error.to_string()),
            ),
            Err(error) => return Err(error.into()),
        },
    };
    if let Some(problem) = problem {
        // Logged, not printed: stdout holds exactly the object scripts parse.
        tracing::warn!(%problem, "maintenance_mode status --json shows the fallback state");
    }
    Ok(record)
}

/// The object of `status --json` for `record`: exactly the contract's keys.
fn status_object(record: &StateRecord) -> serde_json::Value {
    let state = &record.state;
    let on = state.is_active();
    let schedule = state.schedule();
    let time = |at: Option<jiff::Timestamp>| at.map(|at| at.to_string());
    let change = record.change.as_ref();
    serde_json::json!({
        "maintenance": on,
        "read_only": on && state.is_read_only(),
        "start": time(schedule.and_then(|schedule| schedule.start)),
        "end": time(state.end()),
        "reason": state.reason(),
        "changed_at": time(change.map(|change| change.at)),
        "changed_by": change.map(|change| change.by.as_str()),
        "via": change.map(|change| change.via.as_str()),
    })
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// `scheduled from A to B`, `scheduled from A`, `scheduled until B`, then
/// the reason, `read-only` and `bypass link set`, comma-separated.
fn describe(schedule: &Schedule) -> String {
    let window = match (schedule.start, schedule.end) {
        (Some(start), Some(end)) => Some(format!("scheduled from {start} to {end}")),
        (Some(start), None) => Some(format!("scheduled from {start}")),
        (None, Some(end)) => Some(format!("scheduled until {end}")),
        (None, None) => None,
    };
    // Debug-quoted, so a reason with a line break still prints as one line.
    let reason = schedule
        .reason
        .as_ref()
        .map(|reason| format!("reason: {reason:?}"));
    let read_only = schedule.read_only.then(|| "read-only".to_owned());
    // Whether one is set, never the secret.
    let bypass = schedule
        .bypass
        .is_some()
        .then(|| "bypass link set".to_owned());
    [window, reason, read_only, bypass]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}
