//! Runs the figures of `BENCHMARKS.md` and writes the markdown report; started
//! by `bench/run`, which installs the tools, builds the binaries and prepares
//! the Django peer first.
//!
//! ```text
//! bench-driver --bin-dir target/release --workdir TMP --out target/bench-report.md
//!              [--quick] [--only fig1,fig2,fig3,fig4,fig5,criterion,instructions,soak]
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
//! `soak` (`maint_bench::soak`) is not a figure and runs only when `--only`
//! names it; the driver then exits non-zero when the soak run fails.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use clap::Parser;
use maint_bench::Case;

/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `maintenance_mode` command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a propagation may take before the round counts as lost.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra time a load generator run gets beyond its duration before it is killed.
const WRK_GRACE: Duration = Duration::from_secs(20);
/// How long one valgrind run may take.
const VALGRIND_TIMEOUT: Duration = Duration::from_secs(600);

/// The benchmark driver (see `bench/run`).
#[derive(Debug, Parser)]
struct Cli {
    /// Directory of the release binaries (bench-server, hot-path, example-site).
    #[arg(long)]
    bin_dir: PathBuf,
    /// Scratch directory (state files, configs, logs, callgrind outputs).
    #[arg(long)]
    workdir: PathBuf,
    /// Where the markdown report goes (it is printed too).
    #[arg(long)]
    out: PathBuf,
    /// Fewer and shorter pairs: a trial run.
    #[arg(long)]
    quick: bool,
    /// Comma-separated sections: fig1,fig2,fig3,fig4,fig5,criterion,instructions (default: all),
    /// and soak (only when named).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// A/B pairs per figure (default 7, 3 with --quick).
    #[arg(long)]
    pairs: Option<usize>,
    /// Seconds per load run (default 3, 2 with --quick).
    #[arg(long)]
    duration: Option<u64>,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// `maintenance_mode on` commands per propagation figure (default 100, 20 with --quick).
    #[arg(long)]
    toggles: Option<usize>,
    /// Seconds of the soak run, warm-up included.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Iterations per hot-path run under valgrind (default 2000).
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
    /// The wrk executable.
    #[arg(long, default_value = "wrk")]
    wrk: String,
    /// The redis-server executable.
    #[arg(long, default_value = "redis-server")]
    redis_server: String,
    /// The Django peer's virtualenv (with django, django-maintenance-mode, gunicorn).
    #[arg(long)]
    django_venv: Option<PathBuf>,
    /// The Django peer's project directory (holding the `benchsite` package).
    #[arg(long)]
    django_project: Option<PathBuf>,
    /// Criterion's output directory, read for the criterion table.
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// The command line that produced this run, for the report.
    #[arg(long, default_value = "bench/run")]
    command: String,
}

impl Cli {
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.names(section)
    }
    /// Sections outside the default set (soak) run only when named.
    fn names(&self, section: &str) -> bool {
        self.only.iter().any(|s| s == section)
    }
    fn pairs(&self) -> usize {
        self.pairs.unwrap_or(if self.quick { 3 } else { 7 })
    }
    fn duration(&self) -> u64 {
        self.duration.unwrap_or(if self.quick { 2 } else { 3 })
    }
    fn toggles(&self) -> usize {
        self.toggles.unwrap_or(if self.quick { 20 } else { 100 })
    }
}

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

fn run(cli: &Cli) -> Result<(), String> {
    fs::create_dir_all(&cli.workdir).map_err(|e| format!("{}: {e}", cli.workdir.display()))?;
    let mut report = Report::new(cli);
    let pin = Pinning::detect();
    if [
        "fig1",
        "fig2",
        "fig3",
        "fig4",
        "fig5",
        "criterion",
        "instructions",
    ]
    .iter()
    .any(|section| cli.wants(section))
    {
        report.line(&format!("- CPU pinning: {}", pin.describe()));
        report.line(&format!(
            "- load generator: `{}` (`{}`), {} connection(s), 1 thread, {} s per run, {} A/B pairs per figure, A and B alternating (AB, BA, ...)",
            cli.wrk,
            tool_version(&cli.wrk, &["-v"]),
            cli.connections,
            cli.duration(),
            cli.pairs()
        ));
    }
    report.line("");

    let load = LoadBench { cli, pin: &pin };
    if cli.wants("fig1") || cli.wants("fig2") || cli.wants("fig3") {
        load.maint_figures(&mut report)?;
    }
    if cli.wants("fig4") {
        propagation(cli, &mut report)?;
    }
    if cli.wants("fig5") {
        load.django_peer(&mut report)?;
    }
    if cli.wants("criterion") {
        criterion_table(cli, &mut report);
    }
    if cli.wants("instructions") {
        instructions(cli, &mut report)?;
    }
    let soak_passed = if cli.names("soak") {
        soak(cli, &mut report)?
    } else {
        true
    };
    report.finish(cli)?;
    if soak_passed {
        Ok(())
    } else {
        Err("the soak run failed (see the table above)".to_owned())
    }
}

// ---------------------------------------------------------------------------
// Soak (maint_bench::soak)

