//! End-to-end: the `example-site` command line ("Starting it" in the contract):
//! the default config, startup errors, `maintenance_mode on|off|status`, the
//! scheduled window, and how fast a running server sees the command's changes.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use maint_test_support::{
    process::run_bounded,
    site::{COMMAND_TIMEOUT, PROPAGATION_LIMIT, Site, toml_path},
};

use crate::EXAMPLE_SITE;

/// The workspace root (`example-site/..`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("example-site/ has a parent")
        .to_owned()
}

/// "`--config` defaults to `example-site/example-site.toml` (a checked-in file
/// that works from the workspace root)": `status` works from the workspace
/// root without `--config`, and fails naming that path from anywhere else.
/// Only `status` runs in the workspace root (it reads, never writes), and the
/// test checks that it leaves no state file behind.
#[test]
fn config_defaults_to_the_checked_in_file_from_the_workspace_root() {
    let root = workspace_root();
    let state_file = root.join("maintenance_mode_state.txt");
    let existed = state_file.exists();

    let mut command = EXAMPLE_SITE.command();
    command
        .args(["maintenance_mode", "status"])
        .current_dir(&root);
    let run = run_bounded(command, COMMAND_TIMEOUT);
    run.assert_success();
    assert!(
        ["on", "off"].contains(&run.first_word()),
        "status prints on or off: {run:?}"
    );
    assert_eq!(
        state_file.exists(),
        existed,
        "`status` created or removed {}",
        state_file.display()
    );

    // Elsewhere the default path does not resolve: the error names it.
    let elsewhere = EXAMPLE_SITE.site("");
    let mut command = EXAMPLE_SITE.command();
    command
        .args(["maintenance_mode", "status"])
        .current_dir(elsewhere.dir());
    let run = run_bounded(command, COMMAND_TIMEOUT);
    let line = run.assert_one_line_failure();
    assert!(
        line.contains("example-site/example-site.toml"),
        "the error names the default config path: {run:?}"
    );
}

/// "The server logs one line containing `listening on HOST:PORT` once it
/// accepts connections": exactly one such line, and a request right after it is served.
#[test]
fn server_logs_listening_on_once_it_accepts_connections() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    // `start` returned as soon as the line appeared: the server must answer now.
    server.client().get("/api/status").assert_status(200);
    let needle = format!("listening on 127.0.0.1:{}", server.port());
    let stderr = server.stderr();
    assert_eq!(
        stderr.lines().filter(|line| line.contains(&needle)).count(),
        1,
        "expected one line containing {needle:?}:\n{stderr}"
    );
}

/// Runs the site's config both ways (the command and the server), expecting
/// each to fail with exactly one line on stderr containing `needle`.
#[track_caller]
fn assert_startup_error(site: &Site, needle: &str) {
    let command = site.command(&["status"]);
    let line = command.assert_one_line_failure();
    assert!(
        line.contains(needle),
        "the command's error mentions {needle:?}: {command:?}"
    );
    let serve = site.serve_expecting_exit();
    let line = serve.assert_one_line_failure();
    assert!(
        line.contains(needle),
        "the server's error mentions {needle:?}: {serve:?}"
    );
}

/// "a non-zero exit and a one-line message on stderr for a bad config file".
#[test]
fn bad_config_file_fails_with_one_line_on_stderr() {
    let unparseable = EXAMPLE_SITE.site_with_config("[maintenance\nmode = \n");
    assert_startup_error(&unparseable, "example-site.toml");

    let wrong_type = EXAMPLE_SITE.site_with_config("[maintenance]\nstatus_code = \"many\"\n");
    assert_startup_error(&wrong_type, "example-site.toml");

    let missing = EXAMPLE_SITE.site("");
    std::fs::remove_file(missing.config()).expect("remove the config");
    assert_startup_error(&missing, "example-site.toml");
}

/// "... for an unknown key" (the contract: "Unknown keys are an error").
#[test]
fn unknown_key_fails_with_one_line_on_stderr() {
    let site = EXAMPLE_SITE.site("no_such_setting = true");
    assert_startup_error(&site, "no_such_setting");

    let prefixed = EXAMPLE_SITE.site("maintenance_mode_ignore_staff = true");
    assert_startup_error(&prefixed, "maintenance_mode_ignore_staff");
}

