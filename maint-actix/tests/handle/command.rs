//! The `maintenance_mode` command, ported from django-maintenance-mode's
//! `test_management_commands` (on/off, invalid file path, invalid argument,
//! schedule, interactive) plus aliases, `status`, "already" writing nothing,
//! unreadable and unwritable state files, a fixed `mode`, and clap parsing.

use std::{
    fs,
    io::{self, BufRead, Read, Write},
    path::{Path, PathBuf},
};

use jiff::{Timestamp, ToSpan};
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    command::{
        CommandError, MaintenanceModeCommand,
        clap::{self, CommandFactory, Parser, Subcommand},
    },
    state::Schedule,
    state::ScheduleError,
};
use maint_test_support::app::{build, memory};

use crate::recorded::changed;

/// Far in the future, so the windows below stay valid.
const START: &str = "2999-01-01T02:00:00Z";
const END: &str = "2999-01-01T03:00:00Z";

fn command(state: &str) -> MaintenanceModeCommand {
    MaintenanceModeCommand {
        state: state.to_owned(),
        start: None,
        end: None,
        interactive: false,
        ..Default::default()
    }
}

fn window(state: &str, start: Option<&str>, end: Option<&str>) -> MaintenanceModeCommand {
    MaintenanceModeCommand {
        start: start.map(str::to_owned),
        end: end.map(str::to_owned),
        ..command(state)
    }
}

fn interactive(state: &str) -> MaintenanceModeCommand {
    MaintenanceModeCommand {
        interactive: true,
        ..command(state)
    }
}

/// Runs `cmd` with `answer` as its input; returns what it wrote.
fn run_with(
    maint: &MaintenanceMode,
    cmd: &MaintenanceModeCommand,
    answer: &str,
) -> Result<String, CommandError> {
    let mut output = Vec::new();
    cmd.run(maint, &mut answer.as_bytes(), &mut output)?;
    Ok(String::from_utf8(output).expect("UTF-8 output"))
}

fn run(maint: &MaintenanceMode, cmd: &MaintenanceModeCommand) -> Result<String, CommandError> {
    run_with(maint, cmd, "")
}

fn status(maint: &MaintenanceMode) -> Result<String, CommandError> {
    run(maint, &command("status"))
}

/// The error of a run that must fail, checked to be one line.
fn failure(maint: &MaintenanceMode, cmd: &MaintenanceModeCommand) -> CommandError {
    let error = run(maint, cmd).expect_err("the command must fail");
    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message:?}");
    assert!(!message.is_empty());
    error
}

/// What the backend holds (not the handle's snapshot).
fn stored(maint: &MaintenanceMode) -> MaintenanceState {
    actix_rt::System::new()
        .block_on(maint.backend().get())
        .expect("readable state")
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn state_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("maintenance_mode_state.txt")
}

fn file_backed_at(path: &Path) -> MaintenanceMode {
    build(MaintenanceSettings::default().state_file_path(path))
}

fn file_backed(dir: &tempfile::TempDir) -> MaintenanceMode {
    file_backed_at(&state_file(dir))
}

/// Django's `test_management_commands`, on both backends.
#[test]
fn on_then_off() {
    let dir = tempfile::tempdir().unwrap();
    for maint in [build(memory()), file_backed(&dir)] {
        assert_eq!(run(&maint, &command("on")).unwrap(), "", "quiet");
        assert_eq!(stored(&maint), MaintenanceState::On);
        assert!(maint.is_on(), "the handle's snapshot follows at once");
        assert_eq!(run(&maint, &command("off")).unwrap(), "");
        assert_eq!(stored(&maint), MaintenanceState::Off);
        assert!(!maint.is_on());
    }
    assert_eq!(fs::read_to_string(state_file(&dir)).unwrap(), "0");
}

