//! The maint example site: an actix-web app behind the maintenance middleware.
//!
//! ```text
//! example-site [--config FILE] [--bind HOST:PORT]
//! ```

mod config;
mod site;

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

use crate::config::{Config, DEFAULT_CONFIG_PATH, one_line};

/// Command line of the example site.
#[derive(Debug, Parser)]
#[command(version, about = "The maint example site")]
struct Cli {
    /// The TOML configuration file.
    #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
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
    let maint = site::maintenance_mode(config.maintenance)?;
    site::serve(maint, &cli.bind).map_err(|e| format!("cannot serve on {}: {e}", cli.bind))
}
