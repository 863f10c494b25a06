//! The soak section (`--only soak`): runs [`crate::soak`] and writes
//! its description, table and verdict.

use crate::{cli::Cli, report::Report, soak};

/// Runs the soak and writes its section; whether it passed.
pub fn run(cli: &Cli, report: &mut Report) -> Result<bool, String> {
    let options = soak::Options::new(
        cli.bin_dir.join("example-site"),
        &cli.redis_server,
        cli.workdir.clone(),
        cli.seconds,
    );
    report.line("## Soak: hostile traffic while maintenance toggles and Redis dies");
    report.line("");
    report.line(&format!(
        "The release `example-site` on a Redis of its own (`state_backend = \"redis\"`); {} clients \
         send requests with random methods, paths, cookies, `Accept`, `X-Forwarded-For` and \
         `Forwarded`; `maintenance_mode on|off` every {} s; Redis `SIGKILL`ed and restarted every \
         ~{} s. A `503` with `Retry-After` is the maintenance page; any other `5xx` is an error; no \
         answer within {} s is a hung request.",
        options.clients,
        options.toggle_every.as_secs(),
        options.redis_kill_every.as_secs(),
        options.hang_timeout.as_secs()
    ));
    report.line("");
    let outcome = soak::run(&options)?;
    for line in outcome.report_lines(&options) {
        report.line(&line);
    }
    report.line("");
    report.line(&format!(
        "Result: **{}**. Reproduce: `bench/run --only soak --seconds {}` (site log: `{}`, removed with the work directory).",
        if outcome.passed() { "passed" } else { "FAILED" },
        cli.seconds,
        outcome.site_log.display()
    ));
    report.line("");
    Ok(outcome.passed())
}
