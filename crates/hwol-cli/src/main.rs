//! `hwol`: the hwol command-line tool.
//!
//! Subcommands:
//!
//! - `hwol odp parse`: read `ovs-appctl dpctl/dump-flows` lines on stdin and
//!   print each back in canonical form (see [`odp`]).
//! - `hwol ofproto trace`: load an ovs-ofctl flows file into a bridge and
//!   explain one packet's path through it (see [`ofproto`]).
//! - `hwol nic setup` / `hwol nic status`: provision a real SR-IOV NIC and
//!   show its VFs and representors (see [`nic`]).
//! - `hwol nic emulate`: create, attach and destroy an emulated SR-IOV NIC
//!   made of veth pairs (see [`nic`]).
//! - `hwol pipeline`: print the pod network pipeline for a set of pods as
//!   ovs-ofctl flows (see [`ofproto`]).
//!
//! This binary is a thin shell over the library crates: argument parsing
//! and I/O live here, the formats live in `hwol-odp` and friends.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod nic;
mod odp;
mod ofproto;

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
    /// OpenFlow tables and their translation to datapath flows.
    #[command(subcommand)]
    Ofproto(OfprotoCommand),
    /// Host NICs: an emulated SR-IOV NIC for machines without SR-IOV.
    #[command(subcommand)]
    Nic(nic::NicCommand),
    /// Print the pod network pipeline (ovs-ofctl add-flows syntax).
    Pipeline(ofproto::PipelineArgs),
}

#[derive(Subcommand, Debug)]
enum OfprotoCommand {
    /// Explain how one packet goes through a flows file, like `ovs-appctl ofproto/trace`.
    Trace(ofproto::TraceArgs),
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
        Command::Ofproto(OfprotoCommand::Trace(args)) => ofproto::trace(&args).map(|text| {
            print!("{text}");
            true
        }),
        Command::Nic(cmd) => nic::run(&cmd),
        Command::Pipeline(args) => ofproto::pipeline(&args).map(|text| {
            print!("{text}");
            true
        }),
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
