//! `medigate-node`: a node of the MediGate permissioned chain.
//!
//! Errors end the process with one line on standard error and exit code 1.

mod chain_spec;
mod cli;
mod command;
mod preflight;
mod rpc;
mod service;

fn main() {
    if let Err(error) = command::run() {
        eprintln!("medigate-node: error: {}", command::describe_error(&error));
        std::process::exit(1);
    }
}
