//! Test detection for the `ignore_tests` setting.

/// The environment variable that says tests are running: `1`, `true` or `yes`.
pub const TESTING_ENV_VAR: &str = "MAINT_TESTING";

/// Whether this process runs tests, for `ignore_tests` (Django looks for
/// `manage.py test` / `runtests` in `sys.argv`).
///
/// Rust has no reliable sign of a test run in a dependency (`cfg(test)` is only
/// set for the crate under test, and test binaries look like any other), so maint
/// asks the test run to say so: set `MAINT_TESTING=1` for the run, e.g. in
/// `.cargo/config.toml` (`[env] MAINT_TESTING = "1"`) or the CI job. It is read
/// once, when a handle is built; the builder's
/// [`running_tests`](crate::MaintenanceModeBuilder::running_tests) overrides it.
///
/// ```
/// // Unset in a normal doctest run.
/// assert_eq!(maint_actix::testing::running_tests(), std::env::var("MAINT_TESTING").is_ok_and(|v| v == "1"));
/// ```
pub fn running_tests() -> bool {
    std::env::var(TESTING_ENV_VAR).is_ok_and(|value| {
        matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes"
        )
    })
}
