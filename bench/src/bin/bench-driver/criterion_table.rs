//! The criterion section: reads `cargo bench -p maint-bench --bench
//! middleware`'s estimates (run by `bench/run` before the driver) and writes
//! their table.

use std::{fs, path::Path};

use maint_bench::Case;

use crate::{cli::Cli, report::Report};

/// Writes the criterion table from `--criterion-dir`, or why there is none.
pub fn write(cli: &Cli, report: &mut Report) {
    report.line("## Criterion: one request through the app, in process");
    report.line("");
    report.line(
        "`actix_web::test::init_service` of the benchmark app (memory backend), session middleware \
         in every case; the timed part is the service call and the drop of its response (the request \
         is built outside it). Median time per request, its 95% confidence interval, the \
         difference to `none` (the app without the maintenance middleware) and to the case's \
         maintenance-off twins.",
    );
    report.line("");
    let Some(dir) = &cli.criterion_dir else {
        report.line("Skipped: no `--criterion-dir`.");
        report.line("");
        return;
    };
    let baseline = median_estimate(dir, "middleware", Case::None.name()).map(|(m, _, _)| m);
    report.line("| case | what | median | 95% CI | − none | vs its maintenance-off twin |");
    report.line("|---|---|---|---|---|---|");
    let mut any = false;
    for case in Case::ALL {
        if let Some((m, lo, hi)) = median_estimate(dir, "middleware", case.name()) {
            any = true;
            let delta = baseline.map_or(String::new(), |b| format!("{:+.0} ns", m - b));
            let twins = case
                .twins()
                .iter()
                .filter_map(|twin| {
                    let (t, _, _) = median_estimate(dir, "middleware", twin.name())?;
                    Some(format!("{:+.0} ns (vs `{}`)", m - t, twin.name()))
                })
                .collect::<Vec<_>>()
                .join("; ");
            report.line(&format!(
                "| `middleware/{}` | {} | **{:.0} ns** | {:.0}–{:.0} ns | {delta} | {twins} |",
                case.name(),
                case.describe(),
                m,
                lo,
                hi
            ));
        }
    }
    for id in ["off", "on"] {
        if let Some((m, lo, hi)) = median_estimate(dir, "is_on", id) {
            any = true;
            report.line(&format!(
                "| `is_on/{id}` | `MaintenanceMode::is_on()` alone, maintenance {id} | **{m:.2} ns** | {lo:.2}–{hi:.2} ns | | |"
            ));
        }
    }
    if !any {
        report.line(&format!(
            "| – | no results under {} | | | | |",
            dir.display()
        ));
    }
    report.line("");
    report.line(
        "Reproduce: `cargo bench -p maint-bench --bench middleware` (1 s warm-up, 2 s measurement \
         per case; results under `target/criterion/`).",
    );
    report.line("");
}

/// The median estimate of `group/id` and its 95% confidence interval, in ns.
fn median_estimate(dir: &Path, group: &str, id: &str) -> Option<(f64, f64, f64)> {
    let path = dir.join(group).join(id).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
    let median = &json["median"];
    Some((
        median["point_estimate"].as_f64()?,
        median["confidence_interval"]["lower_bound"].as_f64()?,
        median["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}
