//! Interleaved A/B pairs of wrk runs (A B, B A, A B, ...): one figure's
//! measurement, the ratio B / A per pair, and the figure's table.

use crate::{
    cli::Cli,
    harness::http_client::HttpClient,
    pinning::Pinning,
    report::Report,
    servers::Server,
    stats::{median, min_max},
    wrk::{Wrk, WrkRun},
};

/// One side of a figure: a server, a path, extra headers, the answer it must give.
#[derive(Clone)]
pub struct Side<'a> {
    /// What the report calls it.
    pub name: String,
    /// The server under load.
    pub server: &'a Server,
    /// The path requested.
    pub path: &'static str,
    /// A `Cookie` header value, when sent.
    pub cookie: Option<String>,
    /// The status it must answer with.
    pub status: u16,
    /// A word the body must contain.
    pub body: &'static str,
}

impl<'a> Side<'a> {
    /// `GET path` on `server`, no cookie, answered with `status` and a body containing `body`.
    pub fn new(
        name: &str,
        server: &'a Server,
        path: &'static str,
        status: u16,
        body: &'static str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            server,
            path,
            cookie: None,
            status,
            body,
        }
    }

    /// The same request with `Cookie: cookie`.
    pub fn with_cookie(self, cookie: &str) -> Self {
        Self {
            cookie: Some(cookie.to_owned()),
            ..self
        }
    }

    /// The URL wrk loads.
    fn url(&self) -> String {
        format!("http://{}{}", self.server.addr, self.path)
    }

    /// Checks that one request answers as the figure assumes.
    fn check(&self) -> Result<(), String> {
        let mut client = HttpClient::new(self.server.addr);
        let cookie = self.cookie.as_deref().map(|c| ("Cookie", c));
        let headers: Vec<(&str, &str)> = cookie.into_iter().collect();
        let reply = client.get(self.path, &headers)?;
        if reply.status != self.status || !reply.body.contains(self.body) {
            return Err(format!(
                "{} (GET {} on {}) answered {} {:?}; expected {} containing {:?}",
                self.name,
                self.path,
                self.server.label,
                reply.status,
                reply.body.chars().take(200).collect::<String>(),
                self.status,
                self.body
            ));
        }
        Ok(())
    }
}

/// What a figure compares: its title, its target, A and B.
pub struct Comparison<'a> {
    /// The figure's heading.
    pub title: &'a str,
    /// The target, in words (`B/A ≥ 0.98`, `report`).
    pub target: &'a str,
    /// The ratio the median must reach, when the figure has a target.
    pub threshold: Option<f64>,
    /// The baseline.
    pub a: Side<'a>,
    /// What is compared with it.
    pub b: Side<'a>,
}

/// How the pairs run: the load generator, how many pairs, how long each run.
pub struct Pairs<'a> {
    /// The load generator.
    pub wrk: Wrk<'a>,
    /// A/B pairs per figure.
    pub count: usize,
    /// Seconds per load run.
    pub seconds: u64,
    /// Whether wrk runs on its own CPU (figures 1–3) or not (figure 5).
    pub pinned: bool,
}

/// A measured figure.
pub struct PairFigure {
    /// The figure's heading.
    title: String,
    /// The target, in words.
    target: String,
    /// The ratio the median must reach, if any.
    threshold: Option<f64>,
    /// A's name.
    a: String,
    /// B's name.
    b: String,
    /// A's requests per second, pair by pair.
    a_rps: Vec<f64>,
    /// B's requests per second, pair by pair.
    b_rps: Vec<f64>,
    /// B / A, pair by pair.
    ratios: Vec<f64>,
    /// Runs with unexpected statuses or socket errors.
    problems: Vec<String>,
    /// A's and B's wrk command lines, as shown.
    commands: Vec<String>,
}

impl<'a> Pairs<'a> {
    /// `--pairs` pairs of `--duration` s runs of `--wrk` with `--connections`;
    /// wrk on its own CPU when `pinned` (and pinning is possible).
    pub fn new(cli: &'a Cli, pinning: &'a Pinning, pinned: bool) -> Self {
        Self {
            wrk: Wrk {
                program: &cli.wrk,
                connections: cli.connections,
                pinning,
            },
            count: cli.pairs(),
            seconds: cli.duration(),
            pinned,
        }
    }

