//! The maint example site: an actix-web app behind the maintenance middleware.
//!
//! ```text
//! example-site [--config FILE] [--bind HOST:PORT]                 serve
//! example-site [--config FILE] maintenance_mode on|off|status      toggle / inspect, then exit
//!              [--start ISO8601] [--end ISO8601 | --for DURATION] [--reason TEXT]
//!              [--read-only] [--secret TOKEN | --with-secret] [--interactive]
//!              [--json]                                            (status only)
//! ```
//!
//! The server also runs a background ticker ([`ticker`]) that pauses during
//! maintenance, and mounts the library's routes: the toggle routes, the
//! superusers' status page `/maintenance-mode/` and the public status JSON
//! `/maintenance-mode/status`.

mod auth;
mod config;
mod pages;
mod site;
mod ticker;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use maint_actix::command::MaintenanceModeCommand;

use crate::config::{Config, DEFAULT_CONFIG_PATH, one_line};

/// Command line of the example site.
#[derive(Debug, Parser)]
#[command(version, about = "The maint example site")]
struct Cli {
    /// The TOML configuration file.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Turn maintenance mode on or off, or show it (django-maintenance-mode's command).
    #[command(name = "maintenance_mode")]
    MaintenanceMode(MaintenanceModeCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; the command speaks through stdout and its
    // one-line error only (its own start-up read needs no warning).
    let default_level = if cli.command.is_some() {
        "error"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("example-site: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        None => {
            let maint = site::maintenance_mode(config.maintenance)?;
            site::serve(maint, &config.site, &cli.bind)
                .map_err(|e| format!("cannot serve on {}: {e}", cli.bind))
        }
        Some(Command::MaintenanceMode(command)) => {
            let maint = site::maintenance_mode(config.maintenance)?;
            command.run_stdio(&maint).map_err(|e| e.to_string())
        }
    }
}
