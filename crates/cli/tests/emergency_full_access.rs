//! Full-record access after a break-glass's veto window, end to end on a
//! `medigate dev` network (a real node, vault, custodians and gateways),
//! through the CLI:
//! - inside the window the responder reads nothing but the emergency
//!   summary; once it passes, the patient's gateway opens every record to
//!   the responder, who reads exactly the patient's records, each read in
//!   the patient's audit trail for emergency treatment;
//! - a guardian's veto closes them again; a second veto, or one by someone
//!   neither the patient nor a guardian, is refused;
//! - a break-glass vetoed inside its window never opens anything.

mod common;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use common::Network;
use serde_json::Value;

const REASON: &str = "unconscious after a fall, brought in by ambulance";

/// The resources of a Bundle, by `Type/id`.
fn resources(bundle: &Value) -> BTreeMap<String, Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let resource = entry["resource"].clone();
            (
                format!(
                    "{}/{}",
                    resource["resourceType"].as_str().unwrap_or_default(),
                    resource["id"].as_str().unwrap_or_default()
                ),
                resource,
            )
        })
        .collect()
}

/// How many of `patient`'s records `name` can read for `purpose` (none
/// when the export is refused).
fn readable(network: &Network, name: &str, patient: &str, purpose: &str) -> usize {
    export(network, name, patient, purpose).map_or(0, |bundle| resources(&bundle).len())
}

/// `name`'s export of `patient`'s records for `purpose`, if it succeeds.
fn export(network: &Network, name: &str, patient: &str, purpose: &str) -> Option<Value> {
    let output = network.run(
        name,
        &[
            "records",
            "export",
            "--patient",
            patient,
            "--purpose",
            purpose,
        ],
    );
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).expect("an export is JSON"))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_veto_window_the_responder_reads_every_record_unless_vetoed() {
    let network = Network::start(3);
    let patient = network.account("patient");
    let guardian = network.account("guardian");

    // A veto window out of bounds is refused before anything is sent.
    let (_, message) = network.failing(
        "patient",
        &[
            "emergency",
            "policy",
            "--enable",
            "--window-minutes",
            "1",
            "--full-access-after",
            "2m",
        ],
    );
    assert!(message.contains("veto window"), "{message}");

    let status = network.json(
        "patient",
        &[
            "emergency",
            "policy",
            "--enable",
            "--roles",
            "responder,provider",
            "--guardian",
            &guardian,
            "--window-minutes",
            "3",
            "--full-access-after",
            "20s",
        ],
    );
    assert_eq!(status["full_access_after_seconds"], 20, "{status}");

    // The responder breaks the glass: the summary now, the rest after the
    // veto window.
    let read = network.json(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            REASON,
        ],
    );
    let first = read["break_glass"].as_u64().unwrap();
    let opens_ms = read["full_access_ms"]
        .as_u64()
        .expect("the break-glass says when every record opens");
    assert!(opens_ms > unix_ms() + 5_000, "opens at {opens_ms}");
    assert_eq!(
        readable(&network, "responder", &patient, "ETREAT"),
        0,
        "records opened inside the veto window"
    );

    // After it, the responder reads exactly the patient's records.
    let own = resources(&network.json("patient", &["records", "export"]));
    assert!(own.len() > 20, "{} records", own.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    let shared = loop {
        if unix_ms() > opens_ms
            && let Some(bundle) = export(&network, "responder", &patient, "ETREAT")
        {
            let shared = resources(&bundle);
            if shared.len() >= own.len() {
                break shared;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the records did not open after the veto window"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(shared, own);
    let status = network.json("patient", &["emergency", "status"]);
    let entry = status["break_glasses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|glass| glass["id"] == first)
        .cloned()
        .unwrap();
    assert_eq!(entry["full_access"], "shared", "{entry}");

    // Every one of those reads is in the patient's audit trail.
    let responder = network.account("responder");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let audit = network.json("patient", &["audit"]);
        let reads = audit["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|access| access["counterparty"] == responder && access["purpose"] == "ETREAT")
            .count();
        // Every record once (the export above), and the summary.
        if reads > own.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{reads} emergency reads audited for {} records",
            own.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Only the patient or a guardian vetoes; the guardian's veto closes the
    // records again.
    let id = first.to_string();
    let (_, message) = network.failing("researcher", &["emergency", "veto", &id]);
    assert!(
        message.contains("only the patient or one of the guardians"),
        "{message}"
    );
    network.json("guardian", &["emergency", "veto", &id]);
    let (_, message) = network.failing(
        "responder",
        &[
            "records",
            "export",
            "--patient",
            &patient,
            "--purpose",
            "ETREAT",
        ],
    );
    assert!(message.to_lowercase().contains("denied"), "{message}");
    let (_, message) = network.failing("patient", &["emergency", "veto", &id]);
    assert!(message.contains("opens no full-record access"), "{message}");

    // A break-glass vetoed inside its window opens nothing, ever.
    let read = network.json(
        "doctor",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--purpose",
            "BTG",
            "--reason",
            REASON,
        ],
    );
    let second = read["break_glass"].as_u64().unwrap();
    let opens_ms = read["full_access_ms"].as_u64().unwrap();
    network.json("patient", &["emergency", "veto", &second.to_string()]);
    let wait = Duration::from_millis((opens_ms + 5_000).saturating_sub(unix_ms()));
    tokio::time::sleep(wait).await;
    assert_eq!(
        readable(&network, "doctor", &patient, "BTG"),
        0,
        "a vetoed break-glass opened records"
    );
    let status = network.json("patient", &["emergency", "status"]);
    let entry = status["break_glasses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|glass| glass["id"] == second)
        .cloned()
        .unwrap();
    assert_eq!(entry["full_access"], "vetoed", "{entry}");
}