    /// `seconds` of load on `side`.
    fn run(&self, side: &Side<'_>, seconds: u64) -> Result<WrkRun, String> {
        self.wrk
            .run(&side.url(), side.cookie.as_deref(), seconds, self.pinned)
    }

    /// The command of one timed run on `side`, as the report shows it.
    fn shown_command(&self, side: &Side<'_>) -> String {
        self.wrk
            .command(
                &side.url(),
                side.cookie.as_deref(),
                self.seconds,
                self.pinned,
            )
            .1
    }

    /// Checks both sides, warms both up (1 s each), then runs the
    /// interleaved pairs; the ratio is B / A.
    pub fn measure(&self, comparison: &Comparison<'_>) -> Result<PairFigure, String> {
        let Comparison {
            title,
            target,
            threshold,
            a,
            b,
        } = comparison;
        a.check()?;
        b.check()?;
        eprintln!("bench-driver: {title}: warm-up");
        self.run(a, 1)?;
        self.run(b, 1)?;
        let mut figure = PairFigure {
            title: (*title).to_owned(),
            target: (*target).to_owned(),
            threshold: *threshold,
            a: a.name.clone(),
            b: b.name.clone(),
            a_rps: Vec::new(),
            b_rps: Vec::new(),
            ratios: Vec::new(),
            problems: Vec::new(),
            commands: vec![self.shown_command(a), self.shown_command(b)],
        };
        for pair in 0..self.count {
            let order: [&Side<'_>; 2] = if pair % 2 == 0 { [a, b] } else { [b, a] };
            let mut rps = [0.0; 2];
            for side in order {
                let run = self.run(side, self.seconds)?;
                let expected_non_2xx = if side.status >= 300 { run.requests } else { 0 };
                if run.non_2xx != expected_non_2xx || run.errors > 0 {
                    figure.problems.push(format!(
                        "pair {}: {}: {} non-2xx of {} requests (expected {expected_non_2xx}), {} socket errors",
                        pair + 1,
                        side.name,
                        run.non_2xx,
                        run.requests,
                        run.errors
                    ));
                }
                let index = usize::from(std::ptr::eq(side, b));
                rps[index] = run.rps;
            }
            eprintln!(
                "bench-driver: {title}: pair {}: A {:.0} req/s, B {:.0} req/s, B/A {:.3}",
                pair + 1,
                rps[0],
                rps[1],
                rps[1] / rps[0]
            );
            figure.a_rps.push(rps[0]);
            figure.b_rps.push(rps[1]);
            figure.ratios.push(rps[1] / rps[0]);
        }
        Ok(figure)
    }
}

impl PairFigure {
    /// The figure's table, per-pair ratios, problems and how to reproduce it
    /// (`reproduce_base --only section`).
    pub fn write(&self, report: &mut Report, reproduce_base: &str, section: &str) {
        let (lo, hi) = min_max(&self.ratios);
        let ratio = median(&self.ratios);
        let verdict = match self.threshold {
            Some(_) if !self.problems.is_empty() => "invalid run (see below)".to_owned(),
            Some(t) if ratio >= t => "met".to_owned(),
            Some(_) => "NOT met".to_owned(),
            None => "reported".to_owned(),
        };
        report.line(&format!("### {}", self.title));
        report.line("");
        report.line("| A | B | A req/s (median) | B req/s (median) | B/A median | spread (min–max) | pairs | target | |");
        report.line("|---|---|---|---|---|---|---|---|---|");
        report.line(&format!(
            "| {} | {} | {:.0} | {:.0} | **{:.3}** | {:.3}–{:.3} | {} | {} | {} |",
            self.a,
            self.b,
            median(&self.a_rps),
            median(&self.b_rps),
            ratio,
            lo,
            hi,
            self.ratios.len(),
            self.target,
            verdict
        ));
        report.line("");
        report.line(&format!(
            "Per-pair ratios: {}",
            self.ratios
                .iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        report.line("");
        for problem in &self.problems {
            report.line(&format!("- problem: {problem}"));
        }
        report.line(&format!(
            "Reproduce: `{reproduce_base} --only {section}`; each run is `{}` (A) / `{}` (B).",
            self.commands[0], self.commands[1]
        ));
        report.line("");
    }
}
