//! The benchmark app served over HTTP, for the load figures of `bench/run`.
//!
//! ```text
//! bench-server [--bind 127.0.0.1:0] [--workers 1] [--middleware on|off]
//!              [--backend local-file|memory] [--state-file PATH] [--maintenance on|off]
//! ```
//!
//! Prints `listening on ADDR` on stdout when it accepts connections.

use std::{io::Write, path::PathBuf, process::ExitCode};

use actix_web::HttpServer;
use clap::{Parser, ValueEnum};
use maint_bench::{Backend, app_with_middleware, app_without_middleware, maintenance_mode, routes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    LocalFile,
    Memory,
}

/// The maint benchmark app (see bench/src/lib.rs).
#[derive(Debug, Parser)]
struct Cli {
    /// Address to listen on (port 0: any free port; the line `listening on` tells which).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// With the maintenance middleware (`on`) or the same app without it (`off`).
    #[arg(long, value_enum, default_value = "on")]
    middleware: OnOff,
    /// Where the state lives.
    #[arg(long, value_enum, default_value = "local-file")]
    backend: BackendArg,
    /// The state file of the `local-file` backend.
    #[arg(long, default_value = "maintenance_mode_state.txt")]
    state_file: PathBuf,
    /// The state set at start.
    #[arg(long, value_enum, default_value = "off")]
    maintenance: OnOff,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let backend = match cli.backend {
        BackendArg::Memory => Backend::Memory,
        BackendArg::LocalFile => Backend::LocalFile(cli.state_file.clone()),
    };
    let maint = maintenance_mode(&backend, cli.maintenance == OnOff::On)?;
    let workers = cli.workers.max(1);
    let bind = cli.bind.clone();
    let served = actix_web::rt::System::new().block_on(async move {
        if cli.middleware == OnOff::On {
            let server = HttpServer::new(move || app_with_middleware(maint.clone(), routes))
                .workers(workers)
                .bind(&bind)?;
            announce(&server.addrs());
            server.run().await
        } else {
            let server = HttpServer::new(move || app_without_middleware(maint.clone(), routes))
                .workers(workers)
                .bind(&bind)?;
            announce(&server.addrs());
            server.run().await
        }
    });
    served.map_err(|e| format!("cannot serve on {}: {e}", cli.bind))
}

/// The line `bench/run` waits for.
fn announce(addrs: &[std::net::SocketAddr]) {
    let mut stdout = std::io::stdout().lock();
    for addr in addrs {
        let _ = writeln!(stdout, "listening on {addr}");
    }
    let _ = stdout.flush();
}