/// Runs the soak and writes its section; whether it passed.
fn soak(cli: &Cli, report: &mut Report) -> Result<bool, String> {
    let options = maint_bench::soak::Options::new(
        cli.bin_dir.join("example-site"),
        &cli.redis_server,
        cli.workdir.clone(),
        cli.seconds,
    );
    report.line("## Soak: hostile traffic while maintenance toggles and Redis dies");
    report.line("");
    report.line(&format!(
        "The release `example-site` on a Redis of its own (`state_backend = \"redis\"`); {} clients \
         send requests with random methods, paths, cookies, `Accept`, `X-Forwarded-For` and \
         `Forwarded`; `maintenance_mode on|off` every {} s; Redis `SIGKILL`ed and restarted every \
         ~{} s. A `503` with `Retry-After` is the maintenance page; any other `5xx` is an error; no \
         answer within {} s is a hung request.",
        options.clients,
        options.toggle_every.as_secs(),
        options.redis_kill_every.as_secs(),
        options.hang_timeout.as_secs()
    ));
    report.line("");
    let outcome = maint_bench::soak::run(&options)?;
    for line in outcome.report_lines(&options) {
        report.line(&line);
    }
    report.line("");
    report.line(&format!(
        "Result: **{}**. Reproduce: `bench/run --only soak --seconds {}` (site log: `{}`, removed with the work directory).",
        if outcome.passed() { "passed" } else { "FAILED" },
        cli.seconds,
        outcome.site_log.display()
    ));
    report.line("");
    Ok(outcome.passed())
}

// ---------------------------------------------------------------------------
// Report

struct Report {
    text: String,
}

impl Report {
    fn new(cli: &Cli) -> Self {
        let mut report = Self {
            text: String::new(),
        };
        report.line("# maint benchmark report");
        report.line("");
        report.line(&format!("- date: {}", now_utc()));
        report.line(&format!("- machine: {}", machine()));
        report.line(&format!("- load average at start: {}", load_average()));
        report.line(&format!("- command: `{}`", cli.command));
        report
    }

    fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn finish(mut self, cli: &Cli) -> Result<(), String> {
        self.line(&format!("Load average at the end: {}", load_average()));
        if let Some(dir) = cli.out.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::write(&cli.out, &self.text).map_err(|e| format!("{}: {e}", cli.out.display()))?;
        eprintln!("bench-driver: report written to {}", cli.out.display());
        Ok(())
    }
}

fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine() -> String {
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or("unknown".to_owned(), |k| k.trim().to_owned());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("?".to_owned(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cpus} CPUs (nproc), {model}, {memory}, Linux {kernel}")
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn tool_version(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_else(|| "not found".to_owned())
}

// ---------------------------------------------------------------------------
// Statistics

fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q` quantile (nearest rank on the sorted values).
fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if q == 0.5 && sorted.len().is_multiple_of(2) {
        let hi = sorted.len() / 2;
        return (sorted[hi - 1] + sorted[hi]) / 2.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

// ---------------------------------------------------------------------------
// Processes

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn spawn(name: &str, command: &mut Command) -> Result<Self, String> {
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "bench-driver: {} did not stop on SIGTERM; killing it",
            self.name
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end within `limit` (killed after); stdout, stderr, success.
fn run_bounded(command: &mut Command, limit: Duration) -> Result<(String, String, bool), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let stdout = read_in_thread(child.stdout.take());
    let stderr = read_in_thread(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{command:?} did not finish within {limit:?}"));
        }
        thread::sleep(Duration::from_millis(2));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok((stdout, stderr, status.success()))
}

fn read_in_thread(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 client for probes and propagation polling (keep-alive).

struct Reply {
    status: u16,
    body: String,
}

struct HttpClient {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl HttpClient {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None }
    }

    /// `GET path` with extra header lines; reconnects once when the kept-alive connection is gone.
    fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        match self.try_get(path, headers) {
            Ok(reply) => Ok(reply),
            Err(_) => {
                self.stream = None;
                self.try_get(path, headers)
            }
        }
    }

    fn try_get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().expect("connected");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        request.push_str("\r\n");
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".to_owned());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("connection closed in headers".to_owned());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        } else {
            reader.read_to_end(&mut body).map_err(|e| e.to_string())?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Polls `GET path` until the server answers at all (bounded).
fn await_http(addr: SocketAddr, path: &str, mut alive: impl FnMut() -> bool) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if HttpClient::new(addr).get(path, &[]).is_ok() {
            return Ok(());
        }
        if !alive() {
            return Err(format!("the server on {addr} exited"));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!("no answer on {addr} within {START_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// CPU pinning

struct Pinning {
    /// `taskset -c` lists for the server and the load generator, when pinning.
    cpus: Option<(String, String)>,
}

impl Pinning {
    fn detect() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .args(["-c", "0", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let cpus = (taskset && cpus >= 2).then(|| ("0".to_owned(), "1".to_owned()));
        Self { cpus }
    }

    fn describe(&self) -> String {
        match &self.cpus {
            Some((server, load)) => format!(
                "figures 1–3: the server under test on CPU {server}, wrk on CPU {load} (`taskset -c`); figures 4–5 unpinned (2 workers, example-site instances)"
            ),
            None => {
                "none (taskset missing or a single CPU): server and wrk share the CPUs".to_owned()
            }
        }
    }

    /// `command` run through `taskset -c CPUS`, or as is.
    fn command(&self, cpus: Option<&str>, program: &str) -> Command {
        match cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus, program]);
                command
            }
            None => Command::new(program),
        }
    }

    fn server(&self) -> Option<&str> {
        self.cpus.as_ref().map(|(s, _)| s.as_str())
    }

    fn load(&self) -> Option<&str> {
        self.cpus.as_ref().map(|(_, l)| l.as_str())
    }
}

// ---------------------------------------------------------------------------
// Servers

/// A bench-server (or gunicorn) listening on `addr`.
struct Server {
    addr: SocketAddr,
    _proc: Proc,
    label: String,
}

struct ServerSpec<'a> {
    label: &'a str,
    workers: usize,
    middleware: bool,
    maintenance: bool,
    pinned: bool,
}

impl LoadBench<'_> {
    fn start_bench_server(&self, spec: &ServerSpec<'_>) -> Result<Server, String> {
        let state = self
            .cli
            .workdir
            .join(format!("state-{}.txt", spec.label.replace(' ', "-")));
        let program = self.cli.bin_dir.join("bench-server");
        let program = program.to_str().ok_or("non-UTF-8 path")?;
        let pinned = if spec.pinned { self.pin.server() } else { None };
        let mut command = self.pin.command(pinned, program);
        command
            .args(["--bind", "127.0.0.1:0", "--workers"])
            .arg(spec.workers.to_string())
            .args(["--middleware", if spec.middleware { "on" } else { "off" }])
            .args(["--backend", "local-file", "--state-file"])
            .arg(&state)
            .args(["--maintenance", if spec.maintenance { "on" } else { "off" }])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut proc = Proc::spawn(spec.label, &mut command)?;
        let stdout = proc.child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| format!("bench-server {} did not print `listening on`", spec.label))?;
        let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        await_http(addr, "/hello", || !proc.exited())?;
        Ok(Server {
            addr,
            _proc: proc,
            label: spec.label.to_owned(),
        })
    }
}

// ---------------------------------------------------------------------------
// Load figures

struct LoadBench<'a> {
    cli: &'a Cli,
    pin: &'a Pinning,
}

/// One side of a figure: a server, a path, extra headers, the status it must answer.
#[derive(Clone)]
struct Target<'a> {
    name: String,
    server: &'a Server,
    path: &'static str,
    cookie: Option<String>,
    status: u16,
    /// A word the body must contain.
    body: &'static str,
}

struct WrkRun {
    rps: f64,
    requests: u64,
    non_2xx: u64,
    errors: u64,
}

struct Figure {
    title: String,
    target: String,
    threshold: Option<f64>,
    a: String,
    b: String,
    a_rps: Vec<f64>,
    b_rps: Vec<f64>,
    ratios: Vec<f64>,
    problems: Vec<String>,
    commands: Vec<String>,
}

impl LoadBench<'_> {
    fn wrk_command(&self, target: &Target<'_>, seconds: u64, pinned: bool) -> (Command, String) {
        let pinned = if pinned { self.pin.load() } else { None };
        let mut command = self.pin.command(pinned, &self.cli.wrk);
        let url = format!("http://{}{}", target.server.addr, target.path);
        let mut args = vec![
            "-t1".to_owned(),
            format!("-c{}", self.cli.connections),
            format!("-d{seconds}s"),
            "--timeout".to_owned(),
            "5s".to_owned(),
        ];
        if let Some(cookie) = &target.cookie {
            args.push("-H".to_owned());
            args.push(format!("Cookie: {cookie}"));
        }
        args.push(url);
        command.args(&args);
        let shown = format!(
            "{}{} {}",
            pinned.map_or(String::new(), |c| format!("taskset -c {c} ")),
            self.cli.wrk,
            args.iter()
                .map(|a| if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.clone()
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        (command, shown)
    }

    fn wrk(&self, target: &Target<'_>, seconds: u64, pinned: bool) -> Result<WrkRun, String> {
        let (mut command, shown) = self.wrk_command(target, seconds, pinned);
        let (stdout, stderr, ok) =
            run_bounded(&mut command, Duration::from_secs(seconds) + WRK_GRACE)?;
        if !ok {
            return Err(format!("`{shown}` failed:\n{stdout}{stderr}"));
        }
        parse_wrk(&stdout).ok_or_else(|| format!("cannot read wrk's output:\n{stdout}"))
    }

    /// Checks that `target` answers as the figure assumes.
    fn check(&self, target: &Target<'_>) -> Result<(), String> {
        let mut client = HttpClient::new(target.server.addr);
        let cookie = target.cookie.as_deref().map(|c| ("Cookie", c));
        let headers: Vec<(&str, &str)> = cookie.into_iter().collect();
        let reply = client.get(target.path, &headers)?;
        if reply.status != target.status || !reply.body.contains(target.body) {
            return Err(format!(
                "{} (GET {} on {}) answered {} {:?}; expected {} containing {:?}",
                target.name,
                target.path,
                target.server.label,
                reply.status,
                reply.body.chars().take(200).collect::<String>(),
                target.status,
                target.body
            ));
        }
        Ok(())
    }

    /// Interleaved A/B pairs; the ratio is B / A.
    fn pairs(
        &self,
        title: &str,
        target_text: &str,
        threshold: Option<f64>,
        a: &Target<'_>,
        b: &Target<'_>,
        pinned: bool,
    ) -> Result<Figure, String> {
        self.check(a)?;
        self.check(b)?;
        eprintln!("bench-driver: {title}: warm-up");
        self.wrk(a, 1, pinned)?;
        self.wrk(b, 1, pinned)?;
        let mut figure = Figure {
            title: title.to_owned(),
            target: target_text.to_owned(),
            threshold,
            a: a.name.clone(),
            b: b.name.clone(),
            a_rps: Vec::new(),
            b_rps: Vec::new(),
            ratios: Vec::new(),
            problems: Vec::new(),
            commands: vec![
                self.wrk_command(a, self.cli.duration(), pinned).1,
                self.wrk_command(b, self.cli.duration(), pinned).1,
            ],
        };
        for pair in 0..self.cli.pairs() {
            let order: [&Target<'_>; 2] = if pair % 2 == 0 { [a, b] } else { [b, a] };
            let mut rps = [0.0; 2];
            for target in order {
                let run = self.wrk(target, self.cli.duration(), pinned)?;
                let expected_non_2xx = if target.status >= 300 {
                    run.requests
                } else {
                    0
                };
                if run.non_2xx != expected_non_2xx || run.errors > 0 {
                    figure.problems.push(format!(
                        "pair {}: {}: {} non-2xx of {} requests (expected {expected_non_2xx}), {} socket errors",
                        pair + 1,
                        target.name,
                        run.non_2xx,
                        run.requests,
                        run.errors
                    ));
                }
                let index = usize::from(std::ptr::eq(target, b));
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

    /// Figures 1–3: one pinned bench-server per variant, 1 worker each.
    fn maint_figures(&self, report: &mut Report) -> Result<(), String> {
        let spec = |label, middleware, maintenance| ServerSpec {
            label,
            workers: 1,
            middleware,
            maintenance,
            pinned: true,
        };
        let off = self.start_bench_server(&spec("middleware-off-state", true, false))?;
        let on = self.start_bench_server(&spec("middleware-on-state", true, true))?;
        let none = self.start_bench_server(&spec("no-middleware", false, false))?;
        let cookie = superuser_cookie(&off)?;
        let plain = |name: &str, server, path, status, body| Target {
            name: name.to_owned(),
            server,
            path,
            cookie: None,
            status,
            body,
        };

        report.line("## Load figures (wrk over loopback)");
        report.line("");
        report.line(
            "Servers: `bench-server --workers 1 --backend local-file` (bench/src/bin/bench-server.rs): \
             5 `ignore_urls`, 3 `ignore_ip_addresses`, `ignore_superuser = true`, the session \
             middleware in both variants, a `#[maintenance_on]` route registered. The A and B servers \
             run side by side; only the one under load is busy. Ratio = B / A per pair.",
        );
        report.line("");
        if self.cli.wants("fig1") {
            let figure = self.pairs(
                "Figure 1: overhead, maintenance off",
                "B/A ≥ 0.98",
                Some(0.98),
                &plain(
                    "without middleware, GET /hello",
                    &none,
                    "/hello",
                    200,
                    "hello",
                ),
                &plain(
                    "with middleware (off), GET /hello",
                    &off,
                    "/hello",
                    200,
                    "hello",
                ),
                true,
            )?;
            figure.write(report, self.cli, "fig1");
        }
        if self.cli.wants("fig2") {
            let figure = self.pairs(
                "Figure 2: the maintenance page vs a plain 200",
                "B/A ≥ 1.0",
                Some(1.0),
                &plain(
                    "maintenance off, GET /hello (200 \"hello\")",
                    &off,
                    "/hello",
                    200,
                    "hello",
                ),
                &plain(
                    "maintenance on, GET /hello (503 page, default template)",
                    &on,
                    "/hello",
                    503,
                    "maintenance",
                ),
                true,
            )?;
            figure.write(report, self.cli, "fig2");
            let figure = self.pairs(
                "Figure 2b: the maintenance page vs a 200 page of the same bytes",
                "for reading figure 2",
                None,
                &plain(
                    "maintenance off, GET /same-size (200, the page's body and headers)",
                    &off,
                    "/same-size",
                    200,
                    "maintenance",
                ),
                &plain(
                    "maintenance on, GET /hello (503 page, default template)",
                    &on,
                    "/hello",
                    503,
                    "maintenance",
                ),
                true,
            )?;
            figure.write(report, self.cli, "fig2");
        }
        if self.cli.wants("fig3") {
            let with_cookie = |name: &str, server| Target {
                cookie: Some(cookie.clone()),
                ..plain(name, server, "/hello", 200, "hello")
            };
            let figure = self.pairs(
                "Figure 3a: exempt superuser (session cookie) during maintenance",
                "B/A ≥ 0.95",
                Some(0.95),
                &with_cookie("maintenance off, superuser, GET /hello", &off),
                &with_cookie("maintenance on, superuser, GET /hello", &on),
                true,
            )?;
            figure.write(report, self.cli, "fig3");
            let figure = self.pairs(
                "Figure 3b: exempt path (`ignore_urls`) during maintenance",
                "B/A ≥ 0.95",
                Some(0.95),
                &plain(
                    "maintenance off, GET /exempt/page",
                    &off,
                    "/exempt/page",
                    200,
                    "exempt",
                ),
                &plain(
                    "maintenance on, GET /exempt/page",
                    &on,
                    "/exempt/page",
                    200,
                    "exempt",
                ),
                true,
            )?;
            figure.write(report, self.cli, "fig3");
        }
        Ok(())
    }

    /// Figure 5: maint (2 workers) against django-maintenance-mode 0.23 under gunicorn (2 workers).
    fn django_peer(&self, report: &mut Report) -> Result<(), String> {
        report.line("## Figure 5: peer, django-maintenance-mode 0.23 under gunicorn");
        report.line("");
        let (Some(venv), Some(project)) = (&self.cli.django_venv, &self.cli.django_project) else {
            report.line(
                "Skipped: no `--django-venv` / `--django-project` (bench/run prepares them).",
            );
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
        let maint_off = self.start_bench_server(&spec("maint-2w-off", false))?;
        let maint_on = self.start_bench_server(&spec("maint-2w-on", true))?;
        let django_off = self.start_gunicorn(venv, project, "django-off", false)?;
        let django_on = self.start_gunicorn(venv, project, "django-on", true)?;
        let versions = run_bounded(
            Command::new(venv.join("bin/python")).args([
                "-c",
                "import django, gunicorn, importlib.metadata as m, sys; \
                 print(f\"Python {sys.version.split()[0]}, Django {django.get_version()}, \
                 django-maintenance-mode {m.version('django-maintenance-mode')}, gunicorn {gunicorn.__version__}\")",
            ]),
            Duration::from_secs(30),
        )
        .map(|(out, _, _)| out.trim().to_owned())
        .unwrap_or_default();
        report.line(&format!(
            "Peer: {versions}; `gunicorn --workers 2` (sync workers), SessionMiddleware + \
             AuthenticationMiddleware + MaintenanceModeMiddleware, the same 5 ignore_urls, 3 \
             ignore_ip_addresses, `MAINTENANCE_MODE_IGNORE_SUPERUSER = True`, local file state, \
             the package's default `503.html`. maint: `bench-server --workers 2`. Nothing pinned. \
             Ratio = maint / Django per pair. Note: gunicorn's sync workers close the connection \
             after each response (no keep-alive), actix-web keeps it alive; that is part of what is compared."
        ));
        report.line("");
        let target = |name: &str, server, status, body| Target {
            name: name.to_owned(),
            server,
            path: "/hello",
            cookie: None,
            status,
            body,
        };
        let figure = self.pairs(
            "Figure 5a: served page (maintenance off, GET /hello)",
            "report",
            None,
            &target("Django + gunicorn, GET /hello", &django_off, 200, "hello"),
            &target("maint bench-server, GET /hello", &maint_off, 200, "hello"),
            false,
        )?;
        figure.write(report, self.cli, "fig5");
        let figure = self.pairs(
            "Figure 5b: the maintenance page (maintenance on, GET /hello → 503)",
            "report",
            None,
            &target(
                "Django + gunicorn, 503 page",
                &django_on,
                503,
                "maintenance",
            ),
            &target(
                "maint bench-server, 503 page",
                &maint_on,
                503,
                "maintenance",
            ),
            false,
        )?;
        figure.write(report, self.cli, "fig5");
        Ok(())
    }

    fn start_gunicorn(
        &self,
        venv: &Path,
        project: &Path,
        label: &str,
        maintenance: bool,
    ) -> Result<Server, String> {
        let state = self.cli.workdir.join(format!("state-{label}.txt"));
        fs::write(&state, if maintenance { "1" } else { "0" })
            .map_err(|e| format!("{}: {e}", state.display()))?;
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let log = fs::File::create(self.cli.workdir.join(format!("{label}.log")))
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(venv.join("bin/gunicorn"));
        command
            .args(["--workers", "2", "--bind"])
            .arg(addr.to_string())
            .arg("--chdir")
            .arg(project)
            .args(["--log-level", "warning", "benchsite.wsgi:application"])
            .env("DJANGO_SETTINGS_MODULE", "benchsite.settings")
            .env("BENCH_STATE_FILE", &state)
            .env(
                "BENCH_DB",
                self.cli.workdir.join(format!("{label}.sqlite3")),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut proc = Proc::spawn(label, &mut command)?;
        await_http(addr, "/hello", || !proc.exited())?;
        Ok(Server {
            addr,
            _proc: proc,
            label: label.to_owned(),
        })
    }
}

/// A superuser's session cookie from `/login-superuser` (the key is the same on every bench-server).
fn superuser_cookie(server: &Server) -> Result<String, String> {
    let stream = TcpStream::connect(server.addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut stream = BufReader::new(stream);
    stream
        .get_mut()
        .write_all(b"GET /login-superuser HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or("").to_owned())
        })
        .ok_or_else(|| format!("/login-superuser set no cookie:\n{text}"))
}

fn parse_wrk(stdout: &str) -> Option<WrkRun> {
    let number = |prefix: &str| {
        stdout.lines().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
    };
    let rps = number("Requests/sec:")?;
    let requests = stdout
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())?;
    let non_2xx = number("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let errors = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map_or(0, |rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        });
    Some(WrkRun {
        rps,
        requests,
        non_2xx,
        errors,
    })
}

impl Figure {
    fn write(&self, report: &mut Report, cli: &Cli, section: &str) {
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
            "Reproduce: `{} --only {section}`; each run is `{}` (A) / `{}` (B).",
            reproduce_base(cli),
            self.commands[0],
            self.commands[1]
        ));
        report.line("");
    }
}