#[test]
fn state_aliases_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    for maint in [build(memory()), file_backed(&dir)] {
        for on in ["on", "yes", "true", "1", "ON", "Yes", "TRUE", "oN"] {
            run(&maint, &command("off")).unwrap();
            run(&maint, &command(on)).unwrap();
            assert_eq!(stored(&maint), MaintenanceState::On, "{on}");
        }
        for off in ["off", "no", "false", "0", "Off", "NO", "False", "OFF"] {
            run(&maint, &command("on")).unwrap();
            run(&maint, &command(off)).unwrap();
            assert_eq!(stored(&maint), MaintenanceState::Off, "{off}");
        }
        // The last `off` was the command's (issue 12: status shows it).
        let line = format!("off ({})\n", changed(&maint));
        for status_word in ["status", "STATUS", "Status"] {
            assert_eq!(run(&maint, &command(status_word)).unwrap(), line);
        }
    }
}

/// Django's `test_management_commands_invalid_argument`.
#[test]
fn invalid_state_argument() {
    let maint = build(memory());
    for given in ["hello world", "", "enable", "2", "onn", "y"] {
        let error = failure(&maint, &command(given));
        assert!(
            matches!(&error, CommandError::InvalidState { given: g } if g == given),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&format!("{given:?}")), "{message}");
        assert!(message.contains("on|off|status"), "{message}");
    }
    let error = failure(&maint, &command("on\noff"));
    assert!(error.to_string().contains(r#""on\noff""#), "{error}");
    assert_eq!(stored(&maint), MaintenanceState::Off, "nothing changed");
}

#[test]
fn already_on_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    fs::write(&path, "1\n").unwrap();
    let maint = file_backed_at(&path);
    let modified = fs::metadata(&path).unwrap().modified().unwrap();
    for on in ["on", "yes", "1"] {
        assert_eq!(run(&maint, &command(on)).unwrap(), "");
    }
    assert_eq!(
        fs::read(&path).unwrap(),
        b"1\n",
        "Django's bytes are kept as they are"
    );
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), modified);
    assert!(maint.is_on());
}

#[test]
fn already_off_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    fs::write(&path, "0\n").unwrap();
    let maint = file_backed_at(&path);
    assert_eq!(run(&maint, &command("off")).unwrap(), "");
    assert_eq!(fs::read(&path).unwrap(), b"0\n");

    // An empty file is off too (Django reads it as "0").
    fs::write(&path, "").unwrap();
    run(&maint, &command("off")).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");

    // So is no file at all, and `off` does not create one.
    fs::remove_file(&path).unwrap();
    run(&maint, &command("off")).unwrap();
    assert!(!path.exists(), "off when already off creates no file");
}

#[test]
fn already_on_asks_nothing() {
    let maint = build(memory());
    run(&maint, &command("on")).unwrap();
    assert_eq!(run_with(&maint, &interactive("on"), "y\n").unwrap(), "");
    run(&maint, &command("off")).unwrap();
    assert_eq!(run_with(&maint, &interactive("off"), "y\n").unwrap(), "");
}

/// The decision reads the backend, not the handle's snapshot, which another
/// process's change reaches only at the next refresh.
#[test]
fn decisions_read_the_backend_not_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    let maint = file_backed_at(&path);
    for round in 0..20 {
        fs::write(&path, "1").unwrap();
        assert_plain(&status(&maint).unwrap(), "on", round);
        run(&maint, &command("off")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "0", "off was written");

        fs::write(&path, "0").unwrap();
        assert_plain(&status(&maint).unwrap(), "off", round);
        run(&maint, &command("on")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1", "on was written");
    }
}

/// `line` is `{word}` alone (no change known: round 0, where only `echo`
/// wrote the file), or `{word}` with the change the command recorded for
/// that same text in the previous round (a hand-written `1` cannot be told
/// from the command's `1`); never a window.
#[track_caller]
fn assert_plain(line: &str, word: &str, round: usize) {
    if round == 0 && word == "on" {
        assert_eq!(line, format!("{word}\n"));
    } else {
        assert!(
            line == format!("{word}\n")
                || (line.starts_with(&format!("{word} (changed "))
                    && line.ends_with(" via command)\n")),
            "round {round}: {line:?}"
        );
    }
}

