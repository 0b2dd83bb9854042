#![forbid(unsafe_code)]

use clap::Parser;
use wacrm::infra::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    wacrm::init_tracing();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    match wacrm::server::run(cli.config, command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wacrm: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