/// `bench/run` with the run's options except `--only`.
fn reproduce_base(cli: &Cli) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut skip = false;
    for word in cli.command.split_whitespace() {
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

// ---------------------------------------------------------------------------
// Figure 4: propagation

fn propagation(cli: &Cli, report: &mut Report) -> Result<(), String> {
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
    let file = propagation_file(cli, &site)?;
    file.write(report, "local_file", 1, Some(100.0));
    match propagation_redis(cli, &site) {
        Ok(redis) => redis.write(report, "redis", 3, Some(50.0)),
        Err(error) => report.line(&format!("| redis | 3 | – | skipped: {error} |||||||")),
    }
    report.line("");
    report.line(&format!(
        "Reproduce: `{} --only fig4`. Every wait is bounded ({:?} per change); a change not seen by then counts as lost.",
        reproduce_base(cli),
        PROPAGATION_TIMEOUT
    ));
    report.line("");
    Ok(())
}

#[derive(Default)]
struct Propagation {
    on_ms: Vec<f64>,
    off_ms: Vec<f64>,
    command_ms: Vec<f64>,
    lost: usize,
}

impl Propagation {
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

/// A running example-site.
struct Site {
    addr: SocketAddr,
    proc: Proc,
}

fn start_site(site: &Path, config: &Path, log: &Path) -> Result<Site, String> {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let log = fs::File::create(log).map_err(|e| e.to_string())?;
        let mut command = Command::new(site);
        command
            .arg("--config")
            .arg(config)
            .arg("--bind")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut proc = Proc::spawn("example-site", &mut command)?;
        match await_http(addr, "/", || !proc.exited()) {
            Ok(()) => return Ok(Site { addr, proc }),
            Err(error) => last = error,
        }
    }
    Err(format!("example-site did not start: {last}"))
}

fn maintenance_command(site: &Path, config: &Path, on: bool) -> Result<Duration, String> {
    let started = Instant::now();
    let (stdout, stderr, ok) = run_bounded(
        Command::new(site)
            .arg("--config")
            .arg(config)
            .arg("maintenance_mode")
            .arg(if on { "on" } else { "off" }),
        COMMAND_TIMEOUT,
    )?;
    if !ok {
        return Err(format!("maintenance_mode failed: {stdout}{stderr}"));
    }
    Ok(started.elapsed())
}

/// Toggles through the command and times until every site shows the new state.
fn measure_propagation(
    cli: &Cli,
    site: &Path,
    config: &Path,
    sites: &mut [Site],
) -> Result<Propagation, String> {
    let mut clients: Vec<HttpClient> = sites.iter().map(|s| HttpClient::new(s.addr)).collect();
    let mut result = Propagation::default();
    maintenance_command(site, config, false)?;
    wait_all(&mut clients, false, Instant::now())?;
    for round in 0..cli.toggles() * 2 {
        let on = round % 2 == 0;
        // Spread the changes over the refresher's 50 ms poll period.
        thread::sleep(Duration::from_micros((round as u64 * 7_919) % 50_000));
        let command_time = maintenance_command(site, config, on)?;
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

fn propagation_file(cli: &Cli, site: &Path) -> Result<Propagation, String> {
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
    let mut sites = vec![start_site(site, &config, &dir.join("site.log"))?];
    eprintln!(
        "bench-driver: figure 4, local_file: {} changes",
        cli.toggles()
    );
    measure_propagation(cli, site, &config, &mut sites)
}

fn propagation_redis(cli: &Cli, site: &Path) -> Result<Propagation, String> {
    let dir = cli.workdir.join("propagation-redis");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let redis_log = fs::File::create(dir.join("redis.log")).map_err(|e| e.to_string())?;
    let mut redis = Proc::spawn(
        "redis-server",
        Command::new(&cli.redis_server)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(redis_log)
            .stderr(Stdio::null()),
    )?;
    let started = Instant::now();
    while !redis_ping(port) {
        if redis.exited() || started.elapsed() > START_TIMEOUT {
            return Err(format!("redis-server on port {port} did not start"));
        }
        thread::sleep(Duration::from_millis(50));
    }
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
        sites.push(start_site(
            site,
            &config,
            &dir.join(format!("site-{i}.log")),
        )?);
    }
    eprintln!(
        "bench-driver: figure 4, redis × 3: {} changes",
        cli.toggles()
    );
    let result = measure_propagation(cli, site, &config, &mut sites);
    drop(sites);
    drop(redis);
    result
}

fn redis_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 16];
    stream.write_all(b"PING\r\n").is_ok()
        && stream
            .read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

// ---------------------------------------------------------------------------
// Criterion

fn criterion_table(cli: &Cli, report: &mut Report) {
    report.line("## Criterion: one request through the app, in process");
    report.line("");
    report.line(
        "`actix_web::test::init_service` of the benchmark app (memory backend), session middleware \
         in every case; the timed part is the service call and the drop of its response (the request \
         is built outside it). Median time per request, its 95% confidence interval, and the \
         difference to `none` (the app without the maintenance middleware).",
    );
    report.line("");
    let Some(dir) = &cli.criterion_dir else {
        report.line("Skipped: no `--criterion-dir`.");
        report.line("");
        return;
    };
    let read = |group: &str, id: &str| -> Option<(f64, f64, f64)> {
        let path = dir.join(group).join(id).join("new/estimates.json");
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
        let median = &json["median"];
        Some((
            median["point_estimate"].as_f64()?,
            median["confidence_interval"]["lower_bound"].as_f64()?,
            median["confidence_interval"]["upper_bound"].as_f64()?,
        ))
    };
    let baseline = read("middleware", Case::None.name()).map(|(m, _, _)| m);
    report.line("| case | what | median | 95% CI | − none |");
    report.line("|---|---|---|---|---|");
    let mut any = false;
    for case in Case::ALL {
        if let Some((m, lo, hi)) = read("middleware", case.name()) {
            any = true;
            let delta = baseline.map_or(String::new(), |b| format!("{:+.0} ns", m - b));
            report.line(&format!(
                "| `middleware/{}` | {} | **{:.0} ns** | {:.0}–{:.0} ns | {delta} |",
                case.name(),
                case.describe(),
                m,
                lo,
                hi
            ));
        }
    }
    for id in ["off", "on"] {
        if let Some((m, lo, hi)) = read("is_on", id) {
            any = true;
            report.line(&format!(
                "| `is_on/{id}` | `MaintenanceMode::is_on()` alone, maintenance {id} | **{m:.2} ns** | {lo:.2}–{hi:.2} ns | |"
            ));
        }
    }
    if !any {
        report.line(&format!("| – | no results under {} | | | |", dir.display()));
    }
    report.line("");
    report.line(
        "Reproduce: `cargo bench -p maint-bench --bench middleware` (1 s warm-up, 2 s measurement \
         per case; results under `target/criterion/`).",
    );
    report.line("");
}

// ---------------------------------------------------------------------------
// Instruction counts

fn instructions(cli: &Cli, report: &mut Report) -> Result<(), String> {
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
    let mut counts: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut profiles: BTreeMap<&'static str, PathBuf> = BTreeMap::new();
    let valgrind_ok = tool_version("valgrind", &["--version"]).starts_with("valgrind");
    if valgrind_ok {
        for case in Case::ALL {
            let out = cli.workdir.join(format!("callgrind.{}.out", case.name()));
            eprintln!("bench-driver: callgrind {}", case.name());
            let (stdout, stderr, ok) = run_bounded(
                Command::new("valgrind")
                    .arg("--tool=callgrind")
                    .arg("--toggle-collect=serve_one")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(&hot_path)
                    .arg(case.name())
                    .arg(n.to_string()),
                VALGRIND_TIMEOUT,
            )?;
            if !ok {
                return Err(format!(
                    "callgrind of {} failed:\n{stdout}{stderr}",
                    case.name()
                ));
            }
            let total = fs::read_to_string(&out)
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("summary:"))
                        .and_then(|v| v.trim().parse::<f64>().ok())
                })
                .ok_or_else(|| format!("no summary in {}", out.display()))?;
            counts.insert(case.name(), total / n as f64);
            profiles.insert(case.name(), out);
        }
        let none = counts[Case::None.name()];
        report
            .line("| case | what | instructions/request | − none | vs its maintenance-off twin |");
        report.line("|---|---|---|---|---|");
        for case in Case::ALL {
            let count = counts[case.name()];
            let twin = match case {
                Case::On => Some(Case::OffSameSize),
                Case::OnExemptUrl => Some(Case::OffExemptUrl),
                Case::OnExemptSuperuser => Some(Case::OffSuperuser),
                _ => None,
            };
            let twin_text = twin.map_or(String::new(), |t| {
                format!("{:+.0} (vs `{}`)", count - counts[t.name()], t.name())
            });
            report.line(&format!(
                "| `{}` | {} | **{:.0}** | {:+.0} | {twin_text} |",
                case.name(),
                case.describe(),
                count,
                count - none
            ));
        }
        report.line("");
        report.line(&format!(
            "Reproduce: `valgrind --tool=callgrind --toggle-collect=serve_one target/release/hot-path CASE {n}` \
             (CASE from `hot-path --list`), or `{} --only instructions`.",
            reproduce_base(cli)
        ));
        report.line("");
        for (case, baseline) in [
            (Case::Off, Case::None),
            (Case::On, Case::OffSameSize),
            (Case::OnExemptSuperuser, Case::OffSuperuser),
            (Case::OnExemptUrl, Case::OffExemptUrl),
        ] {
            let (Some(a), Some(b)) = (profiles.get(case.name()), profiles.get(baseline.name()))
            else {
                continue;
            };
            let diff = self_cost_diff(a, b, n)?;
            report.line(&format!(
                "### Where `{}` spends more than `{}` (self instructions per request, by function)",
                case.name(),
                baseline.name()
            ));
            report.line("");
            report.line("| Δ instr/request | function |");
            report.line("|---|---|");
            for (delta, function) in diff.iter().take(12) {
                report.line(&format!("| {delta:+.0} | `{function}` |"));
            }
            report.line("");
        }
        if let Some(on) = profiles.get(Case::On.name()) {
            report.line("### maint's own functions in `on` (inclusive instructions per request)");
            report.line("");
            report.line("| instr/request | function |");
            report.line("|---|---|");
            for (cost, function) in annotate(on, true)?
                .into_iter()
                .filter(|(_, f)| f.contains("maint_actix"))
                .take(12)
            {
                report.line(&format!("| {:.0} | `{function}` |", cost / n as f64));
            }
            report.line("");
        }
    } else {
        report.line("valgrind not found: no callgrind counts.");
        report.line("");
    }
    perf_counts(report, &hot_path)?;
    Ok(())
}