/// Django's `test_management_commands_schedule`.
#[test]
fn schedules_like_django() {
    let dir = tempfile::tempdir().unwrap();
    for maint in [build(memory()), file_backed(&dir)] {
        let in_an_hour = (Timestamp::now() + 1.hour()).to_string();

        // An active schedule.
        run(&maint, &window("on", None, Some(&in_an_hour))).unwrap();
        assert!(maint.is_on());
        assert!(matches!(stored(&maint), MaintenanceState::Scheduled(_)));

        // A schedule replaces plain on.
        run(&maint, &command("on")).unwrap();
        run(&maint, &window("on", Some(&in_an_hour), None)).unwrap();
        assert!(!maint.is_on());

        // `off` clears a stored schedule, even one that has not started.
        run(&maint, &command("off")).unwrap();
        assert_eq!(stored(&maint), MaintenanceState::Off);

        // Plain `on` replaces a stored active schedule.
        run(&maint, &window("on", None, Some(&in_an_hour))).unwrap();
        run(&maint, &command("on")).unwrap();
        assert_eq!(stored(&maint), MaintenanceState::On);

        // `off` replaces an active one too.
        run(&maint, &window("on", None, Some(&in_an_hour))).unwrap();
        run(&maint, &command("off")).unwrap();
        assert_eq!(stored(&maint), MaintenanceState::Off);
        assert!(!maint.is_on());
    }
}

#[test]
fn on_replaces_a_schedule_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    fs::write(
        &path,
        r#"{"start": "2999-01-01T02:00:00+00:00", "end": "2999-01-01T03:00:00+00:00"}"#,
    )
    .unwrap();
    let maint = file_backed_at(&path);
    run(&maint, &command("on")).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "1");

    fs::write(
        &path,
        r#"{"start": null, "end": "2999-01-01T03:00:00+00:00"}"#,
    )
    .unwrap();
    run(&maint, &command("off")).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "0");
}

#[test]
fn window_is_stored_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    let maint = file_backed_at(&path);
    // Without an offset a date is UTC; with one it is that instant.
    run(
        &maint,
        &window(
            "on",
            Some("2999-01-01 02:00"),
            Some("2999-01-01T05:00:00+02:00"),
        ),
    )
    .unwrap();
    assert_eq!(
        stored(&maint),
        MaintenanceState::Scheduled(Schedule::new(Some(at(START)), Some(at(END))))
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        r#"{"start":"2999-01-01T02:00:00+00:00","end":"2999-01-01T03:00:00+00:00"}"#
    );

    // A window is stored again even when the same one is stored.
    run(&maint, &window("on", Some(START), Some(END))).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!(
            "off (scheduled from {START} to {END}; {})\n",
            changed(&maint)
        )
    );
}

#[test]
fn start_end_only_with_on() {
    let maint = build(memory());
    run(&maint, &command("on")).unwrap();
    for (start, end) in [
        (None, Some(END)),
        (Some(START), None),
        (Some(START), Some(END)),
    ] {
        for off in ["off", "0", "no"] {
            let error = failure(&maint, &window(off, start, end));
            assert!(matches!(error, CommandError::ScheduleWithOff), "{error:?}");
            assert_eq!(
                error.to_string(),
                "--start / --end options can only be used with 'on' state"
            );
        }
        let error = failure(&maint, &window("status", start, end));
        assert!(
            matches!(error, CommandError::ScheduleWithStatus),
            "{error:?}"
        );
        assert!(error.to_string().contains("'on' state"), "{error}");
    }
    // Even an invalid date: the combination is refused first.
    let error = failure(&maint, &window("off", None, Some("not-a-datetime")));
    assert!(matches!(error, CommandError::ScheduleWithOff), "{error:?}");
    assert_eq!(stored(&maint), MaintenanceState::On, "nothing changed");
}

