//! `perf stat -e instructions:u`: whole-process instruction counts of
//! `hot-path`, where the machine has the counter (callgrind stands in where
//! it has not).

use std::{path::Path, process::Command, time::Duration};

use maint_bench::Case;

use crate::{harness::process::run_bounded, report::Report};

/// Requests per `hot-path` run under `perf stat`.
const REQUESTS: usize = 200_000;

/// Writes the `perf stat` table, or why the machine cannot give one.
pub fn write(report: &mut Report, hot_path: &Path) -> Result<(), String> {
    let probe = run_bounded(
        Command::new("perf").args(["stat", "-x,", "-e", "instructions:u", "true"]),
        Duration::from_secs(30),
    );
    let supported = match &probe {
        Ok(run) => run.status.success() && instructions(&run.stderr).is_some(),
        Err(_) => false,
    };
    if !supported {
        let why = match probe {
            Err(_) => "perf not found".to_owned(),
            Ok(run) => run
                .stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned(),
        };
        report.line(&format!(
            "`perf stat -e instructions:u`: not supported on this machine ({why}); the callgrind \
             counts above stand in."
        ));
        report.line("");
        return Ok(());
    }
    let n = REQUESTS;
    report.line(&format!(
        "`perf stat -e instructions:u`: whole-process counts of `hot-path CASE {n}` minus \
         `hot-path CASE {n} --no-call` (the same process building the requests without calling), per request:"
    ));
    report.line("");
    report.line("| case | instructions/request | − none |");
    report.line("|---|---|---|");
    let mut none = None;
    for case in Case::ALL {
        let count = |extra: &[&str]| -> Result<f64, String> {
            let run = run_bounded(
                Command::new("perf")
                    .args(["stat", "-x,", "-e", "instructions:u"])
                    .arg(hot_path)
                    .arg(case.name())
                    .arg(n.to_string())
                    .args(extra),
                Duration::from_secs(300),
            )?;
            if !run.status.success() {
                return Err(format!("perf stat failed: {}", run.stderr));
            }
            instructions(&run.stderr).ok_or_else(|| format!("no count in {}", run.stderr))
        };
        let per_request = (count(&[])? - count(&["--no-call"])?) / n as f64;
        let base = *none.get_or_insert(per_request);
        report.line(&format!(
            "| `{}` | {per_request:.0} | {:+.0} |",
            case.name(),
            per_request - base
        ));
    }
    report.line("");
    Ok(())
}

/// The `instructions` count in `perf stat -x,`'s output.
fn instructions(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find(|l| l.contains("instructions"))
        .and_then(|l| l.split(',').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
}
