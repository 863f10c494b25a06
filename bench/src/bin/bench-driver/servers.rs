//! The servers under load in figures 1–3 and 5: `bench-server` (the
//! benchmark app over HTTP) started on a free port, and a superuser's
//! session cookie from it.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::Stdio,
    sync::mpsc,
    thread,
};

use crate::{
    cli::Cli,
    harness::{
        http_client::{HttpClient, await_http, cookie_pair},
        process::{Proc, START_TIMEOUT},
    },
    pinning::Pinning,
};

/// A bench-server (or gunicorn) listening on `addr`, stopped when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its name in messages and state-file names.
    pub label: String,
    /// The process, stopped when the server is dropped.
    _proc: Proc,
}

impl Server {
    /// The server `proc` is, listening on `addr`.
    pub fn new(addr: SocketAddr, label: &str, proc: Proc) -> Self {
        Self {
            addr,
            label: label.to_owned(),
            _proc: proc,
        }
    }
}

/// What bench-server to start.
pub struct ServerSpec<'a> {
    /// Its name in messages and state-file names.
    pub label: &'a str,
    /// `--workers`.
    pub workers: usize,
    /// `--middleware on` (else `off`).
    pub middleware: bool,
    /// `--maintenance on` (else `off`).
    pub maintenance: bool,
    /// On the server's CPU, when pinning.
    pub pinned: bool,
}

/// Starts `bench-server --bind 127.0.0.1:0 --backend local-file` as `spec`
/// says and waits until `GET /hello` answers.
pub fn start_bench_server(
    cli: &Cli,
    pin: &Pinning,
    spec: &ServerSpec<'_>,
) -> Result<Server, String> {
    let state = cli
        .workdir
        .join(format!("state-{}.txt", spec.label.replace(' ', "-")));
    let program = cli.bin_dir.join("bench-server");
    let program = program.to_str().ok_or("non-UTF-8 path")?;
    let pinned = if spec.pinned { pin.server() } else { None };
    let mut command = pin.command(pinned, program);
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
    let stdout = proc.take_stdout().ok_or("no stdout")?;
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
    Ok(Server::new(addr, spec.label, proc))
}

/// A superuser's session cookie from `/login-superuser` (the key is the same on every bench-server).
pub fn superuser_cookie(server: &Server) -> Result<String, String> {
    let reply = HttpClient::new(server.addr).get("/login-superuser", &[("Connection", "close")])?;
    match &reply.set_cookie {
        Some(set_cookie) => Ok(cookie_pair(set_cookie).to_owned()),
        None => Err(format!(
            "/login-superuser set no cookie: {} {}",
            reply.status, reply.body
        )),
    }
}