#[test]
fn invalid_dates_name_the_option_and_the_value() {
    let maint = build(memory());
    for (cmd, option, value) in [
        (
            window("on", None, Some("not-a-datetime")),
            "end",
            "not-a-datetime",
        ),
        (
            window("on", Some("14/07/2999"), None),
            "start",
            "14/07/2999",
        ),
        (
            window("on", Some(START), Some("tomorrow")),
            "end",
            "tomorrow",
        ),
        (window("on", Some(""), None), "start", ""),
    ] {
        let error = failure(&maint, &cmd);
        let CommandError::InvalidDate {
            option: o,
            value: v,
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!((*o, v.as_str()), (option, value));
        let message = error.to_string();
        assert!(message.contains(&format!("--{option}")), "{message}");
        assert!(message.contains(&format!("{value:?}")), "{message}");
        assert!(message.contains("ISO 8601"), "{message}");
    }
    assert_eq!(stored(&maint), MaintenanceState::Off, "nothing changed");
}

#[test]
fn refused_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    fs::write(&path, "1\n").unwrap();
    let maint = file_backed_at(&path);

    let error = failure(&maint, &window("on", Some(END), Some(START)));
    assert!(
        matches!(
            error,
            CommandError::Schedule(ScheduleError::StartNotBeforeEnd { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("must be before end"), "{error}");

    let error = failure(&maint, &window("on", Some(START), Some(START)));
    assert!(
        matches!(
            error,
            CommandError::Schedule(ScheduleError::StartNotBeforeEnd { .. })
        ),
        "start == end: {error:?}"
    );

    let error = failure(&maint, &window("on", None, Some("2000-01-01T00:00:00Z")));
    assert!(
        matches!(
            error,
            CommandError::Schedule(ScheduleError::EndNotInFuture(_))
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("must be in the future"),
        "{error}"
    );

    // A past start is fine (Django does not check it).
    let error = failure(
        &maint,
        &window(
            "on",
            Some("2000-01-01T00:00:00Z"),
            Some("2001-01-01T00:00:00Z"),
        ),
    );
    assert!(matches!(
        error,
        CommandError::Schedule(ScheduleError::EndNotInFuture(_))
    ));
    run(&maint, &window("on", Some("2000-01-01T00:00:00Z"), None)).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!(
            "on (scheduled from 2000-01-01T00:00:00Z; {})\n",
            changed(&maint)
        )
    );

    // A refused window asks nothing.
    fs::write(&path, "1\n").unwrap();
    let mut cmd = window("on", Some(END), Some(START));
    cmd.interactive = true;
    let mut output = Vec::new();
    assert!(cmd.run(&maint, &mut "y\n".as_bytes(), &mut output).is_err());
    assert!(output.is_empty(), "{output:?}");
    assert_eq!(fs::read(&path).unwrap(), b"1\n", "nothing written");
}

/// Django's `test_management_commands_interactive`.
#[test]
fn interactive_like_django() {
    let maint = build(memory());
    assert_eq!(
        run_with(&maint, &interactive("on"), "y").unwrap(),
        "maintenance mode on? (y/N) "
    );
    assert!(maint.is_on());
    run_with(&maint, &interactive("on"), "y").unwrap();
    assert!(maint.is_on());
    assert_eq!(
        run_with(&maint, &interactive("off"), "y").unwrap(),
        "maintenance mode off? (y/N) "
    );
    assert!(!maint.is_on());
    run_with(&maint, &interactive("off"), "y").unwrap();
    assert!(!maint.is_on());
    assert_eq!(
        run_with(&maint, &interactive("on"), "n").unwrap(),
        "maintenance mode on? (y/N) "
    );
    assert!(!maint.is_on());
}

#[test]
fn interactive_answers() {
    let dir = tempfile::tempdir().unwrap();
    for maint in [build(memory()), file_backed(&dir)] {
        for yes in [
            "y\n",
            "Y\n",
            "yes\n",
            "YES please\n",
            "y",
            "y\r\n",
            "yy\nn\n",
        ] {
            run(&maint, &command("off")).unwrap();
            run_with(&maint, &interactive("on"), yes).unwrap();
            assert_eq!(stored(&maint), MaintenanceState::On, "{yes:?}");
        }
        for no in [
            "", "\n", "n\n", "N\n", "no\n", " y\n", "\ny\n", "oui\n", "1\n",
        ] {
            run(&maint, &command("off")).unwrap();
            assert_eq!(
                run_with(&maint, &interactive("on"), no).unwrap(),
                "maintenance mode on? (y/N) ",
                "{no:?}"
            );
            assert_eq!(stored(&maint), MaintenanceState::Off, "{no:?}");
        }
        // Off, and a window, ask the same way.
        run(&maint, &command("on")).unwrap();
        run_with(&maint, &interactive("off"), "n\n").unwrap();
        assert_eq!(stored(&maint), MaintenanceState::On);
        run_with(&maint, &interactive("off"), "y\n").unwrap();
        assert_eq!(stored(&maint), MaintenanceState::Off);

        let mut scheduled = window("on", Some(START), Some(END));
        scheduled.interactive = true;
        assert_eq!(
            run_with(&maint, &scheduled, "N\n").unwrap(),
            "maintenance mode on? (y/N) "
        );
        assert_eq!(stored(&maint), MaintenanceState::Off);
        run_with(&maint, &scheduled, "y\n").unwrap();
        assert!(matches!(stored(&maint), MaintenanceState::Scheduled(_)));
    }
}

#[test]
fn interactive_answer_not_utf8_is_read_as_bytes() {
    let maint = build(memory());
    let mut output = Vec::new();
    interactive("on")
        .run(&maint, &mut &b"y\xff\xfe\n"[..], &mut output)
        .unwrap();
    assert!(maint.is_on());
    interactive("off")
        .run(&maint, &mut &b"\xff\n"[..], &mut output)
        .unwrap();
    assert!(maint.is_on(), "declined");
}

/// Input that fails to read.
struct Broken;

impl Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("terminal gone"))
    }
}