/// "... for an invalid regex" (`ignore_urls`, `ignore_ip_addresses`).
#[test]
fn invalid_regex_fails_with_one_line_on_stderr() {
    let urls = EXAMPLE_SITE.site(r#"ignore_urls = ["/ok/", "/broken/("]"#);
    assert_startup_error(&urls, "ignore_urls");

    let ips = EXAMPLE_SITE.site(r#"ignore_ip_addresses = ["10\\.[0-9"]"#);
    assert_startup_error(&ips, "ignore_ip_addresses");
}

/// "... for an unwritable state file": `on` with the state file in a missing directory.
#[test]
fn unwritable_state_file_fails_with_one_line_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state_file = dir.path().join("missing-dir").join("state.txt");
    let site = EXAMPLE_SITE.site(&format!("state_file_path = {}", toml_path(&state_file)));
    let run = site.command(&["on"]);
    run.assert_one_line_failure();
    assert!(
        !state_file.parent().expect("parent").exists(),
        "the command created the missing directory"
    );
    let window = site.command(&["on", "--end", "2999-01-01T00:00:00Z"]);
    window.assert_one_line_failure();
}

/// Asserts that `status` printed exactly one line: `word`, alone or followed
/// by a parenthesised description (" (...)").
#[track_caller]
fn assert_status_line(run: &maint_test_support::process::Run, word: &str) {
    run.assert_success();
    let line = run
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("status ends with a line break: {run:?}"));
    assert!(!line.contains('\n'), "status prints one line: {run:?}");
    let rest = line
        .strip_prefix(word)
        .unwrap_or_else(|| panic!("status does not say {word:?}: {run:?}"));
    assert!(
        rest.is_empty() || (rest.starts_with(" (") && rest.ends_with(')')),
        "after {word:?} only a parenthesised description may follow: {run:?}"
    );
}

/// "`maintenance_mode status` prints `on` or `off` (optionally followed by a
/// schedule description) on stdout".
#[test]
fn status_prints_on_or_off() {
    let site = EXAMPLE_SITE.site("");
    let run = site.command(&["status"]);
    run.assert_success();
    assert_eq!(
        run.stdout, "off\n",
        "nothing stored, nothing changed: {run:?}"
    );

    site.set(true);
    let run = site.command(&["status"]);
    assert_status_line(&run, "on");

    site.set(false);
    let run = site.command(&["status"]);
    assert_status_line(&run, "off");
    assert_eq!(site.status(), "off");

    // A state file written by Django (or a person) reads the same, and the
    // change recorded for the old state is not shown for it.
    site.write_state("1");
    let run = site.command(&["status"]);
    run.assert_success();
    assert_eq!(run.stdout, "on\n", "{run:?}");
}

/// What identifies the state file's version: its bytes, inode and modification time.
fn fingerprint(path: &Path) -> Option<(Vec<u8>, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((
        std::fs::read(path).ok()?,
        meta.ino(),
        meta.modified().expect("mtime"),
    ))
}

/// "`maintenance_mode on` when already on (and `off` when already off)
/// succeeds and changes nothing".
#[test]
fn on_when_on_and_off_when_off_succeed_and_change_nothing() {
    let site = EXAMPLE_SITE.site("");
    let file = site.state_file();

    // Off with no state file at all: nothing is created.
    site.set(false);
    assert!(!file.exists(), "`off` when off created the state file");

    site.set(true);
    let before = fingerprint(file).expect("`on` wrote the state file");
    site.set(true);
    assert_eq!(
        fingerprint(file),
        Some(before.clone()),
        "`on` when on changed the file"
    );
    assert_eq!(site.status(), "on");

    site.set(false);
    let before = fingerprint(file).expect("`off` left the state file");
    site.set(false);
    assert_eq!(
        fingerprint(file),
        Some(before),
        "`off` when off changed the file"
    );
    assert_eq!(site.status(), "off");

    // Django's own file contents count as the same state.
    site.write_state("1");
    let before = fingerprint(file).expect("state file");
    site.set(true);
    assert_eq!(fingerprint(file), Some(before), "`on` rewrote Django's `1`");
    site.write_state("0");
    let before = fingerprint(file).expect("state file");
    site.set(false);
    assert_eq!(
        fingerprint(file),
        Some(before),
        "`off` rewrote Django's `0`"
    );
}

/// `maintenance_mode on --start START --end END`, which must succeed.
fn schedule(site: &Site, start: &str, end: &str) {
    site.command(&["on", "--start", start, "--end", end])
        .assert_success();
}

/// "`[--start ISO8601] [--end ISO8601]` (on only) scheduled window": `status`
/// describes it, and the server follows it.
#[test]
fn on_with_start_and_end_schedules_a_window() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();

    // A window in the future: not on yet.
    schedule(&site, "2999-01-01T00:00:00Z", "2999-01-02T00:00:00Z");
    let run = site.command(&["status"]);
    run.assert_success();
    assert_eq!(run.first_word(), "off", "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    assert!(
        run.stdout.contains("2999-01-01") && run.stdout.contains("2999-01-02"),
        "status describes the window: {run:?}"
    );
    assert!(
        !server.anonymous_sees_maintenance(),
        "a future window is not on yet"
    );

    // A window without a start, ending in the future: on now.
    site.command(&["on", "--end", "2999-01-02T00:00:00Z"])
        .assert_success();
    let run = site.command(&["status"]);
    run.assert_success();
    assert_eq!(run.first_word(), "on", "{run:?}");
    assert!(
        run.stdout.contains("2999-01-02"),
        "status shows the end: {run:?}"
    );
    server.await_maintenance(true);

    // A window that started in the past and ends in the future is on, too.
    schedule(&site, "2000-01-01T00:00:00Z", "2999-01-02T00:00:00Z");
    assert_eq!(site.status(), "on");
    server.await_maintenance(true);

    schedule(&site, "2999-01-01T00:00:00Z", "2999-01-02T00:00:00Z");
    server.await_maintenance(false);

    site.set(false);
    assert_eq!(site.status(), "off");
}