/// `callgrind_annotate` of `file`: (instructions, function), most first.
fn annotate(file: &Path, inclusive: bool) -> Result<Vec<(f64, String)>, String> {
    let (stdout, stderr, ok) = run_bounded(
        Command::new("callgrind_annotate")
            .arg(format!(
                "--inclusive={}",
                if inclusive { "yes" } else { "no" }
            ))
            .arg("--threshold=100")
            .arg(file),
        Duration::from_secs(120),
    )?;
    if !ok {
        return Err(format!("callgrind_annotate failed: {stderr}"));
    }
    let mut rows = Vec::new();
    for line in stdout.lines() {
        let line = line.trim();
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<f64>() else {
            continue;
        };
        let rest = rest.trim();
        let rest = match rest.strip_prefix('(') {
            Some(r) => r.split_once(')').map_or(r, |(_, tail)| tail).trim(),
            None => rest,
        };
        if rest.contains("PROGRAM TOTALS") {
            continue;
        }
        rows.push((count, short_function(rest)));
    }
    Ok(rows)
}

/// `file:function [object]` → the function, without the file and object.
fn short_function(text: &str) -> String {
    let text = match text.rfind(" [") {
        Some(i) if text.ends_with(']') => &text[..i],
        _ => text,
    };
    let function = text.split_once(':').map_or(text, |(file, f)| {
        if file.contains('/') || file == "???" {
            f
        } else {
            text
        }
    });
    let mut short: String = function.chars().take(140).collect();
    if function.chars().count() > 140 {
        short.push('…');
    }
    short
}

