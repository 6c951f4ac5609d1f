//! `hwol-vswitchd`: the hwol switch daemon (see the library docs).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = hwol_vswitchd::Args::parse();
    hwol_vswitchd::init_logging(&args.log);
    match hwol_vswitchd::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("hwol-vswitchd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
