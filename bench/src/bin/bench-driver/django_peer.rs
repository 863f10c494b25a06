//! Figure 5: maint (`bench-server --workers 2`) against django-maintenance-mode
//! 0.23 under gunicorn (2 sync workers), A/B pairs of unpinned wrk runs;
//! `bench/run` prepares the virtualenv and the `benchsite` project.

use std::{
    fs,
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use crate::{
    cli::Cli,
    harness::{
        http_client::await_http,
        process::{Proc, free_port, run_bounded},
    },
    pairs::{Comparison, Pairs, Side},
    pinning::Pinning,
    report::Report,
    servers::{Server, ServerSpec, start_bench_server},
};

/// Runs figure 5 (5a served page, 5b maintenance page) and writes it, or
/// writes why it is skipped.
pub fn run(cli: &Cli, pin: &Pinning, report: &mut Report) -> Result<(), String> {
    report.line("## Figure 5: peer, django-maintenance-mode 0.23 under gunicorn");
    report.line("");
    let (Some(venv), Some(project)) = (&cli.django_venv, &cli.django_project) else {
        report.line("Skipped: no `--django-venv` / `--django-project` (bench/run prepares them).");
        report.line("");
        return Ok(());
    };
    let spec = |label, maintenance| ServerSpec {
        label,
        workers: 2,
        middleware: true,
        maintenance,
        pinned: false,
    };
    let maint_off = start_bench_server(cli, pin, &spec("maint-2w-off", false))?;
    let maint_on = start_bench_server(cli, pin, &spec("maint-2w-on", true))?;
    let django_off = start_gunicorn(cli, venv, project, "django-off", false)?;
    let django_on = start_gunicorn(cli, venv, project, "django-on", true)?;
    report.line(&format!(
        "Peer: {}; `gunicorn --workers 2` (sync workers), SessionMiddleware + \
         AuthenticationMiddleware + MaintenanceModeMiddleware, the same 5 ignore_urls, 3 \
         ignore_ip_addresses, `MAINTENANCE_MODE_IGNORE_SUPERUSER = True`, local file state, \
         the package's default `503.html`. maint: `bench-server --workers 2`. Nothing pinned. \
         Ratio = maint / Django per pair. Note: gunicorn's sync workers close the connection \
         after each response (no keep-alive), actix-web keeps it alive; that is part of what is compared.",
        peer_versions(venv)
    ));
    report.line("");
    let pairs = Pairs::new(cli, pin, false);
    let reproduce_base = cli.reproduce_base();
    let hello = |name: &str, server, status, body| Side::new(name, server, "/hello", status, body);
    let served = Comparison {
        title: "Figure 5a: served page (maintenance off, GET /hello)",
        target: "report",
        threshold: None,
        a: hello("Django + gunicorn, GET /hello", &django_off, 200, "hello"),
        b: hello("maint bench-server, GET /hello", &maint_off, 200, "hello"),
    };
    pairs
        .measure(&served)?
        .write(report, &reproduce_base, "fig5");
    let page = Comparison {
        title: "Figure 5b: the maintenance page (maintenance on, GET /hello → 503)",
        target: "report",
        threshold: None,
        a: hello(
            "Django + gunicorn, 503 page",
            &django_on,
            503,
            "maintenance",
        ),
        b: hello(
            "maint bench-server, 503 page",
            &maint_on,
            503,
            "maintenance",
        ),
    };
    pairs.measure(&page)?.write(report, &reproduce_base, "fig5");
    Ok(())
}

/// Python's, Django's, django-maintenance-mode's and gunicorn's versions in
/// the virtualenv (empty when they cannot be read).
fn peer_versions(venv: &Path) -> String {
    run_bounded(
        Command::new(venv.join("bin/python")).args([
            "-c",
            "import django, gunicorn, importlib.metadata as m, sys; \
             print(f\"Python {sys.version.split()[0]}, Django {django.get_version()}, \
             django-maintenance-mode {m.version('django-maintenance-mode')}, gunicorn {gunicorn.__version__}\")",
        ]),
        Duration::from_secs(30),
    )
    .map(|run| run.stdout.trim().to_owned())
    .unwrap_or_default()
}

/// `gunicorn --workers 2` serving the `benchsite` project on a free port,
/// maintenance `on` or off in its own state file; waits until `GET /hello` answers.
fn start_gunicorn(
    cli: &Cli,
    venv: &Path,
    project: &Path,
    label: &str,
    maintenance: bool,
) -> Result<Server, String> {
    let state = cli.workdir.join(format!("state-{label}.txt"));
    fs::write(&state, if maintenance { "1" } else { "0" })
        .map_err(|e| format!("{}: {e}", state.display()))?;
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log =
        fs::File::create(cli.workdir.join(format!("{label}.log"))).map_err(|e| e.to_string())?;
    let mut command = Command::new(venv.join("bin/gunicorn"));
    command
        .args(["--workers", "2", "--bind"])
        .arg(addr.to_string())
        .arg("--chdir")
        .arg(project)
        .args(["--log-level", "warning", "benchsite.wsgi:application"])
        .env("DJANGO_SETTINGS_MODULE", "benchsite.settings")
        .env("BENCH_STATE_FILE", &state)
        .env("BENCH_DB", cli.workdir.join(format!("{label}.sqlite3")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut proc = Proc::spawn(label, &mut command)?;
    await_http(addr, "/hello", || !proc.exited())?;
    Ok(Server::new(addr, label, proc))
}
