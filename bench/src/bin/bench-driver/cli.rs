//! The command line of `bench-driver`, and what it implies: the sections to
//! run, pairs, durations, toggles, and the `bench/run` line to reproduce a
//! section with.

use std::path::PathBuf;

use clap::Parser;

/// The sections of the default set (`--only` empty); `soak` and `redis-scale` run only when named.
pub const DEFAULT_SECTIONS: [&str; 7] = [
    "fig1",
    "fig2",
    "fig3",
    "fig4",
    "fig5",
    "criterion",
    "instructions",
];

/// The benchmark driver (see `bench/run`).
#[derive(Debug, Parser)]
pub struct Cli {
    /// Directory of the release binaries (bench-server, hot-path, example-site).
    #[arg(long)]
    pub bin_dir: PathBuf,
    /// Scratch directory (state files, configs, logs, callgrind outputs).
    #[arg(long)]
    pub workdir: PathBuf,
    /// Where the markdown report goes (it is printed too).
    #[arg(long)]
    pub out: PathBuf,
    /// Fewer and shorter pairs: a trial run.
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated sections: fig1,fig2,fig3,fig4,fig5,criterion,instructions (default: all),
    /// and soak, redis-scale (only when named).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// A/B pairs per figure (default 7, 3 with --quick).
    #[arg(long)]
    pub pairs: Option<usize>,
    /// Seconds per load run (default 3, 2 with --quick).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// `maintenance_mode on` commands per propagation figure (default 100, 20 with --quick).
    #[arg(long)]
    pub toggles: Option<usize>,
    /// Seconds of the soak run, warm-up included.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Iterations per hot-path run under valgrind (default 2000).
    #[arg(long, default_value_t = 2000)]
    pub iterations: usize,
    /// The wrk executable.
    #[arg(long, default_value = "wrk")]
    pub wrk: String,
    /// The redis-server executable.
    #[arg(long, default_value = "redis-server")]
    pub redis_server: String,
    /// The Django peer's virtualenv (with django, django-maintenance-mode, gunicorn).
    #[arg(long)]
    pub django_venv: Option<PathBuf>,
    /// The Django peer's project directory (holding the `benchsite` package).
    #[arg(long)]
    pub django_project: Option<PathBuf>,
    /// Criterion's output directory, read for the criterion table.
    #[arg(long)]
    pub criterion_dir: Option<PathBuf>,
    /// The command line that produced this run, for the report.
    #[arg(long, default_value = "bench/run")]
    pub command: String,
}

impl Cli {
    /// Whether `section` runs: named by `--only`, or `--only` empty.
    pub fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.names(section)
    }

    /// Whether `--only` names `section`; sections outside the default set
    /// (soak) run only then.
    pub fn names(&self, section: &str) -> bool {
        self.only.iter().any(|s| s == section)
    }

    /// A/B pairs per figure.
    pub fn pairs(&self) -> usize {
        self.pairs.unwrap_or(if self.quick { 3 } else { 7 })
    }

    /// Seconds per load run.
    pub fn duration(&self) -> u64 {
        self.duration.unwrap_or(if self.quick { 2 } else { 3 })
    }

    /// `maintenance_mode on` commands per propagation figure.
    pub fn toggles(&self) -> usize {
        self.toggles.unwrap_or(if self.quick { 20 } else { 100 })
    }

    /// `bench/run` with the run's options except `--only`.
    pub fn reproduce_base(&self) -> String {
        let mut words: Vec<&str> = Vec::new();
        let mut skip = false;
        for word in self.command.split_whitespace() {
            if skip {
                skip = false;
                continue;
            }
            if word == "--only" {
                skip = true;
                continue;
            }
            if word.starts_with("--only=") {
                continue;
            }
            words.push(word);
        }
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let required = [
            "bench-driver",
            "--bin-dir",
            "b",
            "--workdir",
            "w",
            "--out",
            "o",
        ];
        Cli::parse_from(required.iter().chain(args))
    }

    #[test]
    fn sections_and_defaults() {
        let all = cli(&[]);
        assert!(DEFAULT_SECTIONS.iter().all(|s| all.wants(s)));
        assert!(!all.names("soak"));
        assert_eq!((all.pairs(), all.duration(), all.toggles()), (7, 3, 100));
        let some = cli(&["--quick", "--only", "fig1,soak"]);
        assert!(some.wants("fig1") && some.wants("soak") && !some.wants("fig2"));
        assert_eq!((some.pairs(), some.duration(), some.toggles()), (3, 2, 20));
    }

    #[test]
    fn reproduce_base_drops_only() {
        let run = cli(&["--command", "bench/run --quick --only fig1,fig2 --pairs 9"]);
        assert_eq!(run.reproduce_base(), "bench/run --quick --pairs 9");
        let run = cli(&["--command", "bench/run --only=fig4 --duration 5"]);
        assert_eq!(run.reproduce_base(), "bench/run --duration 5");
    }
}
