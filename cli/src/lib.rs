//! The `kitsu` command: batch preview downloads, publishing, generic
//! transfers and JSON routes, on libkitsu's batch engine, with indicatif
//! bars on a terminal, plain log lines elsewhere, and JSON for scripts.
//!
//! Output: machine data (JSON records, a route's answer, preview ids) goes
//! to stdout; people's output (bars, log lines, the summary) to stderr, so
//! `kitsu ... --json | jq` and `kitsu get ... > answer.json` stay clean.

pub mod args;
pub mod chunked;
pub mod connect;
pub mod demo;
pub mod failure;
pub mod generic;
pub mod interrupt;
pub mod previews;
pub mod publish;
pub mod report;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use failure::Failure;

pub fn main() -> ExitCode {
    // clap exits 2 on a usage error and 0 for --help/--version.
    let cli = Cli::parse();
    let outcome = run(cli);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let output = cli.output();
    match &cli.command {
        Command::Completions { shell } => {
            generic::completions(*shell);
            Ok(())
        }
        Command::DownloadPreviews(args) => {
            let client = connect::connect(&cli)?;
            previews::download_previews(&client, args, output)
        }
        Command::Publish(args) => {
            let client = connect::connect(&cli)?;
            publish::publish_command(&client, args, output, cli.processing_timeout())
        }
        Command::Download(args) => {
            let client = connect::connect(&cli)?;
            generic::download(&client, args, output)
        }
        Command::Upload(args) if args.chunked() => {
            let client = connect::connect_for_service(&cli, &args.route)?;
            chunked::upload(&client, args, output)
        }
        Command::Upload(args) => {
            let client = connect::connect(&cli)?;
            generic::upload(&client, args, output)
        }
        Command::Get { route } => {
            let client = connect::connect(&cli)?;
            generic::get(&client, route)
        }
        Command::Post { route, body } => {
            let client = connect::connect(&cli)?;
            generic::post(&client, route, body)
        }
        Command::Demo(args) => {
            let client = connect::connect(&cli)?;
            demo::demo(&client, args, output)
        }
    }
}