/// Per-function self-cost differences (a − b) per request, largest first.
fn self_cost_diff(a: &Path, b: &Path, n: usize) -> Result<Vec<(f64, String)>, String> {
    let mut costs: BTreeMap<String, f64> = BTreeMap::new();
    for (cost, function) in annotate(a, false)? {
        *costs.entry(function).or_default() += cost;
    }
    for (cost, function) in annotate(b, false)? {
        *costs.entry(function).or_default() -= cost;
    }
    let mut diff: Vec<(f64, String)> = costs
        .into_iter()
        .map(|(f, c)| (c / n as f64, f))
        .filter(|(c, _)| c.abs() >= 1.0)
        .collect();
    diff.sort_by(|x, y| y.0.total_cmp(&x.0));
    Ok(diff)
}

/// `perf stat -e instructions:u`, where the machine has the counter.
fn perf_counts(report: &mut Report, hot_path: &Path) -> Result<(), String> {
    let probe = run_bounded(
        Command::new("perf").args(["stat", "-x,", "-e", "instructions:u", "true"]),
        Duration::from_secs(30),
    );
    let supported = match &probe {
        Ok((_, stderr, true)) => perf_value(stderr).is_some(),
        _ => false,
    };
    if !supported {
        let why = match probe {
            Err(_) => "perf not found".to_owned(),
            Ok((_, stderr, _)) => stderr
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
    let n = 200_000;
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
            let (_, stderr, ok) = run_bounded(
                Command::new("perf")
                    .args(["stat", "-x,", "-e", "instructions:u"])
                    .arg(hot_path)
                    .arg(case.name())
                    .arg(n.to_string())
                    .args(extra),
                Duration::from_secs(300),
            )?;
            if !ok {
                return Err(format!("perf stat failed: {stderr}"));
            }
            perf_value(&stderr).ok_or_else(|| format!("no count in {stderr}"))
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

fn perf_value(stderr: &str) -> Option<f64> {
    stderr
        .lines()
        .find(|l| l.contains("instructions"))
        .and_then(|l| l.split(',').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
}
