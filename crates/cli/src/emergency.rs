//! `medigate emergency`: a patient's emergency policy, summary and card;
//! a responder's break-glass; reviews.

use clap::Subcommand;
use serde_json::{Value, json};

use crate::client::{self, CliError, GatewayClient};

/// Emergency access.
#[derive(Subcommand)]
pub enum EmergencyCommand {
    /// Your emergency policy, summary, the custodians holding shares of
    /// your key, and break-glasses on your records (or on those of patients
    /// you are a guardian of).
    Status,
    /// Set your emergency policy. Enabling it prepares your emergency
    /// summary and hands the shares of its key to the custodians.
    Policy {
        /// Enable emergency access.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it: no one can break the glass on your records.
        #[arg(long)]
        disable: bool,
        /// Who may break the glass: `responder`, `provider` (comma
        /// separated; responders when not given).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// A guardian to notify, who may also review (an account id;
        /// repeat for each).
        #[arg(long = "guardian")]
        guardians: Vec<String>,
        /// How long an emergency grant lasts, in minutes (60 by default,
        /// at most 1440).
        #[arg(long)]
        window_minutes: Option<u64>,
        /// A veto window (e.g. `15m`, `30s`): this long after a
        /// break-glass, the responder may read every record of yours,
        /// unless you or a guardian veto it first. Without it a
        /// break-glass opens only the emergency summary.
        #[arg(long, value_parser = humantime::parse_duration)]
        full_access_after: Option<std::time::Duration>,
    },
    /// Make your emergency summary again now and hand out missing shares.
    Prepare,
    /// Print your offline emergency card's text (keep it private: with a
    /// break-glass on chain it opens your emergency summary).
    Card,
    /// Replace your emergency key (a lost card): the summary is encrypted
    /// again and new shares handed out; earlier cards open nothing newer.
    NewKey,
    /// As a responder: break the glass on a patient's records and show
    /// their emergency summary.
    BreakGlass {
        /// The patient's account id.
        #[arg(long, required_unless_present = "card")]
        patient: Option<String>,
        /// Use the key on the patient's emergency card instead of the
        /// custodians (the card's text).
        #[arg(long)]
        card: Option<String>,
        /// ETREAT (emergency treatment) or BTG (break the glass).
        #[arg(long, default_value = "ETREAT")]
        purpose: String,
        /// Why (kept by you; its salted hash goes on chain).
        #[arg(long)]
        reason: String,
        /// Write the summary (a FHIR document Bundle) to this file.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// As the patient or a guardian: review a break-glass.
    Review {
        /// The break-glass id.
        id: u64,
        /// `justified` or `flagged` (to the authorities).
        #[arg(value_parser = ["justified", "flagged"])]
        verdict: String,
    },
    /// As the patient or a guardian: veto a break-glass's full-record
    /// access (it keeps to the emergency summary until it ends).
    Veto {
        /// The break-glass id.
        id: u64,
    },
}

fn describe_status(answer: &Value) -> String {
    let mut lines = vec![format!(
        "emergency access: {}{}",
        if answer["enabled"] == true {
            "enabled"
        } else {
            "disabled"
        },
        if answer["enabled"] == true {
            format!(
                " (roles {}, grants of {} minutes, guardians {}{})",
                answer["roles"]
                    .as_array()
                    .map(|roles| roles
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default(),
                answer["window_minutes"],
                answer["guardians"].as_array().map_or(0, Vec::len),
                match answer["full_access_after_seconds"].as_u64() {
                    Some(seconds) => format!(
                        ", every record after a veto window of {}",
                        humantime::format_duration(std::time::Duration::from_secs(seconds))
                    ),
                    None => String::new(),
                }
            )
        } else {
            String::new()
        }
    )];
    match answer["summary"].as_object() {
        Some(summary) => lines.push(format!(
            "summary: {} (prepared {})",
            summary["content_id"].as_str().unwrap_or_default(),
            client::utc(summary["prepared_ms"].as_i64().unwrap_or_default())
        )),
        None => lines.push("summary: not prepared".into()),
    }
    let custodians = answer["custodians"].as_array().cloned().unwrap_or_default();
    let holding = custodians
        .iter()
        .filter(|custodian| custodian["holds_share"] == true)
        .count();
    lines.push(format!(
        "custodians: {holding} of {} hold a share; {} needed",
        custodians.len(),
        answer["threshold"]
    ));
    let glasses = answer["break_glasses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if glasses.is_empty() {
        lines.push("no break-glass".into());
    }
    for glass in glasses {
        lines.push(format!(
            "break-glass {}: {} on {} for {}, until {}, {}{}",
            glass["id"],
            client::short(glass["responder"].as_str().unwrap_or_default()),
            client::short(glass["patient"].as_str().unwrap_or_default()),
            glass["purpose"].as_str().unwrap_or_default(),
            client::utc(glass["expires_ms"].as_i64().unwrap_or_default()),
            glass["review"].as_str().unwrap_or_default(),
            match glass["full_access_ms"].as_i64() {
                Some(opens) => format!(
                    "; every record from {} ({})",
                    client::utc(opens),
                    glass["full_access"].as_str().unwrap_or_default()
                ),
                None => String::new(),
            }
        ));
    }
    lines.join("\n")
}

fn describe_read(answer: &Value) -> String {
    let mut lines = vec![format!(
        "break-glass {} on {}: key from {}{}, grant until {}",
        answer["break_glass"],
        answer["patient"].as_str().unwrap_or_default(),
        answer["key_from"].as_str().unwrap_or_default(),
        if answer["key_from"] == "custodians" {
            format!(" ({} shares)", answer["shares_used"])
        } else {
            String::new()
        },
        client::utc(answer["expires_ms"].as_i64().unwrap_or_default())
    )];
    if let Some(opens) = answer["full_access_ms"].as_i64() {
        lines.push(format!(
            "every record of the patient opens from {} unless the patient or a guardian vetoes it: `medigate records export --patient {} --purpose {}`",
            client::utc(opens),
            answer["patient"].as_str().unwrap_or_default(),
            answer["purpose"].as_str().unwrap_or("ETREAT")
        ));
    }
    let timings = &answer["timings"];
    lines.push(format!(
        "included in a block after {} ms; summary decrypted {} ms later (key {} ms, summary {} ms)",
        timings["inclusion_ms"],
        timings["after_inclusion_ms"],
        timings["key_ms"],
        timings["summary_ms"]
    ));
    let entries: Vec<&serde_json::Value> = answer["summary"]["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for entry in &entries {
        let resource = &entry["resource"];
        if resource["resourceType"] == "Composition" {
            for section in resource["section"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {}: {} item(s)",
                    section["title"].as_str().unwrap_or_default(),
                    section["entry"].as_array().map_or(0, Vec::len)
                ));
            }
        }
    }
    // Entries a clinician wrote, with who wrote them.
    for provenance in entries
        .iter()
        .map(|entry| &entry["resource"])
        .filter(|resource| resource["resourceType"] == "Provenance")
    {
        let target = &provenance["target"][0]["reference"];
        let written = entries
            .iter()
            .find(|entry| entry["fullUrl"] == *target)
            .map(|entry| &entry["resource"]);
        if let Some(written) = written {
            lines.push(format!(
                "  {}/{} was recorded by clinician {}",
                written["resourceType"].as_str().unwrap_or_default(),
                written["id"].as_str().unwrap_or_default(),
                provenance["agent"][0]["who"]["identifier"]["value"]
                    .as_str()
                    .unwrap_or_default()
            ));
        }
    }
    lines.join("\n")
}

