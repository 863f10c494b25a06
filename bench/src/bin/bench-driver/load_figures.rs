//! Figures 1–3: maint's load figures, one pinned bench-server per variant
//! (1 worker each), A/B pairs of wrk runs.
//!
//! 1. the middleware's overhead, maintenance off;
//! 2. the maintenance page against a plain 200, and (2b) against a 200 page
//!    of the same bytes;
//! 3. exempt requests during maintenance: (3a) a superuser's session, (3b)
//!    an `ignore_urls` path.

use crate::{
    cli::Cli,
    pairs::{Comparison, Pairs, Side},
    pinning::Pinning,
    report::Report,
    servers::{ServerSpec, start_bench_server, superuser_cookie},
};

/// Runs the figures of 1–3 that `--only` wants and writes them.
pub fn run(cli: &Cli, pin: &Pinning, report: &mut Report) -> Result<(), String> {
    let spec = |label, middleware, maintenance| ServerSpec {
        label,
        workers: 1,
        middleware,
        maintenance,
        pinned: true,
    };
    let off = start_bench_server(cli, pin, &spec("middleware-off-state", true, false))?;
    let on = start_bench_server(cli, pin, &spec("middleware-on-state", true, true))?;
    let none = start_bench_server(cli, pin, &spec("no-middleware", false, false))?;
    let cookie = superuser_cookie(&off)?;

    report.line("## Load figures (wrk over loopback)");
    report.line("");
    report.line(
        "Servers: `bench-server --workers 1 --backend local-file` (bench/src/bin/bench-server.rs): \
         5 `ignore_urls`, 3 `ignore_ip_addresses`, `ignore_superuser = true`, the session \
         middleware in both variants, a `#[maintenance_on]` route registered. The A and B servers \
         run side by side; only the one under load is busy. Ratio = B / A per pair.",
    );
    report.line("");

    let maintenance_page = Side::new(
        "maintenance on, GET /hello (503 page, default template)",
        &on,
        "/hello",
        503,
        "maintenance",
    );
    let mut figures: Vec<(&str, Comparison<'_>)> = Vec::new();
    if cli.wants("fig1") {
        figures.push((
            "fig1",
            Comparison {
                title: "Figure 1: overhead, maintenance off",
                target: "B/A ≥ 0.98",
                threshold: Some(0.98),
                a: Side::new(
                    "without middleware, GET /hello",
                    &none,
                    "/hello",
                    200,
                    "hello",
                ),
                b: Side::new(
                    "with middleware (off), GET /hello",
                    &off,
                    "/hello",
                    200,
                    "hello",
                ),
            },
        ));
    }
    if cli.wants("fig2") {
        figures.push((
            "fig2",
            Comparison {
                title: "Figure 2: the maintenance page vs a plain 200",
                target: "B/A ≥ 1.0",
                threshold: Some(1.0),
                a: Side::new(
                    "maintenance off, GET /hello (200 \"hello\")",
                    &off,
                    "/hello",
                    200,
                    "hello",
                ),
                b: maintenance_page.clone(),
            },
        ));
        figures.push((
            "fig2",
            Comparison {
                title: "Figure 2b: the maintenance page vs a 200 page of the same bytes",
                target: "for reading figure 2",
                threshold: None,
                a: Side::new(
                    "maintenance off, GET /same-size (200, the page's body and headers)",
                    &off,
                    "/same-size",
                    200,
                    "maintenance",
                ),
                b: maintenance_page,
            },
        ));
    }
    if cli.wants("fig3") {
        figures.push((
            "fig3",
            Comparison {
                title: "Figure 3a: exempt superuser (session cookie) during maintenance",
                target: "B/A ≥ 0.95",
                threshold: Some(0.95),
                a: Side::new(
                    "maintenance off, superuser, GET /hello",
                    &off,
                    "/hello",
                    200,
                    "hello",
                )
                .with_cookie(&cookie),
                b: Side::new(
                    "maintenance on, superuser, GET /hello",
                    &on,
                    "/hello",
                    200,
                    "hello",
                )
                .with_cookie(&cookie),
            },
        ));
        figures.push((
            "fig3",
            Comparison {
                title: "Figure 3b: exempt path (`ignore_urls`) during maintenance",
                target: "B/A ≥ 0.95",
                threshold: Some(0.95),
                a: Side::new(
                    "maintenance off, GET /exempt/page",
                    &off,
                    "/exempt/page",
                    200,
                    "exempt",
                ),
                b: Side::new(
                    "maintenance on, GET /exempt/page",
                    &on,
                    "/exempt/page",
                    200,
                    "exempt",
                ),
            },
        ));
    }

    let pairs = Pairs::new(cli, pin, true);
    let reproduce_base = cli.reproduce_base();
    for (section, comparison) in &figures {
        pairs
            .measure(comparison)?
            .write(report, &reproduce_base, section);
    }
    Ok(())
}
