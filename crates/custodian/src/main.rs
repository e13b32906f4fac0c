//! `medigate-custodian`: a custodian of emergency key shares.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use medigate_crypto::{keys::Identity, keystore};
use medigate_custodian::{config::CustodianConfig, server};

/// A MediGate custodian: keeps patients' emergency key shares and releases
/// one to a responder only on a break-glass the chain recorded.
#[derive(Debug, Parser)]
#[command(name = "medigate-custodian", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a keystore holding a new custodian identity and prints its
    /// account (register it, have an authority attest it as a custodian and
    /// governance name it).
    NewKey {
        /// Where to write the keystore (refused if the file exists).
        #[arg(long, env = "MEDIGATE_CUSTODIAN_KEYSTORE")]
        keystore: PathBuf,
        /// The passphrase sealing it.
        #[arg(long, env = "MEDIGATE_CUSTODIAN_PASSPHRASE", hide_env_values = true)]
        passphrase: String,
    },
    /// Serves the custodian's HTTP API until interrupted (Ctrl-C or SIGTERM).
    Serve(CustodianConfig),
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    medigate_logging::init("info");
    let result = match Cli::parse().command {
        Command::NewKey {
            keystore: path,
            passphrase,
        } => {
            if path.exists() {
                eprintln!("error: {} exists; choose another path", path.display());
                return ExitCode::FAILURE;
            }
            let identity = Identity::generate();
            let account = identity.signing_keypair().public_key().0;
            keystore::save(
                &path,
                &identity,
                &passphrase,
                keystore::KeystoreParams::default(),
            )
            .map(|()| println!("{}", hex::encode(account)))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
        }
        Command::Serve(config) => server::serve(config, shutdown_signal())
            .await
            .map_err(|error| error.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
