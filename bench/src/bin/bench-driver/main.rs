//! Runs the figures of `BENCHMARKS.md` and writes the markdown report; started
//! by `bench/run`, which installs the tools, builds the binaries and prepares
//! the Django peer first.
//!
//! ```text
//! bench-driver --bin-dir target/release --workdir TMP --out target/bench-report.md
//!              [--quick] [--only fig1,fig2,fig3,fig4,fig5,criterion,instructions,soak,redis-scale]
//!              [--pairs 7] [--duration 3] [--connections 32] [--toggles 100] [--seconds 600]
//!              [--wrk wrk] [--redis-server redis-server] [--django-venv DIR --django-project DIR]
//!              [--criterion-dir target/criterion] [--command "bench/run ..."]
//! ```
//!
//! Every figure is a ratio taken in one run: A and B alternate (A B, B A, A B,
//! ...), each run of the pair under the same load generator settings, and the
//! report gives the median of the per-pair ratios and their min–max spread.
//! Every wait is bounded; every process started here is stopped on the way
//! out (and `bench/run` kills its process group as a backstop). Traffic goes
//! to 127.0.0.1 only.
//!
//! `soak` ([`soak`]) is not a figure and runs only when `--only` names it;
//! the driver then exits non-zero when the soak run fails. `redis-scale`
//! ([`redis_scale`]) also runs only when named: it needs a few thousand open
//! files, which `bench/run` raises the limit for.
//!
//! The benchmark app (`maint_bench`, the library) is only what is measured;
//! everything that measures it is here, one module a job. A module uses only
//! those listed before it (and `maint_bench`):
//!
//! | module | job |
//! |---|---|
//! | [`harness`] | processes stopped on drop, bounded commands, free ports, a probe HTTP client, redis-server, example-site |
//! | [`stats`] | medians, quantiles, min–max |
//! | [`cli`] | the command line, the sections it selects |
//! | [`machine`] | date, machine, load average, tool versions |
//! | [`report`] | the markdown report: printed and written to `--out` |
//! | [`pinning`] | `taskset` CPUs for the server and wrk |
//! | [`servers`] | bench-server started on a free port; the superuser cookie |
//! | [`wrk`] | wrk runs and their output |
//! | [`pairs`] | interleaved A/B pairs, ratios, a figure's table |
//! | [`load_figures`] | figures 1–3 |
//! | [`propagation`] | figure 4 |
//! | [`django_peer`] | figure 5 |
//! | [`criterion_table`] | the criterion section |
//! | [`callgrind`] | callgrind counts and `callgrind_annotate` |
//! | [`perf_stat`] | `perf stat` counts |
//! | [`instructions`] | the instruction-count section |
//! | [`soak`] | the soak run: hostile clients, the toggler, the Redis killer, its table |
//! | [`soak_section`] | the soak section |
//! | [`redis_scale`] | issue 13: Redis server cost of 1,000 instances, fan-out of a change |

mod callgrind;
mod cli;
mod criterion_table;
mod django_peer;
mod harness;
mod instructions;
mod load_figures;
mod machine;
mod pairs;
mod perf_stat;
mod pinning;
mod propagation;
mod redis_scale;
mod report;
mod servers;
mod soak;
mod soak_section;
mod stats;
mod wrk;

use std::{fs, process::ExitCode};

use clap::Parser;

use crate::{
    cli::{Cli, DEFAULT_SECTIONS},
    pinning::Pinning,
    report::Report,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-driver: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the sections `--only` selects, in report order, and writes the report.
fn run(cli: &Cli) -> Result<(), String> {
    fs::create_dir_all(&cli.workdir).map_err(|e| format!("{}: {e}", cli.workdir.display()))?;
    let mut report = Report::new(&cli.command);
    let pin = Pinning::detect();
    if DEFAULT_SECTIONS.iter().any(|section| cli.wants(section)) {
        report.line(&format!("- CPU pinning: {}", pin.describe()));
        report.line(&format!(
            "- load generator: `{}` (`{}`), {} connection(s), 1 thread, {} s per run, {} A/B pairs per figure, A and B alternating (AB, BA, ...)",
            cli.wrk,
            machine::tool_version(&cli.wrk, &["-v"]),
            cli.connections,
            cli.duration(),
            cli.pairs()
        ));
    }
    report.line("");

    if cli.wants("fig1") || cli.wants("fig2") || cli.wants("fig3") {
        load_figures::run(cli, &pin, &mut report)?;
    }
    if cli.wants("fig4") {
        propagation::run(cli, &mut report)?;
    }
    if cli.wants("fig5") {
        django_peer::run(cli, &pin, &mut report)?;
    }
    if cli.wants("criterion") {
        criterion_table::write(cli, &mut report);
    }
    if cli.wants("instructions") {
        instructions::run(cli, &mut report)?;
    }
    if cli.names("redis-scale") {
        redis_scale::run(cli, &mut report)?;
    }
    let soak_passed = if cli.names("soak") {
        soak_section::run(cli, &mut report)?
    } else {
        true
    };
    report.finish(&cli.out)?;
    if soak_passed {
        Ok(())
    } else {
        Err("the soak run failed (see the table above)".to_owned())
    }
}