impl BufRead for Broken {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Err(io::Error::other("terminal gone"))
    }
    fn consume(&mut self, _: usize) {}
}

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn unreadable_answer_is_an_error_and_changes_nothing() {
    let maint = build(memory());
    let mut output = Vec::new();
    let error = interactive("on")
        .run(&maint, &mut Broken, &mut output)
        .unwrap_err();
    assert!(matches!(error, CommandError::ReadAnswer(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("terminal gone"), "{message}");
    assert!(!message.contains('\n'));
    assert_eq!(output, b"maintenance mode on? (y/N) ");
    assert!(!maint.is_on());
}

#[test]
fn unwritable_output_is_an_error() {
    let maint = build(memory());
    let error = command("status")
        .run(&maint, &mut io::empty(), &mut Broken)
        .unwrap_err();
    assert!(matches!(error, CommandError::WriteOutput(_)), "{error:?}");
    assert!(error.to_string().contains("pipe closed"), "{error}");

    // The question cannot be asked: nothing changes.
    let error = interactive("on")
        .run(&maint, &mut "y\n".as_bytes(), &mut Broken)
        .unwrap_err();
    assert!(matches!(error, CommandError::WriteOutput(_)), "{error:?}");
    assert!(!maint.is_on());

    // Quiet commands write nothing, so they cannot fail to.
    command("on")
        .run(&maint, &mut io::empty(), &mut Broken)
        .unwrap();
    assert!(maint.is_on());
}

#[test]
fn status_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    let maint = file_backed_at(&path);
    assert_eq!(status(&maint).unwrap(), "off\n", "no file");
    run(&maint, &command("on")).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("on ({})\n", changed(&maint))
    );
    run(&maint, &command("off")).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("off ({})\n", changed(&maint))
    );

    // Inside a window that ends.
    run(&maint, &window("on", None, Some(END))).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("on (scheduled until {END}; {})\n", changed(&maint))
    );
    // Before a window.
    run(&maint, &window("on", Some(START), Some(END))).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!(
            "off (scheduled from {START} to {END}; {})\n",
            changed(&maint)
        )
    );
    run(&maint, &window("on", Some(START), None)).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("off (scheduled from {START}; {})\n", changed(&maint))
    );

    // Django-written files, including a window that has ended: states the
    // command did not write, so no change is shown (issue 12), not the
    // command's last one.
    for (text, line) in [
        ("1\n", "on".to_owned()),
        ("0\n", "off".to_owned()),
        ("", "off".to_owned()),
        (
            r#"{"start": "2000-01-01T02:00:00+00:00", "end": "2999-01-01T03:00:00+00:00"}"#,
            format!("on (scheduled from 2000-01-01T02:00:00Z to {END})"),
        ),
        (
            r#"{"start": "2000-01-01T02:00:00", "end": "2000-01-01T03:00:00"}"#,
            "off (scheduled from 2000-01-01T02:00:00Z to 2000-01-01T03:00:00Z)".to_owned(),
        ),
        (
            r#"{"start": null, "end": "2999-01-01T05:00:00+02:00"}"#,
            format!("on (scheduled until {END})"),
        ),
    ] {
        fs::write(&path, text).unwrap();
        let out = status(&maint).unwrap();
        assert_eq!(out, format!("{line}\n"), "{text:?}");
        let first = out.split_whitespace().next().unwrap();
        assert!(first == "on" || first == "off");
    }

    // A window with a reason (a maint extension) stays on one line.
    fs::write(
        &path,
        r#"{"start": null, "end": "2999-01-01T03:00:00Z", "reason": "database\nupgrade"}"#,
    )
    .unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("on (scheduled until {END}, reason: \"database\\nupgrade\")\n")
    );
}

