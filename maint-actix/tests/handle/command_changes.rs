//! Issue 12 in the `maintenance_mode` command: `on` and `off` record the
//! change (by the OS user at the host, via `command`), `status` shows the
//! last change after the state, `status --json` prints one object with
//! exactly the contract's keys (the state and its last change; why it shows
//! a fallback or fixed state is logged, not printed), and `--json` goes with
//! `status` only.

use std::{
    collections::BTreeSet,
    fs, io,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use jiff::Timestamp;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    backend::{BackendError, StateBackend},
    change::{Change, Via},
    command::{CommandError, MaintenanceModeCommand},
    state::Schedule,
};
use maint_test_support::app::{build, memory};
use serde_json::{Value, json};

use crate::recorded::{command_change, host_name};

/// Far in the future, so the windows below stay valid.
const START: &str = "2999-01-01T02:00:00Z";
const END: &str = "2999-01-01T03:00:00Z";
/// When the hand-made changes below were made.
const AT: &str = "2030-01-01T02:00:00Z";
/// A valid bypass token (20 URL-safe characters).
const TOKEN: &str = "let-me-in-0123456789";

/// The keys of `status --json`: always all of them, and only them (the
/// example-site contract: no `problem`, no `bypass_secret_set`).
const KEYS: [&str; 8] = [
    "maintenance",
    "read_only",
    "start",
    "end",
    "reason",
    "changed_at",
    "changed_by",
    "via",
];

/// The message of the warning `status --json` logs when it shows a state
/// that is not the stored one (none stored, or fixed by `mode`).
const FALLBACK_WARNING: &str = "maintenance_mode status --json shows the fallback state";

fn command(state: &str) -> MaintenanceModeCommand {
    MaintenanceModeCommand {
        state: state.to_owned(),
        ..Default::default()
    }
}

fn json_status() -> MaintenanceModeCommand {
    MaintenanceModeCommand {
        json: true,
        ..command("status")
    }
}

fn run(maint: &MaintenanceMode, cmd: &MaintenanceModeCommand) -> Result<String, CommandError> {
    let mut output = Vec::new();
    cmd.run(maint, &mut io::empty(), &mut output)?;
    Ok(String::from_utf8(output).expect("UTF-8 output"))
}

fn status(maint: &MaintenanceMode) -> String {
    run(maint, &command("status")).expect("status runs")
}

/// `status --json`, checked to be one line holding one object with exactly
/// the contract's keys.
#[track_caller]
fn status_json(maint: &MaintenanceMode) -> Value {
    let output = run(maint, &json_status()).expect("status --json runs");
    let line = output
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("one line: {output:?}"));
    assert!(!line.contains('\n'), "one line: {output:?}");
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let keys: BTreeSet<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"))
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = KEYS.into_iter().collect();
    assert_eq!(keys, expected, "{line}");
    value
}

/// What `f` logs on this thread (at INFO and above), plain text, and its value.
fn logged<T>(f: impl FnOnce() -> T) -> (String, T) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let value = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).expect("UTF-8 log");
    (text, value)
}

/// The lines of `log` holding the fallback warning.
fn fallback_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains(FALLBACK_WARNING))
        .collect()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn set(maint: &MaintenanceMode, state: MaintenanceState, change: Change) {
    pollster::block_on(maint.set_with_change(state, change)).expect("stored");
}

/// What the backend holds (not the handle's snapshot).
fn stored(maint: &MaintenanceMode) -> MaintenanceState {
    pollster::block_on(maint.backend().get()).expect("readable state")
}

