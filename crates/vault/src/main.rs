//! `medigate-vault`: the consent-gated vault of encrypted records.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use medigate_crypto::{keys::Identity, keystore};
use medigate_vault::{config::VaultConfig, server, store::hex};

/// The MediGate vault: keeps encrypted records by content id and serves each
/// read only when the chain allows it, with an access receipt on chain.
#[derive(Debug, Parser)]
#[command(name = "medigate-vault", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a keystore holding a new vault identity and prints its account
    /// (register it and have an authority attest it as an organization).
    NewKey {
        /// Where to write the keystore (refused if the file exists).
        #[arg(long, env = "MEDIGATE_VAULT_KEYSTORE")]
        keystore: PathBuf,
        /// The passphrase sealing it.
        #[arg(long, env = "MEDIGATE_VAULT_PASSPHRASE", hide_env_values = true)]
        passphrase: String,
    },
    /// Serves the vault's HTTP API until interrupted (Ctrl-C or SIGTERM).
    Serve(VaultConfig),
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
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
            .map(|()| println!("{}", hex(&account)))
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
