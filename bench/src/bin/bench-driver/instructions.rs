//! The instruction-count section: callgrind counts per request of every
//! `hot-path` case, where the extra instructions go (by function), maint's
//! own functions in `on` and `on-bypass-cookie`, what the marker lookup costs
//! in the issue-11 cases with and without a `#[maintenance_on]` route in the
//! app (and, among the diffs, what 10,000 `ignore_ip_networks` cost over
//! one), then the `perf stat` table.

use std::{collections::BTreeMap, path::PathBuf};

use maint_bench::Case;

use crate::{callgrind, cli::Cli, machine::tool_version, perf_stat, report::Report};

/// The cases compared function by function: (case, its baseline).
const DIFFS: [(Case, Case); 12] = [
    (Case::Off, Case::None),
    (Case::On, Case::OffSameSize),
    (Case::OnExemptSuperuser, Case::OffSuperuser),
    (Case::OnExemptUrl, Case::OffExemptUrl),
    (Case::OnReadOnlyGet, Case::Off),
    (Case::OnReadOnlyGetUnmarkedApp, Case::OffUnmarkedApp),
    (Case::OffBypassCookie, Case::Off),
    (Case::OnBypassCookie, Case::OffBypassCookie),
    (
        Case::OnBypassCookieUnmarkedApp,
        Case::OffBypassCookieUnmarkedApp,
    ),
    (Case::OnBypassCookieUnmarkedApp, Case::OnBypassCookie),
    (Case::OnBypassCookieMiss, Case::OnBypassCookie),
    (Case::OnExemptIp10000, Case::OnExemptIp1),
];
/// The cases whose maint functions are listed by inclusive cost.
const MAINT_FUNCTIONS_OF: [Case; 3] = [
    Case::On,
    Case::OnBypassCookie,
    Case::OnBypassCookieUnmarkedApp,
];
/// The cases whose marker lookup is shown: with a `#[maintenance_on]` route
/// in the app and without one.
const MARKER_LOOKUP_OF: [Case; 5] = [
    Case::OnReadOnlyGet,
    Case::OnReadOnlyGetUnmarkedApp,
    Case::OnBypassCookie,
    Case::OnBypassCookieUnmarkedApp,
    Case::OnBypassCookieMiss,
];
/// The marker lookup's function, as `callgrind_annotate` names it.
const MARKER_LOOKUP: &str = "MarkerCache::force_for";
/// Rows per function table.
const TOP_FUNCTIONS: usize = 12;

/// Runs every case under callgrind (when valgrind is there) and `perf stat`
/// (when the machine has the counter), and writes the section.
pub fn run(cli: &Cli, report: &mut Report) -> Result<(), String> {
    report.line("## Instruction counts per request (the hot path)");
    report.line("");
    let hot_path = cli.bin_dir.join("hot-path");
    let n = cli.iterations;
    report.line(&format!(
        "`hot-path CASE {n}` runs one in-process case {n} times after 1,000 warm-up calls; \
         `valgrind --tool=callgrind --toggle-collect=serve_one` counts the instructions of \
         exactly the service calls (session middleware, maint, routing, handler, response drop). \
         Instruction counts do not depend on the machine's load."
    ));
    report.line("");
    if tool_version("valgrind", &["--version"]).starts_with("valgrind") {
        let mut counts: BTreeMap<&'static str, f64> = BTreeMap::new();
        let mut profiles: BTreeMap<&'static str, PathBuf> = BTreeMap::new();
        for case in Case::ALL {
            let out = cli.workdir.join(format!("callgrind.{}.out", case.name()));
            eprintln!("bench-driver: callgrind {}", case.name());
            let total = callgrind::count(&hot_path, case.name(), n, &out)?;
            counts.insert(case.name(), total / n as f64);
            profiles.insert(case.name(), out);
        }
        write_counts(report, &counts);
        report.line(&format!(
            "Reproduce: `valgrind --tool=callgrind --toggle-collect=serve_one target/release/hot-path CASE {n}` \
             (CASE from `hot-path --list`), or `{} --only instructions`.",
            cli.reproduce_base()
        ));
        report.line("");
        write_marker_lookup(report, &profiles, n)?;
        write_diffs(report, &profiles, n)?;
        write_maint_functions(report, &profiles, n)?;
    } else {
        report.line("valgrind not found: no callgrind counts.");
        report.line("");
    }
    perf_stat::write(report, &hot_path)
}

