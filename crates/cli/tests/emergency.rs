//! Emergency access end to end, on a `medigate dev` network (a real node,
//! vault, five custodians of which three are needed, gateways), through the
//! CLI and the custodians' HTTP API:
//! - a patient who opted out, a non-responder and an unknown patient get
//!   nothing; the responder gets the summary, rebuilt from three shares,
//!   and it holds the patient's own records;
//! - the read is in the patient's audit trail; the patient and the guardian
//!   see the break-glass, the webhook is told (ids, no health data), the
//!   guardian's review is recorded on chain, once;
//! - custodians refuse forged, replayed, misdirected and foreign release
//!   requests and requests for a break-glass the chain never recorded, and
//!   every release they logged answers a break-glass on chain;
//! - a new emergency key leaves the old card opening nothing; with fewer
//!   than three custodians the key cannot be rebuilt, but the patient's
//!   new card still opens the summary (a malformed card is refused);
//! - the grant ends by itself; a revoked responder gets nothing;
//! - a new custodian set is dealt new shares (under a new key when a
//!   custodian holding a share left: the old card opens nothing newer), and
//!   a custodian handing out a wrong share is named and left out, never
//!   combined into a wrong key.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::Network;
use medigate_chain_client::{
    connect, medigate, medigate::runtime_types::medigate_access_policy::terms::Role,
    submit_and_wait, subxt::utils::AccountId32, subxt_signer::sr25519::dev,
};
use medigate_crypto::keystore;
use medigate_vault::auth::{sign_headers, unix_ms};
use serde_json::{Value, json};

/// A server on loopback that answers every request as a vault's `/health`
/// would, naming an account the chain never attested: what a forged card
/// could point a responder to.
fn pretend_vault() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let body = json!({"status": "ok", "vault": hex::encode([0x0e; 32])}).to_string();
            let _ = reader.get_mut().write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

/// A webhook receiver on loopback: every body posted to it.
fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notices", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(notice) = serde_json::from_slice(&body)
            {
                kept.lock().unwrap().push(notice);
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (url, received)
}