#[test]
fn status_shows_the_last_change_after_the_state() {
    let maint = build(memory());
    set(
        &maint,
        MaintenanceState::On,
        Change::new("alice@web-1", Via::Command).at(at(AT)),
    );
    assert_eq!(
        status(&maint),
        format!("on (changed {AT} by alice@web-1 via command)\n")
    );
    set(
        &maint,
        MaintenanceState::Off,
        Change::new("ada", Via::Route).at(at(AT)),
    );
    assert_eq!(
        status(&maint),
        format!("off (changed {AT} by ada via route)\n")
    );

    // After the window's description, separated by a semicolon.
    let window = Schedule::new(None, Some(at(END)))
        .with_reason("y")
        .with_read_only(true);
    set(
        &maint,
        MaintenanceState::Scheduled(window),
        Change::new("deploy-bot", Via::Api).at(at(AT)),
    );
    assert_eq!(
        status(&maint),
        format!(
            "on (scheduled until {END}, reason: \"y\", read-only; changed {AT} by deploy-bot via api)\n"
        )
    );

    // A name that is not plain is quoted: the line stays one line.
    set(
        &maint,
        MaintenanceState::On,
        Change::new("eve\nmaintenance state changed", Via::Route).at(at(AT)),
    );
    assert_eq!(
        status(&maint),
        format!("on (changed {AT} by \"eve\\nmaintenance state changed\" via route)\n")
    );

    // No change known (a state stored without one): the plain word.
    pollster::block_on(maint.backend().set(&MaintenanceState::On)).unwrap();
    assert_eq!(status(&maint), "on\n");
}

/// The change is read from the backend, like the state: another process's
/// change shows, a state file written by hand shows none.
#[test]
fn status_reads_the_change_from_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maintenance_mode_state.txt");
    let settings = MaintenanceSettings::default().state_file_path(&path);
    let maint = build(settings.clone());
    let other = build(settings);
    set(
        &other,
        MaintenanceState::On,
        Change::new("grace", Via::Route).at(at(AT)),
    );
    assert_eq!(
        status(&maint),
        format!("on (changed {AT} by grace via route)\n")
    );
    fs::write(&path, "0").unwrap();
    assert_eq!(status(&maint), "off\n", "Django's file: no change");
}

#[test]
fn on_and_off_record_the_command_and_already_so_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maintenance_mode_state.txt");
    let maint = build(MaintenanceSettings::default().state_file_path(&path));
    run(&maint, &command("on")).unwrap();
    let on = command_change(&maint);
    assert_eq!(
        maint.last_change(),
        Some(on.clone()),
        "the handle knows it at once"
    );
    // Already on: nothing is written, so the change stays the first one.
    run(&maint, &command("on")).unwrap();
    assert_eq!(command_change(&maint), on);

    run(&maint, &command("off")).unwrap();
    let off = command_change(&maint);
    assert!(off.at >= on.at, "{off:?} after {on:?}");
    assert_eq!(maint.last_change(), Some(off));
    assert_eq!(fs::read_to_string(&path).unwrap(), "0", "Django's text");
}

/// The contract: `changed_by` of the command is the OS user and the host
/// name (`user@host`): the account the process runs as (`id -un`), which
/// `$USER` may not name (cron, systemd units, `docker exec` leave it unset).
#[test]
fn changed_by_is_the_os_user_at_the_host() {
    let maint = build(memory());
    run(&maint, &command("on")).unwrap();
    let json = status_json(&maint);
    let by = json["changed_by"].as_str().expect("changed_by");
    let (user, host) = by.split_once('@').unwrap_or_else(|| panic!("{json}"));
    assert_eq!(host, host_name(), "{json}");
    let account = std::process::Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.is_empty());
    match account {
        Some(account) => assert_eq!(user, account, "{json}"),
        None => assert!(!user.is_empty() && user != "unknown", "{json}"),
    }
    assert_eq!(json["via"], "command", "{json}");
}

#[test]
fn status_json_when_off_and_nothing_known() {
    let maint = build(memory());
    let (log, json) = logged(|| status_json(&maint));
    assert_eq!(
        json,
        json!({
            "maintenance": false, "read_only": false, "start": null, "end": null,
            "reason": null, "changed_at": null, "changed_by": null, "via": null,
        })
    );
    assert_eq!(
        fallback_warnings(&log),
        Vec::<&str>::new(),
        "a stored state: {log}"
    );
}