#[test]
fn status_on_memory() {
    let maint = build(memory());
    assert_eq!(status(&maint).unwrap(), "off\n");
    run(&maint, &command("1")).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("on ({})\n", changed(&maint))
    );
    run(&maint, &window("on", None, Some(END))).unwrap();
    assert_eq!(
        status(&maint).unwrap(),
        format!("on (scheduled until {END}; {})\n", changed(&maint))
    );
}

/// `run_stdio` is `run` on stdin and stdout; `status` reads no input.
#[test]
fn run_stdio_status() {
    let maint = build(memory());
    command("status").run_stdio(&maint).unwrap();
    command("on").run_stdio(&maint).unwrap();
    assert!(maint.is_on());
}

fn fixed(mode: bool, path: &Path) -> MaintenanceMode {
    build(
        MaintenanceSettings::default()
            .mode(mode)
            .state_file_path(path),
    )
}

#[test]
fn fixed_mode_like_django() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    for mode in [true, false] {
        let maint = fixed(mode, &path);
        let (same, other) = if mode { ("on", "off") } else { ("off", "on") };

        // The request matches the setting: Django returns early, successfully.
        assert_eq!(run_with(&maint, &interactive(same), "y\n").unwrap(), "");
        run(&maint, &command(same)).unwrap();
        assert!(!path.exists(), "nothing written");

        let error = failure(&maint, &command(other));
        assert!(
            matches!(error, CommandError::FixedBySettings(m) if m == mode),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "fixed to {same} by the `mode` setting and cannot be changed"
            )),
            "{message}"
        );
        // Refused before anything is asked.
        let mut output = Vec::new();
        assert!(
            interactive(other)
                .run(&maint, &mut "y\n".as_bytes(), &mut output)
                .is_err()
        );
        assert!(output.is_empty());

        let error = failure(&maint, &window("on", None, Some(END)));
        assert!(
            matches!(error, CommandError::FixedBySettings(_)),
            "{error:?}"
        );
        let error = failure(&maint, &window("off", None, Some(END)));
        assert!(matches!(error, CommandError::ScheduleWithOff), "{error:?}");

        assert_eq!(
            status(&maint).unwrap(),
            format!("{same} (fixed by the mode setting)\n")
        );
        assert!(!path.exists(), "nothing written");
    }
}