/// The account a custodian of `network.json` names (the audience of
/// requests to it).
fn account_of(custodian: &Value) -> [u8; 32] {
    hex::decode(custodian["account"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// The answer of `custodian` (as `network.json` names it) to a release
/// request signed by `signer` for it.
async fn ask_release(
    custodian: &Value,
    signer: &medigate_crypto::keys::SigningKeypair,
    body: &Value,
    tamper: impl Fn(&mut Vec<(&'static str, String)>),
) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let mut headers = sign_headers(
        signer,
        account_of(custodian),
        "POST",
        "/releases",
        &body,
        unix_ms(),
    );
    tamper(&mut headers);
    send(custodian["url"].as_str().unwrap(), headers, body).await
}

async fn send(url: &str, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/releases"))
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_responder_gets_the_summary_in_an_emergency_and_everything_else_is_refused() {
    let (webhook_url, notices) = webhook();
    let network = Network::start_with(3, &["--webhook", &webhook_url]);
    let patient = network.account("patient");
    let guardian = network.account("guardian");
    let reason = "unconscious after a fall, brought in by ambulance";

    // The patient opted out: nobody breaks the glass.
    network.json("patient", &["emergency", "policy", "--disable"]);
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(
        message.contains("not enabled emergency access"),
        "{message}"
    );

    // Opted in again, with a one-minute window and the guardian notified.
    let status = network.json(
        "patient",
        &[
            "emergency",
            "policy",
            "--enable",
            "--guardian",
            &guardian,
            "--window-minutes",
            "1",
        ],
    );
    assert_eq!(status["enabled"], true);
    assert_eq!(status["threshold"], 3);
    let holders = status["custodians"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|custodian| custodian["holds_share"] == true)
        .count();
    assert_eq!(holders, 5, "{status}");

    // A researcher, and a responder asking for nobody.
    let (code, message) = network.failing(
        "researcher",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("none of the attested roles"), "{message}");
    let nobody = "ab".repeat(32);
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &nobody,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("not registered"), "{message}");

    // The responder gets the summary.
    let read = network.json(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            reason,
        ],
    );
    let opened = Instant::now();
    let break_glass = read["break_glass"].as_u64().unwrap();
    assert_eq!(read["key_from"], "custodians");
    assert_eq!(read["shares_used"], 3);
    // The responder's gateway keeps the reason (and the salt that proves it
    // against the chain's hash) sealed: nothing on its disk holds it in
    // clear.
    let responder_files = network.path("net").join("responder");
    for file in std::fs::read_dir(&responder_files).unwrap() {
        let file = file.unwrap().path();
        if file.is_file() {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes
                    .windows(reason.len())
                    .any(|window| window == reason.as_bytes()),
                "{} holds the break-glass reason in clear",
                file.display()
            );
        }
    }
    let summary = &read["summary"];
    assert_eq!(summary["resourceType"], "Bundle");
    assert_eq!(summary["type"], "document");
    // It holds the patient's own allergy, as imported.
    let own = network.json(
        "patient",
        &["records", "list", "--type", "AllergyIntolerance"],
    );
    let allergy_id = own["records"][0]["id"].as_str().unwrap().to_string();
    let own_allergy = network.json(
        "patient",
        &[
            "records",
            "show",
            &format!("AllergyIntolerance/{allergy_id}"),
        ],
    );
    let in_summary = summary["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["resource"]["resourceType"] == "AllergyIntolerance")
        .map(|entry| entry["resource"].clone())
        .expect("the summary lists the allergy");
    assert_eq!(in_summary, own_allergy);

    // The read is audited; the patient and the guardian see the
    // break-glass; the webhook was told, with ids only.
    let deadline = Instant::now() + Duration::from_secs(30);
    let audit = loop {
        let audit = network.json("patient", &["audit"]);
        let found = audit["accesses"].as_array().unwrap().iter().any(|access| {
            access["counterparty"] == network.account("responder") && access["purpose"] == "ETREAT"
        });
        if found || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let emergency_reads: Vec<&Value> = audit["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|access| access["purpose"] == "ETREAT")
        .collect();
    assert_eq!(emergency_reads.len(), 1, "{audit}");
    assert_eq!(
        emergency_reads[0]["counterparty"],
        network.account("responder")
    );
    for name in ["patient", "guardian"] {
        let status = network.json(name, &["emergency", "status"]);
        let glasses = status["break_glasses"].as_array().unwrap();
        assert!(
            glasses
                .iter()
                .any(|glass| glass["id"] == break_glass && glass["review"] == "pending"),
            "{name}: {status}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while notices.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let received = notices.lock().unwrap().clone();
    // One from the patient's gateway, one from the guardian's.
    assert_eq!(received.len(), 2, "{received:?}");
    for notice in &received {
        assert_eq!(notice["event"], "break_glass");
        assert_eq!(notice["break_glass"], break_glass);
        assert_eq!(notice["patient"], patient.as_str());
        let mut keys: Vec<&str> = notice
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "block",
                "break_glass",
                "event",
                "expires_at",
                "patient",
                "purpose",
                "responder"
            ]
        );
    }

    // The guardian reviews it, once; the patient sees the verdict.
    network.json(
        "guardian",
        &["emergency", "review", &break_glass.to_string(), "flagged"],
    );
    let (_, message) = network.failing(
        "patient",
        &["emergency", "review", &break_glass.to_string(), "justified"],
    );
    assert!(message.contains("reviewed already"), "{message}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = network.json("patient", &["emergency", "status"]);
        let flagged = status["break_glasses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|glass| glass["id"] == break_glass && glass["review"] == "flagged");
        if flagged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the review is not indexed: {status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Custodians: bad requests release nothing.
    let keys_dir = network.path("net");
    let load = |name: &str| {
        keystore::load(
            &keys_dir.join(format!("{name}.keystore")),
            network.description["passphrase"].as_str().unwrap(),
        )
        .unwrap()
        .signing_keypair()
    };
    let responder_key = load("responder");
    let researcher_key = load("researcher");
    let custodians = network.description["custodians"]
        .as_array()
        .unwrap()
        .clone();
    let custodian = &custodians[0];
    let url = custodian["url"].as_str().unwrap();
    let body = json!({"break_glass": break_glass, "custodian": custodian["account"]});
    let untouched = |_: &mut Vec<(&'static str, String)>| {};
    // A valid request, then the same request again.
    let signed_body = serde_json::to_vec(&body).unwrap();
    let headers = sign_headers(
        &responder_key,
        account_of(custodian),
        "POST",
        "/releases",
        &signed_body,
        unix_ms(),
    );
    // Captured and replayed to another custodian first: it was not meant
    // for that one.
    let (status, answer) = send(
        custodians[1]["url"].as_str().unwrap(),
        headers.clone(),
        signed_body.clone(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("other_audience")),
        "{answer}"
    );
    let (status, answer) = send(url, headers.clone(), signed_body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = send(url, headers, signed_body).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("replayed")),
        "{answer}"
    );
    // A forged signature.
    let (status, answer) = ask_release(custodian, &responder_key, &body, |headers| {
        for (name, value) in headers.iter_mut() {
            if *name == "x-medigate-signature" {
                *value = format!("00{}", &value[2..]);
            }
        }
    })
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("bad_signature")),
        "{answer}"
    );
    // Someone who did not break this glass.
    let (status, answer) = ask_release(custodian, &researcher_key, &body, untouched).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("not_the_responder")),
        "{answer}"
    );
    // Addressed to another custodian.
    let other = json!({"break_glass": break_glass, "custodian": custodians[1]["account"]});
    let (status, answer) = ask_release(custodian, &responder_key, &other, untouched).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (421, Some("wrong_custodian")),
        "{answer}"
    );
    // A break-glass the chain never recorded.
    let never = json!({"break_glass": 999_999, "custodian": custodian["account"]});
    let (status, answer) = ask_release(custodian, &responder_key, &never, untouched).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("no_break_glass")),
        "{answer}"
    );
    // A malformed body.
    let (status, answer) =
        ask_release(custodian, &responder_key, &json!({"hello": 1}), untouched).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("bad_body")),
        "{answer}"
    );

    // Every release any custodian logged answers the break-glass on chain,
    // to its responder.
    for custodian in &custodians {
        let log =
            std::path::Path::new(custodian["data_dir"].as_str().unwrap()).join("releases.jsonl");
        for line in std::fs::read_to_string(&log).unwrap_or_default().lines() {
            let release: Value = serde_json::from_str(line).unwrap();
            assert_eq!(release["break_glass"], break_glass, "{release}");
            assert_eq!(
                release["responder"],
                network.account("responder"),
                "{release}"
            );
            assert_eq!(release["patient"], patient.as_str(), "{release}");
        }
    }

    // A new emergency key: the old card opens nothing newer.
    let old_card = network.json("patient", &["emergency", "card"])["card"]
        .as_str()
        .unwrap()
        .to_string();
    let renewed = network.json("patient", &["emergency", "new-key"]);
    assert_eq!(renewed["generation"], 1);
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            &old_card,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("does not open the summary"), "{message}");

    // Fewer than three custodians: no key; the new card still works, a
    // malformed card is refused.
    for custodian in &custodians[..3] {
        let data_dir = custodian["data_dir"].as_str().unwrap();
        let stopped = std::process::Command::new("pkill")
            .args(["-TERM", "-f", "--", &format!("--data-dir {data_dir} ")])
            .status()
            .unwrap();
        assert!(stopped.success(), "stopping the custodian in {data_dir}");
    }
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--patient",
            &patient,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("only 2 of the 3 key shares"), "{message}");
    let card = network.json("patient", &["emergency", "card"])["card"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            "MGEC1.not-a-card",
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 4, "{message}");
    assert!(message.contains("emergency card"), "{message}");
    // A card whose vault is not one the chain attests (forged, or pointing
    // to a server that only says it is a vault): refused.
    let fields: Vec<&str> = card.splitn(4, '.').collect();
    let forged = format!(
        "{}.{}.{}.{}",
        fields[0],
        fields[1],
        fields[2],
        pretend_vault()
    );
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            &forged,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("does not attest"), "{message}");
    let with_card = network.json(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            &card,
            "--reason",
            reason,
        ],
    );
    assert_eq!(with_card["key_from"], "card");
    let allergy_with_card = with_card["summary"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["resource"]["resourceType"] == "AllergyIntolerance")
        .map(|entry| entry["resource"].clone());
    assert_eq!(allergy_with_card, Some(own_allergy));

    // The grant ends by itself: a minute after it opened, even the card
    // opens nothing more, and custodians release nothing.
    let window = Duration::from_secs(62);
    if let Some(left) = window.checked_sub(opened.elapsed()) {
        tokio::time::sleep(left).await;
    }
    // Custodians compare with the time of the chain's best block, which
    // the node sets each second.
    let late = json!({"break_glass": break_glass, "custodian": custodians[4]["account"]});
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, answer) = ask_release(&custodians[4], &responder_key, &late, untouched).await;
        if (status, answer["code"].as_str()) == (403, Some("expired")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} {answer} {} s after the break-glass, at {} ms for a grant until {}",
            opened.elapsed().as_secs(),
            unix_ms(),
            read["expires_ms"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A revoked responder cannot break the glass again.
    let client = connect(network.description["node"].as_str().unwrap())
        .await
        .unwrap();
    let responder = AccountId32(responder_key.public_key().0);
    let revoke = medigate::tx()
        .registry()
        .revoke_attestation(responder, Role::EmergencyResponder);
    submit_and_wait(&client, &revoke, &dev::dave())
        .await
        .unwrap();
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            &card,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("none of the attested roles"), "{message}");
}

