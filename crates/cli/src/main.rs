//! `medigate`: MediGate from the terminal.
//!
//! `medigate keys ...` works on keystore files; `medigate gateway` runs a
//! gateway; `medigate dev` starts a whole local network; every other command
//! asks a running gateway (`--gateway`, with the API token in
//! `--token-file`).

mod client;
mod dev;
mod emergency;
mod keys;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use client::{CliError, GatewayClient};

/// MediGate: patients own their health records; the chain holds consent and
/// the audit trail; gateways speak FHIR R4.
#[derive(Parser)]
#[command(name = "medigate", version, about, long_about = None)]
struct Cli {
    /// The gateway to ask.
    #[arg(
        long,
        global = true,
        env = "MEDIGATE_GATEWAY",
        default_value = "http://127.0.0.1:7070"
    )]
    gateway: String,
    /// The file holding the gateway's API token.
    #[arg(
        long,
        global = true,
        env = "MEDIGATE_TOKEN_FILE",
        default_value = "medigate-gateway-data/api-token"
    )]
    token_file: PathBuf,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make, import or show a keystore (a BIP-39 recovery phrase sealed
    /// under a passphrase).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Run a gateway: the agent that holds the keys and serves FHIR R4.
    Gateway(medigate_gateway::GatewayConfig),
    /// Unlock the gateway's keystore (the passphrase from
    /// MEDIGATE_PASSPHRASE or a prompt).
    Unlock,
    /// Lock the gateway's keystore.
    Lock,
    /// Show the gateway's account and whether it is registered.
    Whoami,
    /// Register the gateway's account and encryption key on the chain (a
    /// newcomer without funds asks a hospital to `enrol` it first).
    Register,
    /// Enrol a new patient, as a hospital (an attested organization) or an
    /// authority: their account may then register without a fee for a day.
    Enrol {
        /// The newcomer's account id (64 hex digits, as `medigate whoami`
        /// shows it on their side).
        account: String,
    },
    /// Import FHIR R4 Bundles (a file, or every .json file in a directory):
    /// encrypted, anchored on chain, stored in the vault.
    Import {
        /// A Bundle file or a directory of them.
        path: PathBuf,
    },
    /// The records the gateway's user may see.
    #[command(subcommand)]
    Records(RecordsCommand),
    /// Consent: requests, approvals, denials, revocations.
    #[command(subcommand)]
    Access(AccessCommand),
    /// The audit trail: who read which record, when, for which purpose.
    Audit,
    /// Emergency access: your policy, summary and card; break the glass as
    /// a responder; review break-glasses.
    #[command(subcommand)]
    Emergency(emergency::EmergencyCommand),
    /// Start a complete local network (dev node, vault, gateways) with demo
    /// participants and records.
    Dev(dev::DevOptions),
    /// Write a synthetic patient's transaction Bundle (Synthea-shaped, valid
    /// R4, the same for the same seed): demo data for imports.
    SyntheticBundle {
        /// The seed (another seed, another patient).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Encounters (about 14 resources each; 16 with --realistic).
        #[arg(long, default_value_t = 20)]
        encounters: usize,
        /// Shaped like real Synthea output: clinical notes in base64,
        /// conditional references, large claims, a Provenance (about 54 KB
        /// an encounter).
        #[arg(long)]
        realistic: bool,
        /// The person of another seed (name, sex, birth date) as another
        /// hospital records them: the Bundle joins that person's account
        /// (`medigate dev`'s patient is seed 2026).
        #[arg(long, value_name = "SEED")]
        person: Option<u64>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum RecordsCommand {
    /// List the user's own records.
    List {
        /// Only this resource type.
        #[arg(long = "type")]
        resource_type: Option<String>,
    },
    /// Show one record (own or shared) as FHIR JSON.
    Show {
        /// `Type/id`, e.g. `Observation/123`.
        reference: String,
    },
    /// Export a patient's records as a FHIR `$everything` Bundle.
    Export {
        /// The patient: an account id, or your own Patient id (default: you).
        #[arg(long)]
        patient: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Export an International Patient Summary document instead.
        #[arg(long)]
        summary: bool,
        /// The purpose of use of the reads (an HL7 code: TREAT, ETREAT,
        /// BTG, HPAYMT, HRESCH, …; the gateway's default when not given).
        /// A responder after a break-glass's veto window gives its purpose.
        #[arg(long)]
        purpose: Option<String>,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// Ask a patient for read access.
    Request {
        /// The patient's account id.
        #[arg(long)]
        patient: String,
        /// Categories (comma-separated, e.g. labs,vitals); all when omitted.
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// The purpose of use (HL7 code).
        #[arg(long, default_value = "TREAT")]
        purpose: String,
        /// Why (only its salted hash goes on chain).
        #[arg(long, default_value = "")]
        justification: String,
        /// Also ask to add records (notes, results) to the patient's record.
        #[arg(long)]
        write: bool,
    },
    /// Approve a request, possibly for fewer categories.
    Approve {
        /// The request's id.
        request: u64,
        /// Narrow to these categories (comma-separated).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// Days the grant lasts.
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Deny a request.
    Deny {
        /// The request's id.
        request: u64,
    },
    /// Withdraw a request of yours that waits for an answer.
    Withdraw {
        /// The request's id.
        request: u64,
    },
    /// Revoke a grant.
    Revoke {
        /// The grant's id.
        grant: u64,
    },
    /// List requests and grants.
    List,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({"error": error.code(), "message": error.to_string()})
                );
            } else {
                eprintln!("medigate: {error}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let gateway = || GatewayClient::new(&cli.gateway, &cli.token_file);
    let json = cli.json;
    match cli.command {
        Command::Keys(command) => keys::run(command, json),
        Command::Gateway(config) => {
            medigate_logging::init("info");
            medigate_gateway::server::serve(config)
                .await
                .map_err(CliError::Gateway)
        }
        Command::Unlock => {
            let passphrase = keys::passphrase("Keystore passphrase: ")?;
            let answer = gateway()?
                .post(
                    "/api/unlock",
                    &serde_json::json!({"passphrase": passphrase}),
                )
                .await?;
            client::print(json, &answer, |answer| {
                format!(
                    "unlocked: account {}",
                    answer["account"].as_str().unwrap_or_default()
                )
            });
            Ok(())
        }
        Command::Lock => {
            let answer = gateway()?.post("/api/lock", &serde_json::json!({})).await?;
            client::print(json, &answer, |_| "locked".into());
            Ok(())
        }
        Command::Whoami => {
            let answer = gateway()?.get("/api/whoami").await?;
            client::print(json, &answer, |answer| {
                format!(
                    "account {}\nregistered: {}\nvault: {}",
                    answer["account"].as_str().unwrap_or_default(),
                    answer["registered"],
                    answer["vault"].as_str().unwrap_or_default()
                )
            });
            Ok(())
        }
        Command::Register => {
            let answer = gateway()?
                .post("/api/register", &serde_json::json!({}))
                .await?;
            client::print(json, &answer, |answer| {
                if answer["already_registered"] == true {
                    "already registered".into()
                } else if let Some(sponsor) = answer["sponsor"].as_str() {
                    format!(
                        "registered {}, sponsored by {sponsor}",
                        answer["account"].as_str().unwrap_or_default()
                    )
                } else {
                    format!(
                        "registered {}",
                        answer["account"].as_str().unwrap_or_default()
                    )
                }
            });
            Ok(())
        }
        Command::Enrol { account } => {
            let answer = gateway()?
                .post("/api/enrol", &serde_json::json!({ "account": account }))
                .await?;
            client::print(json, &answer, |answer| {
                format!(
                    "enrolled {}: it may register without a fee until block {} (`medigate register` on its side)",
                    answer["account"].as_str().unwrap_or_default(),
                    answer["until_block"]
                )
            });
            Ok(())
        }
        Command::Import { path } => gateway()?.import(&path, json).await,
        Command::Records(command) => records(gateway()?, command, json).await,
        Command::Access(command) => access(gateway()?, command, json).await,
        Command::Emergency(command) => emergency::run(gateway()?, command, json).await,
        Command::Audit => {
            let answer = gateway()?.get("/api/audit").await?;
            client::print(json, &answer, |answer| {
                let mut lines = vec![format!(
                    "{:<24} {:<16} {:<8} {:<7} {:<7} {}",
                    "when (UTC)", "who", "purpose", "block", "signed", "record"
                )];
                for access in answer["accesses"].as_array().into_iter().flatten() {
                    // A forged receipt names a reader who did not sign the read.
                    let signed = if access["kind"] == "forged" {
                        "FORGED"
                    } else {
                        "yes"
                    };
                    lines.push(format!(
                        "{:<24} {:<16} {:<8} {:<7} {:<7} {}",
                        client::utc(access["at_ms"].as_i64().unwrap_or_default()),
                        client::short(access["counterparty"].as_str().unwrap_or_default()),
                        access["purpose"].as_str().unwrap_or_default(),
                        access["block"],
                        signed,
                        access["record"].as_str().unwrap_or_default(),
                    ));
                }
                lines.join("\n")
            });
            Ok(())
        }
        Command::Dev(options) => dev::run(options).await,
        Command::SyntheticBundle {
            seed,
            encounters,
            realistic,
            person,
            out,
        } => {
            use medigate_fhir::synthetic;
            let bundle = if realistic {
                synthetic::realistic_bundle(seed, encounters)
            } else {
                synthetic::patient_bundle(seed, encounters)
            };
            let bundle = match person {
                Some(person) => synthetic::as_person_of(bundle, person),
                None => bundle,
            };
            let resources = bundle["entry"].as_array().map_or(0, Vec::len);
            std::fs::write(&out, bundle.to_string())
                .map_err(|error| CliError::Usage(format!("{}: {error}", out.display())))?;
            let answer = serde_json::json!({"file": out, "resources": resources});
            client::print(json, &answer, |_| {
                format!("wrote {resources} resources to {}", out.display())
            });
            Ok(())
        }
    }
}

async fn records(
    gateway: GatewayClient,
    command: RecordsCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        RecordsCommand::List { resource_type } => {
            let path = match resource_type {
                Some(resource_type) => format!("/api/records?type={resource_type}"),
                None => "/api/records".into(),
            };
            let answer = gateway.get(&path).await?;
            client::print(json, &answer, |answer| {
                let mut lines = vec![format!(
                    "{:<40} {:<14} {:<4} {}",
                    "record", "category", "ver", "content id"
                )];
                for record in answer["records"].as_array().into_iter().flatten() {
                    lines.push(format!(
                        "{:<40} {:<14} {:<4} {}",
                        format!(
                            "{}/{}",
                            record["resource_type"].as_str().unwrap_or_default(),
                            record["id"].as_str().unwrap_or_default()
                        ),
                        record["category"].as_str().unwrap_or_default(),
                        record["version"],
                        record["content_id"].as_str().unwrap_or_default()
                    ));
                }
                lines.join("\n")
            });
            Ok(())
        }
        RecordsCommand::Show { reference } => {
            if !reference.contains('/') {
                return Err(CliError::Usage(format!(
                    "{reference:?} is not a reference: give Type/id, e.g. Observation/123"
                )));
            }
            let text = gateway.get_text(&format!("/fhir/{reference}")).await?;
            client::out(&text);
            Ok(())
        }
        RecordsCommand::Export {
            patient,
            out,
            summary,
            purpose,
        } => {
            let patient = match patient {
                Some(patient) => patient,
                None => gateway.get("/api/whoami").await?["account"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            };
            let operation = if summary { "$summary" } else { "$everything" };
            let text = gateway
                .get_text_for(
                    &format!("/fhir/Patient/{patient}/{operation}"),
                    purpose.as_deref(),
                )
                .await?;
            match out {
                Some(out) => {
                    std::fs::write(&out, &text)
                        .map_err(|error| CliError::Usage(format!("{}: {error}", out.display())))?;
                    let total = serde_json::from_str::<serde_json::Value>(&text)
                        .map(|bundle| bundle["entry"].as_array().map_or(0, Vec::len).into())
                        .unwrap_or(serde_json::Value::Null);
                    let answer = serde_json::json!({"exported": total, "file": out});
                    client::print(json, &answer, |_| {
                        format!("exported {total} resources to {}", out.display())
                    });
                }
                None => client::out(&text),
            }
            Ok(())
        }
    }
}

async fn access(
    gateway: GatewayClient,
    command: AccessCommand,
    json: bool,
) -> Result<(), CliError> {
    let answer = match command {
        AccessCommand::Request {
            patient,
            categories,
            purpose,
            justification,
            write,
        } => {
            let body = serde_json::json!({
                "patient": patient, "categories": categories,
                "purpose": purpose, "justification": justification,
                "write": write,
            });
            let answer = gateway.post("/api/access/requests", &body).await?;
            client::print(json, &answer, |answer| {
                format!("request {} sent", answer["request"])
            });
            return Ok(());
        }
        AccessCommand::Approve {
            request,
            categories,
            days,
        } => {
            let body = serde_json::json!({"categories": categories, "days": days});
            gateway
                .post(&format!("/api/access/requests/{request}/approve"), &body)
                .await?
        }
        AccessCommand::Deny { request } => {
            gateway
                .post(
                    &format!("/api/access/requests/{request}/deny"),
                    &serde_json::json!({}),
                )
                .await?
        }
        AccessCommand::Withdraw { request } => {
            gateway
                .post(
                    &format!("/api/access/requests/{request}/withdraw"),
                    &serde_json::json!({}),
                )
                .await?
        }
        AccessCommand::Revoke { grant } => {
            gateway
                .post(
                    &format!("/api/access/grants/{grant}/revoke"),
                    &serde_json::json!({}),
                )
                .await?
        }
        AccessCommand::List => {
            let answer = gateway.get("/api/access").await?;
            client::print(json, &answer, client::describe_access);
            return Ok(());
        }
    };
    client::print(json, &answer, |answer| {
        if let Some(grant) = answer
            .get("grant")
            .filter(|_| answer.get("shared").is_some())
        {
            format!(
                "request {} approved: grant {grant}, {} records shared",
                answer["request"], answer["shared"]
            )
        } else if answer.get("denied").is_some() {
            format!("request {} denied", answer["request"])
        } else {
            format!(
                "grant {} revoked: {}",
                answer["grant"],
                answer["note"].as_str().unwrap_or_default()
            )
        }
    });
    Ok(())
}