/// A store that holds no state and for which that is not "off" (a Redis
/// flushed): `BackendError::Missing`.
#[derive(Debug)]
struct Empty;

#[async_trait]
impl StateBackend for Empty {
    async fn get(&self) -> Result<MaintenanceState, BackendError> {
        Err(BackendError::Missing {
            location: "empty-store:state".to_owned(),
        })
    }

    async fn set(&self, _: &MaintenanceState) -> Result<(), BackendError> {
        panic!("status --json never writes")
    }
}

/// A store that holds no state: `status --json` shows what instances start
/// with (`state_backend_fallback_value`) and no change, prints nothing else
/// (no `problem` key), and logs why in one warning naming the store.
#[test]
fn status_json_of_a_missing_state_shows_the_fallback_and_logs_why() {
    for fallback in [false, true] {
        let maint = MaintenanceMode::builder(memory().state_backend_fallback_value(fallback))
            .backend(Empty)
            .build()
            .unwrap();
        let (log, json) = logged(|| status_json(&maint));
        assert_eq!(
            json,
            json!({
                "maintenance": fallback, "read_only": false, "start": null, "end": null,
                "reason": null, "changed_at": null, "changed_by": null, "via": null,
            })
        );
        let warnings = fallback_warnings(&log);
        assert_eq!(warnings.len(), 1, "one warning: {log}");
        assert!(warnings[0].contains("WARN"), "{log}");
        assert!(warnings[0].contains("problem="), "{log}");
        assert!(
            warnings[0].contains("no maintenance state stored in empty-store:state"),
            "the warning says why: {log}"
        );
        assert!(
            status(&maint).starts_with("unknown ("),
            "{}",
            status(&maint)
        );
    }
}

