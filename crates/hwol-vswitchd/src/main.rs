//! `hwol-vswitchd`: the hwol switch daemon (see the library docs).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = hwol_vswitchd::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .init();
    match hwol_vswitchd::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("hwol-vswitchd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
