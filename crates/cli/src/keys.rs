//! `medigate keys`: keystore files. A keystore seals a BIP-39 recovery
//! phrase (from which the chain key and the encryption key derive) under a
//! passphrase; it never leaves its owner's machine.

use std::{io::BufRead, path::PathBuf};

use clap::Subcommand;
use medigate_crypto::{
    keys::Identity,
    keystore::{self, KeystoreParams},
};

use crate::client::CliError;

/// The keystore commands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a new identity and seal it in a keystore; prints its account
    /// and, once, its recovery phrase.
    New {
        /// Where to write the keystore (refused if the file exists).
        #[arg(long, env = "MEDIGATE_KEYSTORE")]
        keystore: PathBuf,
    },
    /// Seal an existing recovery phrase (read from standard input) in a
    /// keystore.
    Import {
        /// Where to write the keystore (refused if the file exists).
        #[arg(long, env = "MEDIGATE_KEYSTORE")]
        keystore: PathBuf,
    },
    /// Show a keystore's account and encryption key.
    Show {
        /// The keystore.
        #[arg(long, env = "MEDIGATE_KEYSTORE")]
        keystore: PathBuf,
    },
}

/// The passphrase: `MEDIGATE_PASSPHRASE`, else a prompt on the terminal,
/// else a line of standard input.
pub fn passphrase(prompt: &str) -> Result<String, CliError> {
    if let Ok(passphrase) = std::env::var("MEDIGATE_PASSPHRASE") {
        return Ok(passphrase);
    }
    rpassword::prompt_password(prompt).or_else(|_| {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| CliError::Keys(format!("cannot read the passphrase: {error}")))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    })
}

fn refuse_existing(path: &PathBuf) -> Result<(), CliError> {
    if path.exists() {
        return Err(CliError::Keys(format!(
            "{} exists; choose another path (a keystore is never overwritten)",
            path.display()
        )));
    }
    Ok(())
}

fn seal(path: &PathBuf, identity: &Identity) -> Result<(), CliError> {
    let passphrase = passphrase("New keystore passphrase: ")?;
    if passphrase.len() < 8 {
        return Err(CliError::Keys(
            "the passphrase is shorter than 8 characters; choose a longer one".into(),
        ));
    }
    keystore::save(path, identity, &passphrase, KeystoreParams::default())
        .map_err(|error| CliError::Keys(format!("cannot write {}: {error}", path.display())))
}

fn describe(identity: &Identity) -> serde_json::Value {
    serde_json::json!({
        "account": hex::encode(identity.signing_keypair().public_key().0),
        "encryption_key": hex::encode(identity.encryption_secret().public_key().0),
    })
}

/// Runs a keys command.
pub fn run(command: KeysCommand, json: bool) -> Result<(), CliError> {
    match command {
        KeysCommand::New { keystore } => {
            refuse_existing(&keystore)?;
            let identity = Identity::generate();
            seal(&keystore, &identity)?;
            let mut shown = describe(&identity);
            shown["recovery_phrase"] = identity.phrase().as_str().into();
            if json {
                println!("{shown}");
            } else {
                println!("account {}", shown["account"].as_str().unwrap_or_default());
                println!(
                    "recovery phrase (write it down; it is shown only now):\n  {}",
                    identity.phrase().as_str()
                );
            }
        }
        KeysCommand::Import { keystore } => {
            refuse_existing(&keystore)?;
            eprintln!("recovery phrase:");
            let mut phrase = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut phrase)
                .map_err(|error| CliError::Keys(format!("cannot read the phrase: {error}")))?;
            let identity = Identity::from_phrase(phrase.trim())
                .map_err(|error| CliError::Keys(format!("not a recovery phrase: {error}")))?;
            seal(&keystore, &identity)?;
            crate::client::print(json, &describe(&identity), |shown| {
                format!("account {}", shown["account"].as_str().unwrap_or_default())
            });
        }
        KeysCommand::Show { keystore } => {
            let passphrase = passphrase("Keystore passphrase: ")?;
            let identity = keystore::load(&keystore, &passphrase)
                .map_err(|error| CliError::Keys(format!("{}: {error}", keystore.display())))?;
            crate::client::print(json, &describe(&identity), |shown| {
                format!(
                    "account {}\nencryption key {}",
                    shown["account"].as_str().unwrap_or_default(),
                    shown["encryption_key"].as_str().unwrap_or_default()
                )
            });
        }
    }
    Ok(())
}
