//! Figure 4: how long `example-site maintenance_mode on|off`, run as another
//! process, takes to reach [`INSTANCES`] running servers that share one
//! store: one state file, one Redis, one PostgreSQL (when
//! `MAINT_DATABASE_URL` names one). Each store is one [`StoreKind`] in
//! [`STORES`]: a new backend is one more entry and its setup function.

use std::{
    fs,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use crate::{
    cli::Cli,
    harness::{
        example_site::{self, Site},
        http_client::HttpClient,
        process::{Proc, free_port},
        redis_server::{self, Persistence},
    },
    report::Report,
    stats::{median, min_max, quantile},
};

/// How long a propagation may take before the round counts as lost.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(5);
/// The example-site's log filter during figure 4.
const SITE_LOG_FILTER: &str = "warn";
/// How many passes over the servers (the state unchanged) are timed.
const PASSES_TIMED: usize = 50;
/// How many servers share each store.
const INSTANCES: usize = 10;
/// The PostgreSQL server the `postgres` row uses; without it the row is skipped.
const DATABASE_URL_VAR: &str = "MAINT_DATABASE_URL";

/// A store the instances share: the name of its row, its target (p99 of
/// `on → 503`, ms), and how to set it up.
struct StoreKind {
    name: &'static str,
    target_ms: Option<f64>,
    setup: fn(&Cli, &Path) -> Result<Store, String>,
}

/// Every store figure 4 measures, in the order of its rows.
const STORES: [StoreKind; 3] = [
    StoreKind {
        name: "local_file",
        target_ms: Some(5.0),
        setup: local_file,
    },
    StoreKind {
        name: "redis",
        target_ms: Some(50.0),
        setup: redis,
    },
    StoreKind {
        name: "postgres",
        target_ms: None,
        setup: postgres,
    },
];

/// A store set up for the instances: the `[maintenance]` lines of their
/// config, and what keeps it running until the figure is done.
struct Store {
    config: String,
    _server: Option<Proc>,
}

/// Runs figure 4 and writes its table (a store that cannot be set up or
/// measured gets a row saying why).
pub fn run(cli: &Cli, report: &mut Report) -> Result<(), String> {
    let site = cli.bin_dir.join("example-site");
    report.line("## Figure 4: propagation of `maintenance_mode on` to running servers");
    report.line("");
    report.line(&format!(
        "{INSTANCES} `example-site` (release) servers sharing one store, and its `maintenance_mode on|off` \
         command, as another process. Time from the command's exit until every server answered the new \
         state (503 for `on`, 200 for `off`), seen by one client per server polling `GET /` in turn \
         without pause (keep-alive); {} `on` commands (each followed by an `off`, also timed), started at \
         spread-out moments (0–50 ms after the previous change was seen).",
        cli.toggles()
    ));
    report.line("");
    report.line("| backend | instances | changes | min | p50 | p90 | p99 | max | target | | command run time (p50) | one pass over the servers (p50) |");
    report.line("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for kind in &STORES {
        match with_store(cli, &site, kind) {
            Ok(figures) => figures.write(report, kind.name, INSTANCES, kind.target_ms),
            Err(error) => report.line(&format!(
                "| {} | {INSTANCES} | – | skipped: {error} ||||||||",
                kind.name
            )),
        }
    }
    report.line("");
    report.line(&format!(
        "Reproduce: `{} --only fig4`. Every wait is bounded ({:?} per change); a change not seen by then counts as lost.",
        cli.reproduce_base(),
        PROPAGATION_TIMEOUT
    ));
    report.line("");
    Ok(())
}

/// The times of one backend's changes, in milliseconds.
#[derive(Default)]
struct Propagation {
    /// From the `on` command's exit until every site answered 503.
    on_ms: Vec<f64>,
    /// From the `off` command's exit until no site answered 503.
    off_ms: Vec<f64>,
    /// How long each command ran.
    command_ms: Vec<f64>,
    /// How long one pass of `GET /` over every server took, unchanged state:
    /// the resolution of the times above.
    pass_ms: Vec<f64>,
    /// Changes not seen within [`PROPAGATION_TIMEOUT`].
    lost: usize,
}

impl Propagation {
    /// Two rows of the table: `on → 503` (with the target) and `off → 200`.
    fn write(&self, report: &mut Report, backend: &str, instances: usize, target: Option<f64>) {
        for (what, values) in [("on → 503", &self.on_ms), ("off → 200", &self.off_ms)] {
            let (lo, hi) = min_max(values);
            let p99 = quantile(values, 0.99);
            let verdict = match target {
                Some(t) if what.starts_with("on") => {
                    if self.lost > 0 {
                        format!("{} lost", self.lost)
                    } else if p99 <= t {
                        "met".to_owned()
                    } else {
                        "NOT met".to_owned()
                    }
                }
                _ => String::new(),
            };
            let target_text = match target {
                Some(t) if what.starts_with("on") => format!("p99 ≤ {t:.0} ms"),
                _ => String::new(),
            };
            report.line(&format!(
                "| {backend} ({what}) | {instances} | {} | {lo:.1} ms | {:.1} ms | {:.1} ms | **{p99:.1} ms** | {hi:.1} ms | {target_text} | {verdict} | {:.1} ms | {:.2} ms |",
                values.len(),
                quantile(values, 0.5),
                quantile(values, 0.9),
                median(&self.command_ms),
                median(&self.pass_ms),
            ));
        }
    }
}

/// Toggles through the command and times until every site shows the new state.
fn measure(
    cli: &Cli,
    site: &Path,
    config: &Path,
    sites: &mut [Site],
) -> Result<Propagation, String> {
    let mut clients: Vec<HttpClient> = sites.iter().map(|s| HttpClient::new(s.addr)).collect();
    let mut result = Propagation::default();
    set_maintenance(site, config, false)?;
    wait_all(&mut clients, false, Instant::now())?;
    for _ in 0..PASSES_TIMED {
        let started = Instant::now();
        wait_all(&mut clients, false, started)?;
        result
            .pass_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for round in 0..cli.toggles() * 2 {
        let on = round % 2 == 0;
        // Spread the changes over 50 ms (the file backend's poll without
        // notifications), so that they do not all land at one phase of a poll.
        thread::sleep(Duration::from_micros((round as u64 * 7_919) % 50_000));
        let command_time = set_maintenance(site, config, on)?;
        let exited = Instant::now();
        result.command_ms.push(command_time.as_secs_f64() * 1000.0);
        match wait_all(&mut clients, on, exited) {
            Ok(elapsed) => {
                let ms = elapsed.as_secs_f64() * 1000.0;
                if on {
                    result.on_ms.push(ms);
                } else {
                    result.off_ms.push(ms);
                }
            }
            Err(error) => {
                eprintln!("bench-driver: propagation round {round}: {error}");
                result.lost += 1;
            }
        }
        for s in sites.iter_mut() {
            if s.proc.exited() {
                return Err("an example-site instance exited".to_owned());
            }
        }
    }
    Ok(result)
}

/// `maintenance_mode on|off`; how long the command ran.
fn set_maintenance(site: &Path, config: &Path, on: bool) -> Result<Duration, String> {
    example_site::set_maintenance(site, config, on)
        .map_err(|error| format!("maintenance_mode failed: {error}"))
}

/// Polls every client without pause until each shows maintenance `on` (503) or
/// not; the time from `since` until the last one did.
fn wait_all(clients: &mut [HttpClient], on: bool, since: Instant) -> Result<Duration, String> {
    let mut seen = vec![false; clients.len()];
    let mut last = Duration::ZERO;
    while seen.iter().any(|s| !s) {
        for (client, seen) in clients.iter_mut().zip(seen.iter_mut()) {
            if *seen {
                continue;
            }
            let status = client.get("/", &[])?.status;
            if (status == 503) == on {
                *seen = true;
                last = since.elapsed();
            }
        }
        if since.elapsed() > PROPAGATION_TIMEOUT {
            return Err(format!(
                "maintenance {} not seen within {PROPAGATION_TIMEOUT:?}",
                if on { "on" } else { "off" }
            ));
        }
    }
    Ok(last)
}

/// [`INSTANCES`] example-sites on the store `kind` sets up, measured.
fn with_store(cli: &Cli, site: &Path, kind: &StoreKind) -> Result<Propagation, String> {
    let dir = cli.workdir.join(format!("propagation-{}", kind.name));
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = (kind.setup)(cli, &dir)?;
    let config = dir.join("example-site.toml");
    fs::write(&config, format!("[maintenance]\n{}", store.config)).map_err(|e| e.to_string())?;
    let mut sites = Vec::new();
    for i in 0..INSTANCES {
        let log = dir.join(format!("site-{i}.log"));
        sites.push(example_site::start(site, &config, &log, SITE_LOG_FILTER)?);
    }
    eprintln!(
        "bench-driver: figure 4, {} × {INSTANCES}: {} changes",
        kind.name,
        cli.toggles()
    );
    let result = measure(cli, site, &config, &mut sites);
    // The servers end before their store.
    drop(sites);
    drop(store);
    result
}

/// One state file in `dir`.
fn local_file(_: &Cli, dir: &Path) -> Result<Store, String> {
    let state = dir.join("maintenance_mode_state.txt");
    Ok(Store {
        config: format!(
            "state_backend = \"local_file\"\nstate_file_path = {}\n",
            toml_string(&state.to_string_lossy())
        ),
        _server: None,
    })
}

/// A throwaway `redis-server` on a free port, without persistence.
fn redis(cli: &Cli, dir: &Path) -> Result<Store, String> {
    let port = free_port()?;
    let server = redis_server::start(&cli.redis_server, port, dir, Persistence::None)?;
    Ok(Store {
        config: format!(
            "state_backend = \"redis\"\nredis_url = \"redis://127.0.0.1:{port}\"\nredis_key_prefix = \"maint:bench\"\n"
        ),
        _server: Some(server),
    })
}

/// The PostgreSQL server that `MAINT_DATABASE_URL` names (started by the
/// caller, as `.ci/run` does for the tests); skipped without it.
fn postgres(_: &Cli, _: &Path) -> Result<Store, String> {
    let url = std::env::var(DATABASE_URL_VAR)
        .map_err(|_| format!("{DATABASE_URL_VAR} does not name a PostgreSQL server"))?;
    Ok(Store {
        config: format!(
            "state_backend = \"postgres\"\ndatabase_url = {}\n",
            toml_string(&url)
        ),
        _server: None,
    })
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