#[test]
fn status_json_when_on_shows_the_command_change() {
    let maint = build(memory());
    run(&maint, &command("on")).unwrap();
    let change = command_change(&maint);
    assert_eq!(
        status_json(&maint),
        json!({
            "maintenance": true, "read_only": false, "start": null, "end": null,
            "reason": null, "changed_at": change.at.to_string(), "changed_by": change.by,
            "via": "command",
        })
    );

    run(&maint, &command("off")).unwrap();
    let change = command_change(&maint);
    let json = status_json(&maint);
    assert_eq!(json["maintenance"], false, "{json}");
    assert_eq!(json["changed_at"], change.at.to_string(), "{json}");
    let changed_at: Timestamp = json["changed_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(changed_at, change.at, "ISO 8601, exact");
}

#[test]
fn status_json_of_a_window_its_reason_and_read_only_mode() {
    let maint = build(memory());
    // A window still to open: not in effect, so not read-only either.
    let cmd = MaintenanceModeCommand {
        start: Some(START.into()),
        end: Some(END.into()),
        reason: Some("database \"upgrade\"\nstep 2".into()),
        read_only: true,
        ..command("on")
    };
    run(&maint, &cmd).unwrap();
    let json = status_json(&maint);
    assert_eq!(json["maintenance"], false, "{json}");
    assert_eq!(json["read_only"], false, "not in effect: {json}");
    assert_eq!(json["start"], START, "{json}");
    assert_eq!(json["end"], END, "{json}");
    assert_eq!(json["reason"], "database \"upgrade\"\nstep 2", "{json}");
    assert_eq!(json["via"], "command", "{json}");

    // An open window in read-only mode.
    let cmd = MaintenanceModeCommand {
        end: Some(END.into()),
        read_only: true,
        ..command("on")
    };
    run(&maint, &cmd).unwrap();
    let json = status_json(&maint);
    assert_eq!(json["maintenance"], true, "{json}");
    assert_eq!(json["read_only"], true, "{json}");
    assert_eq!(json["start"], Value::Null, "{json}");
    assert_eq!(json["end"], END, "{json}");
    assert_eq!(json["reason"], Value::Null, "{json}");

    // `--for`: the end it stored.
    let cmd = MaintenanceModeCommand {
        for_duration: Some("2h".into()),
        ..command("on")
    };
    run(&maint, &cmd).unwrap();
    let end = stored(&maint).end().expect("an end").to_string();
    assert_eq!(status_json(&maint)["end"], end);
}

/// The contract's `status --json` has no key for the bypass secret: the
/// plain `status` line says whether one is set (`bypass link set`); neither
/// prints the secret or its digest.
#[test]
fn status_json_never_prints_a_secret_and_status_says_one_is_set() {
    let maint = build(memory());
    let cmd = MaintenanceModeCommand {
        secret: Some(TOKEN.into()),
        ..command("on")
    };
    run(&maint, &cmd).unwrap();
    let output = run(&maint, &json_status()).unwrap();
    let json = status_json(&maint);
    assert_eq!(json["maintenance"], true, "{json}");
    assert!(json.get("bypass_secret_set").is_none(), "{json}");
    let line = status(&maint);
    assert!(line.starts_with("on (bypass link set; changed "), "{line}");
    let digest = stored(&maint).bypass().expect("a secret").to_stored();
    for output in [&output, &line] {
        assert!(!output.contains(TOKEN), "{output}");
        assert!(!output.contains(&digest), "{output}");
    }

    run(&maint, &command("off")).unwrap();
    assert!(!status(&maint).contains("bypass"), "{}", status(&maint));
    assert_eq!(status_json(&maint)["maintenance"], false);
}

#[test]
fn status_json_of_a_fixed_mode_shows_it_and_logs_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maintenance_mode_state.txt");
    fs::write(&path, "garbage").unwrap();
    let maint = build(
        MaintenanceSettings::default()
            .state_file_path(&path)
            .mode(true),
    );
    let (log, json) = logged(|| status_json(&maint));
    assert_eq!(json["maintenance"], true, "{json}");
    assert_eq!(json["changed_by"], Value::Null, "{json}");
    let warnings = fallback_warnings(&log);
    assert_eq!(warnings.len(), 1, "one warning: {log}");
    assert!(warnings[0].contains("WARN"), "{log}");
    assert!(warnings[0].contains("mode setting"), "{log}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "garbage",
        "the file is not read, nor written"
    );
}

/// A state that cannot be read fails `status --json` as it fails `status`,
/// naming the file; nothing is printed.
#[test]
fn status_json_of_a_corrupted_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maintenance_mode_state.txt");
    fs::write(&path, "garbage").unwrap();
    let maint = build(MaintenanceSettings::default().state_file_path(&path));
    let mut output = Vec::new();
    let error = json_status()
        .run(&maint, &mut io::empty(), &mut output)
        .unwrap_err();
    assert!(matches!(error, CommandError::Backend(_)), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(output.is_empty(), "{output:?}");
}

#[test]
fn json_goes_with_status_only() {
    let maint = build(memory());
    for state in ["on", "off", "1", "no"] {
        let cmd = MaintenanceModeCommand {
            json: true,
            ..command(state)
        };
        let mut output = Vec::new();
        let error = cmd
            .run(&maint, &mut "y\n".as_bytes(), &mut output)
            .unwrap_err();
        assert!(
            matches!(error, CommandError::JsonWithoutStatus),
            "{state}: {error:?}"
        );
        assert_eq!(error.to_string(), "--json can only be used with 'status'");
        assert!(output.is_empty(), "{output:?}");
        assert_eq!(
            stored(&maint),
            MaintenanceState::Off,
            "{state}: nothing changed"
        );
    }
    // With on's own options too: nothing is stored.
    let cmd = MaintenanceModeCommand {
        json: true,
        with_secret: true,
        ..command("on")
    };
    let output = run(&maint, &cmd);
    assert!(
        matches!(output, Err(CommandError::JsonWithoutStatus)),
        "{output:?}"
    );
    assert_eq!(stored(&maint), MaintenanceState::Off);
}