/// `mode` overrides the backend: the command does not read it, so a broken
/// state file does not matter.
#[test]
fn fixed_mode_ignores_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    fs::write(&path, "garbage").unwrap();
    let maint = fixed(true, &path);
    assert_eq!(status(&maint).unwrap(), "on (fixed by the mode setting)\n");
    run(&maint, &command("on")).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"garbage");
}

fn assert_names(error: &CommandError, path: &Path, reason: &str) {
    assert!(matches!(error, CommandError::Backend(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the full path: {message}"
    );
    assert!(message.contains(reason), "{reason:?} in {message}");
    assert!(!message.contains('\n'), "{message:?}");
}

/// Django's `test_management_commands_invalid_file_path`, reading side: a
/// state file that cannot be read fails, whatever the fallback value says.
#[test]
fn unreadable_state_file() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: unreadable even for root.
    let path = state_file(&dir);
    fs::create_dir(&path).unwrap();
    let maint = build(
        MaintenanceSettings::default()
            .state_file_path(&path)
            .state_backend_fallback_value(true),
    );
    assert!(maint.is_on(), "the snapshot falls back");
    for cmd in [
        command("status"),
        command("on"),
        command("off"),
        interactive("on"),
    ] {
        let mut output = Vec::new();
        let error = cmd
            .run(&maint, &mut "y\n".as_bytes(), &mut output)
            .unwrap_err();
        assert_names(&error, &path, "cannot read");
        assert!(output.is_empty(), "nothing printed or asked: {output:?}");
    }
}

#[test]
fn corrupted_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    for text in ["garbage", "2\n", r#"{"start": "yesterday"}"#, "{not json"] {
        fs::write(&path, text).unwrap();
        let maint = build(
            MaintenanceSettings::default()
                .state_file_path(&path)
                .state_backend_fallback_value(false),
        );
        for cmd in [command("status"), command("on"), command("off")] {
            let error = failure(&maint, &cmd);
            assert_names(&error, &path, "corrupted");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "left as it was");
    }
}

/// Django's `test_management_commands_invalid_file_path`, writing side.
#[test]
fn unwritable_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("missing")
        .join("maintenance_mode_state.txt");
    let maint = file_backed_at(&path);
    // No file reads as off, so `off` has nothing to do…
    run(&maint, &command("off")).unwrap();
    assert_eq!(status(&maint).unwrap(), "off\n");
    // …while `on` and a window must write, and cannot.
    for cmd in [command("on"), window("on", None, Some(END))] {
        let error = failure(&maint, &cmd);
        assert_names(&error, &path, "cannot write");
        let message = error.to_string();
        assert!(
            message.contains(&io::Error::from(io::ErrorKind::NotFound).to_string())
                || message.contains("os error 2"),
            "the OS reason: {message}"
        );
    }
    assert!(!maint.is_on());
}

// Embedding in an app's clap parser.

#[derive(Parser, Debug)]
#[command(name = "app")]
struct App {
    #[arg(long)]
    config: Option<String>,
    #[command(subcommand)]
    command: Option<AppCommand>,
}

#[derive(Subcommand, Debug)]
enum AppCommand {
    #[command(name = "maintenance_mode")]
    MaintenanceMode(MaintenanceModeCommand),
}

fn parse(args: &[&str]) -> Result<MaintenanceModeCommand, clap::Error> {
    let app = App::try_parse_from(args)?;
    match app.command {
        Some(AppCommand::MaintenanceMode(cmd)) => Ok(cmd),
        None => panic!("no subcommand in {args:?}"),
    }
}

