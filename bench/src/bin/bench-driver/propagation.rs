//! Figure 4: how long `example-site maintenance_mode on|off`, run as another
//! process, takes to reach running servers: the `local_file` backend with
//! one instance, and Redis with three (until all three see it).

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
        process::free_port,
        redis_server::{self, Persistence},
    },
    report::Report,
    stats::{median, min_max, quantile},
};

/// How long a propagation may take before the round counts as lost.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(5);
/// The example-site's log filter during figure 4.
const SITE_LOG_FILTER: &str = "warn";

/// Runs figure 4 and writes its table (the Redis row says why when Redis
/// cannot be started).
pub fn run(cli: &Cli, report: &mut Report) -> Result<(), String> {
    let site = cli.bin_dir.join("example-site");
    report.line("## Figure 4: propagation of `maintenance_mode on` to running servers");
    report.line("");
    report.line(&format!(
        "`example-site` (release) servers and its `maintenance_mode on|off` command, as another process. \
         Time from the command's exit to the first 503 that a client polling `GET /` without pause \
         (keep-alive) sees; {} `on` commands (each followed by an `off`, also timed), started at \
         spread-out moments (0–50 ms after the previous change was seen).",
        cli.toggles()
    ));
    report.line("");
    report.line("| backend | instances | changes | min | p50 | p90 | p99 | max | target | | command run time (p50) |");
    report.line("|---|---|---|---|---|---|---|---|---|---|---|");
    let file = with_local_file(cli, &site)?;
    file.write(report, "local_file", 1, Some(100.0));
    match with_redis(cli, &site) {
        Ok(redis) => redis.write(report, "redis", 3, Some(50.0)),
        Err(error) => report.line(&format!("| redis | 3 | – | skipped: {error} |||||||")),
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
                "| {backend} ({what}) | {instances} | {} | {lo:.1} ms | {:.1} ms | {:.1} ms | **{p99:.1} ms** | {hi:.1} ms | {target_text} | {verdict} | {:.1} ms |",
                values.len(),
                quantile(values, 0.5),
                quantile(values, 0.9),
                median(&self.command_ms),
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
    for round in 0..cli.toggles() * 2 {
        let on = round % 2 == 0;
        // Spread the changes over the refresher's 50 ms poll period.
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

/// One example-site with `state_backend = "local_file"`.
fn with_local_file(cli: &Cli, site: &Path) -> Result<Propagation, String> {
    let dir = cli.workdir.join("propagation-file");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("example-site.toml");
    let state = dir.join("maintenance_mode_state.txt");
    fs::write(
        &config,
        format!(
            "[maintenance]\nstate_backend = \"local_file\"\nstate_file_path = {}\n",
            toml_string(&state)
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut sites = vec![example_site::start(
        site,
        &config,
        &dir.join("site.log"),
        SITE_LOG_FILTER,
    )?];
    eprintln!(
        "bench-driver: figure 4, local_file: {} changes",
        cli.toggles()
    );
    measure(cli, site, &config, &mut sites)
}

/// Three example-sites with `state_backend = "redis"` on a throwaway `redis-server`.
fn with_redis(cli: &Cli, site: &Path) -> Result<Propagation, String> {
    let dir = cli.workdir.join("propagation-redis");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let redis = redis_server::start(&cli.redis_server, port, &dir, Persistence::None)?;
    let config = dir.join("example-site.toml");
    fs::write(
        &config,
        format!(
            "[maintenance]\nstate_backend = \"redis\"\nredis_url = \"redis://127.0.0.1:{port}\"\nredis_key_prefix = \"maint:bench\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut sites = Vec::new();
    for i in 0..3 {
        sites.push(example_site::start(
            site,
            &config,
            &dir.join(format!("site-{i}.log")),
            SITE_LOG_FILTER,
        )?);
    }
    eprintln!(
        "bench-driver: figure 4, redis × 3: {} changes",
        cli.toggles()
    );
    let result = measure(cli, site, &config, &mut sites);
    drop(sites);
    drop(redis);
    result
}

/// `path` as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