/// A custodian that lies, on loopback at `address`: it answers every
/// release with a share sealed properly to `responder_key` for the asked
/// break-glass, and with the real custodian's dealing and the patient's
/// endorsement, but whose bytes are not the share the patient dealt.
fn lying_custodian(
    address: &str,
    patient: [u8; 32],
    responder: [u8; 32],
    responder_key: medigate_crypto::keys::EncryptionPublicKey,
    kept: Value,
) {
    let listener = TcpListener::bind(address).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let asked: Value = serde_json::from_slice(&body).unwrap_or_default();
                let mut forged = [0x42u8; medigate_crypto::shares::SHARE_LEN];
                forged[0] = 1;
                let share = medigate_crypto::shares::KeyShare::from_bytes(&forged).unwrap();
                let sealed = medigate_crypto::shares::seal_share(
                    &share,
                    &responder_key,
                    &medigate_crypto::shares::ShareBinding {
                        patient,
                        holder: responder,
                        context: asked["break_glass"].as_u64().unwrap_or_default(),
                    },
                )
                .unwrap();
                let answer = json!({
                    "patient": hex::encode(patient),
                    "generation": kept["generation"],
                    "dealing": kept["dealing"],
                    "threshold": kept["threshold"],
                    "endorsement": kept["endorsement"],
                    "sealed": hex::encode(sealed),
                })
                .to_string();
                let _ = reader.get_mut().write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
}