#[test]
fn clap_parses_the_subcommand() {
    assert_eq!(
        parse(&[
            "app",
            "maintenance_mode",
            "on",
            "--end",
            "2030-01-01T00:00:00Z"
        ])
        .unwrap(),
        MaintenanceModeCommand {
            state: "on".into(),
            start: None,
            end: Some("2030-01-01T00:00:00Z".into()),
            interactive: false,
            ..Default::default()
        }
    );
    assert_eq!(
        parse(&[
            "app",
            "--config",
            "site.toml",
            "maintenance_mode",
            "--interactive",
            "--start=2030-01-01T00:00:00Z",
            "ON",
            "--end",
            "2030-01-01 03:00",
        ])
        .unwrap(),
        MaintenanceModeCommand {
            state: "ON".into(),
            start: Some("2030-01-01T00:00:00Z".into()),
            end: Some("2030-01-01 03:00".into()),
            interactive: true,
            ..Default::default()
        }
    );
    assert_eq!(
        parse(&["app", "maintenance_mode", "status"]).unwrap(),
        command("status")
    );
    // The state word is checked when run, so clap takes any word.
    assert_eq!(
        parse(&["app", "maintenance_mode", "hello"]).unwrap(),
        command("hello")
    );
    assert!(App::try_parse_from(["app"]).unwrap().command.is_none());
}

/// Django's `test_management_commands_no_arguments`, and other misuse.
#[test]
fn clap_refuses_bad_usage() {
    for args in [
        &["app", "maintenance_mode"][..],
        &["app", "maintenance_mode", "on", "off"],
        &["app", "maintenance_mode", "on", "--end"],
        &["app", "maintenance_mode", "on", "--reasons", "x"],
        &["app", "maintenance_mode", "on", "--for"],
        &["app", "maintenance-mode", "on"],
    ] {
        assert!(parse(args).is_err(), "{args:?}");
    }
}

#[test]
fn clap_help_describes_the_command() {
    App::command().debug_assert();
    let mut app = App::command();
    let help = app
        .find_subcommand_mut("maintenance_mode")
        .expect("the subcommand")
        .render_help()
        .to_string();
    for expected in [
        "Turn maintenance mode on or off",
        "on|off|status",
        "--start <ISO8601>",
        "--end <ISO8601>",
        "--interactive",
    ] {
        assert!(help.contains(expected), "{expected:?} in\n{help}");
    }
}

#[test]
fn parsed_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let maint = file_backed(&dir);
    parse(&["app", "maintenance_mode", "on", "--end", END])
        .unwrap()
        .run(&maint, &mut io::empty(), &mut io::sink())
        .unwrap();
    assert!(maint.is_on());
    let mut out = Vec::new();
    parse(&["app", "maintenance_mode", "status"])
        .unwrap()
        .run(&maint, &mut io::empty(), &mut out)
        .unwrap();
    let expected = format!("on (scheduled until {END}; {})\n", changed(&maint));
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

/// Issue 9: a FIFO at the state path made `status` (and `on` / `off`) hang
/// in `open()`. It is an error naming the file, at once.
#[cfg(unix)]
#[test]
fn fifo_state_file_fails_at_once() {
    use maint_test_support::{poll::within, process::mkfifo};

    let dir = tempfile::tempdir().unwrap();
    let path = state_file(&dir);
    mkfifo(&path);
    let fifo = path.clone();
    let errors = within(std::time::Duration::from_secs(5), move || {
        let maint = file_backed_at(&fifo);
        ["status", "on", "off"]
            .into_iter()
            .map(|state| failure(&maint, &command(state)).to_string())
            .collect::<Vec<String>>()
    })
    .expect("the command must not block on a FIFO");
    for message in errors {
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("not a regular file (a FIFO)"), "{message}");
    }
}