/// Runs `medigate emergency …`.
pub async fn run(
    gateway: GatewayClient,
    command: EmergencyCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        EmergencyCommand::Status => {
            let answer = gateway.get("/api/emergency").await?;
            client::print(json, &answer, describe_status);
        }
        EmergencyCommand::Policy {
            enable,
            disable,
            roles,
            guardians,
            window_minutes,
            full_access_after,
        } => {
            if !enable && !disable {
                return Err(CliError::Usage("say --enable or --disable".into()));
            }
            let body = json!({
                "enabled": enable, "roles": roles, "guardians": guardians,
                "window_minutes": window_minutes,
                "full_access_after_seconds": full_access_after.map(|after| after.as_secs().max(1)),
            });
            let answer = gateway.put("/api/emergency/policy", &body).await?;
            client::print(json, &answer, describe_status);
        }
        EmergencyCommand::Prepare => {
            let answer = gateway.post("/api/emergency/prepare", &json!({})).await?;
            client::print(json, &answer, |_| {
                "emergency summary and shares up to date".into()
            });
        }
        EmergencyCommand::Card => {
            let answer = gateway.get("/api/emergency/card").await?;
            client::print(json, &answer, |answer| {
                answer["card"].as_str().unwrap_or_default().to_string()
            });
        }
        EmergencyCommand::NewKey => {
            let answer = gateway.post("/api/emergency/new-key", &json!({})).await?;
            client::print(json, &answer, |answer| {
                format!(
                    "new emergency key (generation {}): print your new card with `medigate emergency card`",
                    answer["generation"]
                )
            });
        }
        EmergencyCommand::BreakGlass {
            patient,
            card,
            purpose,
            reason,
            out,
        } => {
            let answer = match card {
                Some(card) => {
                    gateway
                        .post(
                            "/api/emergency/card-read",
                            &json!({"card": card, "purpose": purpose, "reason": reason}),
                        )
                        .await?
                }
                None => {
                    gateway
                        .post(
                            "/api/emergency/break-glass",
                            &json!({"patient": patient, "purpose": purpose, "reason": reason}),
                        )
                        .await?
                }
            };
            if let Some(out) = out {
                std::fs::write(&out, format!("{:#}", answer["summary"]))
                    .map_err(|error| CliError::Usage(format!("{}: {error}", out.display())))?;
            }
            client::print(json, &answer, describe_read);
        }
        EmergencyCommand::Review { id, verdict } => {
            let answer = gateway
                .post(
                    &format!("/api/emergency/{id}/review"),
                    &json!({"review": verdict}),
                )
                .await?;
            client::print(json, &answer, |answer| {
                format!(
                    "break-glass {} reviewed: {}",
                    answer["break_glass"],
                    answer["review"].as_str().unwrap_or_default()
                )
            });
        }
        EmergencyCommand::Veto { id } => {
            let answer = gateway
                .post(&format!("/api/emergency/{id}/veto"), &json!({}))
                .await?;
            client::print(json, &answer, |answer| {
                format!(
                    "break-glass {}: full-record access vetoed; it keeps to the emergency summary",
                    answer["break_glass"]
                )
            });
        }
    }
    Ok(())
}