/// The emergency status, once the patient's gateway has dealt the shares
/// of the key of `generation` to `holders` custodians.
async fn wait_for_dealing(network: &Network, generation: u64, holders: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = network.json("patient", &["emergency", "status"]);
        let holding = status["custodians"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|custodian| custodian["holds_share"] == true)
            .count();
        if status["summary"]["generation"] == generation && holding == holders {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the shares of generation {generation} are not dealt to {holders} custodians: {status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Stops the custodian `custodian` (as `network.json` names it) and waits
/// until its address is free.
async fn stop_custodian(custodian: &Value) -> String {
    let data_dir = custodian["data_dir"].as_str().unwrap();
    let stopped = std::process::Command::new("pkill")
        .args(["-TERM", "-f", "--", &format!("--data-dir {data_dir} ")])
        .status()
        .unwrap();
    assert!(stopped.success(), "stopping the custodian in {data_dir}");
    let address = custodian["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the custodian at {address} does not stop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    address
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_custodian_set_gets_new_shares_and_a_lying_custodian_is_left_out() {
    let network = Network::start(1);
    let patient = network.account("patient");
    let patient_id: [u8; 32] = hex::decode(&patient).unwrap().try_into().unwrap();
    let reason = "found unresponsive, no identification but a MediGate card";
    wait_for_dealing(&network, 0, 5).await;
    let old_card = network.json("patient", &["emergency", "card"])["card"]
        .as_str()
        .unwrap()
        .to_string();
    let custodians = network.description["custodians"]
        .as_array()
        .unwrap()
        .clone();
    let break_glass = || {
        network.run(
            "responder",
            &[
                "--json",
                "emergency",
                "break-glass",
                "--patient",
                &patient,
                "--reason",
                reason,
            ],
        )
    };

    // Governance takes the first custodian out of the set: every other
    // custodian moves up one place. The patient's gateway replaces the key
    // (the one that left held a share of it) and deals the new one to the
    // four: the old card opens nothing newer, the four release the new key.
    let client = connect(network.description["node"].as_str().unwrap())
        .await
        .unwrap();
    let remaining: Vec<AccountId32> = custodians[1..]
        .iter()
        .map(|custodian| AccountId32(account_of(custodian)))
        .collect();
    let set = medigate::tx().sudo().sudo(
        medigate::runtime_types::medigate_runtime::RuntimeCall::Emergency(
            medigate::runtime_types::pallet_emergency::pallet::Call::set_custodians {
                custodians: medigate::runtime_types::bounded_collections::bounded_vec::BoundedVec(
                    remaining,
                ),
                threshold: 3,
            },
        ),
    );
    submit_and_wait(&client, &set, &dev::alice()).await.unwrap();
    let status = wait_for_dealing(&network, 1, 4).await;
    assert_eq!(
        status["custodians"].as_array().unwrap().len(),
        4,
        "{status}"
    );
    let (code, message) = network.failing(
        "responder",
        &[
            "emergency",
            "break-glass",
            "--card",
            &old_card,
            "--reason",
            reason,
        ],
    );
    assert_eq!(code, 5, "{message}");
    assert!(message.contains("does not open the summary"), "{message}");
    let read = break_glass();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );

    // One of the four is replaced, at its address, by a custodian that
    // hands out a wrong share with the real one's endorsement. With the
    // three honest ones, the key is still rebuilt.
    let liar = &custodians[1];
    let kept: Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(liar["data_dir"].as_str().unwrap())
                .join("shares")
                .join(format!("{patient}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(kept["generation"], 1, "{kept}");
    let address = stop_custodian(liar).await;
    let responder = keystore::load(
        &network.path("net").join("responder.keystore"),
        network.description["passphrase"].as_str().unwrap(),
    )
    .unwrap();
    lying_custodian(
        &address,
        patient_id,
        responder.signing_keypair().public_key().0,
        responder.encryption_secret().public_key(),
        kept,
    );
    let read = break_glass();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );

    // With one honest custodian fewer, the liar's share would make the
    // third: it is refused, named, and never combined into a wrong key.
    stop_custodian(&custodians[2]).await;
    let refused = break_glass();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("only 2 of the 3 key shares needed came back endorsed")
            && message.contains(&address)
            && message.contains("not one the patient dealt"),
        "{message}"
    );
}