/// The table of instructions per request, against `none` and against each
/// case's maintenance-off twins ([`Case::twins`]).
fn write_counts(report: &mut Report, counts: &BTreeMap<&'static str, f64>) {
    let none = counts[Case::None.name()];
    report.line("| case | what | instructions/request | − none | vs its maintenance-off twin |");
    report.line("|---|---|---|---|---|");
    for case in Case::ALL {
        let count = counts[case.name()];
        let twin_text = case
            .twins()
            .iter()
            .map(|t| format!("{:+.0} (vs `{}`)", count - counts[t.name()], t.name()))
            .collect::<Vec<_>>()
            .join("; ");
        report.line(&format!(
            "| `{}` | {} | **{:.0}** | {:+.0} | {twin_text} |",
            case.name(),
            case.describe(),
            count,
            count - none
        ));
    }
    report.line("");
}

/// The inclusive cost of the marker lookup in the cases of [`MARKER_LOOKUP_OF`]:
/// what every request during maintenance pays on an app with a marked route,
/// and that the `*-unmarked-app` cases do not pay it.
fn write_marker_lookup(
    report: &mut Report,
    profiles: &BTreeMap<&'static str, PathBuf>,
    n: usize,
) -> Result<(), String> {
    report.line(&format!(
        "### The marker lookup (`{MARKER_LOOKUP}`, inclusive instructions per request)"
    ));
    report.line("");
    report.line(
        "Every request during maintenance on an app with a `#[maintenance_on]` route; \
         skipped while no app of the process registered one (the `*-unmarked-app` cases).",
    );
    report.line("");
    report.line("| case | instr/request in the lookup |");
    report.line("|---|---|");
    for case in MARKER_LOOKUP_OF {
        let Some(profile) = profiles.get(case.name()) else {
            continue;
        };
        let rows: Vec<(f64, String)> = callgrind::annotate(profile, true)?
            .into_iter()
            .filter(|(_, f)| f.contains(MARKER_LOOKUP))
            .collect();
        let text = match rows.iter().map(|(cost, _)| *cost).reduce(f64::max) {
            Some(cost) => format!("{:.0}", cost / n as f64),
            None => "not in the profile".to_owned(),
        };
        report.line(&format!("| `{}` | {text} |", case.name()));
    }
    report.line("");
    Ok(())
}

/// For each pair of [`DIFFS`], the functions whose self cost grew most.
fn write_diffs(
    report: &mut Report,
    profiles: &BTreeMap<&'static str, PathBuf>,
    n: usize,
) -> Result<(), String> {
    for (case, baseline) in DIFFS {
        let (Some(a), Some(b)) = (profiles.get(case.name()), profiles.get(baseline.name())) else {
            continue;
        };
        let diff = callgrind::self_cost_diff(a, b, n)?;
        report.line(&format!(
            "### Where `{}` spends more than `{}` (self instructions per request, by function)",
            case.name(),
            baseline.name()
        ));
        report.line("");
        report.line("| Δ instr/request | function |");
        report.line("|---|---|");
        for (delta, function) in diff.iter().take(TOP_FUNCTIONS) {
            report.line(&format!("| {delta:+.0} | `{function}` |"));
        }
        report.line("");
    }
    Ok(())
}

/// maint's own functions in the profiles of [`MAINT_FUNCTIONS_OF`], by inclusive cost.
fn write_maint_functions(
    report: &mut Report,
    profiles: &BTreeMap<&'static str, PathBuf>,
    n: usize,
) -> Result<(), String> {
    for case in MAINT_FUNCTIONS_OF {
        let Some(profile) = profiles.get(case.name()) else {
            continue;
        };
        report.line(&format!(
            "### maint's own functions in `{}` (inclusive instructions per request)",
            case.name()
        ));
        report.line("");
        report.line("| instr/request | function |");
        report.line("|---|---|");
        for (cost, function) in callgrind::annotate(profile, true)?
            .into_iter()
            .filter(|(_, f)| f.contains("maint_actix"))
            .take(TOP_FUNCTIONS)
        {
            report.line(&format!("| {:.0} | `{function}` |", cost / n as f64));
        }
        report.line("");
    }
    Ok(())
}