/// "The serving process sees a state change made by the command (same state
/// backend) within 1 second, without a restart." Measured from the end of the
/// command to the first request that sees the new state, both ways.
#[test]
fn server_sees_the_commands_change_within_one_second() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    server.await_maintenance(false);

    let mut worst = Duration::ZERO;
    for round in 0..3 {
        for on in [true, false] {
            let started = Instant::now();
            site.set(on);
            let command_took = started.elapsed();
            let seen = server.await_maintenance(on);
            println!(
                "round {round}: maintenance {} seen by the server {seen:?} after the command exited \
                 (the command itself took {command_took:?})",
                if on { "on" } else { "off" }
            );
            worst = worst.max(seen);
            assert!(
                seen < PROPAGATION_LIMIT,
                "the server saw the change after {seen:?}, more than {PROPAGATION_LIMIT:?}"
            );
        }
    }
    println!("worst command-to-server propagation: {worst:?}");
}

/// `mode` in the config: "setting the state (command ...) is refused with a
/// clear error"; `status` still prints the fixed state.
#[test]
fn mode_setting_refuses_the_command() {
    let fixed_on = EXAMPLE_SITE.site("mode = true");
    assert_eq!(fixed_on.status(), "on");
    let off = fixed_on.command(&["off"]);
    let line = off.assert_one_line_failure();
    assert!(
        line.contains("mode"),
        "the error names the mode setting: {off:?}"
    );
    fixed_on
        .command(&["on", "--end", "2999-01-02T00:00:00Z"])
        .assert_one_line_failure();
    // Asking for the state it already has is "on when already on".
    fixed_on.command(&["on"]).assert_success();
    assert!(
        fixed_on.state_bytes().is_none(),
        "the state file was written"
    );
    assert_eq!(fixed_on.status(), "on");

    let fixed_off = EXAMPLE_SITE.site("mode = false");
    fixed_off.write_state("1");
    assert_eq!(fixed_off.status(), "off", "mode overrides the state file");
    let on = fixed_off.command(&["on"]);
    let line = on.assert_one_line_failure();
    assert!(
        line.contains("mode"),
        "the error names the mode setting: {on:?}"
    );
    assert_eq!(fixed_off.state_bytes().as_deref(), Some(&b"1"[..]));
}

/// Issue 9: a 10 MB corrupt state file was copied whole onto the command's
/// stderr. The one line names the file and the size limit, and quotes at
/// most a short prefix.
#[test]
fn huge_garbage_state_file_gives_one_short_line() {
    let site = EXAMPLE_SITE.site("");
    let garbage = "garbage-".repeat(10 * 1024 * 1024 / 8);
    std::fs::write(site.state_file(), &garbage).expect("write the state file");
    for args in [&["status"][..], &["on"], &["off"]] {
        let run = site.command(args);
        let line = run.assert_one_line_failure();
        assert!(
            run.stderr.len() < 300,
            "{args:?}: {} bytes on stderr: {:.400}",
            run.stderr.len(),
            run.stderr
        );
        assert!(
            line.contains(&site.state_file().display().to_string()),
            "{args:?}: names the file: {line}"
        );
        assert!(
            !line.contains(&"garbage-".repeat(6)),
            "{args:?}: more than a short prefix: {line}"
        );
    }
    assert_eq!(
        site.state_bytes().map(|bytes| bytes.len()),
        Some(garbage.len()),
        "the file is left as it was"
    );
}

/// Issue 9: an invalid `redis_url` (here a port out of range, so it does not
/// parse as a URL) was printed with its password.
#[test]
fn invalid_redis_url_is_printed_without_its_password() {
    let site = EXAMPLE_SITE
        .site("state_backend = \"redis\"\nredis_url = \"redis://user:secret@127.0.0.1:99999\"");
    for args in [&["status"][..], &["on"]] {
        let run = site.command(args);
        let line = run.assert_one_line_failure();
        assert!(line.contains("redis_url"), "{args:?}: {run:?}");
        assert!(
            line.contains("127.0.0.1:99999"),
            "names the server: {run:?}"
        );
        assert!(!run.stderr.contains("secret"), "{args:?}: {run:?}");
        assert!(!run.stdout.contains("secret"), "{args:?}: {run:?}");
    }
}
