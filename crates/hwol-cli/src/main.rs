//! `hwol`: the hwol command-line tool.
//!
//! Subcommands:
//!
//! - `hwol odp parse`: read `ovs-appctl dpctl/dump-flows` lines on stdin and
//!   print each back in canonical form (see [`odp`]).
//!
//! This binary is a thin shell over the library crates: argument parsing
//! and I/O live here, the formats live in `hwol-odp` and friends.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod odp;

#[derive(Parser, Debug)]
#[command(name = "hwol", version, about = "hwol: a hardware-offloaded virtual switch", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Datapath flow text (the format of `ovs-appctl dpctl/dump-flows`).
    #[command(subcommand)]
    Odp(OdpCommand),
}

#[derive(Subcommand, Debug)]
enum OdpCommand {
    /// Parse datapath flows on stdin and print each back canonicalized.
    Parse(odp::ParseArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Odp(OdpCommand::Parse(args)) => {
            let stdin = io::stdin();
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let mut err = io::stderr().lock();
            let r = odp::parse(&args, stdin.lock(), &mut out, &mut err);
            r.and_then(|ok| {
                out.flush()?;
                Ok(ok)
            })
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hwol: {e:#}");
            ExitCode::from(2)
        }
    }
}
